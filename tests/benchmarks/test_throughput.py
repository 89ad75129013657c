"""Benchmark: short UI strings through the emulator at limits scaled x10 (600 RPM, 1M TPM).

Run on demand (not part of the default test run):

    .venv/bin/python -m pytest tests/benchmarks/test_throughput.py -s -p no:cacheprovider -o addopts=""

Prints, with packing and with --no-packing: wall time, the bound the limits allow for the work
sent (max(requests / RPM, billed tokens / TPM)), their ratio, requests, 429s, and billed tokens
per segment; then the throughput ratio packing / no packing. The no-packing run translates a
subset (MTPIPE_BENCH_NOPACK, default 600 strings: one minute at 600 RPM) since it is bounded by
the request limit alone.
"""

from __future__ import annotations

import csv
import os
import random
import time
from pathlib import Path

import pytest

from pipeline.job import InputSpec, Job
from pipeline.languages import resolve
from pipeline.run import translate
from pipeline.testing import Emulator, EmulatorConfig

RPM, TPM = 600, 1_000_000
KEY = "bench-key"
WORDS = (
    "open save close file edit view window help settings account profile search filter sort "
    "delete rename copy paste undo redo export import print share upload download refresh "
    "cancel confirm continue back next previous new recent folder document image project"
).split()


def ui_strings(n: int, seed: int = 7) -> list[str]:
    """n distinct short UI strings (2-6 words, some with placeholders)."""
    rng = random.Random(seed)
    out: list[str] = []
    seen: set[str] = set()
    while len(out) < n:
        words = rng.sample(WORDS, rng.randint(2, 6))
        text = " ".join(words).capitalize()
        if rng.random() < 0.2:
            text += " %s" if rng.random() < 0.5 else " {count}"
        if text not in seen:
            seen.add(text)
            out.append(text)
    return out


def run_case(tmp_path: Path, strings: list[str], packing: bool) -> dict[str, float]:
    data = tmp_path / f"ui-{packing}.csv"
    with open(data, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text"])
        writer.writerows((i, s) for i, s in enumerate(strings))
    os.environ["MTPIPE_BENCH_KEY"] = KEY
    with Emulator(EmulatorConfig(api_key=KEY, rpm=RPM, tpm=TPM, record_requests=False)) as emu:
        job = Job(
            inputs=[InputSpec(data)],
            targets=[resolve("de")],
            source=resolve("en"),
            out=tmp_path / f"out-{packing}",
            base_url=emu.base_url,
            api_key_env="MTPIPE_BENCH_KEY",
            ledger=tmp_path / f"ledger-{packing}.jsonl",
            use_cache=False,
            rpm=RPM,
            tpm=TPM,
            packing=packing,
            options={"columns": ["text"]},
        )
        started = time.monotonic()
        result = translate(job)
        wall = time.monotonic() - started
        stats = emu.stats
    assert result.exit_code == 0, result.failures[:3]
    billed = stats.billed_tokens
    bound = max(stats.ok / RPM, billed / TPM) * 60.0
    figures = {
        "segments": len(strings),
        "wall_s": wall,
        "bound_s": bound,
        "ratio": bound / wall,
        "requests": stats.ok,
        "throttled": stats.throttled_rpm + stats.throttled_tpm,
        "tokens_per_segment": billed / len(strings),
        "segments_per_s": len(strings) / wall,
    }
    label = "packing" if packing else "no packing"
    print(
        f"\n[{label}] {len(strings)} segments: wall {wall:.2f}s, bound {bound:.2f}s, ratio {bound / wall:.3f}, "
        f"{stats.ok} requests, {figures['throttled']:.0f} x 429, {billed / len(strings):.1f} billed tokens/segment, "
        f"{len(strings) / wall:.1f} segments/s"
    )
    return figures


@pytest.mark.benchmark
def test_packing_throughput(tmp_path: Path) -> None:
    strings = ui_strings(5000)
    packed = run_case(tmp_path, strings, packing=True)
    subset = int(os.environ.get("MTPIPE_BENCH_NOPACK", "600"))
    single = run_case(tmp_path, strings[:subset], packing=False)
    speedup = packed["segments_per_s"] / single["segments_per_s"]
    print(f"\nthroughput packing / no packing: {speedup:.1f}x")
    assert packed["throttled"] == 0
    assert packed["ratio"] >= 0.9
    assert speedup >= 20

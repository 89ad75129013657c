"""Benchmark: short UI strings through the emulator at limits scaled x10 (600 RPM, 1M TPM).

Run on demand (not part of the default test run):

    .venv/bin/python -m pytest tests/benchmarks/test_throughput.py -s -p no:cacheprovider -o addopts=""

Prints, with packing and with --no-packing: wall time, the bound the limits allow for the work
sent (max(requests / RPM, billed tokens / TPM)), their ratio, requests, 429s, and billed tokens
per segment; then the throughput ratio packing / no packing. The no-packing run translates a
subset (MTPIPE_BENCH_NOPACK, default 600 strings: one minute at 600 RPM) since it is bounded by
the request limit alone. A third run sends 20,000 strings through an emulator whose replies
take 20 s (MTPIPE_BENCH_LATENCY): the in-flight limit must grow with the latency for the run
to stay near the bound (which then adds one latency for the last reply). A fourth sends the
5,000 strings to an engine that merges the lines of any request holding more than 8
(MTPIPE_BENCH_KEEP_LINES): packing must learn the size that works rather than bisect every
batch; its figures are compared with the packed run's.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mtpipe.testing import EmulatorConfig
from tests.benchmarks.support import RPM, TPM, run_through_emulator, ui_strings, write_strings_csv


def run_case(
    tmp_path: Path,
    strings: list[str],
    packing: bool,
    latency_s: float = 0.0,
    keep_lines: int | None = None,
    engine: str = "qwen",
) -> dict[str, float]:
    label = ("packing" if packing else "no-packing") + (f"-{latency_s:g}s-replies" if latency_s else "")
    label += f"-engine-keeps-{keep_lines}-lines" if keep_lines else ""
    label += "-chat-engine" if engine == "chat" else ""
    data = write_strings_csv(tmp_path / f"ui-{label}.csv", strings)
    config = EmulatorConfig(
        api_key="bench-key",
        rpm=RPM,
        tpm=TPM,
        latency_s=latency_s,
        record_requests=False,
        keep_lines=keep_lines,
        mode="chat" if engine == "chat" else "qwen",
    )
    extra = {"engine": "chat", "model": "qwen-plus"} if engine == "chat" else {}
    run = run_through_emulator(data, ["text"], tmp_path, label, config, use_cache=False, packing=packing, **extra)
    result, wall, stats = run.result, run.wall_s, run.stats
    assert result.exit_code == 0, result.failures[:3]
    billed = stats.billed_tokens
    # What the limits allow, plus one reply's latency for the last request to come back.
    bound = max(stats.ok / RPM, billed / TPM) * 60.0 + latency_s
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
    print(
        f"\n[{label.replace('-', ' ')}] {len(strings)} segments: wall {wall:.2f}s, bound {bound:.2f}s, ratio {bound / wall:.3f}, "
        f"{stats.ok} requests, {figures['throttled']:.0f} x 429, {billed / len(strings):.1f} billed tokens/segment, "
        f"{len(strings) / wall:.1f} segments/s"
    )
    return figures


@pytest.mark.benchmark
def test_packing_throughput(tmp_path: Path) -> None:
    strings = ui_strings(5000, seed=7, most_words=6, suffixes=(" %s", " {count}"))
    packed = run_case(tmp_path, strings, packing=True)
    subset = int(os.environ.get("MTPIPE_BENCH_NOPACK", "600"))
    single = run_case(tmp_path, strings[:subset], packing=False)
    speedup = packed["segments_per_s"] / single["segments_per_s"]
    print(f"\nthroughput packing / no packing: {speedup:.1f}x")
    assert packed["throttled"] == 0
    assert packed["ratio"] >= 0.9
    assert speedup >= 20


@pytest.mark.benchmark
def test_slow_replies_do_not_leave_the_limits_unused(tmp_path: Path) -> None:
    latency = float(os.environ.get("MTPIPE_BENCH_LATENCY", "20"))
    slow = run_case(tmp_path, ui_strings(20000, seed=7, most_words=6, suffixes=(" %s",)), True, latency)
    assert slow["throttled"] == 0
    assert slow["ratio"] >= 0.85


@pytest.mark.benchmark
def test_engine_that_merges_big_batches_is_learned(tmp_path: Path) -> None:
    keep = int(os.environ.get("MTPIPE_BENCH_KEEP_LINES", "8"))
    strings = ui_strings(5000, seed=7, most_words=6, suffixes=(" %s", " {count}"))
    merging = run_case(tmp_path, strings, True, keep_lines=keep)
    print(
        f"\nengine keeping {keep} lines: {merging['requests']:.0f} requests for {len(strings)} segments "
        f"(ideal {len(strings) / keep:.0f}), {merging['tokens_per_segment']:.1f} billed tokens/segment"
    )
    assert merging["throttled"] == 0
    assert merging["requests"] <= 1.5 * len(strings) / keep


@pytest.mark.benchmark
def test_chat_engine_beside_qwen_mt(tmp_path: Path) -> None:
    """The chat engine (a system message per request, same framing and checks) at the same
    limits as the Qwen-MT packed run, side by side."""
    strings = ui_strings(5000, seed=7, most_words=6, suffixes=(" %s", " {count}"))
    mt = run_case(tmp_path, strings, packing=True)
    chat = run_case(tmp_path, strings, packing=True, engine="chat")
    print(
        f"\nQwen-MT: {mt['segments_per_s']:.0f} segments/s, {mt['tokens_per_segment']:.1f} billed tokens/segment; "
        f"chat: {chat['segments_per_s']:.0f} segments/s, {chat['tokens_per_segment']:.1f} billed tokens/segment"
    )
    assert chat["throttled"] == 0

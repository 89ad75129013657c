"""Benchmark: what the framing costs and how close a run comes to the limits, in Qwen tokens.

Run on demand (not part of the default test run):

    .venv/bin/python -m pytest tests/benchmarks/test_framing.py -s -p no:cacheprovider -o addopts=""

5,000 short UI strings (about 7.6 Qwen tokens each) into German through the emulator at 120 RPM
/ 200k TPM, replies taking 200 ms + 2 ms per output token, billed in Qwen tokens. Printed per
case: wall time; the bound the limits set for the text's own tokens (each string and its
translation alone, in and out, plus 45 tokens per request: max(requests / RPM, tokens / TPM));
their ratio; billed tokens (in + out) over the text's own; requests; 429s. Cases:

- clean: an engine that keeps every line apart (targets: ratio >= 0.90, billed <= 1.3x, 0 x 429);
- merging: two lines merged in 30% of replies (every segment right, billed <= 1.6x);
- dry run: ``--dry-run``'s requests, tokens and cost against what the run then bills, on a
  cache that already knows the endpoint (what a nightly run sees) and on a fresh one.
"""

from __future__ import annotations

import csv
import socket
from pathlib import Path
from typing import Any

import pytest

from mtpipe.engine.tokens import REQUEST_OVERHEAD_TOKENS, count_tokens
from mtpipe.testing import EmulatorConfig, Fault, FaultConfig, fake_translate
from tests.benchmarks.support import run_through_emulator, ui_strings, write_strings_csv

RPM, TPM = 120, 200_000
LATENCY_S, PER_TOKEN_S = 0.2, 0.002


def strings(n: int = 5000, seed: int = 11) -> list[str]:
    """Short UI strings of 2 to 12 words, a fifth with a placeholder (about 7.6 tokens each)."""
    return ui_strings(n, seed=seed, most_words=12, suffixes=(" %s", " {count}", " (%d)"))


def own_tokens(texts: list[str]) -> tuple[int, int]:
    """The text's own Qwen tokens, in and out: each string and its translation alone."""
    sent = sum(count_tokens(t) for t in texts)
    back = sum(count_tokens(fake_translate(t, "German")) for t in texts)
    return sent, back


def run_case(tmp_path: Path, label: str, texts: list[str], faults: FaultConfig | None = None, **job: Any) -> dict[str, float]:
    data = write_strings_csv(tmp_path / f"{label}.csv", texts)
    config = EmulatorConfig(
        api_key="bench-key",
        rpm=RPM,
        tpm=TPM,
        latency_s=LATENCY_S,
        latency_per_token_s=PER_TOKEN_S,
        record_requests=False,
        faults=faults or FaultConfig(),
    )
    run = run_through_emulator(data, ["text"], tmp_path, label, config, **job)
    result, wall, stats = run.result, run.wall_s, run.stats
    assert result.exit_code == 0, result.failures[:3]
    with open(run.out, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    wrong = sum(row["text_de"] != fake_translate(text, "German") for row, text in zip(rows, texts, strict=True))
    sent, back = own_tokens(texts)
    own = sent + back + REQUEST_OVERHEAD_TOKENS * stats.ok
    bound = max(stats.ok / RPM, own / TPM) * 60.0
    billed = stats.billed_tokens
    figures = {
        "wall_s": wall,
        "bound_s": bound,
        "ratio": bound / wall,
        "billed_over_text": billed / (sent + back),
        "requests": stats.ok,
        "throttled": stats.throttled_rpm + stats.throttled_tpm,
        "wrong": wrong,
    }
    print(
        f"\n[{label}] {len(texts)} strings, {sent / len(texts):.1f} tokens each ({back / len(texts):.1f} back): "
        f"wall {wall:.2f}s, bound {bound:.2f}s, ratio {bound / wall:.3f}; billed {billed} tokens = "
        f"{figures['billed_over_text']:.3f}x the text's own in+out; {stats.ok} requests, "
        f"{figures['throttled']:.0f} x 429, {wrong} cells wrong"
    )
    return figures


@pytest.mark.benchmark
def test_clean_engine_runs_near_the_limits_at_little_framing_cost(tmp_path: Path) -> None:
    figures = run_case(tmp_path, "clean", strings(), use_cache=False)
    assert figures["wrong"] == 0 and figures["throttled"] == 0
    assert figures["billed_over_text"] <= 1.3
    assert figures["ratio"] >= 0.90


@pytest.mark.benchmark
def test_an_engine_merging_lines_costs_little_and_writes_nothing_wrong(tmp_path: Path) -> None:
    faults = FaultConfig(rates={Fault.MERGED_LINES: 0.3})
    figures = run_case(tmp_path, "merging-30%", strings(), faults, use_cache=False)
    assert figures["wrong"] == 0
    assert figures["billed_over_text"] <= 1.6


@pytest.mark.benchmark
@pytest.mark.parametrize("known", [True, False], ids=["known-endpoint", "fresh-cache"])
def test_dry_run_estimates_what_the_run_bills(tmp_path: Path, known: bool) -> None:
    cache = tmp_path / "cache.sqlite"
    config = EmulatorConfig(api_key="bench-key", rpm=RPM * 10, tpm=TPM * 10, record_requests=False)
    with socket.socket() as probe:  # one endpoint for all three runs, as a nightly job has
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    if known:  # an earlier run against the same endpoint taught the cache its ratios
        earlier = write_strings_csv(tmp_path / "earlier.csv", strings(1000, seed=5))
        run_through_emulator(earlier, ["text"], tmp_path, "earlier", config, port, cache=cache)
    texts = strings(3000, seed=13)
    data = write_strings_csv(tmp_path / "estimate.csv", texts)
    dry = run_through_emulator(data, ["text"], tmp_path, "dry", config, port, cache=cache, dry_run=True)
    real = run_through_emulator(data, ["text"], tmp_path, "real", config, port, cache=cache)
    est, stats = dry.result.estimate, real.stats
    tokens_est = est.prompt_tokens + est.completion_tokens
    cost_real = real.result.stats.cost_usd if real.result.stats else 0.0
    print(
        f"\n[dry run, {'known endpoint' if known else 'fresh cache'}] requests {est.requests} vs {stats.ok}, "
        f"tokens {tokens_est} vs {stats.billed_tokens} ({tokens_est / stats.billed_tokens:.3f}; in "
        f"{est.prompt_tokens} vs {stats.prompt_tokens}, out {est.completion_tokens} vs {stats.completion_tokens}), "
        f"cost ${est.cost_usd:.5f} vs ${cost_real:.5f}"
    )
    if known:
        assert abs(est.requests - stats.ok) <= max(1, 0.05 * stats.ok)
        assert abs(tokens_est / stats.billed_tokens - 1) <= 0.05
        assert abs(est.cost_usd / cost_real - 1) <= 0.05

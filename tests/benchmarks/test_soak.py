"""Soak: 10,000 segments through the emulator under every transient fault at once.

Run on demand (not part of the default test run; ~1 minute):

    /tmp/venv/bin/pytest tests/benchmarks/test_soak.py -s -p no:cacheprovider -o addopts=""

The faulty run gets, per valid request: 15% 503, 10% 429 (half with Retry-After: 1 s), 5% 500,
3% connection resets, 2% truncated bodies, 1% slow replies (1 s), and merged lines. The
emulator draws one fault per request from these rates (they are exclusive and sum to at most
1), so "30% merged lines in replies to packed requests" is expressed as the rate that makes
30% of the *delivered* replies merged: 0.30 x (1 - 0.35 error/lost share) = 0.195 of all
requests. (Merged lines are only applied to replies with more than one line, i.e. packed ones.)

``MTPIPE_SOAK_SEED`` picks the emulator's seed, i.e. which requests get which fault (default 5).

Asserts: every segment right (``fake_translate``), each unique segment accepted exactly once
(no duplicate, no misplaced translation), the ledger's ok requests and tokens equal to what
the emulator billed as delivered, lost-in-transit attempts recorded (``lost_attempts`` equals
the emulator's ``lost``), and a wall time within 1.5x of a fault-free run at the same limits.
Prints the figures of both runs.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mtpipe.records.ledger import read_ledger
from mtpipe.run.settings import EngineHooks
from mtpipe.testing import EmulatorConfig, Fault, FaultConfig, fake_translate
from tests.benchmarks.support import RPM, TPM, run_through_emulator, ui_strings, write_strings_csv

SEGMENTS = int(os.environ.get("MTPIPE_SOAK_SEGMENTS", "10000"))
#: The emulator's seed: which requests get which fault (the k-th request, the same fault).
SEED = int(os.environ.get("MTPIPE_SOAK_SEED", "5"))
KEY = "soak-key-0123456789"
MERGED_SHARE_OF_REPLIES = 0.30
ERROR_RATES: dict[Fault | str, float] = {
    Fault.OVERLOADED: 0.15,
    Fault.THROTTLE: 0.05,
    Fault.THROTTLE_RETRY_AFTER: 0.05,
    Fault.SERVER_ERROR: 0.05,
    Fault.RESET: 0.03,
    Fault.TRUNCATED: 0.02,
    Fault.SLOW: 0.01,
}
_UNDELIVERED = sum(r for f, r in ERROR_RATES.items() if f is not Fault.SLOW)
FAULT_RATES: dict[Fault | str, float] = {
    **ERROR_RATES,
    Fault.MERGED_LINES: round(MERGED_SHARE_OF_REPLIES * (1 - _UNDELIVERED), 4),
}


def soak_strings(n: int) -> list[str]:
    """``n`` distinct short UI strings (2-7 words, a fifth with a placeholder or markup)."""
    return ui_strings(n, seed=11, most_words=7, suffixes=(" %s", " {count}", " <b>now</b>"))


@dataclass
class Figures:
    """What one run measured."""

    wall_s: float
    exit_code: int
    stats: Any
    ledger: list[dict[str, Any]]
    out: Path


def run(tmp_path: Path, label: str, strings: list[str], faults: FaultConfig) -> Figures:
    """Translate ``strings`` (one CSV) through a fresh emulator configured with ``faults``."""
    data = write_strings_csv(tmp_path / f"{label}.csv", strings)
    config = EmulatorConfig(api_key=KEY, rpm=RPM, tpm=TPM, faults=faults, seed=SEED, record_requests=False)
    # 7 attempts all failing at 36% is 1 in 1,300 requests: ~15% of soaks would lose a pack;
    # 11 attempts make it 1 in 77,000.
    timed = run_through_emulator(data, ["text"], tmp_path, label, config, hooks=EngineHooks(retry_base=0.25), max_retries=10, timeout=10.0)
    result = timed.result
    assert result.exit_code == 0, (result.aborted, result.failures[:3])
    ledger = [r for r in read_ledger(timed.ledger) if r["event"] == "request"]
    return Figures(timed.wall_s, result.exit_code, timed.stats, ledger, timed.out)


def summary(label: str, figures: Figures) -> str:
    """One printable line of a run's figures."""
    stats = figures.stats
    ok = [r for r in figures.ledger if r["status"] == "ok"]
    retries = sum(r["attempts"] - 1 for r in figures.ledger)
    injected_429 = stats.faults.get("throttle", 0) + stats.faults.get("throttle_retry_after", 0)
    return (
        f"[{label}] wall {figures.wall_s:.2f}s; {stats.received} HTTP requests, {len(ok)} ok "
        f"({len(figures.ledger) - len(ok)} failed in the ledger), {retries} retries, "
        f"{injected_429} injected 429 + {stats.throttled_rpm + stats.throttled_tpm} limit 429, "
        f"{stats.lost} lost in transit, faults {dict(sorted(stats.faults.items()))}, "
        f"{stats.billed_tokens} billed tokens"
    )


def check_outputs(figures: Figures, strings: list[str]) -> None:
    """Every row holds its own string's translation: nothing missing, nothing misplaced."""
    with open(figures.out, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == len(strings)
    wrong = [
        (row["id"], row["text_de"])
        for row, text in zip(rows, strings, strict=True)
        if row["text"] != text or row["text_de"] != fake_translate(text, "German")
    ]
    assert not wrong, wrong[:5]


@dataclass
class Soak:
    """The fault-free and the faulty run of the same strings."""

    strings: list[str]
    clean: Figures
    faulty: Figures

    @property
    def ratio(self) -> float:
        """Wall time under faults / fault-free wall time."""
        return self.faulty.wall_s / self.clean.wall_s


@pytest.fixture(scope="module")
def soak(tmp_path_factory: pytest.TempPathFactory) -> Soak:
    """Both runs, once for the module; prints their figures."""
    tmp_path = tmp_path_factory.mktemp("soak")
    strings = soak_strings(SEGMENTS)
    clean = run(tmp_path, "clean", strings, FaultConfig(trigger_word=None))
    print("\n" + summary("fault-free", clean))
    faults = FaultConfig(rates=FAULT_RATES, retry_after_s=1, slow_s=1.0, trigger_word=None)
    faulty = run(tmp_path, "faulty", strings, faults)
    print(summary("faults", faulty))
    result = Soak(strings, clean, faulty)
    print(
        f"merged-lines rate {FAULT_RATES[Fault.MERGED_LINES]} of all requests; "
        f"wall ratio faults / fault-free: {result.ratio:.2f}; HTTP requests ratio: "
        f"{faulty.stats.received / clean.stats.received:.2f}"
    )
    return result


@pytest.mark.benchmark
def test_soak_every_segment_right_and_billing_matches(soak: Soak) -> None:
    for figures in (soak.clean, soak.faulty):
        check_outputs(figures, soak.strings)
        stats = figures.stats
        ok = [r for r in figures.ledger if r["status"] == "ok"]
        # Each unique segment accepted exactly once: a duplicate would push the sum over.
        assert sum(r["accepted"] for r in ok) == len(soak.strings)
        assert len(ok) == stats.ok
        assert sum(r["prompt_tokens"] for r in ok) == stats.prompt_tokens
        assert sum(r["completion_tokens"] for r in ok) == stats.completion_tokens
        assert sum(r["lost_attempts"] for r in figures.ledger) == stats.lost
    assert soak.faulty.stats.lost > 0 and soak.faulty.stats.faults.get("merged_lines", 0) > 0


@pytest.mark.benchmark
def test_soak_wall_time_within_1_5x_of_fault_free(soak: Soak) -> None:
    assert soak.ratio <= 1.5, f"wall time under faults is {soak.ratio:.2f}x the fault-free run"

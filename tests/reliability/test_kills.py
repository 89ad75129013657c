"""SIGKILL at many points of runs of every format, then run again (slow suite).

For each format a reference run goes through uninterrupted. Then, for each kill point, a fresh
run (own cache and ledger) starts with a "previous good output" already at every output path,
is killed with SIGKILL when its ledger reaches N requests or after T seconds, and is run again.

Checked at every kill point:

- after the kill, each output is either the previous good output, untouched, or the complete
  new output, never anything in between (outputs are renamed into place);
- nothing but the outputs appears in the output directory (hidden ``.part`` temporaries of a
  killed write may remain; the rerun must not trip on them);
- the rerun exits 0 and its outputs equal the reference run's (a catalog's PO-Revision-Date,
  the time of the run, aside);
- requests paid twice (billed by the emulator across both runs, beyond one per unit) are at
  most the requests in flight at the kill (``--concurrency``).

Runs use ``--no-packing`` so a request is a unit and "paid twice" is exact.

    /tmp/venv/bin/pytest tests/reliability/test_kills.py -m slow -p no:cacheprovider
"""

from __future__ import annotations

import csv
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from mtpipe.testing import Emulator, EmulatorConfig
from tests.conftest import KEY
from tests.reliability.procs import (
    SAMPLES,
    environment,
    ledger_requests,
    mtpipe_command,
    normalized,
    part_files,
    stray_files,
    translate_args,
    wait_until,
)

pytestmark = pytest.mark.slow

CONCURRENCY = 3
PREVIOUS = b"previous good output: must be kept whole or replaced whole\n"
#: Kill points, as fractions of the reference run's phases: ("ledger", f) kills once f x its
#: requests are in the ledger; ("time", f) f of the way from its first request to its last;
#: ("written", f) f of the way from its last request to its end (outputs being written; past
#: 1.0 the rename has happened).
KillPoint = tuple[str, float]


@dataclass
class Case:
    """One format's run: input files (copied into the work directory) and its outputs."""

    name: str
    sources: list[Path]
    outputs: list[str]
    extra: list[str]
    kill_points: list[KillPoint]


def _csv(path: Path, rows: int, distinct: int) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text", "note"])
        writer.writerows((i, f"Sentence number {i % distinct} to translate", f"n{i}") for i in range(rows))
    return path


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Generated inputs: a 40-row CSV, and a 60,000-row one with 25 distinct texts (long write)."""
    root = tmp_path_factory.mktemp("inputs")
    _csv(root / "data.csv", 40, 40)
    _csv(root / "big.csv", 60_000, 25)
    return root


def cases(generated: Path) -> dict[str, Case]:
    """Every format's case; 26 kill points in total."""
    return {
        "csv": Case("csv", [generated / "data.csv"], ["data.csv"], ["--columns", "text"],
                    [("ledger", 0), ("ledger", 0.03), ("ledger", 0.2), ("ledger", 0.5), ("ledger", 0.95), ("time", 0.3)]),
        "csv-write": Case("csv-write", [generated / "big.csv"], ["big.csv"], ["--columns", "text"],
                          [("written", 0.1), ("written", 0.5), ("written", 0.8), ("written", 1.3)]),
        "po": Case("po", [SAMPLES / "app.pot"], ["de/app.po"], [],
                   [("ledger", 0.1), ("ledger", 0.6), ("time", 0.5), ("written", 0.3)]),
        "docx": Case("docx", [SAMPLES / "brochure.docx"], ["de/brochure.docx"], [],
                     [("ledger", 0.1), ("ledger", 0.7), ("time", 0.2), ("time", 0.9), ("written", 0.5), ("written", 0.9)]),
        "parquet": Case("parquet", [SAMPLES / "reviews.parquet"], ["reviews.parquet"], ["--columns", "review,tags"],
                        [("ledger", 0.15), ("ledger", 0.8), ("time", 0.5), ("written", 0.2), ("written", 0.7), ("written", 1.5)]),
    }  # fmt: skip


@dataclass
class Timeline:
    """When the reference run logged its first and last request and when it ended (seconds)."""

    first: float
    last: float
    end: float
    units: int


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    """One emulator for the module: no limits, 40 ms per request so runs last a while."""
    with Emulator(EmulatorConfig(api_key=KEY, rpm=None, tpm=None, latency_s=0.04, record_requests=False)) as emu:
        yield emu


def _args(case: Case, work: Path, emu: Emulator) -> list[str]:
    inputs = [work / "in" / source.name for source in case.sources]
    extra = [*case.extra, "--no-packing", "--concurrency", str(CONCURRENCY), "--rpm", "60000", "--tpm", "1e9", "-q"]
    return mtpipe_command(*translate_args(inputs, work, emu.base_url, *extra))


def _prepare(case: Case, work: Path) -> None:
    (work / "in").mkdir(parents=True)
    for source in case.sources:
        shutil.copy(source, work / "in" / source.name)


def _billed(emu: Emulator) -> int:
    stats = emu.stats
    return stats.ok + stats.lost


def _reference(case: Case, work: Path, emu: Emulator) -> Timeline:
    """Run uninterrupted, noting when requests land in the ledger."""
    ledger = work / "state" / "ledger.jsonl"
    before = _billed(emu)
    started = time.monotonic()
    process = subprocess.Popen(_args(case, work, emu), env=environment())
    first = last = 0.0
    seen = 0
    while process.poll() is None and time.monotonic() - started < 120:
        count = ledger_requests(ledger)
        if count and not seen:
            first = time.monotonic() - started
        if count > seen:
            last, seen = time.monotonic() - started, count
        time.sleep(0.005)
    assert process.wait(timeout=10) == 0
    end = time.monotonic() - started
    return Timeline(first, last, end, _billed(emu) - before)


def _kill(case: Case, point: tuple[str, float], work: Path, emu: Emulator, ref: Timeline) -> int:
    """Start a run, SIGKILL it at ``point``; returns the ledger's request count at the kill."""
    ledger = work / "state" / "ledger.jsonl"
    process = subprocess.Popen(_args(case, work, emu), env=environment(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        kind, value = point
        if kind == "ledger":
            target = int(value * ref.units)
            assert wait_until(lambda: ledger_requests(ledger) >= target, process, 30), "the run ended before the kill point"
        elif kind == "time":
            assert wait_until(lambda: ledger_requests(ledger) >= 1, process, 30)
            time.sleep(value * (ref.last - ref.first))
        else:
            assert wait_until(lambda: ledger_requests(ledger) >= ref.units, process, 30)
            time.sleep(value * (ref.end - ref.last))
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return ledger_requests(ledger)


@pytest.mark.parametrize("name", ["csv", "csv-write", "po", "docx", "parquet"])
def test_sigkill_then_rerun(name: str, generated: Path, emulator: Emulator, tmp_path: Path) -> None:
    case = cases(generated)[name]
    reference = tmp_path / "reference"
    _prepare(case, reference)
    ref = _reference(case, reference, emulator)
    units = ref.units
    expected = {out: normalized(reference / "out" / out) for out in case.outputs}

    outcomes: list[str] = []
    for number, point in enumerate(case.kill_points):
        work = tmp_path / f"kill-{number}"
        _prepare(case, work)
        for out in case.outputs:
            (work / "out" / out).parent.mkdir(parents=True, exist_ok=True)
            (work / "out" / out).write_bytes(PREVIOUS)
        billed_before = _billed(emulator)
        at_kill = _kill(case, point, work, emulator, ref)

        replaced = 0
        for out in case.outputs:
            data = normalized(work / "out" / out)
            assert data in (PREVIOUS, expected[out]), f"{name} {point}: {out} is neither the old nor the new output"
            replaced += data != PREVIOUS
        out_paths = {work / "out" / o for o in case.outputs}
        assert not stray_files(work / "out", out_paths), f"{name} {point}: stray files after the kill"
        leftovers = len(part_files(work / "out"))

        rerun = subprocess.run(_args(case, work, emulator), env=environment(), timeout=120, capture_output=True, check=False)
        assert rerun.returncode == 0, rerun.stderr.decode()
        for out in case.outputs:
            assert normalized(work / "out" / out) == expected[out], f"{name} {point}: {out} differs after the rerun"
        assert not stray_files(work / "out", out_paths)
        paid_twice = _billed(emulator) - billed_before - units
        assert 0 <= paid_twice <= CONCURRENCY, f"{name} {point}: {paid_twice} requests paid twice"
        outcomes.append(
            f"{point[0]}={point[1]:g}: {at_kill}/{units} in ledger, outputs replaced {replaced}, "
            f".part left {leftovers}, paid twice {paid_twice}"
        )
    print(
        f"\n[{name}] reference: {units} requests, first at {ref.first:.2f}s, last at {ref.last:.2f}s, "
        f"end at {ref.end:.2f}s\n  " + "\n  ".join(outcomes)
    )

"""SIGTERM / SIGINT: the run stops scheduling, lets the requests in flight land, writes cache
and ledger, and exits 130 saying how to resume; the rerun pays only for the rest.

A scheduler stops a job with SIGTERM (systemd, Kubernetes, cron wrappers with timeouts), a
person with Ctrl-C (SIGINT). Both are sent while requests are in flight, and while the input
is still being read (before any request)."""

from __future__ import annotations

import csv
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mtpipe.records.ledger import read_ledger
from mtpipe.testing import Emulator, EmulatorConfig, Fault, FaultConfig, fake_translate
from tests.conftest import KEY, KEY_ENV
from tests.reliability.procs import (
    environment,
    ledger_requests,
    mtpipe_command,
    signal_when,
    translate_args,
)

ROWS = 40
CONCURRENCY = 2


@pytest.fixture()
def slow_emulator() -> Iterator[Emulator]:
    """Requests take 0.25 s, so some are always in flight."""
    with Emulator(EmulatorConfig(api_key=KEY, rpm=None, tpm=None, latency_s=0.25)) as emu:
        yield emu


def write_rows(path: Path, rows: int) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text"])
        writer.writerows((i, f"Sentence number {i} to translate") for i in range(rows))
    return path


def command(kind: str, tmp_path: Path, emu: Emulator, concurrency: int = CONCURRENCY) -> list[str]:
    """``mtpipe translate`` or ``mtpipe run JOB.toml`` over data.csv, one segment per request."""
    fast = ["--no-packing", "--concurrency", str(concurrency), "--rpm", "60000", "--tpm", "1e9"]
    if kind == "translate":
        return mtpipe_command(*translate_args([tmp_path / "data.csv"], tmp_path, emu.base_url, "--columns", "text", *fast))
    job = tmp_path / "job.toml"
    job.write_text(
        f'source_lang = "en"\ntarget_langs = ["de"]\nbase_url = "{emu.base_url}"\napi_key_env = "{KEY_ENV}"\n'
        'out = "out"\nledger = "state/ledger.jsonl"\ncache = "state/cache.sqlite"\n'
        '[[inputs]]\npath = "data.csv"\ncolumns = ["text"]\n',
        encoding="utf-8",
    )
    return mtpipe_command("run", str(job), *fast)


def billed(emu: Emulator) -> int:
    return emu.stats.ok + emu.stats.lost


@pytest.mark.parametrize(
    ("signum", "kind"),
    [
        pytest.param(signal.SIGTERM, "run", id="SIGTERM-run"),
        pytest.param(signal.SIGINT, "translate", id="SIGINT-translate"),
        pytest.param(signal.SIGTERM, "translate", id="SIGTERM-translate", marks=pytest.mark.slow),
        pytest.param(signal.SIGINT, "run", id="SIGINT-run", marks=pytest.mark.slow),
    ],
)
def test_signal_while_requests_are_in_flight(tmp_path: Path, slow_emulator: Emulator, signum: int, kind: str) -> None:
    emu = slow_emulator
    write_rows(tmp_path / "data.csv", ROWS)
    ledger = tmp_path / "state" / "ledger.jsonl"
    at_signal = 0

    def ready() -> bool:
        nonlocal at_signal
        at_signal = billed(emu)
        return ledger_requests(ledger) >= 4

    returncode, stderr = signal_when(command(kind, tmp_path, emu), ready, signum)
    assert returncode == 130, stderr
    assert "resume" in stderr and "Traceback" not in stderr, stderr
    records = list(read_ledger(ledger))
    ok = [r for r in records if r.get("event") == "request" and r["status"] == "ok"]
    assert records[-1]["event"] == "run_end" and records[-1]["status"] == "aborted"
    # Scheduling stopped: at most the requests in flight at the signal went out after it ...
    assert billed(emu) - at_signal <= CONCURRENCY
    assert len(ok) < ROWS
    # ... and they landed and were recorded: nothing paid is missing from the ledger.
    assert billed(emu) == len(ok) and emu.stats.lost == 0
    assert not (tmp_path / "out" / "data.csv").exists()
    if kind == "run":
        report = (tmp_path / "state" / "ledger.report.json").read_text()
        assert '"status": "interrupted"' in report
        assert not list((tmp_path / "state").glob("*.lock"))

    paid_before = billed(emu)
    # The same command (more requests in flight only to keep the test short).
    rerun = subprocess.run(command(kind, tmp_path, emu, 16), env=environment(), capture_output=True, text=True, timeout=60, check=False)
    assert rerun.returncode == 0, rerun.stderr
    assert billed(emu) - paid_before == ROWS - len(ok)  # the cache kept everything paid for
    with open(tmp_path / "out" / "data.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["text_de"] for r in rows] == [fake_translate(r["text"], "German") for r in rows]


@pytest.mark.parametrize(
    "signum", [pytest.param(signal.SIGTERM, id="SIGTERM"), pytest.param(signal.SIGINT, id="SIGINT")]
)
def test_signal_while_reading_the_inputs(tmp_path: Path, signum: int) -> None:
    write_rows(tmp_path / "data.csv", 400_000)  # several seconds of reading and planning
    ledger = tmp_path / "state" / "ledger.jsonl"
    args = translate_args([tmp_path / "data.csv"], tmp_path, "http://127.0.0.1:9/v1", "--columns", "text")
    interrupt_while_reading(mtpipe_command(*args), ledger, signum)
    assert not (tmp_path / "out").exists()


def test_ctrl_c_while_a_job_reads_its_inputs(tmp_path: Path) -> None:
    write_rows(tmp_path / "data.csv", 400_000)
    job = tmp_path / "job.toml"
    job.write_text(
        'target_langs = ["de"]\nbase_url = "http://127.0.0.1:9/v1"\napi_key_env = "MTPIPE_TEST_KEY"\n'
        'ledger = "state/ledger.jsonl"\ncache = "state/cache.sqlite"\n[[inputs]]\npath = "data.csv"\ncolumns = ["text"]\n',
        encoding="utf-8",
    )
    interrupt_while_reading(mtpipe_command("run", str(job)), tmp_path / "state" / "ledger.jsonl", signal.SIGINT)
    assert not list((tmp_path / "state").glob("*.lock"))


def interrupt_while_reading(argv: list[str], ledger: Path, signum: int) -> None:
    """Start ``argv``, send ``signum`` while it reads (before any ledger line), check the exit."""
    process = subprocess.Popen(argv, env=environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1.5)  # past the imports, into reading
        assert process.poll() is None and not ledger.exists()
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130, stderr
    assert "resume" in stderr and "Traceback" not in stderr, stderr


def test_signal_while_requests_wait_in_backoff_ends_the_run_within_seconds(tmp_path: Path) -> None:
    # Every request is throttled with Retry-After: 30 s: they all sleep in backoff when the
    # signal comes. Nothing is retried after it, and the sleepers are cut off after the grace.
    faults = FaultConfig(rates={Fault.THROTTLE_RETRY_AFTER: 1.0}, retry_after_s=30)
    with Emulator(EmulatorConfig(api_key=KEY, rpm=None, tpm=None, faults=faults)) as emu:
        write_rows(tmp_path / "data.csv", ROWS)
        at_signal, started = 0, 0.0

        def throttled() -> bool:
            nonlocal at_signal, started
            at_signal, started = emu.stats.received, time.monotonic()
            return emu.stats.faults.get("throttle_retry_after", 0) >= CONCURRENCY

        returncode, stderr = signal_when(command("translate", tmp_path, emu), throttled, signal.SIGTERM)
        took = time.monotonic() - started
        assert returncode == 130, stderr
        assert took < 10, took  # not the 30 s backoff, nor its retries
        assert emu.stats.received - at_signal <= CONCURRENCY  # at most those already on their way

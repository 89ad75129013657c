"""A run killed with SIGKILL and started again pays only for what it had not got."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from mtpipe.records.ledger import read_ledger
from mtpipe.testing import Emulator, EmulatorConfig
from tests.conftest import KEY, KEY_ENV, REPO

ROWS = 60


def command(tmp_path: Path, emu: Emulator, out: str, cache: str) -> list[str]:
    return [
        sys.executable, "-c", "from mtpipe.cli import main; main()", "translate", str(tmp_path / "data.csv"),
        "--columns", "text", "--to", "de", "--from", "en", "--base-url", emu.base_url, "--api-key-env", KEY_ENV,
        "--out", str(tmp_path / out), "--cache", str(tmp_path / cache), "--ledger", str(tmp_path / f"{cache}.jsonl"),
        "--no-packing", "--concurrency", "2", "--rpm", "60000", "--tpm", "100000000", "-q",
    ]


def requests_in(ledger: Path) -> int:
    if not ledger.exists():
        return 0
    return sum(1 for r in read_ledger(ledger) if r.get("event") == "request")


def test_sigkill_then_rerun_pays_at_most_the_in_flight_requests(tmp_path: Path) -> None:
    (tmp_path / "data.csv").write_text("id,text\n" + "".join(f"{i},Sentence number {i} to translate\n" for i in range(ROWS)))
    env = {**os.environ, KEY_ENV: KEY, "PYTHONPATH": str(REPO)}
    with Emulator(EmulatorConfig(api_key=KEY, rpm=None, tpm=None, latency_s=0.03)) as emu:
        process = subprocess.Popen(command(tmp_path, emu, "out", "cache"), env=env, cwd=tmp_path)
        ledger = tmp_path / "cache.jsonl"
        deadline = time.monotonic() + 30
        while requests_in(ledger) < 15 and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        killed_at = requests_in(ledger)
        assert 15 <= killed_at < ROWS, "the kill should land mid-run"
        assert not (tmp_path / "out" / "data.csv").exists()  # never a half-written output
        assert not [p for p in (tmp_path).rglob("*.part")]
        paid_before = emu.stats.ok

        rerun = subprocess.run(command(tmp_path, emu, "out", "cache"), env=env, cwd=tmp_path, timeout=60, check=False)
        assert rerun.returncode == 0
        paid_total = emu.stats.ok
        # Every unit is paid once, plus at most the requests in flight at the kill.
        assert paid_total - ROWS <= 2
        assert paid_total - paid_before == ROWS - killed_at  # the rerun pays only for the rest

        fresh = subprocess.run(command(tmp_path, emu, "fresh", "fresh-cache"), env=env, cwd=tmp_path, timeout=60, check=False)
        assert fresh.returncode == 0
    assert (tmp_path / "out" / "data.csv").read_bytes() == (tmp_path / "fresh" / "data.csv").read_bytes()

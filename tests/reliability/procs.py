"""Running ``mtpipe`` in a subprocess against the emulator, and reading what it left behind.

Shared by the kill, signal and security tests: they need a real process (signals, SIGKILL,
logging configuration, stderr) rather than click's in-process runner.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from mtpipe.records.ledger import read_ledger
from tests.conftest import KEY, KEY_ENV, REPO

#: The sample inputs written for the project.
SAMPLES = REPO / "samples"
_REVISION_DATE = re.compile(rb'"PO-Revision-Date: [^"\\]*\\n"')


def mtpipe_command(*args: str) -> list[str]:
    """The argv that runs ``mtpipe ARGS...`` with this interpreter."""
    return [sys.executable, "-c", "from mtpipe.cli import main; main()", *args]


def environment(key: str = KEY, **extra: str) -> dict[str, str]:
    """The process environment: the key in $MTPIPE_TEST_KEY, the repo importable."""
    return {**os.environ, KEY_ENV: key, "PYTHONPATH": str(REPO), **extra}


def translate_args(
    inputs: Sequence[Path],
    work: Path,
    base_url: str,
    *extra: str,
    out: str = "out",
    state: str = "state",
) -> list[str]:
    """``translate`` arguments writing to ``work/out`` with cache and ledger in ``work/state``."""
    return [
        "translate", *map(str, inputs), "--to", "de", "--from", "en",
        "--base-url", base_url, "--api-key-env", KEY_ENV,
        "--out", str(work / out), "--cache", str(work / state / "cache.sqlite"),
        "--ledger", str(work / state / "ledger.jsonl"), *extra,
    ]  # fmt: skip


def ledger_requests(ledger: Path) -> int:
    """How many request lines the ledger holds (0 when it does not exist yet)."""
    if not ledger.exists():
        return 0
    return sum(1 for record in read_ledger(ledger) if record.get("event") == "request")


def wait_until(condition: Callable[[], bool], process: subprocess.Popen[Any], timeout: float) -> bool:
    """Poll ``condition`` every 5 ms until it holds, the process ends or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        if process.poll() is not None:
            return condition()
        time.sleep(0.005)
    return False


def signal_when(argv: list[str], condition: Callable[[], bool], signum: int, timeout: float = 30) -> tuple[int, str]:
    """Start ``argv``, send ``signum`` once ``condition`` holds (within ``timeout`` seconds),
    and return its exit code and stderr (the process is killed if it outlives 15 s more)."""
    process = subprocess.Popen(argv, env=environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_until(condition, process, timeout)
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return process.returncode, stderr


def normalized(path: Path) -> bytes:
    """A file's bytes, with a gettext catalog's PO-Revision-Date (the run's time) blanked."""
    data = path.read_bytes()
    if path.suffix == ".po":
        data = _REVISION_DATE.sub(b'"PO-Revision-Date: X\\n"', data)
    return data


def stray_files(root: Path, expected: set[Path]) -> list[Path]:
    """Files under ``root`` other than ``expected`` and hidden ``.part`` leftovers."""
    return sorted(
        p for p in root.rglob("*")
        if p.is_file() and p not in expected and not (p.name.startswith(".") and p.name.endswith(".part"))
    )  # fmt: skip


def part_files(root: Path) -> list[Path]:
    """Temporary ``.part`` files left under ``root``."""
    return sorted(p for p in root.rglob("*.part") if p.is_file())

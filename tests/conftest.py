"""Shared fixtures: the corpus location and a running emulator; a file object tests wrap."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

import pytest

from mtpipe.run.settings import EngineHooks
from mtpipe.testing import Emulator, EmulatorConfig, FaultConfig

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus"
KEY_ENV = "MTPIPE_TEST_KEY"
KEY = "sk-test-0123456789abcdef"
#: Retries a hundred times sooner than a user's (backoff base 0.01 s), for runs against faults.
FAST_RETRIES = EngineHooks(retry_base=0.01)


def corpus(relative: str) -> Path:
    """A corpus file, or skip the test when the corpus is absent."""
    path = CORPUS / relative
    if not path.exists():
        pytest.skip(f"corpus file {relative} not available")
    return path


@pytest.fixture()
def emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    """An emulator with generous limits; the test key is in $MTPIPE_TEST_KEY."""
    monkeypatch.setenv(KEY_ENV, KEY)
    config = EmulatorConfig(
        api_key=KEY, rpm=6000, tpm=10_000_000, faults=FaultConfig(retry_after_s=0, retry_after_ms=10, slow_s=0.3)
    )
    with Emulator(config) as emu:
        yield emu


class WrappedHandle:
    """A file object passing everything to ``handle``: tests subclass it to change ``write``
    (a disk filling up, another program writing in the same file)."""

    def __init__(self, handle: TextIO) -> None:
        self.handle = handle

    def write(self, text: str) -> int:
        return self.handle.write(text)

    def flush(self) -> None:
        self.handle.flush()

    def fileno(self) -> int:
        return self.handle.fileno()

    def close(self) -> None:
        self.handle.close()

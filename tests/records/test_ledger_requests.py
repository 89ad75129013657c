"""What each request line of the ledger says about its attempts and what it kept, in concrete
situations over the emulator: ``attempts`` counts every attempt that went out, ``lost_attempts``
those whose reply was lost in transit (a reset, a truncated body, a timeout: they may be billed),
never those the server answered with an error; ``accepted`` counts the segments of the reply
kept after the checks, so a packed reply one of whose blocks broke keeps the others.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from mtpipe.run.runner import translate
from mtpipe.testing import Emulator, EmulatorConfig, Fault, FaultConfig
from tests.conftest import KEY, KEY_ENV
from tests.run.test_integration import ledger_requests, make_job, write_csv

#: What a ledger line says of a request's attempts.
FIELDS = ("status", "segments", "attempts", "lost_attempts", "accepted", "error")
SEGMENTS = 7  # test_integration.ROWS hold 7 distinct texts: one packed request


def line(record: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(record[name] for name in FIELDS)


@pytest.mark.parametrize(
    ("faults", "attempts", "lost"),
    [
        ([Fault.SERVER_ERROR], 2, 0),
        ([Fault.THROTTLE], 2, 0),
        ([Fault.RESET], 2, 1),
        ([Fault.TRUNCATED], 2, 1),
        ([Fault.RESET, Fault.OVERLOADED, Fault.TRUNCATED], 4, 2),
    ],
    ids=["500", "429", "reset", "truncated", "reset-503-truncated"],
)
def test_a_request_that_succeeds_after_failures_counts_its_lost_attempts(
    tmp_path: Path, emulator: Emulator, faults: list[Fault], attempts: int, lost: int
) -> None:
    for fault in faults:
        emulator.script(fault)
    result = translate(make_job(tmp_path, emulator, [write_csv(tmp_path / "data.csv")]))
    assert result.exit_code == 0, result.failures
    assert [line(r) for r in ledger_requests(tmp_path)] == [
        ("ok", SEGMENTS, attempts, lost, SEGMENTS, None)
    ]
    assert emulator.stats.lost == lost  # as many replies as the emulator lost (and billed)


def test_a_timeout_is_a_lost_attempt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, KEY)
    config = EmulatorConfig(api_key=KEY, rpm=None, tpm=None, faults=FaultConfig(slow_s=3.0))
    with Emulator(config) as emulator:
        emulator.script(Fault.SLOW)  # the first reply comes after 3 s, the client waits 0.5 s
        result = translate(
            make_job(tmp_path, emulator, [write_csv(tmp_path / "data.csv")], timeout=0.5)
        )
    assert result.exit_code == 0, result.failures
    assert [line(r) for r in ledger_requests(tmp_path)] == [("ok", SEGMENTS, 2, 1, SEGMENTS, None)]


def test_a_request_whose_replies_are_all_lost_fails_with_every_attempt_lost(
    tmp_path: Path, emulator: Emulator
) -> None:
    emulator.script(Fault.RESET, 4)
    result = translate(
        make_job(tmp_path, emulator, [write_csv(tmp_path / "data.csv")], max_retries=3)
    )
    assert result.exit_code == 1
    assert [line(r) for r in ledger_requests(tmp_path)] == [
        ("failed", SEGMENTS, 4, 4, 0, "transport")
    ]


def blocks(text: str) -> list[int]:
    """Lines per checkpoint block (``<mN/>``) of a packed request or reply."""
    return [len(block.strip("\n").split("\n")) for block in re.split(r"<m\d+/>", text)[1:]]


def test_a_packed_reply_with_a_broken_block_keeps_the_other_blocks(
    tmp_path: Path, emulator: Emulator
) -> None:
    rows = [(str(i), f"Sentence number {i} about the ferry", "") for i in range(40)]
    data = write_csv(tmp_path / "data.csv", rows)
    emulator.script(Fault.MERGED_LINES)  # two lines of one block of the first reply become one
    result = translate(make_job(tmp_path, emulator, [data]))
    assert result.exit_code == 0, result.failures
    first = emulator.requests[0]
    assert first.fault == Fault.MERGED_LINES and first.reply is not None
    sent, came_back = blocks(first.request.content), blocks(first.reply)
    broken = sum(n for n, back in zip(sent, came_back, strict=True) if back != n)
    assert len(sent) > 1 and 0 < broken < 40
    # The first line keeps every block but the broken one; the broken block's segments go
    # again, alone (nothing else is left to send), and are all kept.
    assert [line(r) for r in ledger_requests(tmp_path)] == [
        ("ok", 40, 1, 0, 40 - broken, "misaligned"),
        ("ok", broken, 1, 0, broken, None),
    ]

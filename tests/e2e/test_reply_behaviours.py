"""Replies as relays and MT variants really send them, through the emulator over loopback: a
cell is either the right translation or reported failed with file and place, never wrong."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import pytest

from mtpipe.records.ledger import read_ledger
from mtpipe.run.runner import translate
from mtpipe.testing import EmulatorConfig, Fault, FaultConfig, fake_translate, run_emulator
from tests.conftest import FAST_RETRIES, KEY, KEY_ENV
from tests.run.test_integration import make_job

WINDOWS = ("settings", "help", "account", "profile", "search", "print", "share", "upload")
TEXTS = [f"Please open the {word} window now" for word in WINDOWS] + [
    "Status",
    "Save %s as a new file",
    "Delete {count} items from the list",
]


def run(tmp_path: Path, config: EmulatorConfig, **job: Any) -> tuple[Any, list[dict[str, str]], list[dict[str, Any]]]:
    data = tmp_path / "ui.csv"
    with open(data, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text"])
        writer.writerows((i, t) for i, t in enumerate(TEXTS))
    with run_emulator(config) as emu:
        result = translate(make_job(tmp_path, emu, [data], options={"columns": ["text"]}, **job), hooks=FAST_RETRIES)
    out = tmp_path / "out" / "ui.csv"
    rows = []
    if out.exists():
        with open(out, newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    requests = [line for line in read_ledger(tmp_path / "ledger.jsonl") if line["event"] == "request"]
    return result, rows, requests


def assert_nothing_wrong(result: Any, rows: list[dict[str, str]]) -> set[int]:
    """No cell holds anything but its right translation; returns the rows left empty, each of
    which the run reported failed with file and place."""
    failed = set()
    places = {f.place for f in result.failures}
    for index, (row, text) in enumerate(zip(rows, TEXTS, strict=True)):
        if row["text_de"] == "":
            failed.add(index)
            assert any(f"row {index + 2}" in place or f"row {index + 1}" in place for place in places), places
            assert all(f.file.endswith("ui.csv") for f in result.failures)
        else:
            assert row["text_de"] == fake_translate(text, "German"), (text, row["text_de"])
    return failed


@pytest.mark.parametrize("packing", [True, False], ids=["packed", "single"])
@pytest.mark.parametrize(
    ("prefix", "suffix"),
    [("\r\n\r\n", ""), ("\n\n", ""), ("", "<|endofcontent|>"), ("\n\n", "<|endofcontent|>")],
    ids=["crlf", "lf", "end-of-content", "both"],
)
def test_wrapped_replies_are_unwrapped(tmp_path: Path, prefix: str, suffix: str, packing: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, KEY)
    config = EmulatorConfig(api_key=KEY, rpm=None, tpm=None, reply_prefix=prefix, reply_suffix=suffix)
    result, rows, _ = run(tmp_path, config, packing=packing)
    assert result.exit_code == 0 and not assert_nothing_wrong(result, rows)


@pytest.mark.parametrize("packing", [True, False], ids=["packed", "single"])
@pytest.mark.parametrize("fault", [Fault.EMPTY, Fault.COMMENTARY, Fault.MERGED_LINES])
def test_bad_replies_now_and_then_end_with_every_cell_right(tmp_path: Path, fault: Fault, packing: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, KEY)
    config = EmulatorConfig(api_key=KEY, rpm=None, tpm=None, faults=FaultConfig(rates={fault: 0.3}), seed=3)
    result, rows, requests = run(tmp_path, config, packing=packing)
    failed = assert_nothing_wrong(result, rows)
    assert result.exit_code == (1 if failed else 0)
    if fault is not Fault.MERGED_LINES:
        assert len(failed) <= 3  # 30% bad replies, each resent once: most cells come through
    assert sum(int(r["accepted"]) for r in requests) == len({t for i, t in enumerate(TEXTS) if i not in failed})


@pytest.mark.parametrize("packing", [True, False], ids=["packed", "single"])
@pytest.mark.parametrize("fault", [Fault.EMPTY, Fault.COMMENTARY])
def test_always_bad_replies_fail_every_cell_and_write_none(tmp_path: Path, fault: Fault, packing: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, KEY)
    config = EmulatorConfig(api_key=KEY, rpm=None, tpm=None, faults=FaultConfig(rates={fault: 1.0}))
    result, rows, requests = run(tmp_path, config, packing=packing)
    failed = assert_nothing_wrong(result, rows)
    assert result.exit_code == 1 and len(failed) >= len(TEXTS) - 1  # "Status" may pass as itself
    assert all(r["rejected"] or r["error"] for r in requests if not r["accepted"])


@pytest.mark.parametrize("packing", [True, False], ids=["packed", "single"])
def test_an_endpoint_that_echoes_stops_early_and_writes_nothing_as_translated(tmp_path: Path, packing: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, KEY)
    config = EmulatorConfig(api_key=KEY, rpm=None, tpm=None, faults=FaultConfig(rates={Fault.ECHO: 1.0}))
    result, rows, requests = run(tmp_path, config, packing=packing)
    assert result.exit_code == 3
    assert result.aborted and "ignores translation_options" in result.aborted
    # Requests still on their way when the run stopped are cut off and recorded as such.
    answered = [r for r in requests if r["error"] != "cancelled"]
    assert len(answered) <= 6
    assert all(r["status"] == "failed" and r["lost_attempts"] for r in requests if r not in answered)
    assert all(row["text_de"] in ("", "Status") for row in rows)  # nothing written as translated

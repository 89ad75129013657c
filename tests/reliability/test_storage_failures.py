"""The disk fills up (or a path turns unwritable) mid-run: the cache, the ledger, the run's work
store, an output. Each ends in one line naming what could not be written; a run that cannot
record what it pays for stops sending at once (exit 3); an output that cannot be written fails
only its file (exit 1) and leaves no partial file behind.

The run report and the run lock of job files too: one line, and no empty lock left behind.

The failures are injected where the OS would raise them (SQLite's "database or disk is full",
``OSError(ENOSPC)``), since a test cannot count on a small file system to fill.
"""

from __future__ import annotations

import errno
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from pipeline.cli import main
from pipeline.errors import RecordError
from pipeline.formats.tabular.csv import CsvFormat
from pipeline.jobs.lock import RunLock
from pipeline.jobs.report import write_report
from pipeline.records.cache import Cache
from pipeline.records.ledger import Ledger, read_ledger
from pipeline.run import workstore
from pipeline.run.workstore import WorkStore
from tests.reliability.test_bad_input import mtpipe, write_csv

DISK_FULL = sqlite3.OperationalError("database or disk is full")


def csv_inputs(tmp_path: Path, files: int = 1, rows: int = 600) -> list[Path]:
    folder = tmp_path / "in"
    folder.mkdir()
    return [
        write_csv(folder / f"f{n}.csv", [f"sentence {i} of file {n}" for i in range(rows)]) for n in range(files)
    ]


def fail_after(calls: int, error: BaseException) -> Any:
    """A replacement method that works ``calls`` times, then raises ``error``."""
    seen = {"n": 0}

    def wrap(original: Any) -> Any:
        def method(self: Any, *args: Any, **kwargs: Any) -> Any:
            seen["n"] += 1
            if seen["n"] > calls:
                raise error
            return original(self, *args, **kwargs)

        return method

    return wrap


def test_cache_full_stops_the_run_with_one_line_and_writes_no_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    inputs = csv_inputs(tmp_path)
    real = Cache.put_many

    def put_many(self: Cache, rows: Any) -> None:
        if self.path is not None and put_many.calls >= 1:  # type: ignore[attr-defined]
            raise RecordError(f"the cache {self.path}", DISK_FULL)
        put_many.calls += 1  # type: ignore[attr-defined]
        real(self, rows)

    put_many.calls = 0  # type: ignore[attr-defined]
    monkeypatch.setattr(Cache, "put_many", put_many)
    result = mtpipe(tmp_path, None, str(inputs[0]), "--columns", "text", "--concurrency", "1")
    assert result.exit_code == 3, result.output
    lines = [line for line in result.output.splitlines() if "cannot write" in line]
    assert lines and "the cache" in lines[0] and "database or disk is full" in lines[0]
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*.csv"))
    records = list(read_ledger(tmp_path / "ledger.jsonl"))
    requests = [r for r in records if r["event"] == "request"]
    # One batch was recorded, the one whose reply could not be is not, and nothing more was sent.
    assert len(requests) == 1
    assert records[-1]["event"] == "run_end" and records[-1]["status"] == "aborted"


def test_ledger_unwritable_mid_run_stops_sending(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    inputs = csv_inputs(tmp_path)
    error = RecordError(f"the ledger {tmp_path / 'ledger.jsonl'}", OSError(errno.ENOSPC, "No space left on device"))
    monkeypatch.setattr(Ledger, "append", fail_after(2, error)(Ledger.append))  # run_start + 1 request
    result = mtpipe(tmp_path, None, str(inputs[0]), "--columns", "text", "--concurrency", "1")
    assert result.exit_code == 3, result.output
    assert "cannot write the ledger" in result.output and "No space left on device" in result.output
    assert "Traceback" not in result.output


def test_work_store_without_room_is_one_line_naming_the_temporary_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    store = WorkStore(buffer=1)

    class FullConnection:
        def executemany(self, *args: Any) -> None:
            raise DISK_FULL

    monkeypatch.setattr(store._db, "_db", FullConnection())
    with pytest.raises(RecordError) as raised:
        store.add_tally(0, {1: 1})
    message = str(raised.value)
    assert f"work store in {tmp_path}" in message and "database or disk is full" in message
    assert workstore._temp_dir() == str(tmp_path)


def test_work_store_failure_while_sending_stops_the_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    inputs = csv_inputs(tmp_path, rows=3000)
    real_pages = WorkStore._pages

    def pages(self: WorkStore, where: str, page: int) -> Any:
        rows = real_pages(self, where, page)
        yield next(rows)
        raise RecordError("the run's work store in /tmp (set TMPDIR)", DISK_FULL)

    monkeypatch.setattr(WorkStore, "_pages", pages)
    result = mtpipe(tmp_path, None, str(inputs[0]), "--columns", "text")
    assert result.exit_code == 3, result.output
    assert "cannot write the run's work store" in result.output and "Traceback" not in result.output


def test_output_without_room_fails_its_file_and_the_others_are_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = csv_inputs(tmp_path, files=2, rows=20)
    real_write = CsvFormat.write

    def write(self: CsvFormat, path: Path, dest: Path, *args: Any, **kwargs: Any) -> Any:
        if path == first:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(self, path, dest, *args, **kwargs)

    monkeypatch.setattr(CsvFormat, "write", write)
    result = CliRunner().invoke(
        main,
        ["translate", str(first), str(second), "--to", "de", "--engine", "pseudo", "--columns", "text",
         "--out", str(tmp_path / "out"), "--ledger", str(tmp_path / "ledger.jsonl"), "--no-cache"],
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    assert f"cannot write {tmp_path / 'out' / first.name}: No space left on device" in result.output
    assert (tmp_path / "out" / second.name).exists()
    assert not (tmp_path / "out" / first.name).exists()


def test_report_that_cannot_be_written_is_one_line_and_keeps_the_old_one(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the report's folder should be")
    with pytest.raises(RecordError, match="cannot write the run report"):
        write_report(blocker / "report.json", {"version": 1})


def test_lock_that_cannot_be_written_is_removed_not_left_empty(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lock = tmp_path / "job.lock"

    def no_space(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("pipeline.jobs.lock.os.fsync", no_space)
    with pytest.raises(RecordError, match="cannot write the run lock .*No space left on device"):
        RunLock(lock).acquire()
    assert not lock.exists()  # an empty lock would block the next runs as "a run that is starting"


def test_a_cache_file_that_is_not_a_database_is_named_with_what_to_do(tmp_path: Path) -> None:
    inputs = csv_inputs(tmp_path, rows=5)
    (tmp_path / "cache.sqlite").write_text("not a database")
    result = mtpipe(tmp_path, None, str(inputs[0]), "--columns", "text")
    assert result.exit_code == 3, result.output
    assert f"cannot use the cache {tmp_path / 'cache.sqlite'}: file is not a database" in result.output
    assert "move it away or choose another --cache" in result.output

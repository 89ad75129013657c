"""The disk fills up (or a path turns unwritable) mid-run: the cache, the ledger, the run's work
store, an output. Each ends in one line naming what could not be written; a run that cannot
record what it pays for stops sending at once (exit 3); an output that cannot be written fails
only its file (exit 1) and leaves no partial file behind.

The run report and the run lock of job files too: one line, and no empty lock left behind.

The failures come from where the OS raises them, so that the code turning them into one line
runs as it does for a user: real paths that cannot be written (a file where a folder should be,
Linux's ``/dev/full``), real SQLite connections whose statements or fetches fail with SQLite's own
errors ("database or disk is full", "disk I/O error"), and a ledger whose file object runs out
of room (``OSError(ENOSPC)``); a test cannot count on a small file system to fill up.
"""

from __future__ import annotations

import errno
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

import polib
import pytest
from click.testing import CliRunner, Result

from mtpipe.cli import main
from mtpipe.errors import RecordError
from mtpipe.formats.tabular.csv import CsvFormat
from mtpipe.jobs.lock import RunLock
from mtpipe.jobs.report import write_report
from mtpipe.records.cache import Cache
from mtpipe.records.ledger import Ledger, read_ledger
from mtpipe.run import workstore
from mtpipe.run.workstore import WorkStore
from tests.conftest import WrappedHandle
from tests.reliability.test_bad_input import mtpipe, write_csv

DISK_FULL = sqlite3.OperationalError("database or disk is full")
IO_ERROR = sqlite3.OperationalError("disk I/O error")
#: Picks the statements that fail: (sql, parameters) -> whether this one does.
Picks = Callable[[str, Any], bool]


def csv_inputs(tmp_path: Path, files: int = 1, rows: int = 600) -> list[Path]:
    folder = tmp_path / "in"
    folder.mkdir()
    return [
        write_csv(folder / f"f{n}.csv", [f"sentence {i} of file {n}" for i in range(rows)])
        for n in range(files)
    ]


def after(passing: int, picks: Picks) -> Picks:
    """The statements ``picks`` picks, but the first ``passing`` of them."""
    seen = 0

    def fails(sql: str, parameters: Any) -> bool:
        nonlocal seen
        if not picks(sql, parameters):
            return False
        seen += 1
        return seen > passing

    return fails


def sqlite_failing(
    monkeypatch: pytest.MonkeyPatch,
    database: Path | str,
    fails: Picks,
    error: sqlite3.Error,
    *,
    on_fetch: bool = False,
) -> None:
    """From now on, connections to ``database`` ("": the temporary ones) are real SQLite
    connections whose statements ``fails`` picks raise ``error``: when they run, or with
    ``on_fetch`` when their rows are fetched (where a read SQLite cannot do shows)."""
    real_connect = sqlite3.connect

    class FailingFetch(sqlite3.Cursor):
        def fetchall(self) -> list[Any]:
            raise error

    class Failing(sqlite3.Connection):
        def execute(self, sql: str, parameters: Any = (), /) -> sqlite3.Cursor:
            if not fails(sql, parameters):
                return super().execute(sql, parameters)
            if on_fetch:
                return self.cursor(FailingFetch).execute(sql, parameters)
            raise error

        def executemany(self, sql: str, rows: Any, /) -> sqlite3.Cursor:
            if fails(sql, None):
                raise error
            return super().executemany(sql, rows)

    def connect(path: Any, *args: Any, **kwargs: Any) -> sqlite3.Connection:
        if str(path) == str(database):
            kwargs["factory"] = Failing
        connection: sqlite3.Connection = real_connect(path, *args, **kwargs)
        return connection

    monkeypatch.setattr(sqlite3, "connect", connect)


class FillingUp(WrappedHandle):
    """A ledger's file on a disk with room for ``lines`` more lines: OSError(ENOSPC) from the
    next write on, as a full disk gives it."""

    def __init__(self, handle: TextIO, lines: int) -> None:
        super().__init__(handle)
        self.room = lines

    def write(self, text: str) -> int:
        if self.room <= 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        self.room -= text.count("\n")
        return self.handle.write(text)


def ledger_filling_up(monkeypatch: pytest.MonkeyPatch, lines: int) -> None:
    """Ledgers opened from now on write to a disk that fills up after ``lines`` lines."""
    real_init = Ledger.__init__

    def init(self: Ledger, path: Path | None, run_id: str) -> None:
        real_init(self, path, run_id)
        if self._handle is not None:
            self._handle = FillingUp(self._handle, lines)  # type: ignore[assignment]

    monkeypatch.setattr(Ledger, "__init__", init)


def pseudo_run(data: Path, out: Path, cache: Path, ledger: Path) -> Result:
    """``mtpipe translate`` of a CSV's text column with the pseudo engine."""
    return CliRunner().invoke(
        main,
        ["translate", str(data), "--columns", "text", "--to", "de", "--engine", "pseudo", "--out", str(out),
         "--cache", str(cache), "--ledger", str(ledger)],
    )  # fmt: skip


def recorded(tmp_path: Path) -> tuple[list[dict[str, Any]], int]:
    """The run's ledger lines, and how many translations its cache holds."""
    cache = Cache(tmp_path / "cache.sqlite")
    try:
        return list(read_ledger(tmp_path / "ledger.jsonl")), len(cache)
    finally:
        cache.close()


def test_cache_full_stops_the_run_with_one_line_and_writes_no_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inputs = csv_inputs(tmp_path)
    inserts = after(1, lambda sql, _: sql.startswith("INSERT OR REPLACE INTO translations"))
    sqlite_failing(monkeypatch, tmp_path / "cache.sqlite", inserts, DISK_FULL)
    result = mtpipe(tmp_path, None, str(inputs[0]), "--columns", "text", "--concurrency", "1")
    assert result.exit_code == 3, result.output
    lines = [line for line in result.output.splitlines() if "cannot write" in line]
    assert len(lines) == 1 and lines[0].startswith(
        f"mtpipe: stopped: cannot write the cache {tmp_path / 'cache.sqlite'}: database or disk is full "
        "(free space or fix the path, then run again); the "
    )
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*.csv"))
    monkeypatch.undo()
    records, cached = recorded(tmp_path)
    requests = [r for r in records if r["event"] == "request"]
    # Both paid requests are in the ledger, the second although its translations could not be
    # cached (and says so); nothing more was sent, and only the first batch is kept.
    assert [(r["status"], r["error"]) for r in requests] == [("ok", None), ("ok", "not_cached")]
    assert requests[1]["accepted"] == 0 < requests[1]["segments"]  # paid, none of it kept
    assert cached == requests[0]["segments"]
    assert f"the {cached} translations done are cached" in lines[0]
    assert f"{cached} translated" in result.output and "; 2 requests," in result.output
    end = records[-1]
    assert end["event"] == "run_end" and end["status"] == "aborted"
    assert end["requests"] == 2 and end["total_tokens"] == sum(r["total_tokens"] for r in requests)


def test_cache_and_ledger_failing_on_the_same_request_are_both_said(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inputs = csv_inputs(tmp_path)
    inserts = after(1, lambda sql, _: sql.startswith("INSERT OR REPLACE INTO translations"))
    sqlite_failing(monkeypatch, tmp_path / "cache.sqlite", inserts, DISK_FULL)
    ledger_filling_up(monkeypatch, lines=2)  # run_start and the first request
    result = mtpipe(tmp_path, None, str(inputs[0]), "--columns", "text", "--concurrency", "1")
    assert result.exit_code == 3, result.output
    (line,) = [line for line in result.output.splitlines() if "cannot write" in line]
    assert line.startswith(
        f"mtpipe: stopped: cannot write the cache {tmp_path / 'cache.sqlite'}: database or disk is full "
        "(free space or fix the path, then run again); also cannot write the ledger "
        f"{tmp_path / 'ledger.jsonl'}: No space left on device"
    )
    monkeypatch.undo()
    records, cached = recorded(tmp_path)
    assert [r["event"] for r in records] == ["run_start", "request"]
    assert cached == records[1]["segments"]
    assert f"the {cached} translations done are cached" in line


def test_cache_under_a_file_is_one_line_before_anything_is_sent(tmp_path: Path) -> None:
    inputs = csv_inputs(tmp_path, rows=5)
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the cache's folder should be")
    result = pseudo_run(
        inputs[0],
        tmp_path / "out",
        cache=blocker / "cache.sqlite",
        ledger=tmp_path / "ledger.jsonl",
    )
    assert result.exit_code == 3, result.output
    assert f"cannot write the cache {blocker / 'cache.sqlite'}: File exists" in result.output
    assert "Traceback" not in result.output and not (tmp_path / "out").exists()


def test_ledger_unwritable_mid_run_stops_sending(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inputs = csv_inputs(tmp_path)
    ledger_filling_up(monkeypatch, lines=2)  # run_start and one request
    result = mtpipe(tmp_path, None, str(inputs[0]), "--columns", "text", "--concurrency", "1")
    assert result.exit_code == 3, result.output
    ledger = tmp_path / "ledger.jsonl"
    assert f"cannot write the ledger {ledger}: No space left on device" in result.output
    assert "Traceback" not in result.output
    monkeypatch.undo()
    records, cached = recorded(tmp_path)
    assert [r["event"] for r in records] == ["run_start", "request"]
    # The second request's translations were committed to the cache before its ledger line
    # failed (cache first, then ledger), and no third request was sent; the message and the
    # summary count what the cache holds, the second request's translations included.
    assert cached > records[1]["segments"]
    assert f"the {cached} translations done are cached; run the same command again" in result.output
    assert f"segments: {cached} translated, 0 from cache, " in result.output and "; 2 requests," in result.output
    assert "0 files written" in result.output


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs Linux's /dev/full")
def test_ledger_on_a_full_device_stops_before_anything_is_sent(tmp_path: Path) -> None:
    inputs = csv_inputs(tmp_path, rows=5)
    result = pseudo_run(
        inputs[0], tmp_path / "out", cache=tmp_path / "cache.sqlite", ledger=Path("/dev/full")
    )
    assert result.exit_code == 3, result.output
    assert "cannot write the ledger /dev/full: No space left on device" in result.output
    assert "Traceback" not in result.output
    cache = Cache(tmp_path / "cache.sqlite")
    assert len(cache) == 0  # nothing was translated
    cache.close()


def test_work_store_without_room_is_one_line_naming_the_temporary_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    sqlite_failing(monkeypatch, "", lambda sql, _: sql.startswith("INSERT INTO tally"), DISK_FULL)
    store = WorkStore(buffer=1)
    with pytest.raises(RecordError) as raised:
        store.add_tally(0, {1: 1})
    message = str(raised.value)
    assert message.startswith(
        f"cannot write the run's work store in {tmp_path} (set TMPDIR): database or disk is full"
    )
    assert workstore._temp_dir() == str(tmp_path)


def test_work_store_read_failure_while_sending_stops_the_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inputs = csv_inputs(tmp_path, rows=3000)
    monkeypatch.setenv("TMPDIR", str(tmp_path))

    def second_page_to_send(sql: str, parameters: Any) -> bool:
        # units() reads the units to send 1,000 at a time (sizes(), for the estimate, 5,000).
        return (
            "FROM units WHERE cached = 0" in sql and parameters[1:] == (1000,) and parameters[0] > 0
        )

    sqlite_failing(monkeypatch, "", second_page_to_send, IO_ERROR, on_fetch=True)
    result = mtpipe(tmp_path, None, str(inputs[0]), "--columns", "text")
    assert result.exit_code == 3, result.output
    assert (
        f"cannot read the run's work store in {tmp_path} (set TMPDIR): disk I/O error"
        in result.output
    )
    assert "internal error" not in result.output and "Traceback" not in result.output
    monkeypatch.undo()
    records, cached = recorded(tmp_path)
    requests = [r for r in records if r["event"] == "request"]
    assert requests and all(r["status"] == "ok" for r in requests)  # the first page was sent
    assert cached == sum(r["segments"] for r in requests)  # and all it paid for is kept
    assert records[-1]["event"] == "run_end" and records[-1]["status"] == "aborted"


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


def test_a_compiled_catalog_without_room_is_named_not_its_po(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--compile: the disk fills while the .mo is written (polib writes it through a file
    object, which names no file); the message named the .po, which was written."""
    pot = tmp_path / "app.pot"
    pot.write_text('msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\nmsgid "Save"\nmsgstr ""\n', encoding="utf-8")

    def no_space(self: Any, fpath: str) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(polib.POFile, "save_as_mofile", no_space)
    result = CliRunner().invoke(
        main,
        ["translate", str(pot), "--to", "de", "--engine", "pseudo", "--compile", "--out", str(tmp_path / "out"),
         "--ledger", str(tmp_path / "ledger.jsonl"), "--no-cache"],
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    assert f"cannot write {tmp_path / 'out' / 'de' / 'app.mo'}: No space left on device" in result.output
    assert not list((tmp_path / "out" / "de").glob("*.mo")) and not list((tmp_path / "out" / "de").glob(".*part"))


def test_report_that_cannot_be_written_is_one_line_and_keeps_the_old_one(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the report's folder should be")
    with pytest.raises(RecordError, match="cannot write the run report"):
        write_report(blocker / "report.json", {"version": 1})


def test_lock_that_cannot_be_written_is_removed_not_left_empty(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lock = tmp_path / "job.lock"

    def no_space(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("mtpipe.jobs.lock.os.fsync", no_space)
    with pytest.raises(RecordError, match="cannot write the run lock .*No space left on device"):
        RunLock(lock).acquire()
    assert not lock.exists()  # an empty lock would block the next runs as "a run that is starting"


def test_a_cache_file_that_is_not_a_database_is_named_with_what_to_do(tmp_path: Path) -> None:
    inputs = csv_inputs(tmp_path, rows=5)
    (tmp_path / "cache.sqlite").write_text("not a database")
    result = mtpipe(tmp_path, None, str(inputs[0]), "--columns", "text")
    assert result.exit_code == 3, result.output
    assert (
        f"cannot use the cache {tmp_path / 'cache.sqlite'}: file is not a database" in result.output
    )
    assert "move it away or choose another --cache" in result.output


def test_counts_that_cannot_be_settled_end_the_run_aborted_in_the_ledger_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The run_end line is written once the counts are settled: a cache that cannot be read
    then stops the run (exit 3) and run_end says so, not 'ok'."""
    inputs = csv_inputs(tmp_path, rows=20)
    output = tmp_path / "out" / inputs[0].name

    def lookups_once_written(sql: str, _: Any) -> bool:
        return sql.startswith("SELECT 1 FROM translations") and output.exists()

    sqlite_failing(monkeypatch, tmp_path / "cache.sqlite", lookups_once_written, IO_ERROR)
    result = mtpipe(tmp_path, None, str(inputs[0]), "--columns", "text")
    assert result.exit_code == 3, result.output
    message = f"cannot read the cache {tmp_path / 'cache.sqlite'}: disk I/O error"
    assert message in result.output and "Traceback" not in result.output
    monkeypatch.undo()
    records, _ = recorded(tmp_path)
    end = records[-1]
    assert end["event"] == "run_end" and end["status"] == "aborted"
    assert end["error"].startswith(message)

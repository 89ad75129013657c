"""The run's work store: distinct units and their occurrences, in SQLite rather than in Python.

A run over millions of rows must not hold one Python object per distinct value. The planner
keeps them here instead: a private temporary SQLite database (``sqlite3.connect("")``, which
SQLite creates in the temp directory and removes when it is closed, or when the process dies)
with two tables:

- ``units``: one row per distinct unit key the planner met, numbered in order of first
  occurrence (``seq``): whether the cache already had it, and for the others everything the
  pool needs to send it;
- ``tally``: per (file, unit) how many segments wait for that unit, so per-file counts can be
  settled once the pool has run.

What stays in memory is bounded whatever the input: an insert buffer (``buffer`` entries),
the planner's tally buffer of the same size, and SQLite's page cache (``cache_mb``). Units go to the pool as a
stream (:meth:`WorkStore.units`), a page at a time.
"""

from __future__ import annotations

import json
import os
import sqlite3
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from mtpipe.engine.framing import can_pack
from mtpipe.engine.units import Unit
from mtpipe.errors import RecordError
from mtpipe.text.languages import Language

#: Rows an insert buffer (and the planner's tally buffer) holds before they go to SQLite.
BUFFER = 20_000
#: SQLite page cache of the work store, in MB.
CACHE_MB = 16

#: Value of ``WorkStore.lookup`` for a key that was in the cache when planned.
CACHED = 0

_SCHEMA = """
CREATE TABLE units (
    seq      INTEGER PRIMARY KEY,
    hash     INTEGER NOT NULL,
    key      TEXT NOT NULL,
    cached   INTEGER NOT NULL,
    done     INTEGER NOT NULL DEFAULT 0,
    text     TEXT,
    source   TEXT,
    target   TEXT,
    domains  TEXT,
    checks   TEXT,
    soft     TEXT,
    terms    TEXT,
    file     INTEGER,
    place    TEXT,
    tokens   INTEGER,
    packable INTEGER
);
CREATE TABLE tally (
    file INTEGER NOT NULL,
    seq  INTEGER NOT NULL,
    n    INTEGER NOT NULL,
    PRIMARY KEY (file, seq)
) WITHOUT ROWID;
-- Keys are looked up by their Python hash (the store lives no longer than the process): an
-- integer index is a fraction of the size of one on 64-character keys, and faster.
CREATE INDEX units_hash ON units (hash);
"""

_COLUMNS = "seq, hash, key, cached, text, source, target, domains, checks, soft, terms, file, place, tokens, packable"
_Row = tuple[
    int,
    int,
    str,
    int,
    str | None,
    str | None,
    str | None,
    str | None,
    str | None,
    str | None,
    str | None,
    int | None,
    str | None,
    int | None,
    int | None,
]


@dataclass(frozen=True, slots=True)
class Settled:
    """Per (file, target): occurrences whose unit is now translated, and those that are not."""

    translated: int = 0
    failed: int = 0


class _Connection:
    """The store's SQLite connection, whose failures (no room left in the temporary directory)
    are a RecordError naming where the store lives, not a traceback."""

    def __init__(self) -> None:
        try:
            self._db = sqlite3.connect("", check_same_thread=False)
        except sqlite3.Error as exc:
            raise _unwritable(exc) from None

    # try/except in each method rather than a context manager: rows runs once per lookup.
    def rows(self, sql: str, parameters: tuple[Any, ...] = ()) -> list[Any]:
        """Every row of a query, fetched before returning: SQLite reads the database while rows
        are fetched, so a fetch fails as the statement can (a RecordError too)."""
        try:
            return self._db.execute(sql, parameters).fetchall()
        except sqlite3.Error as exc:
            raise _unwritable(exc, "read") from None

    def executemany(self, sql: str, rows: Iterable[Any]) -> None:
        """Run one statement per row."""
        try:
            self._db.executemany(sql, rows)
        except sqlite3.Error as exc:
            raise _unwritable(exc) from None

    def executescript(self, script: str) -> None:
        """Run several statements."""
        try:
            self._db.executescript(script)
        except sqlite3.Error as exc:
            raise _unwritable(exc) from None

    def close(self) -> None:
        """Close (and so delete) the database."""
        self._db.close()


def _unwritable(error: sqlite3.Error, verb: str = "write") -> RecordError:
    return RecordError(f"the run's work store in {_temp_dir()} (set TMPDIR)", error, verb=verb)


def _temp_dir() -> str:
    """Where SQLite puts temporary databases (its own order of environment variables)."""
    return os.environ.get("SQLITE_TMPDIR") or os.environ.get("TMPDIR") or tempfile.gettempdir()


class WorkStore:
    """Distinct units of a run, numbered by first occurrence; see the module docstring."""

    def __init__(self, buffer: int | None = None, cache_mb: int | None = None) -> None:
        self._db = _Connection()
        pages = (cache_mb or CACHE_MB) * 1024
        self._db.executescript(
            f"PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-{pages};"
            + _SCHEMA
        )
        self._buffer_size = max(1, buffer or BUFFER)
        self._pending_rows: dict[str, _Row] = {}  # added, not yet inserted
        self._next = 1
        self._to_send = 0
        self._languages: dict[str, Language] = {}
        self._files: list[str] = []
        self._checks: dict[str, frozenset[str]] = {}

    # ---- planning ------------------------------------------------------------------------

    def add_file(self, name: str) -> int:
        """Register an input file; returns its number for :meth:`add_tally`."""
        self._files.append(name)
        return len(self._files) - 1

    @property
    def next_unit(self) -> int:
        """The number the next unit (or cache hit) will get."""
        return self._next

    def forget_file(self, file: int, first_unit: int) -> None:
        """Forget what planning ``file`` added: its tallies, and the units numbered from
        ``first_unit`` on (every one of them first met in it, files being planned one after
        another), so that a file that fails part-way sends nothing."""
        kept = {key: row for key, row in self._pending_rows.items() if row[0] < first_unit}
        dropped = [row for row in self._pending_rows.values() if row[0] >= first_unit]
        stored = self._db.rows(
            "SELECT COUNT(*) FROM units WHERE seq >= ? AND cached = 0", (first_unit,)
        )
        self._to_send -= int(stored[0][0]) + sum(1 for row in dropped if not row[3])
        self._db.executemany("DELETE FROM units WHERE seq >= ?", [(first_unit,)])
        self._db.executemany("DELETE FROM tally WHERE file = ?", [(file,)])
        self._pending_rows = kept
        self._next = first_unit

    def lookup(self, key: str) -> int | None:
        """The unit's number (``CACHED`` when it was a cache hit), or None for a new key."""
        row = self._pending_rows.get(key)
        if row is not None:
            return CACHED if row[3] else row[0]
        for seq, cached, stored in self._db.rows(
            "SELECT seq, cached, key FROM units WHERE hash = ?", (hash(key),)
        ):
            if stored == key:
                return CACHED if cached else int(seq)
        return None

    def add_cached(self, key: str) -> None:
        """Record a new key the cache already holds (only so that it is known as seen)."""
        self._insert((self._next, hash(key), key, 1) + (None,) * 11)

    def add_unit(self, unit: Unit, file: int) -> int:
        """Record a unit to send (its key must be new); returns its number (> ``CACHED``)."""
        seq = self._next
        for language in (unit.source, unit.target):
            self._languages.setdefault(language.code, language)
        self._insert(
            (
                seq,
                hash(unit.key),
                unit.key,
                0,
                unit.text,
                unit.source.code,
                unit.target.code,
                unit.domains,
                _join(unit.checks),
                _join(unit.soft_checks),
                json.dumps(unit.terms, ensure_ascii=False) if unit.terms else "",
                file,
                unit.place,
                unit.tokens,
                1 if can_pack(unit.text) else 0,
            )
        )
        self._to_send += 1
        return seq

    def add_tally(self, file: int, counts: dict[int, int]) -> None:
        """``counts[seq]`` more segments of ``file`` wait for unit ``seq``.

        The planner counts in a small dict of its own and hands it over when it gets big
        (``buffer`` entries) and at the end of each file.
        """
        self._db.executemany(
            "INSERT INTO tally (file, seq, n) VALUES (?, ?, ?) "
            "ON CONFLICT (file, seq) DO UPDATE SET n = n + excluded.n",
            ((file, seq, n) for seq, n in counts.items()),
        )

    @property
    def buffer(self) -> int:
        """How many entries a buffer holds before it goes to the database."""
        return self._buffer_size

    def _flush_units(self) -> None:
        if self._pending_rows:
            self._db.executemany(
                f"INSERT INTO units ({_COLUMNS}) VALUES ({', '.join('?' * 15)})",
                self._pending_rows.values(),
            )
            self._pending_rows.clear()

    def _insert(self, row: _Row) -> None:
        self._pending_rows[row[2]] = row
        self._next += 1
        if len(self._pending_rows) >= self._buffer_size:
            self._flush_units()

    # ---- sending -------------------------------------------------------------------------

    @property
    def to_send(self) -> int:
        """How many units were not in the cache."""
        return self._to_send

    def to_send_by_file(self) -> dict[str, int]:
        """How many units to send first occur in each input file (files with none left out)."""
        self._flush_units()
        rows = self._db.rows("SELECT file, COUNT(*) FROM units WHERE cached = 0 GROUP BY file ORDER BY file")
        return {self._files[int(file)]: int(count) for file, count in rows}

    def units(self, page: int = 1_000) -> Iterator[Unit]:
        """The units to send, in order of first occurrence, read ``page`` rows at a time."""
        self._flush_units()
        for row in self._pages("cached = 0", page):
            yield self._unit(row)

    def language(self, code: str) -> Language:
        """The language stored units name by ``code``."""
        return self._languages[code]

    def sizes(self) -> Iterator[tuple[tuple[str, str, str], int, bool]]:
        """Per unit to send, in order: (source, target, domains), estimated tokens, packable."""
        self._flush_units()
        for row in self._pages("cached = 0", 5_000):
            yield (str(row[5]), str(row[6]), str(row[7])), int(row[13] or 0), bool(row[14])

    def _pages(self, where: str, page: int) -> Iterator[_Row]:
        # Keyset pages: no cursor stays open while the caller works (or writes) between rows.
        last = 0
        while True:
            rows = self._db.rows(
                f"SELECT {_COLUMNS} FROM units WHERE {where} AND seq > ? ORDER BY seq LIMIT ?",
                (last, page),
            )
            if not rows:
                return
            yield from rows
            last = rows[-1][0]

    def _unit(self, row: _Row) -> Unit:
        _, _, key, _, text, source, target, domains, checks, soft, terms, file, place, tokens, _ = (
            row
        )
        return Unit(
            key=key,
            text=str(text),
            source=self._languages[str(source)],
            target=self._languages[str(target)],
            domains=str(domains),
            checks=self._split(str(checks)),
            soft_checks=self._split(str(soft)),
            terms=tuple((str(s), str(t)) for s, t in json.loads(terms)) if terms else (),
            file=self._files[int(file or 0)],
            place=str(place),
            tokens=int(tokens or 0),
        )

    def _split(self, joined: str) -> frozenset[str]:
        found = self._checks.get(joined)
        if found is None:
            found = self._checks[joined] = frozenset(joined.split(",")) if joined else frozenset()
        return found

    # ---- after sending ---------------------------------------------------------------------

    def settle(self, done: Callable[[str], bool]) -> dict[tuple[int, str], Settled]:
        """Per (file number, target code): waiting occurrences now translated or failed.

        ``done(key)`` says whether a unit got its translation (is in the cache now).
        """
        self._flush_units()
        last = 0
        while True:
            rows = self._db.rows(
                "SELECT seq, key FROM units WHERE cached = 0 AND seq > ? ORDER BY seq LIMIT 2000",
                (last,),
            )
            if not rows:
                break
            self._db.executemany(
                "UPDATE units SET done = 1 WHERE seq = ?",
                ((seq,) for seq, key in rows if done(key)),
            )
            last = rows[-1][0]
        settled: dict[tuple[int, str], Settled] = {}
        for file, target, is_done, n in self._db.rows(
            "SELECT t.file, u.target, u.done, SUM(t.n) FROM tally t JOIN units u ON u.seq = t.seq "
            "GROUP BY t.file, u.target, u.done"
        ):
            old = settled.get((file, target), Settled())
            settled[(file, target)] = (
                Settled(old.translated + n, old.failed)
                if is_done
                else Settled(old.translated, old.failed + n)
            )
        return settled

    def close(self) -> None:
        """Close (and so delete) the database."""
        self._db.close()


def _join(checks: frozenset[str]) -> str:
    return ",".join(sorted(checks))

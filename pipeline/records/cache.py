"""SQLite translation cache: what makes a second run free and a killed run resumable.

Keys are content hashes of everything that determines a translation (see
mtpipe.engine.units.unit_key), never row numbers, so resume survives rows moving. Each finished
request's translations are committed in one transaction before anything else happens. Beside
them the ``learned`` table keeps, per endpoint and model, what a run learned about the engine
(checkpoint interval, segments per request, output/input token ratio), so a nightly run starts
where the last one ended instead of learning again.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import platformdirs

from mtpipe.errors import RecordError

ENV_CACHE = "MTPIPE_CACHE"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS translations (
    key     TEXT PRIMARY KEY,
    text    TEXT NOT NULL,
    model   TEXT NOT NULL,
    target  TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS learned (
    endpoint TEXT NOT NULL,
    model    TEXT NOT NULL,
    state    TEXT NOT NULL,
    updated  REAL NOT NULL,
    PRIMARY KEY (endpoint, model)
);
"""


def default_cache_path() -> Path:
    """``$MTPIPE_CACHE`` or ``<user cache dir>/mtpipe/cache.sqlite``."""
    env = os.environ.get(ENV_CACHE)
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_cache_dir("mtpipe")) / "cache.sqlite"


class Cache:
    """A key -> translation store. ``path=None`` keeps it for this run only (a temporary
    database on disk that SQLite deletes on close: it may hold millions of values)."""

    def __init__(self, path: Path | None, timeout: float = 30.0) -> None:
        """Open (create) the cache; ``timeout``: seconds to wait for another process's lock."""
        self.path = path
        #: Translations committed through this object: what this run put in the cache (a key
        #: stored twice counts twice; keys are unique within a run).
        self.stored = 0
        try:
            if path is None:
                self._db = sqlite3.connect("", check_same_thread=False)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                if not path.exists():
                    # Created readable by its owner only: it holds the user's texts.
                    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
                self._db = sqlite3.connect(path, timeout=timeout, check_same_thread=False)
                self._db.execute("PRAGMA journal_mode=WAL")
                self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            self._db.commit()
        except (OSError, sqlite3.OperationalError) as exc:
            raise RecordError(self._name, exc) from None
        except sqlite3.DatabaseError as exc:  # "file is not a database", "malformed"
            hint = "not an mtpipe cache: move it away or choose another --cache"
            raise RecordError(self._name, exc, hint, verb="use") from None

    @property
    def _name(self) -> str:
        return f"the cache {self.path}" if self.path is not None else "the run's temporary cache"

    def _one(self, sql: str, args: tuple[object, ...]) -> tuple[Any, ...] | None:
        """One row of a read; RecordError (not a raw sqlite3 error) when the database cannot be
        read, e.g. locked by another process past the timeout."""
        try:
            row: tuple[Any, ...] | None = self._db.execute(sql, args).fetchone()
        except sqlite3.Error as exc:
            raise RecordError(self._name, exc, verb="read") from None
        return row

    # An empty text is no translation (mtpipe never caches one: every reply is checked before
    # it is): one that another tool or an old version wrote is read as absent, so it is asked
    # again and replaced, instead of being written out or failed run after run.

    def get(self, key: str) -> str | None:
        """The cached translation for ``key``, or None (an empty one is none)."""
        row = self._one("SELECT text FROM translations WHERE key = ? AND text <> ''", (key,))
        return None if row is None else str(row[0])

    def __contains__(self, key: object) -> bool:
        return (
            isinstance(key, str)
            and self._one("SELECT 1 FROM translations WHERE key = ? AND text <> ''", (key,))
            is not None
        )

    def put_many(self, rows: Iterable[tuple[str, str, str, str]]) -> None:
        """Store (key, text, model, target) rows and commit before returning (RecordError if
        they cannot be: nothing of them is stored then); counts them in :attr:`stored`."""
        now = time.time()
        values = [(k, t, m, g, now) for k, t, m, g in rows]
        try:
            with self._db:
                self._db.executemany(
                    "INSERT OR REPLACE INTO translations (key, text, model, target, created) "
                    "VALUES (?, ?, ?, ?, ?)",
                    values,
                )
        except sqlite3.Error as exc:
            raise RecordError(self._name, exc) from None
        self.stored += len(values)

    def learned(self, endpoint: str, model: str) -> dict[str, Any] | None:
        """What an earlier run learned about ``endpoint`` and ``model`` (see :meth:`remember`),
        or None; a state that cannot be read is no state."""
        row = self._one("SELECT state FROM learned WHERE endpoint = ? AND model = ?", (endpoint, model))
        if row is None:
            return None
        try:
            state = json.loads(row[0])
        except ValueError:
            return None
        return state if isinstance(state, dict) else None

    def remember(self, endpoint: str, model: str, state: Mapping[str, Any]) -> None:
        """Keep what this run learned about ``endpoint`` and ``model`` (packing, output ratio),
        so the next run starts where this one ended."""
        try:
            with self._db:
                self._db.execute(
                    "INSERT OR REPLACE INTO learned (endpoint, model, state, updated) "
                    "VALUES (?, ?, ?, ?)",
                    (endpoint, model, json.dumps(dict(state), sort_keys=True), time.time()),
                )
        except sqlite3.Error as exc:
            raise RecordError(self._name, exc) from None

    def __len__(self) -> int:
        row = self._one("SELECT COUNT(*) FROM translations WHERE text <> ''", ())
        return int(row[0]) if row else 0

    def close(self) -> None:
        """Close the database."""
        self._db.close()

"""A cache another process holds locked: the run's event loop never freezes on it, and a read
that cannot be made is a RecordError, not a raw sqlite3 error."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import anyio
import pytest

from mtpipe.errors import RecordError
from mtpipe.records.cache import Cache
from tests.engine.test_pool import FakeClient, make_pool, unit


def hold_lock(path: Path, seconds: float) -> threading.Thread:
    """Another process's writer: an exclusive lock on ``path`` for ``seconds``."""
    locked = threading.Event()

    def hold() -> None:
        other = sqlite3.connect(path, timeout=5)
        other.execute("BEGIN EXCLUSIVE")
        locked.set()
        time.sleep(seconds)
        other.rollback()
        other.close()

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    assert locked.wait(5)
    return thread


def test_a_locked_cache_stalls_no_request_nor_the_loop(tmp_path: Path) -> None:
    client = FakeClient(sleep_s=0.05)
    pool, memory = make_pool(tmp_path, client, concurrency=2)
    pool.cache = pool.book.cache = Cache(tmp_path / "shared.sqlite")
    memory.close()
    gaps: list[float] = []

    async def ticker(stop: anyio.Event) -> None:
        last = time.monotonic()
        while not stop.is_set():
            await anyio.sleep(0.02)
            now = time.monotonic()
            gaps.append(now - last)
            last = now

    async def go() -> None:
        stop = anyio.Event()
        async with anyio.create_task_group() as tg:
            tg.start_soon(ticker, stop)
            holder = hold_lock(tmp_path / "shared.sqlite", 1.0)
            await pool.run([unit(i) for i in range(40)])
            stop.set()
        holder.join(5)

    anyio.run(go)
    assert all(pool.cache.get(f"k{i}") == f"STRING NUMBER {i}" for i in range(40))
    # The writes waited for the lock in a worker thread: the loop kept ticking meanwhile.
    assert max(gaps) < 0.5, max(gaps)
    assert len(client.requests) >= 2


class LockedConnection:
    """A SQLite connection whose every statement finds the database locked (as when another
    process holds it past the timeout)."""

    def execute(self, *args: object) -> None:
        raise sqlite3.OperationalError("database is locked")


@pytest.mark.parametrize("read", ["get", "contains", "len", "learned"])
def test_a_read_of_a_locked_cache_is_a_record_error(tmp_path: Path, read: str) -> None:
    cache = Cache(tmp_path / "shared.sqlite")
    real = cache._db
    cache._db = LockedConnection()  # type: ignore[assignment]
    try:
        with pytest.raises(RecordError, match="cannot read the cache .*database is locked"):
            if read == "get":
                cache.get("k")
            elif read == "contains":
                _ = "k" in cache
            elif read == "len":
                len(cache)
            else:
                cache.learned("https://x/v1", "qwen-mt-turbo")
    finally:
        cache._db = real
        cache.close()

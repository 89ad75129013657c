"""Running the pool under the signal watcher: the first Ctrl-C / SIGTERM stops scheduling and
retrying and gives the requests on the wire :data:`STOP_GRACE_S` to land; the second cancels."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterable
from typing import Any

import anyio

from mtpipe.engine.pool import TranslationPool
from mtpipe.engine.stopping import INTERRUPTED
from mtpipe.engine.units import Unit
from mtpipe.errors import PipelineError

__all__ = ["STOP_GRACE_S", "execute"]


async def execute(pool: TranslationPool, units: Iterable[Unit], total: int, client: Any) -> None:
    error: PipelineError | None = None
    try:
        async with anyio.create_task_group() as tg:
            if threading.current_thread() is threading.main_thread():
                tg.start_soon(_watch_signals, pool, tg.cancel_scope)
            try:
                await pool.run(units, total)
            except PipelineError as exc:
                error = exc  # raised below, outside the task group (no ExceptionGroup)
            tg.cancel_scope.cancel()
    finally:
        if hasattr(client, "aclose"):
            await client.aclose()
    if error is not None:
        raise error


#: Seconds the requests in flight get to land after the first Ctrl-C / SIGTERM.
STOP_GRACE_S = 5.0


async def _watch_signals(pool: TranslationPool, scope: anyio.CancelScope) -> None:
    """First SIGINT/SIGTERM: stop scheduling and retrying, let the requests on the wire land
    for :data:`STOP_GRACE_S`, then cancel (what is cut off is recorded as possibly billed).
    Second: cancel at once."""
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async with anyio.create_task_group() as grace:
            async for _ in signals:
                if pool.stopping is None:
                    pool.stop(INTERRUPTED)
                    grace.start_soon(_cancel_after, scope, STOP_GRACE_S)
                else:
                    scope.cancel()
                    return


async def _cancel_after(scope: anyio.CancelScope, seconds: float) -> None:
    await anyio.sleep(seconds)
    scope.cancel()

"""What the pool sends next, and when: batches packed just in time, lost segments first.

The pool packs a batch only when few batches wait for a pacing slot (:data:`WAITING_BATCHES`),
so a retried batch is not queued behind the rest of the run, and segments that a misaligned
reply lost can join a batch that is not packed yet (:meth:`Feed.with_requeued` puts them
ahead of the stream). Batches sent again as they are (a segment retried alone, a bisected
batch's halves) wait in the feed too (:meth:`Feed.resend`) and start, ahead of fresh batches,
under the same bound: a finished request hands them over and ends, so no batch waiting for room
holds any. :class:`Feed` keeps that state: the units to pack again, the batches to send again,
the batches started and not finished, those not yet past their first pacing slot, and an event
that wakes the dispatcher when any of it changes.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator

import anyio

from mtpipe.engine.units import Unit

#: Fresh batches allowed to wait for a pacing slot at once: the next request is ready when its
#: slot opens, yet a retried batch is not queued behind the rest of the run.
WAITING_BATCHES = 2


class Feed:
    """The pool's scheduling state (single event loop: no locking)."""

    def __init__(self) -> None:
        self._requeued: deque[Unit] = deque()
        self._resends: deque[list[Unit]] = deque()
        #: batches started and not finished
        self.outstanding = 0
        #: batches started and not yet past their first pacing slot
        self.waiting = 0
        self._changed: anyio.Event | None = None

    # ---- units to pack again -----------------------------------------------------------

    def requeue(self, units: Iterable[Unit]) -> None:
        """Pack ``units`` into the next batches, ahead of the stream."""
        self._requeued.extend(units)
        self.notify()

    @property
    def has_requeued(self) -> bool:
        """True while units wait to be packed again."""
        return bool(self._requeued)

    def with_requeued(self, units: Iterable[Unit]) -> Iterator[Unit]:
        """``units``, with the units requeued meanwhile put before each next one."""
        for unit in units:
            yield from self.take_requeued()
            yield unit

    def take_requeued(self) -> Iterator[Unit]:
        """The requeued units, including those requeued while this is read."""
        while self._requeued:
            yield self._requeued.popleft()

    # ---- batches to send again as they are ---------------------------------------------

    def lost(self, units: list[Unit], most: int) -> bool:
        """Send again what a reply lost (a broken block, or a packed reply given back
        unchanged); True when the lost-again ones were split.

        Lost for the first time: back into the stream, packed into the next batches at the
        checkpoints and segments per request learned so far, so a lost line costs no request of
        its own. Lost again: in batches of at most half of them and of ``most`` (the learned
        size), a smaller batch each time, so this ends with single segments, which are sent
        bare and judged on their own.
        """
        for unit in units:
            unit.losses += 1
        self.requeue(u for u in units if u.losses == 1)
        again = [u for u in units if u.losses > 1]
        size = max(1, min(len(again) // 2, most))
        for start in range(0, len(again), size):
            self.resend(again[start : start + size])
        return len(again) > size

    def resend(self, batch: list[Unit]) -> None:
        """Send ``batch`` as it is once there is room, before any fresh batch."""
        self._resends.append(batch)
        self.notify()

    @property
    def has_resends(self) -> bool:
        """True while batches wait to be sent again."""
        return bool(self._resends)

    def next_resend(self) -> list[Unit] | None:
        """The oldest batch waiting to be sent again, or None."""
        return self._resends.popleft() if self._resends else None

    # ---- batches -----------------------------------------------------------------------

    def started(self) -> None:
        """A batch was started: it waits for its first pacing slot."""
        self.outstanding += 1
        self.waiting += 1

    def paced(self) -> None:
        """A started batch got its first pacing slot (or ended before)."""
        self.waiting -= 1
        self.notify()

    def finished(self) -> None:
        """A started batch ended (sent, failed or handed on)."""
        self.outstanding -= 1
        self.notify()

    def full(self, most_outstanding: int) -> bool:
        """True while no batch should be packed: enough wait, or too many are outstanding."""
        return self.waiting >= WAITING_BATCHES or self.outstanding >= most_outstanding

    # ---- waking the dispatcher ---------------------------------------------------------

    async def changed(self) -> None:
        """Wait until something above changes (or :meth:`notify` is called)."""
        if self._changed is None:
            self._changed = anyio.Event()
        await self._changed.wait()

    def notify(self) -> None:
        """Wake whoever waits in :meth:`changed`."""
        if self._changed is not None:
            self._changed.set()
            self._changed = None

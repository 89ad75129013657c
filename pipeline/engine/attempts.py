"""One request's attempts: each paced, counted and tracked in flight, and what each failure
tells the pacer, the in-flight limit and the endpoint watch.

The retry policy (:mod:`mtpipe.engine.retry`) decides whether to try again and how long to
wait; :class:`Attempts` is what it calls: :meth:`Attempts.attempt` sends once,
:meth:`Attempts.on_error` learns from a failed attempt. Once the run is stopping, no attempt
goes out (:class:`~mtpipe.engine.watch.NotSent`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import anyio

from mtpipe.engine.bookkeeping import PoolStats
from mtpipe.engine.client import Reply, TranslationRequest
from mtpipe.engine.inflight import InFlightLimit, Slot
from mtpipe.engine.pacing import Pacer, Reservation
from mtpipe.engine.stopping import StopReason
from mtpipe.engine.watch import EndpointWatch, NotSent
from mtpipe.errors import ProviderError, RateLimited, ServerError

__all__ = ["LOST_CODES", "Attempts", "Client"]

#: Failures whose reply was lost in transit: the request may have been billed.
LOST_CODES = frozenset({"transport", "timeout", "bad_body", "too_big"})


class Client(Protocol):
    """What the pool needs from an engine: one request in, one reply out. An engine whose
    template is not Qwen-MT's may also offer ``prompt_tokens(request) -> int``, the prompt
    tokens a request is expected to be billed."""

    @property
    def name(self) -> str:
        """The model label for ledgers."""
        ...

    async def translate(self, request: TranslationRequest) -> Reply:
        """Translate one request or raise a ProviderError."""
        ...


class Attempts:
    """The attempts of one request (``tokens``: its estimated billed tokens)."""

    def __init__(
        self,
        request: TranslationRequest,
        tokens: int,
        *,
        client: Client,
        pacer: Pacer,
        in_flight: InFlightLimit,
        slot: Slot,
        stats: PoolStats,
        watch: EndpointWatch,
        stopping: Callable[[], StopReason | None],
        paced: Callable[[], None],
    ) -> None:
        self.request = request
        self.tokens = tokens
        self.client = client
        self.pacer = pacer
        self.in_flight = in_flight
        self.slot = slot
        self.stats = stats
        self.watch = watch
        self.stopping = stopping
        self.paced = paced
        #: attempts that went out, and those whose reply was lost (may be billed)
        self.tries = 0
        self.lost = 0
        #: the pacing slot of the latest attempt, reconciled with its reply's usage
        self.reservation = Reservation(tokens)  # (replaced by the first attempt's)

    async def attempt(self) -> Reply:
        """Send the request once: after its in-flight slot and its pacing slot."""
        if self.tries:  # no retry once the run stops (Ctrl-C, SIGTERM, abort)
            self._unless_stopping()
        await self.slot.take()
        self.reservation = await self.pacer.acquire(self.tokens)
        try:
            self._unless_stopping()
        except NotSent:  # never sent: its slot and tokens go back
            self.pacer.reconcile(self.reservation, 0)
            self.pacer.refund_request(self.reservation)
            raise
        self.paced()
        self.tries += 1
        self.stats.attempts += 1
        ticket = self.in_flight.sent()
        try:
            return await self.client.translate(self.request)
        except anyio.get_cancelled_exc_class():
            self.lost += 1  # cut off on its way: it may be billed
            raise
        finally:
            self.in_flight.landed(ticket)

    def _unless_stopping(self) -> None:
        """NotSent when the run is stopping: no attempt goes out then."""
        reason = self.stopping()
        if reason is not None:
            raise NotSent(f"not sent: {reason.message}", code="stopped")

    def on_error(self, error: ProviderError) -> None:
        """Learn from a failed attempt (raises EndpointUnreachable when connections keep
        failing); the in-flight slot is not held through the backoff."""
        self.watch.attempt_failed(error, had_replies=self.stats.requests > 0)
        if error.usage is not None:  # billed though it failed (a reply cut at the output limit)
            self.pacer.reconcile(self.reservation, sum(error.usage))
        elif isinstance(error, ServerError) and error.code in LOST_CODES:
            self.lost += 1  # it may have been billed: what it reserved stays spent
            self.pacer.reconcile(self.reservation, self.reservation.tokens)
        elif error.status:
            # The server answered with an error: nothing billed, tokens not spent, and (but
            # for a 429) no request counted against the limit.
            self.pacer.reconcile(self.reservation, 0)
            if not isinstance(error, RateLimited):
                self.pacer.refund_request(self.reservation)
        if isinstance(error, RateLimited):
            self.stats.throttled += 1
            self.pacer.on_throttled()
        self.slot.give_back()

"""How many requests may be in flight: fixed, or grown to what the reply latency needs.

The pacer decides when a request may start; this limit only keeps the number of open requests
bounded. A fixed limit that is too small for slow replies leaves the rate limits unused: at 600
RPM with 20 s replies, 64 in flight allow 3.2 requests/s where the limits allow 10. An
adaptive limit follows Little's law: in flight = pacing rate x reply latency x
:data:`LATENCY_MARGIN`, from the smoothed latency of the replies, and before the first reply
from the age of the oldest request still in flight (a lower bound of the latency). It never
goes below the configured limit nor above :data:`MOST_IN_FLIGHT`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import anyio

#: The most requests in flight an adaptive limit allows (the HTTP client's connection limit).
MOST_IN_FLIGHT = 256
#: In flight = rate x latency x this: room for latencies above the average.
LATENCY_MARGIN = 1.5
#: A request waiting for a slot looks at the oldest request in flight this often (seconds).
RECHECK_S = 1.0

#: Requests per second the pacing allows for requests of so many tokens (None: unlimited).
RateFor = Callable[[int], float | None]


class InFlightLimit:
    """A capacity limit on open requests; see the module docstring."""

    def __init__(self, concurrency: int, adaptive: bool, rate_for: RateFor, typical_tokens: int) -> None:
        self.floor = max(1, concurrency)
        self.adaptive = adaptive
        self._rate_for = rate_for
        self._typical_tokens = typical_tokens
        self._limiter = anyio.CapacityLimiter(self.floor)
        self._latency: float | None = None
        self._sent_at: dict[int, float] = {}
        self._tickets = 0

    @property
    def total(self) -> int:
        """Requests allowed in flight now."""
        return int(self._limiter.total_tokens)

    async def enter(self) -> None:
        """Wait for a slot. While waiting, the oldest request in flight bounds the latency from
        below, so an adaptive limit grows before the first slow reply comes back."""
        while True:
            with anyio.move_on_after(RECHECK_S):
                await self._limiter.acquire()
                return
            if self._sent_at:
                oldest = time.monotonic() - min(self._sent_at.values())
                self._fit(max(oldest, self._latency or 0.0), self._typical_tokens)

    def leave(self) -> None:
        """Give the slot back."""
        self._limiter.release()

    def slot(self) -> Slot:
        """A request's hold on this limit, to give back while it waits between attempts."""
        return Slot(self)

    def sent(self) -> int:
        """Note that a request went out; returns the ticket to pass to :meth:`landed`."""
        self._tickets += 1
        self._sent_at[self._tickets] = time.monotonic()
        return self._tickets

    def landed(self, ticket: int) -> None:
        """Note that the request of ``ticket`` ended (reply, error or cancellation)."""
        self._sent_at.pop(ticket, None)

    def observe(self, latency_s: float, tokens: int) -> None:
        """Learn from a reply that took ``latency_s`` for ``tokens`` (prompt + completion)."""
        if latency_s <= 0:
            return
        self._latency = latency_s if self._latency is None else 0.8 * self._latency + 0.2 * latency_s
        self._fit(self._latency, tokens)

    def _fit(self, latency_s: float, tokens: int) -> None:
        rate = self._rate_for(tokens)
        if not self.adaptive or rate is None:
            return
        needed = math.ceil(rate * latency_s * LATENCY_MARGIN)
        total = min(MOST_IN_FLIGHT, max(self.floor, needed))
        if total != self._limiter.total_tokens:
            self._limiter.total_tokens = total


class Slot:
    """One request's slot of an :class:`InFlightLimit`: taken for each attempt, given back
    while the request sleeps in backoff (where it holds no connection), so a request that
    waits out a Retry-After does not keep another from being sent. Taken and given back by the
    request's own task."""

    def __init__(self, limit: InFlightLimit) -> None:
        self._limit = limit
        self.held = False

    async def take(self) -> None:
        """Hold a slot (waits for one unless already held)."""
        if not self.held:
            await self._limit.enter()
            self.held = True

    def give_back(self) -> None:
        """Give the slot back, if held."""
        if self.held:
            self.held = False
            self._limit.leave()

"""Client-side pacing: requests/minute and tokens/minute, spread evenly, adaptive on 429.

The provider may enforce its per-minute limits per second, so requests are spaced on a
virtual schedule (GCRA / leaky bucket): request ``k`` may start no earlier than the time at
which the limits would have allowed all requests before it. There is no burst at start.

Each limit has its own schedule. When one limit holds a request back (a 429 takes a request
slot but gives its tokens back; a short request needs a full request slot), the other limit's
schedule falls behind the clock; up to ``carry`` seconds of that unused capacity are kept for
the next requests instead of being lost (GCRA's tolerance). That is far less than the one
second's worth the provider's per-second buckets hold, so it never makes a burst they refuse.

Token costs are estimated before sending and reconciled with the usage each reply reports
(each request holds a :class:`Reservation` until then). A reply that cost less than reserved
gives the difference back, but only as much as the schedule could still have kept: capacity
the tolerance already dropped while the request was out was never the provider's to count
either (its bucket was full), and giving it back would let later requests run ahead of what
the provider's bucket holds. A request slot given back (an error the server did not count, a
request never sent) is bounded the same way. The estimates carry a margin (see
:attr:`mtpipe.engine.reply_stats.OutputRatio.cautious`), so the schedule stays behind what the
provider counts and the token limit needs no rate headroom: what a margin reserved too much is
given back by the reply's reconciliation, so in a run held by the token limit the tokens a
minute come to the limit itself. Requests, whose count is exact, keep a small headroom: at 60
RPM the provider's request bucket holds one request, so a request that arrives a few
milliseconds early is refused.

On a 429 the rate is cut multiplicatively; each success adds a little back (AIMD), so a user
who does not know the account's limits converges on them.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

import anyio

#: Seconds on the clock the event loop times waits with (time.monotonic under asyncio; tests
#: run on trio's virtual clock and pass anyio.current_time).
Clock = Callable[[], float]


#: Reservations the pacer follows at most: an older one (a reply lost on its way, never
#: reconciled) is given up, and gives nothing back if it is reconciled after all.
HELD_RESERVATIONS = 1024


@dataclass(eq=False, slots=True)
class Reservation:
    """What one request reserved with the pacer, until its reply tells what it cost.

    Each schedule's part is kept in seconds as booked (the rate may change before the reply),
    with the room that schedule had under its tolerance, sampled at every later start and at
    the give-back: a give-back is never more than that room (see the module's docstring).
    """

    tokens: int
    #: Seconds the token schedule and the request schedule moved for it.
    token_seconds: float = 0.0
    request_seconds: float = 0.0
    token_room: float = math.inf
    request_room: float = math.inf
    #: Its number where the schedule lives elsewhere (a cluster's budget actor); None here.
    ticket: int | None = None


@dataclass
class Pacer:
    """Hands out start times that keep a client under ``rpm`` and ``tpm``.

    ``None`` disables a limit. ``headroom`` keeps the request schedule slightly under the
    request limit so network jitter does not turn an exactly-paced request into a 429;
    ``token_headroom`` does the same for tokens (1.0: the estimates' margin covers it).
    """

    rpm: float | None = 60.0
    tpm: float | None = 100_000.0
    headroom: float = 0.97
    token_headroom: float = 1.0
    #: Seconds of unused capacity a limit's schedule keeps when the other limit binds.
    carry: float = 0.25
    # AIMD: a 429 costs 15%, a success gives 3% back. Stable at full speed while fewer than
    # about one request in six is throttled for reasons other than our rate (burst protection
    # under 10% random 429s kept 0.8 / 0.02 at ~60% speed); a configured rate above the
    # account's real limit still converges, at about one 429 in six requests.
    decrease: float = 0.85
    increase: float = 0.03
    floor: float = 0.05
    #: Longest single sleep before the schedule is looked at again (it may have moved).
    recheck: float = 0.1
    #: 429s within this many seconds of a slow-down count as the same overload.
    cooldown: float = 1.0
    clock: Clock = time.monotonic
    factor: float = field(default=1.0, init=False)
    _next_request: float | None = field(default=None, init=False)
    _next_token: float | None = field(default=None, init=False)
    _lock: anyio.Lock = field(default_factory=anyio.Lock, init=False, repr=False)
    _moved: anyio.Event = field(default_factory=anyio.Event, init=False, repr=False)
    _last_decrease: float | None = field(default=None, init=False, repr=False)
    _held: deque[Reservation] = field(default_factory=deque, init=False, repr=False)
    #: The tolerance (carry) each schedule had at the latest start.
    _token_tolerance: float = field(default=0.0, init=False, repr=False)
    _request_tolerance: float = field(default=0.0, init=False, repr=False)

    def _request_interval(self) -> float:
        if not self.rpm:
            return 0.0
        return 60.0 / (self.rpm * self.headroom * self.factor)

    def _token_interval(self, tokens: int) -> float:
        if not self.tpm:
            return 0.0
        return tokens * 60.0 / (self.tpm * self.token_headroom * self.factor)

    async def acquire(self, tokens: int) -> Reservation:
        """Wait until a request costing ``tokens`` (prompt + expected completion) may start;
        the reservation is what :meth:`reconcile` takes once the reply tells the real cost.

        Callers queue on a lock and the slot is taken only when it is due, so corrections
        from replies that land meanwhile (``reconcile``, ``on_throttled``) apply to every
        request still waiting, not only to those scheduled after them.
        """
        async with self._lock:
            while True:
                now = self.clock()
                start = now
                if self._next_request is not None:
                    start = max(start, self._next_request)
                if self._next_token is not None:
                    start = max(start, self._next_token)
                if start <= now:
                    break
                await self._pause(min(start - now, self.recheck))
            request_carry = self._carry(1.0, self.rpm)
            token_carry = self._carry(tokens, self.tpm)
            token_room = _room(self._next_token, now, token_carry)
            request_room = _room(self._next_request, now, request_carry)
            for held in self._held:
                held.token_room = min(held.token_room, token_room)
                held.request_room = min(held.request_room, request_room)
            self._token_tolerance, self._request_tolerance = token_carry, request_carry
            reservation = Reservation(tokens, self._token_interval(tokens), self._request_interval())
            self._next_request = self._advance(self._next_request, now, reservation.request_seconds, request_carry)
            self._next_token = self._advance(self._next_token, now, reservation.token_seconds, token_carry)
            self._held.append(reservation)
            if len(self._held) > HELD_RESERVATIONS:
                dropped = self._held.popleft()  # its reply never came: it gives nothing back
                dropped.token_room = dropped.request_room = 0.0
            return reservation

    def _carry(self, amount: float, per_minute: float | None) -> float:
        """Seconds of unused capacity a limit may carry for a request of ``amount``: at most
        :attr:`carry`, and no more than a per-second bucket has room for beside the request (a
        request of 90% of a second's tokens may come 0.1 s early at most, or it is refused)."""
        if not per_minute:
            return self.carry
        per_second = per_minute / 60.0
        return min(self.carry, max(0.0, (per_second - amount) / per_second))

    def _advance(self, schedule: float | None, now: float, interval: float, carry: float) -> float:
        """A limit's next slot after a request starts at ``now`` (the first starts at ``now``)."""
        if schedule is None:
            return now + interval
        return max(now - carry, schedule) + interval

    async def _pause(self, seconds: float) -> None:
        """Sleep ``seconds``, or less when the schedule moves earlier meanwhile (a refund)."""
        with anyio.move_on_after(seconds):
            await self._moved.wait()

    def _schedule_moved(self) -> None:
        self._moved.set()
        self._moved = anyio.Event()

    def reconcile(self, reservation: Reservation, actual: int) -> None:
        """Correct the token schedule once the reply tells what ``reservation``'s request was
        billed (0: nothing was counted, e.g. a 429): more than reserved moves it later; less
        gives back what the schedule could still have kept (see the module's docstring)."""
        self._release(reservation)
        if self._next_token is None or not self.tpm:
            return
        if reservation.tokens > 0:
            change = reservation.token_seconds * (actual / reservation.tokens - 1.0)
        else:
            change = self._token_interval(actual)
        if change >= 0:
            self._next_token += change
            return
        room = _room(self._next_token, self.clock(), self._token_tolerance)
        given = min(-change, reservation.token_room, room)
        if given > 0:
            self._next_token -= given
            for held in self._held:  # what was given back is not theirs to give again
                held.token_room = max(0.0, held.token_room - given)
            self._schedule_moved()

    def refund_request(self, reservation: Reservation) -> None:
        """Give back ``reservation``'s request slot: the server answered it with an error it did
        not count, or it was never sent; as much as the request schedule could still have kept,
        as for tokens.

        Not for 429s: a throttled request is exactly what the limit counts.
        """
        self._release(reservation)
        if self._next_request is None or not self.rpm:
            return
        room = _room(self._next_request, self.clock(), self._request_tolerance)
        given = min(reservation.request_seconds, reservation.request_room, room)
        reservation.request_seconds = 0.0  # given back once
        if given > 0:
            self._next_request -= given
            for held in self._held:
                held.request_room = max(0.0, held.request_room - given)
            self._schedule_moved()

    def _release(self, reservation: Reservation) -> None:
        """Stop following ``reservation``'s room (its reply is in)."""
        with contextlib.suppress(ValueError):
            self._held.remove(reservation)

    def on_success(self) -> None:
        """Additive increase after a request went through."""
        self.factor = min(1.0, self.factor + self.increase)

    def on_throttled(self) -> None:
        """Multiplicative decrease on a 429, at most once per ``cooldown`` seconds.

        429s that arrive together answer the same overload (requests already in flight when
        the first came back), so they count once, as TCP cuts its window once per round trip.
        A Retry-After applies to the retried request only (see mtpipe.engine.retry): pausing
        every worker for it would turn one throttled request into a stall of the whole run.
        """
        now = self.clock()
        if self._last_decrease is not None and now - self._last_decrease < self.cooldown:
            return
        self._last_decrease = now
        self.factor = max(self.floor, self.factor * self.decrease)

    @property
    def unlimited(self) -> bool:
        """True when neither limit is set (offline engines)."""
        return not self.rpm and not self.tpm


def _room(schedule: float | None, now: float, tolerance: float) -> float:
    """Seconds ``schedule`` could move back before its tolerance drops them."""
    if schedule is None:
        return 0.0
    return max(0.0, schedule - (now - tolerance))


def request_rate(rpm: float | None, tpm: float | None, tokens: float) -> float | None:
    """Requests per second that ``rpm`` and ``tpm`` allow for requests of ``tokens`` each
    (prompt + completion); None when neither limit is set."""
    rates = []
    if rpm:
        rates.append(rpm / 60.0)
    if tpm and tokens > 0:
        rates.append(tpm / 60.0 / tokens)
    return min(rates) if rates else None

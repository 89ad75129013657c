"""The pacer: even spacing, token budget, reconciliation, AIMD, refunds, and waiting.

The pacer waits as it does in a run (anyio's timeouts and its wake-up event); the tests run it on
trio with trio's virtual clock (MockClock with autojump: when every task waits, time jumps to the
next deadline), so start times are exact and no test waits for real. The last tests wait on
asyncio, as the CLI runs, for a few milliseconds.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import anyio
from trio.testing import MockClock

from mtpipe.engine.pacing import Pacer, Reservation


class VirtualClock:
    """Trio's virtual clock, the start times the pacer gave, and a ``now`` tests may move."""

    def __init__(self) -> None:
        self.mock = MockClock(autojump_threshold=0)
        self.starts: list[float] = []
        self.reservations: list[Reservation] = []

    def __call__(self) -> float:
        return self.mock.current_time()

    @property
    def now(self) -> float:
        return self.mock.current_time()

    @now.setter
    def now(self, value: float) -> None:
        self.mock.jump(value - self.mock.current_time())

    def run(self, main: Callable[[], Awaitable[None]]) -> None:
        """Run ``main`` on trio in this clock's virtual time."""
        anyio.run(main, backend="trio", backend_options={"clock": self.mock})


def starts(pacer: Pacer, clock: VirtualClock, costs: list[int]) -> list[float]:
    async def go() -> None:
        for cost in costs:
            clock.reservations.append(await pacer.acquire(cost))
            clock.starts.append(round(clock.now, 6))

    clock.run(go)
    return clock.starts


def make(rpm: float | None, tpm: float | None) -> tuple[Pacer, VirtualClock]:
    clock = VirtualClock()
    return Pacer(rpm=rpm, tpm=tpm, headroom=1.0, clock=clock, recheck=1000), clock


def test_requests_are_spread_evenly_with_no_burst_at_start() -> None:
    pacer, clock = make(rpm=60, tpm=None)
    assert starts(pacer, clock, [1] * 4) == [0.0, 1.0, 2.0, 3.0]


def test_tokens_per_minute_bind_when_requests_are_big() -> None:
    pacer, clock = make(rpm=600, tpm=6000)  # 100 tokens per second
    assert starts(pacer, clock, [200, 200, 50]) == [0.0, 2.0, 4.0]


def test_reconcile_moves_the_schedule_for_waiting_requests() -> None:
    pacer, clock = make(rpm=None, tpm=6000)
    starts(pacer, clock, [600])  # reserves 6 s
    pacer.reconcile(clock.reservations[0], 100)  # the reply said 100 tokens: 5 s given back
    assert starts(pacer, clock, [100]) == [0.0, 1.0]


def test_what_the_schedule_dropped_while_a_request_was_out_is_not_given_back() -> None:
    pacer, clock = make(rpm=None, tpm=6000)  # 100 tokens a second
    starts(pacer, clock, [600])  # reserves 6 s; its reply is slow
    clock.now = 20.0  # the schedule idles: capacity it cannot keep is dropped (the bucket is full)
    starts(pacer, clock, [100])  # the next slot is at 21
    pacer.reconcile(clock.reservations[0], 100)  # 500 reserved too many, but long dropped
    assert starts(pacer, clock, [100]) == [0.0, 20.0, 21.0]  # not at once: that would be a burst


def test_reservations_give_back_together_no_more_than_the_schedule_could_keep() -> None:
    pacer, clock = make(rpm=None, tpm=60_000)  # 1,000 tokens a second; 0.25 s kept at most
    starts(pacer, clock, [300, 300])  # t=0 and t=0.3; the schedule is at 0.6
    clock.now = 0.75  # idle: the schedule keeps 0.25 s, so 0.05 s of it is dropped
    starts(pacer, clock, [300])  # the room the schedule had left to give back: 0.1 s
    first, second = clock.reservations[:2]
    pacer.reconcile(first, 0)  # nothing counted (a 429): 0.3 s reserved, 0.1 s given back
    pacer.reconcile(second, 0)  # the same 0.1 s: not given twice
    # As if both had been booked at no cost: the third at 0.75 books up to 0.8.
    assert starts(pacer, clock, [300]) == [0.0, 0.3, 0.75, 0.8]


def test_throttling_slows_down_and_success_recovers() -> None:
    pacer, clock = make(rpm=60, tpm=None)
    pacer.on_throttled()
    assert pacer.factor == 0.85
    starts(pacer, clock, [1, 1])
    assert clock.starts[1] == round(1 / 0.85, 6)
    for _ in range(10):
        pacer.on_success()
    assert pacer.factor == 1.0


def test_refunded_request_slot_is_reused() -> None:
    pacer, clock = make(rpm=60, tpm=None)
    starts(pacer, clock, [1])
    pacer.refund_request(clock.reservations[0])  # the server answered with an error it did not count
    assert starts(pacer, clock, [1]) == [0.0, 0.0]


def test_a_request_slot_is_not_given_back_once_a_later_request_used_its_time() -> None:
    # 60 RPM: A at t=0, B at t=1; A's 500 lands at t=1.5. Giving A's slot back in full would let
    # C go at once, half a second after B, where the provider's bucket holds one request.
    pacer, clock = make(rpm=60, tpm=None)
    starts(pacer, clock, [1, 1])
    clock.now = 1.5
    pacer.refund_request(clock.reservations[0])
    assert starts(pacer, clock, [1]) == [0.0, 1.0, 2.0]


def test_a_slot_is_given_back_once() -> None:
    pacer, clock = make(rpm=60, tpm=None)
    starts(pacer, clock, [1])
    pacer.refund_request(clock.reservations[0])
    pacer.refund_request(clock.reservations[0])
    assert starts(pacer, clock, [1, 1]) == [0.0, 0.0, 1.0]


def test_a_429_gives_back_what_was_reserved_not_more_at_the_lower_rate() -> None:
    pacer, clock = make(rpm=None, tpm=6000)  # 100 tokens a second
    starts(pacer, clock, [600])  # 6 s booked
    pacer.on_throttled()  # the rate drops to 85% before the 429's reservation is reconciled
    pacer.reconcile(clock.reservations[0], 0)
    # 6 s given back, not 6 / 0.85; the next 85 tokens take 1 s at the lower rate.
    assert starts(pacer, clock, [85, 85]) == [0.0, 0.0, 1.0]


def test_capacity_a_throttled_request_left_unused_is_carried_over() -> None:
    pacer, clock = make(rpm=None, tpm=60_000)  # 1,000 tokens per second
    starts(pacer, clock, [1500])
    pacer.reconcile(clock.reservations[0], 0)  # a 429: its tokens come back
    clock.now = 1.0
    # The token schedule, idle since t=0, keeps 0.25 s of the unused capacity (the per-second
    # bucket has room for it beside a request of 500): the third starts at 0.75 + 0.5 s.
    assert starts(pacer, clock, [500, 500]) == [0.0, 1.0, 1.25]


def test_carry_never_exceeds_what_a_per_second_bucket_holds_beside_the_request() -> None:
    # 1,000 tokens a second: a request of 900 may come 0.1 s early at most, one of 1,500 not
    # at all; one request a second (rpm 60): no request may come early.
    pacer, clock = make(rpm=None, tpm=60_000)
    starts(pacer, clock, [100])
    clock.now = 10.0
    assert starts(pacer, clock, [900, 900]) == [0.0, 10.0, 10.8]
    pacer, clock = make(rpm=None, tpm=60_000)
    starts(pacer, clock, [100])
    clock.now = 10.0
    assert starts(pacer, clock, [1500, 100]) == [0.0, 10.0, 11.5]
    pacer, clock = make(rpm=60, tpm=None)
    starts(pacer, clock, [1])
    clock.now = 10.0
    assert starts(pacer, clock, [1, 1]) == [0.0, 10.0, 11.0]


def test_after_a_pause_the_carry_over_is_bounded() -> None:
    pacer, clock = make(rpm=120, tpm=None)  # two requests a second: a bucket of two
    starts(pacer, clock, [1])
    clock.now = 100.0  # long idle: only 0.25 s of it is kept
    assert starts(pacer, clock, [1, 1, 1]) == [0.0, 100.0, 100.25, 100.75]


def test_unlimited_pacer_never_waits() -> None:
    pacer, clock = make(rpm=None, tpm=None)
    assert pacer.unlimited
    assert starts(pacer, clock, [10_000] * 3) == [0.0, 0.0, 0.0]


def test_429s_arriving_together_slow_down_once() -> None:
    pacer, clock = make(rpm=60, tpm=None)
    pacer.on_throttled()
    pacer.on_throttled()  # same overload, same instant
    assert pacer.factor == 0.85
    clock.now += 1.5
    pacer.on_throttled()
    assert round(pacer.factor, 4) == round(0.85 * 0.85, 4)


# ---- waiting: what wakes a request before its planned start ----------------------------------


def starts_while_waiting(
    pacer: Pacer,
    clock: VirtualClock,
    first: int,
    waiting: list[int],
    meanwhile: Callable[[Reservation], None],
    at: float,
) -> list[float]:
    """Start times of a request of ``first`` tokens, then of ``waiting`` requests that queue for
    their slots; ``meanwhile`` (a correction for the first request's reservation) happens at
    ``at`` while they wait."""

    async def acquire(cost: int) -> None:
        clock.reservations.append(await pacer.acquire(cost))
        clock.starts.append(round(clock.now, 6))

    async def go() -> None:
        await acquire(first)
        async with anyio.create_task_group() as tasks:
            for cost in waiting:
                tasks.start_soon(acquire, cost)
            await anyio.sleep(at)
            meanwhile(clock.reservations[0])

    clock.run(go)
    return clock.starts


def test_a_reply_giving_tokens_back_starts_a_waiting_request_at_once() -> None:
    pacer, clock = make(rpm=None, tpm=6000)  # 100 tokens a second; no recheck before 1,000 s
    # 600 tokens book the token schedule until t=6; at t=1 the reply says it used 100.
    assert starts_while_waiting(
        pacer, clock, 600, [100], lambda held: pacer.reconcile(held, 100), at=1.0
    ) == [0.0, 1.0]


def test_a_refunded_request_slot_starts_a_waiting_request_at_once() -> None:
    pacer, clock = make(rpm=60, tpm=None)  # one request a second
    # The second request waits for t=1; at t=0.25 the first one's slot comes back (a 5xx).
    assert starts_while_waiting(pacer, clock, 1, [1], pacer.refund_request, at=0.25) == [0.0, 0.25]


def test_a_refund_applies_to_every_request_still_waiting() -> None:
    pacer, clock = make(rpm=None, tpm=6000)
    # Two requests of 100 tokens wait behind 600 (t=6, t=7); at t=1 the 600 come back (a 429):
    # the first goes at once, the next a second later (no carry: 100 tokens fill a second).
    assert starts_while_waiting(
        pacer, clock, 600, [100, 100], lambda held: pacer.reconcile(held, 0), at=1.0
    ) == [
        0.0,
        1.0,
        2.0,
    ]


def test_a_reply_that_used_more_than_estimated_wakes_no_one() -> None:
    pacer, clock = make(rpm=None, tpm=6000)
    # The reply used 300 more tokens than booked: the waiting request goes 3 s later, at t=9.
    assert starts_while_waiting(
        pacer, clock, 600, [100], lambda held: pacer.reconcile(held, 900), at=1.0
    ) == [0.0, 9.0]


# ---- the same waits on asyncio, as the CLI runs them, in real (short) time ------------------


def test_on_asyncio_a_request_waits_for_its_slot() -> None:
    pacer = Pacer(rpm=6000, tpm=None, headroom=1.0)  # one request every 10 ms
    times: list[float] = []

    async def go() -> None:
        with anyio.fail_after(1):
            times.append(time.monotonic())
            for _ in range(3):
                await pacer.acquire(1)
                times.append(time.monotonic())

    anyio.run(go)
    before, _, second, third = times
    assert second - before >= 0.01 and third - before >= 0.02  # never before its slot


def test_on_asyncio_a_refund_wakes_a_waiting_request() -> None:
    # 100 tokens a second: after 600, a request waits 6 s unless the reply gives them back; it
    # looks at the schedule again only after 1,000 s, so only the wake-up can let it go in time.
    pacer = Pacer(rpm=None, tpm=6000, headroom=1.0, recheck=1000)
    events: list[str] = []

    async def waiting() -> None:
        await pacer.acquire(100)
        events.append("started")

    async def go() -> None:
        with anyio.fail_after(1):
            held = await pacer.acquire(600)
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(waiting)
                await anyio.wait_all_tasks_blocked()  # it is waiting for its slot
                events.append("refund")
                pacer.reconcile(held, 0)

    anyio.run(go)
    assert events == ["refund", "started"]

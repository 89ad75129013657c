"""The pacer with a fake clock: even spacing, token budget, reconciliation, AIMD, refunds."""

from __future__ import annotations

import anyio

from pipeline.engine.pacing import Pacer


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.starts: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


def starts(pacer: Pacer, clock: FakeClock, costs: list[int]) -> list[float]:
    async def go() -> None:
        for cost in costs:
            await pacer.acquire(cost)
            clock.starts.append(round(clock.now, 6))

    anyio.run(go)
    return clock.starts


def make(rpm: float | None, tpm: float | None) -> tuple[Pacer, FakeClock]:
    clock = FakeClock()
    return Pacer(rpm=rpm, tpm=tpm, headroom=1.0, clock=clock, sleep=clock.sleep, recheck=1000), clock


def test_requests_are_spread_evenly_with_no_burst_at_start() -> None:
    pacer, clock = make(rpm=60, tpm=None)
    assert starts(pacer, clock, [1] * 4) == [0.0, 1.0, 2.0, 3.0]


def test_tokens_per_minute_bind_when_requests_are_big() -> None:
    pacer, clock = make(rpm=600, tpm=6000)  # 100 tokens per second
    assert starts(pacer, clock, [200, 200, 50]) == [0.0, 2.0, 4.0]


def test_reconcile_moves_the_schedule_for_waiting_requests() -> None:
    pacer, clock = make(rpm=None, tpm=6000)
    starts(pacer, clock, [600])  # reserves 6 s
    pacer.reconcile(600, 100)  # the reply said 100 tokens: 5 s given back
    assert starts(pacer, clock, [100]) == [0.0, 1.0]


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
    pacer.refund_request()  # the server answered with an error it did not count
    assert starts(pacer, clock, [1]) == [0.0, 0.0]


def test_capacity_a_throttled_request_left_unused_is_carried_over() -> None:
    pacer, clock = make(rpm=None, tpm=60_000)  # 1,000 tokens per second
    starts(pacer, clock, [1500])
    pacer.reconcile(1500, 0)  # a 429: its tokens come back
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

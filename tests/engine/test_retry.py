"""The retry policy: full-jitter backoff, Retry-After, the run's failure streak, the budget."""

from __future__ import annotations

import logging
import random

import anyio
import pytest

from mtpipe.engine.retry import RetryBudget, RetryPolicy
from mtpipe.errors import RateLimited, ServerError


class MaxRandom(random.Random):
    """Always draws the top of the range, so a backoff shows its bound."""

    def uniform(self, a: float, b: float) -> float:
        return b


def policy(**kwargs: object) -> tuple[RetryPolicy, list[float]]:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    return RetryPolicy(base=1.0, cap=30.0, sleep=sleep, rng=MaxRandom(), **kwargs), waits  # type: ignore[arg-type]


def failing(times: int, error: Exception | None = None) -> object:
    """An attempt that fails ``times`` times with ``error`` (a 503 by default), then succeeds."""
    calls = {"n": 0}

    async def attempt() -> str:
        calls["n"] += 1
        if calls["n"] <= times:
            raise error or ServerError("overloaded", status=503)
        return "ok"

    return attempt


def test_waits_double_while_every_attempt_of_the_run_fails() -> None:
    retry, waits = policy(max_retries=8)
    result = anyio.run(retry.call, failing(7))
    assert result == ("ok", 8)
    assert waits == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0]


def test_waits_stay_short_while_other_requests_succeed() -> None:
    retry, waits = policy(max_retries=8)

    async def sleep_while_another_request_succeeds(seconds: float) -> None:
        waits.append(seconds)
        await retry.call(failing(0))

    retry.sleep = sleep_while_another_request_succeeds
    assert anyio.run(retry.call, failing(5)) == ("ok", 6)
    assert waits == [1.0] * 5  # the run's streak never passed 1


def test_retry_after_is_honoured_as_sent() -> None:
    retry, waits = policy(max_retries=2)
    error = RateLimited("slow down", status=429, retry_after=3.5)
    anyio.run(retry.call, failing(2, error))
    assert waits == [3.5, 3.5]


def test_an_exhausted_budget_makes_errors_final() -> None:
    retry, waits = policy(max_retries=5, budget=RetryBudget(ratio=0.0, minimum=2))
    with pytest.raises(ServerError):
        anyio.run(retry.call, failing(10))
    assert len(waits) == 2 and retry.budget.exhausted


def test_the_last_attempt_is_not_charged_to_the_budget() -> None:
    # Two retries allowed, all three attempts fail: two retries were made, two are charged.
    retry, waits = policy(max_retries=2, budget=RetryBudget(ratio=0.0, minimum=3))
    with pytest.raises(ServerError):
        anyio.run(retry.call, failing(10))
    assert len(waits) == 2
    assert retry.budget.retries == 2 and not retry.budget.exhausted
    # So the budget still holds the one retry it was sized for.
    assert anyio.run(retry.call, failing(1)) == ("ok", 2)


def clocked_policy(**kwargs: object) -> tuple[RetryPolicy, list[float]]:
    """A policy whose clock advances by each wait it sleeps."""
    retry, waits = policy(**kwargs)
    now = [1000.0]

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    retry.sleep = sleep
    retry.clock = lambda: now[0]
    return retry, waits


def test_a_long_retry_after_is_announced_with_its_reason(caplog: pytest.LogCaptureFixture) -> None:
    retry, waits = clocked_policy(max_retries=2)
    error = RateLimited("slow down", status=429, retry_after=30.0)
    with caplog.at_level(logging.WARNING, logger="mtpipe.retry"):
        anyio.run(retry.call, failing(2, error))
    assert waits == [30.0, 30.0]
    assert [r.getMessage() for r in caplog.records] == [
        "waiting 30 s before retrying: the endpoint asked for it (Retry-After) after HTTP 429"
    ] * 2  # once per wait: the second starts after the first ended
    assert all(r.levelno == logging.WARNING for r in caplog.records)


def test_short_waits_and_waits_within_an_announced_one_are_not_repeated(caplog: pytest.LogCaptureFixture) -> None:
    retry, _ = policy(max_retries=2)  # the clock stands still: every wait overlaps the first
    with caplog.at_level(logging.WARNING, logger="mtpipe.retry"):
        anyio.run(retry.call, failing(2, RateLimited("slow down", status=429, retry_after=3.5)))
        anyio.run(retry.call, failing(2, RateLimited("slow down", status=429, retry_after=20.0)))
        anyio.run(retry.call, failing(1, ServerError("overloaded", status=503)))  # backoff: 1 s
    assert [r.getMessage() for r in caplog.records] == [
        "waiting 20 s before retrying: the endpoint asked for it (Retry-After) after HTTP 429"
    ]


def test_a_long_backoff_says_how_many_attempts_failed(caplog: pytest.LogCaptureFixture) -> None:
    retry, waits = clocked_policy(max_retries=8)
    with caplog.at_level(logging.WARNING, logger="mtpipe.retry"):
        anyio.run(retry.call, failing(5, ServerError("timeout", code="timeout")))
    assert waits == [1.0, 2.0, 4.0, 8.0, 16.0]
    assert [r.getMessage() for r in caplog.records] == [
        "waiting 8 s before retrying: backoff after 4 failed attempts in a row (last: timeout)",
        "waiting 16 s before retrying: backoff after 5 failed attempts in a row (last: timeout)",
    ]

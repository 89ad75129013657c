"""Retry policy: exponential backoff with full jitter, Retry-After, and a run-level budget.

Per request: at most ``max_retries`` retries of retryable errors (429, 5xx, timeouts, resets),
each after ``uniform(0, min(cap, base * 2**(n-1)))`` seconds (AWS "full jitter"), or after the
server's Retry-After / retry-after-ms when it sent one (capped in the client).

``n`` is the retry's number, but at most the number of attempts that failed in a row across
the whole run. While other requests go through, the endpoint is up and a request that keeps
failing is unlucky: waiting longer and longer would only make it the last one of the run. When
every request fails (an outage), the run's streak grows with them and the waits grow as usual.
Either way retries cannot exceed the limits: every attempt takes a pacing slot.

Per run: a :class:`RetryBudget` allows retries only while they stay a bounded share of the
first attempts (Google SRE "retry budgets"), so a dead endpoint is not hammered: once the
budget is spent, retryable errors become final and the run ends in bounded time.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

import anyio
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
)

from pipeline.errors import ProviderError

T = TypeVar("T")


@dataclass
class RetryBudget:
    """Allows a retry while retries < ``minimum`` + ``ratio`` × first attempts.

    ``ratio`` 1.0: an endpoint failing a third of the attempts (p / (1 - p) ≈ 0.5 retries per
    request) is ridden out, while a dead one sees at most about twice the run's first attempts
    plus ``minimum`` before the run stops (0.2 aborted a run under 36% transient failures).
    """

    ratio: float = 1.0
    minimum: int = 10
    attempts: int = 0
    retries: int = 0

    def first_attempt(self) -> None:
        """Count a request's first attempt (it earns budget)."""
        self.attempts += 1

    def try_spend(self) -> bool:
        """Take one retry from the budget; False when it is exhausted."""
        if self.retries >= self.minimum + self.ratio * self.attempts:
            return False
        self.retries += 1
        return True

    @property
    def exhausted(self) -> bool:
        """True once a retry has been refused."""
        return self.retries >= self.minimum + self.ratio * self.attempts


@dataclass
class RetryPolicy:
    """How one request is retried; ``sleep`` and ``rng`` are injectable for tests."""

    max_retries: int = 6
    base: float = 1.0
    cap: float = 30.0
    budget: RetryBudget = field(default_factory=RetryBudget)
    sleep: Callable[[float], Awaitable[None]] = anyio.sleep
    rng: random.Random = field(default_factory=random.Random)
    #: Attempts that failed in a row across the run (any success resets it).
    streak: int = field(default=0, init=False)

    def backoff(self, retry_number: int, error: BaseException | None) -> float:
        """Seconds before retry ``retry_number`` (1-based): the server's Retry-After when it
        sent one, else full jitter up to ``base * 2**(n-1)`` (at most ``cap``), where ``n`` is
        ``retry_number`` but at most the run's streak of failed attempts."""
        if isinstance(error, ProviderError) and error.retry_after is not None:
            return error.retry_after
        n = min(retry_number, max(1, self.streak))
        return self.rng.uniform(0.0, min(self.cap, self.base * 2 ** (n - 1)))

    def _should_retry(self, error: BaseException) -> bool:
        return isinstance(error, ProviderError) and error.retryable and self.budget.try_spend()

    async def call(
        self,
        attempt: Callable[[], Awaitable[T]],
        on_error: Callable[[ProviderError], None] | None = None,
    ) -> tuple[T, int]:
        """Run ``attempt`` with retries; return (result, attempts made).

        ``on_error`` sees every failed attempt (pacing slows down on 429s there). The last
        error is raised when retries are exhausted or the error is not retryable.
        """
        self.budget.first_attempt()
        attempts = 0

        def wait(state: RetryCallState) -> float:
            error = state.outcome.exception() if state.outcome else None
            return self.backoff(state.attempt_number, error)

        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.max_retries + 1),
            wait=wait,
            retry=retry_if_exception(self._should_retry),
            sleep=self.sleep,
            reraise=True,
        )
        async for attempt_ctx in retrying:
            with attempt_ctx:
                attempts += 1
                try:
                    result = await attempt()
                except ProviderError as error:
                    self.streak += 1
                    if on_error is not None:
                        on_error(error)
                    raise
                self.streak = 0
        return result, attempts

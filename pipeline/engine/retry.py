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
budget is spent, retryable errors become final and the run ends in bounded time. Only retries
are charged: a request's last allowed attempt, which is never retried, costs the budget nothing.

A wait of :data:`ANNOUNCED_WAIT_S` or more is announced once, as a WARNING on the
``mtpipe.retry`` logger (shown without ``-v``), saying how long and why (the server's
Retry-After, or the backoff after failures in a row); a run otherwise looks stuck. Waits that
end within one already announced (other requests throttled at the same time) are not repeated.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

import anyio
from tenacity import AsyncRetrying, RetryCallState

from mtpipe.errors import ProviderError

T = TypeVar("T")

logger = logging.getLogger("mtpipe.retry")

#: Waits at least this long (seconds) are announced: shorter ones pass unnoticed anyway.
ANNOUNCED_WAIT_S = 5.0


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
    clock: Callable[[], float] = time.monotonic
    #: Attempts that failed in a row across the run (any success resets it).
    streak: int = field(default=0, init=False)
    #: When the last announced wait ends (``clock`` time).
    _announced_until: float = field(default=float("-inf"), init=False, repr=False)

    def backoff(self, retry_number: int, error: BaseException | None) -> float:
        """Seconds before retry ``retry_number`` (1-based): the server's Retry-After when it
        sent one, else full jitter up to ``base * 2**(n-1)`` (at most ``cap``), where ``n`` is
        ``retry_number`` but at most the run's streak of failed attempts."""
        if isinstance(error, ProviderError) and error.retry_after is not None:
            return error.retry_after
        n = min(retry_number, max(1, self.streak))
        return self.rng.uniform(0.0, min(self.cap, self.base * 2 ** (n - 1)))

    def _should_retry(self, state: RetryCallState) -> bool:
        """True when the failed attempt is retried; the budget is charged only then, so the
        last allowed attempt (never retried) costs it nothing."""
        error = state.outcome.exception() if state.outcome else None
        return (
            state.attempt_number <= self.max_retries
            and isinstance(error, ProviderError)
            and error.retryable
            and self.budget.try_spend()
        )

    def _announce(self, seconds: float, error: BaseException | None) -> None:
        """Say that a long wait starts, unless one already announced covers it."""
        if seconds < ANNOUNCED_WAIT_S or not isinstance(error, ProviderError):
            return
        until = self.clock() + seconds
        if until <= self._announced_until + ANNOUNCED_WAIT_S:
            return
        self._announced_until = until
        logger.warning("waiting %s before retrying: %s", _duration(seconds), self._why(error))

    def _why(self, error: ProviderError) -> str:
        failure = f"HTTP {error.status}" if error.status else (error.code or type(error).__name__)
        if error.retry_after is not None:
            return f"the endpoint asked for it (Retry-After) after {failure}"
        return f"backoff after {self.streak} failed attempts in a row (last: {failure})"

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
            seconds = self.backoff(state.attempt_number, error)
            self._announce(seconds, error)
            return seconds

        retrying = AsyncRetrying(
            wait=wait,
            retry=self._should_retry,
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


def _duration(seconds: float) -> str:
    """``seconds`` for a person: ``30 s``, ``7.5 s``, ``2 min 5 s``."""
    if seconds < 60:
        return f"{seconds:.1f}".removesuffix(".0") + " s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min" + (f" {rest} s" if rest else "")

"""Per-second rate limits like the provider's, and the emulator's counters.

The provider states limits per minute but "may enforce them per second" (reference/qwen-mt.md),
so a burst is refused even under the per-minute total. :class:`RateLimiter` models that with
two token buckets that start full:

- requests: refilled at RPM/60 per second, capacity ``max(1, RPM/60)``;
- tokens: refilled at TPM/60 per second, capacity TPM/60 (one second's worth).

A request is admitted only when there is room for one request *and* for its prompt + completion
tokens. A request bigger than the whole token capacity is admitted when the bucket is full (the
level goes negative and must be earned back), so a huge request is slow, never refused forever.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from mtpipe.testing.protocol import ParsedRequest

__all__ = [
    "Admission",
    "EmulatorStats",
    "RateLimiter",
    "RequestRecord",
    "StatsRecorder",
    "TokenBucket",
]


class TokenBucket:
    """A token bucket (not thread-safe on its own: :class:`RateLimiter` holds the lock)."""

    def __init__(self, rate: float, capacity: float, clock: Callable[[], float]) -> None:
        if rate <= 0 or capacity <= 0:
            raise ValueError("rate and capacity must be positive")
        self.rate = rate
        self.capacity = capacity
        self._clock = clock
        self._level = capacity
        self._stamp = clock()

    def level(self) -> float:
        """The current level after refilling up to now."""
        now = self._clock()
        self._level = min(self.capacity, self._level + (now - self._stamp) * self.rate)
        self._stamp = now
        return self._level

    def can_take(self, amount: float) -> bool:
        """True when ``amount`` fits now (or the bucket is full and ``amount`` exceeds it)."""
        level = self.level()
        eps = 1e-9  # refills are floats: do not refuse for a rounding error
        return level >= amount - eps or (amount > self.capacity and level >= self.capacity - eps)

    def take(self, amount: float) -> None:
        """Remove ``amount`` (the level may go negative for oversized amounts)."""
        self.level()
        self._level -= amount

    def wait_for(self, amount: float) -> float:
        """Seconds until ``amount`` (capped at the capacity) would fit."""
        missing = min(amount, self.capacity) - self.level()
        return max(0.0, missing / self.rate)


@dataclass(frozen=True, slots=True)
class Admission:
    """The limiter's answer: admitted, or refused by ``kind`` ("rpm"/"tpm") for ``wait_s``."""

    admitted: bool
    kind: str | None = None
    wait_s: float = 0.0


class RateLimiter:
    """Requests-per-minute and tokens-per-minute limits, enforced per second; ``None`` = off."""

    def __init__(
        self,
        rpm: int | None,
        tpm: int | None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lock = threading.Lock()
        self._requests = (
            None if rpm is None else TokenBucket(rpm / 60.0, max(1.0, rpm / 60.0), clock)
        )
        self._tokens = None if tpm is None else TokenBucket(tpm / 60.0, tpm / 60.0, clock)

    def admit(self, tokens: int) -> Admission:
        """Admit one request of ``tokens`` (prompt + completion) now, or say which limit refused.

        The request limit is checked first; nothing is taken from either bucket on refusal.
        """
        with self._lock:
            if self._requests is not None and not self._requests.can_take(1):
                return Admission(False, "rpm", self._requests.wait_for(1))
            if self._tokens is not None and not self._tokens.can_take(tokens):
                return Admission(False, "tpm", self._tokens.wait_for(tokens))
            if self._requests is not None:
                self._requests.take(1)
            if self._tokens is not None:
                self._tokens.take(tokens)
            return Admission(True)


@dataclass(frozen=True)
class EmulatorStats:
    """A consistent snapshot of the emulator's counters.

    ``received``: requests read (any path). ``admitted``: requests that passed the rate limits.
    ``by_status``: complete responses by HTTP status. ``throttled_rpm`` / ``throttled_tpm``:
    429s from the limits (not injected faults). ``faults``: injected faults by name.
    ``prompt_tokens`` / ``completion_tokens``: billed for 200 responses fully sent.
    ``lost``: billed responses whose body never fully reached the client (reset, truncated,
    client gone), with their tokens in ``lost_prompt_tokens`` / ``lost_completion_tokens``.
    ``peak_concurrency``: most requests in progress at once.
    """

    received: int = 0
    admitted: int = 0
    by_status: dict[int, int] = field(default_factory=dict)
    throttled_rpm: int = 0
    throttled_tpm: int = 0
    faults: dict[str, int] = field(default_factory=dict)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    lost: int = 0
    lost_prompt_tokens: int = 0
    lost_completion_tokens: int = 0
    peak_concurrency: int = 0

    @property
    def ok(self) -> int:
        """Complete 200 responses."""
        return self.by_status.get(200, 0)

    @property
    def billed_tokens(self) -> int:
        """Every billed token, delivered or lost."""
        return (
            self.prompt_tokens
            + self.completion_tokens
            + self.lost_prompt_tokens
            + self.lost_completion_tokens
        )


@dataclass(slots=True)
class RequestRecord:
    """A valid request and what became of it.

    ``status`` is the HTTP status sent (``None`` when the reply was lost: reset, truncated,
    client gone; the server sets it to ``None`` if a write fails after the record was kept);
    ``fault`` the injected fault applied, if any; ``reply`` the content sent or lost (``None``
    for error responses).
    """

    request: ParsedRequest
    status: int | None
    fault: str | None
    reply: str | None


class StatsRecorder:
    """Thread-safe counters behind :class:`EmulatorStats`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active = 0
        self.reset()

    def reset(self) -> None:
        """Zero every counter (requests in progress keep counting when they finish)."""
        with self._lock:
            self._received = 0
            self._admitted = 0
            self._status: Counter[int] = Counter()
            self._throttled: Counter[str] = Counter()
            self._faults: Counter[str] = Counter()
            self._billed = [0, 0]
            self._lost = [0, 0, 0]
            self._peak = self._active

    def begin(self) -> None:
        """A request was received and is in progress."""
        with self._lock:
            self._received += 1
            self._active += 1
            self._peak = max(self._peak, self._active)

    def end(self) -> None:
        """A request finished (whatever happened to it)."""
        with self._lock:
            self._active -= 1

    def admitted(self) -> None:
        """A request passed the rate limits."""
        with self._lock:
            self._admitted += 1

    def status(self, status: int) -> None:
        """A complete response with ``status`` was sent."""
        with self._lock:
            self._status[status] += 1

    def throttled(self, kind: str) -> None:
        """A limit ("rpm" or "tpm") refused a request."""
        with self._lock:
            self._throttled[kind] += 1

    def fault(self, name: str) -> None:
        """An injected fault was applied."""
        with self._lock:
            self._faults[name] += 1

    def billed(self, prompt: int, completion: int, *, lost: bool) -> None:
        """Tokens billed for a request whose body was delivered, or ``lost``."""
        with self._lock:
            if lost:
                self._lost[0] += 1
                self._lost[1] += prompt
                self._lost[2] += completion
            else:
                self._billed[0] += prompt
                self._billed[1] += completion

    def retract(self, status: int, usage: tuple[int, int] | None) -> None:
        """A response counted by :meth:`status` (and billed ``usage``) never reached the client."""
        with self._lock:
            self._status[status] -= 1
            if self._status[status] <= 0:
                del self._status[status]
            if usage is not None:
                self._billed[0] -= usage[0]
                self._billed[1] -= usage[1]
                self._lost[0] += 1
                self._lost[1] += usage[0]
                self._lost[2] += usage[1]

    def snapshot(self) -> EmulatorStats:
        """The counters now, as an immutable value."""
        with self._lock:
            return EmulatorStats(
                received=self._received,
                admitted=self._admitted,
                by_status=dict(self._status),
                throttled_rpm=self._throttled["rpm"],
                throttled_tpm=self._throttled["tpm"],
                faults=dict(self._faults),
                prompt_tokens=self._billed[0],
                completion_tokens=self._billed[1],
                lost=self._lost[0],
                lost_prompt_tokens=self._lost[1],
                lost_completion_tokens=self._lost[2],
                peak_concurrency=self._peak,
            )

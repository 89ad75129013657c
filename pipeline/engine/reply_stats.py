"""What replies teach a run about the next ones: how long they are (:class:`OutputRatio`, reply
tokens per request token, and how far one strays from it) and how long they take
(:class:`ReplyTime`). Packing sizes requests by the first, the pacer reserves by it, and the
end of a run is planned with the second (see :mod:`mtpipe.engine.tail`)."""

from __future__ import annotations

import math


class OutputRatio:
    """Reply tokens per request token, followed from the replies: the first replies replace a
    fresh run's guess, later ones move a moving average (a learned ratio counts as five).

    It also follows how far a reply's ratio strays from the one expected (its relative
    spread), so the pacer can reserve :attr:`cautious` tokens for a reply not yet seen: an
    estimate that falls short of the billed usage lets the schedule run ahead of what the
    provider counts (a 429 once the error outgrows the provider's per-second room), while one
    that reserves too much is given back when the reply's usage comes.
    """

    #: The relative spread assumed before replies tell it, weighing as PRIOR_REPLIES replies.
    PRIOR_SPREAD = 0.05
    PRIOR_REPLIES = 2
    #: The margin, in spreads, and its bounds (relative to the ratio).
    MARGIN_SPREADS = 2.5
    LEAST_MARGIN, MOST_MARGIN = 0.02, 0.5

    def __init__(self, value: float, learned: bool = False) -> None:
        self.value = value
        self._seen = 5 if learned else 0
        self._variance = self.PRIOR_SPREAD**2
        self._spread_seen = self.PRIOR_REPLIES

    def learn(self, sent_tokens: int, completion_tokens: int) -> bool:
        """Learn from a reply; True when the ratio moved (replies under 20 tokens tell little)."""
        if sent_tokens < 20 or not completion_tokens:
            return False
        observed = min(max(completion_tokens / sent_tokens, 0.3), 6.0)
        if self._seen:  # a fresh run's guess is no expectation: its error says nothing of spread
            self._spread_seen += 1
            weight = max(0.1, 1.0 / self._spread_seen)
            error = observed / self.value - 1.0
            self._variance = (1 - weight) * self._variance + weight * error * error
        self._seen += 1
        weight = max(0.2, 1.0 / self._seen)
        self.value = (1 - weight) * self.value + weight * observed
        return True

    @property
    def cautious(self) -> float:
        """The ratio plus a margin of :data:`MARGIN_SPREADS` spreads (within 2% and 50%): what
        to reserve for a reply before it comes, so that it is rarely more."""
        margin = self.MARGIN_SPREADS * math.sqrt(self._variance)
        return self.value * (1.0 + min(self.MOST_MARGIN, max(self.LEAST_MARGIN, margin)))


class ReplyTime:
    """How long a reply takes as a function of its length: ``fixed + per_token x completion``.

    A weighted least-squares line through the replies seen (recent ones weigh more), so the end
    of a run can size its last packs to come back together (see AdaptivePacks.token_budget).
    """

    #: How fast old replies fade from the fit.
    FADE = 0.95

    def __init__(self) -> None:
        self._n = self._x = self._y = self._xx = self._xy = 0.0
        self._seen = 0

    def observe(self, completion_tokens: int, latency_s: float) -> None:
        """Learn from a reply of ``completion_tokens`` that took ``latency_s``."""
        if latency_s <= 0 or completion_tokens <= 0:
            return
        self._seen += 1
        fade, x, y = self.FADE, float(completion_tokens), latency_s
        self._n = fade * self._n + 1
        self._x = fade * self._x + x
        self._y = fade * self._y + y
        self._xx = fade * self._xx + x * x
        self._xy = fade * self._xy + x * y

    def line(self) -> tuple[float, float] | None:
        """(fixed seconds, seconds per completion token), or None before two distinct lengths."""
        if self._seen < 2:
            return None
        spread = self._n * self._xx - self._x * self._x
        if spread <= 1e-9 * max(1.0, self._xx):
            return None
        per_token = max(0.0, (self._n * self._xy - self._x * self._y) / spread)
        fixed = max(0.0, (self._y - per_token * self._x) / self._n)
        return fixed, per_token

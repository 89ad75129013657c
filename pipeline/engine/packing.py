"""How many segments go into one request, and how densely they are checkpointed.

The framing itself (lines, checkpoints, the alignment proof) is :mod:`pipeline.engine.framing`.
The pack size follows the configured limits: about 2 x TPM/RPM billed tokens per request uses
the whole token budget while staying under the request limit, within the model's input limit
and a segment cap. :class:`AdaptivePacks` learns from the replies how far apart the checkpoints
may be and, when an engine cannot keep lines apart at all, how many segments a request may hold.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

from pipeline.engine.tokens import REQUEST_OVERHEAD_TOKENS

#: Tokens one checkpoint costs in a request (``<m`` + a digit or two + ``/>``), and again in the
#: reply.
CHECKPOINT_TOKENS = 3.5
#: Checkpoint intervals: a fresh run starts at DEFAULT_EVERY, an engine that never breaks a block
#: earns MOST_EVERY; 1 is a checkpoint on every line.
DEFAULT_EVERY = 16
MOST_EVERY = 32
#: Reply tokens per request token a fresh run expects (a later one uses what it learned).
DEFAULT_OUTPUT_RATIO = 1.3


def line_tokens(every: int) -> float:
    """Framing tokens one packed line adds to a request: its line break and its share of a
    checkpoint."""
    return 1.0 + CHECKPOINT_TOKENS / max(1, every)


def framed_tokens(text_tokens: int, count: int, every: int) -> float:
    """About the tokens of a request's content holding ``count`` texts of ``text_tokens`` in
    all, framed with a checkpoint every ``every`` lines (a single text is sent bare)."""
    if count < 2:
        return float(text_tokens)
    checkpoints = math.ceil(count / max(1, every))
    return text_tokens + (count - 1) + checkpoints * CHECKPOINT_TOKENS


class BatchLimits(Protocol):
    """What packing reads: :class:`PackLimits`, or the pool's adaptive view of them."""

    @property
    def token_budget(self) -> int:
        """Tokens of segment text (plus framing) per request."""
        ...

    @property
    def max_segments(self) -> int:
        """Segments per request at most."""
        ...

    @property
    def every(self) -> int:
        """A checkpoint every this many lines."""
        ...


@dataclass(frozen=True, slots=True)
class Learned:
    """What a run learned about an endpoint and model, for the next run to start from."""

    every: int
    broken_rate: float
    max_segments: int
    output_ratio: float


class AdaptivePacks:
    """Checkpoint interval and segments per request, learned from what the engine keeps in line.

    **Checkpoints.** A block the engine broke (merged, dropped or added a line) is sent again, so
    checkpoints ``e`` lines apart cost, per request of ``L`` lines, about ``L/e`` checkpoints
    (:data:`CHECKPOINT_TOKENS` each way) plus ``p·e`` resent lines, ``p`` being the blocks broken
    per reply. The sum is least at ``e = sqrt(L·2c / (p·t))`` (``c`` a checkpoint's tokens, ``t``
    a line's billed tokens in and out), so ``every`` follows a moving average of ``p``: denser
    checkpoints when the engine breaks blocks, up to :data:`MOST_EVERY` apart while it does not.

    **Segments per request.** A reply that lost most of its lines (the engine does not keep a
    request's lines apart at all) brings the cap down to the biggest size that came back
    aligned, or to half that batch's size when none did, and that batch's size becomes a
    ceiling; so the rest of the run is not packed into batches that would each be resent down to
    what works. Full batches that come back aligned raise the cap by a quarter, up to just under
    the ceiling (as TCP's slow-start threshold). After :attr:`PROBE_EVERY` aligned replies there
    the ceiling is lifted to try bigger batches again; each probe that fails doubles the wait
    before the next. Replies that lost a few lines change only the checkpoint interval.
    """

    PROBE_EVERY = 20
    MOST_PROBE_WAIT = 640
    #: Weight of the latest reply in the moving average of broken blocks per reply.
    RATE_WEIGHT = 0.1
    #: The broken-block rate a fresh run assumes (it gives about DEFAULT_EVERY on short strings).
    PRIOR_RATE = 0.25

    def __init__(self, limits: PackLimits, learned: Learned | None = None) -> None:
        self.token_budget = limits.token_budget
        self.most = limits.max_segments
        self.max_segments = limits.max_segments
        self.every = limits.every
        self.broken_rate = self.PRIOR_RATE
        if learned is not None:
            self.every = min(max(1, learned.every), MOST_EVERY)
            self.broken_rate = max(0.0, learned.broken_rate)
            self.max_segments = min(self.most, max(1, learned.max_segments))
        self._ceiling = limits.max_segments + 1
        self._good = 0  # the biggest batch that came back aligned (0: none since a setback)
        self._at_ceiling = 0
        self._probe_every = self.PROBE_EVERY
        self._probing = False

    def learned(self, output_ratio: float) -> Learned:
        """The state a later run against the same endpoint and model starts from."""
        return Learned(self.every, round(self.broken_rate, 4), self.max_segments, output_ratio)

    def observe(
        self, sent: int, lost: int, blocks: int = 1, broken: int = 0, line_tokens: float = 0.0
    ) -> None:
        """Learn from a reply to ``sent`` segments in ``blocks`` blocks, of which ``broken``
        blocks holding ``lost`` segments came back out of line; ``line_tokens`` is what one of
        its lines was billed, in and out."""
        if sent > 1:
            self._learn_every(sent, broken, line_tokens)
        # Smaller packs only once checkpoints alone do not help: every line checkpointed, or
        # most of several blocks broken (an engine that does not keep a request's lines apart).
        most_broken = broken * 2 > blocks and (self.every == 1 or blocks >= 3)
        if sent > 1 and lost * 2 > sent and most_broken:
            self._lost_lines(sent)
        elif lost == 0 and sent >= self.max_segments:  # a full batch came back aligned
            self._good = max(self._good, sent)
            if self._probing and sent >= self._ceiling:
                self._probing, self._probe_every = False, self.PROBE_EVERY
            if self.max_segments >= self._ceiling - 1:
                self._at_ceiling += 1
                if self._at_ceiling >= self._probe_every:
                    self._ceiling, self._at_ceiling, self._probing = self.most + 1, 0, True
            grown = self.max_segments + max(1, self.max_segments // 4)
            self.max_segments = max(self.max_segments, min(grown, self._ceiling - 1, self.most))

    def _learn_every(self, sent: int, broken: int, line_tokens: float) -> None:
        weight = self.RATE_WEIGHT
        self.broken_rate = (1 - weight) * self.broken_rate + weight * broken
        if line_tokens <= 0:
            return
        rate = max(self.broken_rate, 1e-3)
        best = math.sqrt(sent * 2 * CHECKPOINT_TOKENS / (rate * line_tokens))
        self.every = max(1, min(MOST_EVERY, round(best)))

    def _lost_lines(self, sent: int) -> None:
        if self._probing:
            self._probing = False
            self._probe_every = min(self.MOST_PROBE_WAIT, 2 * self._probe_every)
        if sent <= self._good:  # a size that used to work failed: start over
            self._good = 0
        self._ceiling = min(self._ceiling, sent)
        self._at_ceiling = 0
        # A batch bigger than the cap was packed before the cap came down: it lowers the
        # ceiling, not the cap again (one cut per round, as TCP's).
        fallback = self._good if self._good else max(1, sent // 2)
        self.max_segments = min(self.max_segments, fallback)


@dataclass(frozen=True, slots=True)
class PackLimits:
    """How big one request may get."""

    #: Tokens of segment text (plus framing) per request.
    token_budget: int = 1_600
    #: At most this many segments per request (bounds the cost of a bisection).
    max_segments: int = 200
    #: A checkpoint every this many lines (see :mod:`pipeline.engine.framing`).
    every: int = DEFAULT_EVERY

    @classmethod
    def for_limits(
        cls,
        rpm: float | None,
        tpm: float | None,
        max_input_tokens: int = 8_192,
        output_ratio: float = DEFAULT_OUTPUT_RATIO,
        packing: bool = True,
        learned: Learned | None = None,
    ) -> PackLimits:
        """Size requests from the rate limits: ~2 x TPM/RPM billed tokens per request.

        A request is billed for its prompt (text + overhead) and its completion (about
        ``output_ratio`` × the text, or the ratio an earlier run ``learned``), so the text
        budget is (2 x TPM/RPM − overhead) / (1 + ratio), kept within 40% of the input limit so
        the reply stays under the output limit too. The checkpoint interval starts where an
        earlier run ended.
        """
        if not packing:
            return cls(token_budget=max_input_tokens, max_segments=1, every=1)
        if learned is not None:
            output_ratio = learned.output_ratio
        every = min(max(1, learned.every), MOST_EVERY) if learned is not None else DEFAULT_EVERY
        ceiling = int(max_input_tokens * 0.4)
        if rpm and tpm:
            # 2x TPM/RPM: the token limit binds well before the request limit, so estimates
            # that turn out pessimistic, and retries (each takes a request slot), do not leave
            # the token budget unused.
            per_request = 2.0 * tpm / rpm
            budget = int((per_request - REQUEST_OVERHEAD_TOKENS) / (1.0 + output_ratio))
        else:
            budget = ceiling
        return cls(token_budget=max(64, min(budget, ceiling)), every=every)



"""How many segments go into one request, and how densely they are checkpointed.

The framing itself (lines, checkpoints, the alignment proof) is :mod:`mtpipe.engine.framing`.
The pack size follows the configured limits: about 2 x TPM/RPM billed tokens per request uses
the whole token budget while staying under the request limit, within the model's input limit
and a segment cap. :class:`AdaptivePacks` learns from the replies how far apart the checkpoints
may be and, when an engine cannot keep lines apart at all, how many segments a request may hold.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Protocol

from mtpipe.engine.reply_stats import ReplyTime
from mtpipe.engine.tail import TAIL_WORTH_S, Pace, tail_pack
from mtpipe.engine.tokens import MAX_INPUT_TOKENS, REQUEST_OVERHEAD_TOKENS

if TYPE_CHECKING:  # units.py packs with these limits: a runtime import would be a cycle
    from mtpipe.engine.units import Unit

#: Tokens one checkpoint adds to a request (``<m`` + a digit or two + ``/>``, less where ``/>``
#: merges with the next word), and again to the reply; and one line break (less than one where
#: it merges with the punctuation before it). Measured with Qwen's tokenizer on UI strings.
CHECKPOINT_TOKENS = 2.6
LINE_BREAK_TOKENS = 0.95
#: Checkpoint intervals: a fresh run starts at DEFAULT_EVERY, an engine that never breaks a block
#: earns MOST_EVERY; 1 is a checkpoint on every line.
DEFAULT_EVERY = 16
MOST_EVERY = 32
#: The share of one second's tokens a request may take when the limits leave the choice. The
#: rest of the provider's per-second bucket is room for what the estimates of the requests in
#: flight got wrong and for network jitter: with requests of 90% of it, those drained the
#: bucket below the next request within a minute (429s at full rate); at 65% the room holds
#: several replies' worth of error, and requests stay at 1.6 a second where 2 are allowed.
SECOND_SHARE = 0.65
#: Reply tokens per request token a --dry-run expects when no run has learned them yet.
DEFAULT_OUTPUT_RATIO = 1.3
#: What a fresh run packs and paces by until its first reply tells the real ratio: pessimistic,
#: since tokens reserved too many are given back when the reply's usage comes, while too few
#: draw 429s from a provider that enforces its limits per second.
CAUTIOUS_OUTPUT_RATIO = 3.0


def line_tokens(every: int) -> float:
    """Framing tokens one packed line adds to a request: its line break and its share of a
    checkpoint."""
    return LINE_BREAK_TOKENS + CHECKPOINT_TOKENS / max(1, every)


def framed_tokens(text_tokens: int, count: int, every: int) -> float:
    """About the tokens of a request's content holding ``count`` texts of ``text_tokens`` in
    all, framed with a checkpoint every ``every`` lines (a single text is sent bare); a
    checkpoint costs a token a digit of its number besides its tag."""
    if count < 2:
        return float(text_tokens)
    checkpoints = math.ceil(count / max(1, every))
    digits = sum(len(str(number)) for number in range(1, checkpoints + 1))
    tags = checkpoints * (CHECKPOINT_TOKENS - 1) + digits
    return text_tokens + (count - 1) * LINE_BREAK_TOKENS + tags


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
    #: The broken-block rate a fresh run assumes (it gives about DEFAULT_EVERY on short strings),
    #: weighing as PRIOR_REPLIES replies.
    PRIOR_RATE = 0.25
    PRIOR_REPLIES = 2

    #: A fresh run's first pack holds 1/2**WARM_SHIFT of the budget, each next one twice the
    #: one before, until the first reply tells the output ratio (TCP's slow start): a wrong
    #: guess then never sizes a full pack, and the first reply comes back fast. Never under
    #: the pack that the request limit allows at the token rate, where a smaller one would
    #: only leave the token limit unused.
    WARM_SHIFT = 3

    def __init__(self, limits: PackLimits, learned: Learned | None = None, paced: bool = True) -> None:
        """``paced``: requests wait for rate limits, so pack sizes follow the output ratio (warm
        up, resize, shrink at the end); unpaced (an offline engine), packs keep ``limits``."""
        self._limits = limits
        self._paced = paced
        guess = learned.output_ratio if learned is not None else CAUTIOUS_OUTPUT_RATIO
        self._budget = min(limits.token_budget, limits.budget_for(guess)) if paced else limits.token_budget
        # Only packs sized for rate limits warm up: without them the ratio sizes nothing.
        warm = paced and learned is None and limits.max_segments > 1 and limits.request_tokens is not None
        self._warm_shift = self.WARM_SHIFT if warm else 0
        #: text tokens not yet read from the stream, when the run knows (see :attr:`token_budget`)
        self.remaining_tokens: float | None = None
        #: units read from the stream and not yet in a pack made (the packs being filled), by
        #: identity, with their tokens in all
        self._open: dict[int, int] = {}
        self._open_tokens = 0
        #: billed tokens and requests a second the pacing allows (None: no such limit)
        self.billed_per_second: float | None = None
        self.requests_per_second: float | None = None
        self.reply_time = ReplyTime()
        self._ratio = guess
        self.most = limits.max_segments
        self.max_segments = limits.max_segments
        self.every = limits.every
        self.broken_rate = self.PRIOR_RATE
        self._rate_seen = self.PRIOR_REPLIES
        self._lines = 0.0  # a full pack's lines: a slowly fading maximum
        if learned is not None:
            self._rate_seen = 5 * self.PRIOR_REPLIES
            self.every = min(max(1, learned.every), MOST_EVERY)
            self.broken_rate = max(0.0, learned.broken_rate)
            self.max_segments = min(self.most, max(1, learned.max_segments))
        self._ceiling = limits.max_segments + 1
        self._good = 0  # the biggest batch that came back aligned (0: none since a setback)
        self._at_ceiling = 0
        self._probe_every = self.PROBE_EVERY
        self._probing = False

    @property
    def token_budget(self) -> int:
        """Text tokens (plus framing) the next pack may hold: the budget for the rate limits,
        smaller while a fresh run warms up, and at the end of the run no bigger than
        :meth:`_tail_budget`."""
        budget = self._budget
        # A run of a few packs gains nothing from warming up: it would only pay more requests.
        big_run = self.remaining_tokens is None or self.remaining_tokens > 4 * budget
        if self._warm_shift and big_run:
            budget = max(64, budget >> self._warm_shift, min(budget, self._least_paced()))
        tail = self._tail_budget()
        return budget if tail is None else min(budget, tail)

    def _least_paced(self) -> int:
        """The smallest pack (text tokens) that leaves no token rate unused while the request
        limit binds: a second's tokens over a second's requests (0: not both limits)."""
        if not (self.billed_per_second and self.requests_per_second):
            return 0
        return int(self.billed_per_second / self.requests_per_second / (1.0 + self._ratio))

    def _tail_budget(self) -> int | None:
        """At the end of a run, the pack to make now so that the last replies land together.

        A reply takes ``a + c x completion`` (:class:`ReplyTime`); see :func:`tail_pack` for the
        plan. None (no limit) far from the end, or while the run's end, the token rate or the
        reply times are unknown.
        """
        line = self.reply_time.line()
        if self.remaining_tokens is None or not self.billed_per_second or line is None:
            return None
        fixed, per_token = line
        billed_per_text = 1.0 + self._ratio
        per_billed = per_token * self._ratio / billed_per_text
        full = self._budget * billed_per_text
        if fixed + per_billed * full < TAIL_WORTH_S:
            return None  # a full pack's reply is quick anyway: splitting would only add requests
        billed = tail_pack(
            (self.remaining_tokens + self._open_tokens) * billed_per_text,
            full,
            Pace(fixed, per_billed, self.billed_per_second, self.requests_per_second),
        )
        return None if billed is None else max(64, int(billed / billed_per_text))

    def follow(self, units: Iterable[Unit], total: int | None) -> Iterator[Unit]:
        """``units`` (``total`` of them, when known), keeping :attr:`remaining_tokens` up to date
        as they are read, so the run's last packs can be smaller (see :meth:`_tail_budget`)."""
        tokens = 0
        for pulled, unit in enumerate(units, start=1):
            tokens += unit.tokens
            self._open[id(unit)] = unit.tokens
            self._open_tokens += unit.tokens
            if total:
                self.remaining_tokens = max(0, total - pulled) * tokens / pulled
            yield unit

    def packed(self, batch: Iterable[Unit] = ()) -> None:
        """A pack was made of ``batch``: the next one, while warming up, may be twice as big,
        and what ``batch`` read from the stream is no longer open."""
        self._warm_shift = max(0, self._warm_shift - 1)
        for unit in batch:
            self._open_tokens -= self._open.pop(id(unit), 0)

    def fit_output(self, output_ratio: float) -> None:
        """Resize the text budget for replies ``output_ratio`` times their request's text
        (the first call ends the warm-up)."""
        self._ratio = output_ratio
        self._warm_shift = 0
        if self._paced:
            self._budget = self._limits.budget_for(output_ratio)

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
        # The prior weighs as PRIOR_REPLIES replies (a learned rate as many more), then the
        # average moves on with weight RATE_WEIGHT.
        self._rate_seen += 1
        weight = max(self.RATE_WEIGHT, 1.0 / self._rate_seen)
        self.broken_rate = (1 - weight) * self.broken_rate + weight * broken
        # Checkpoints are chosen for a full pack: the warm-up's and the run's last packs are
        # smaller, and would otherwise leave a dense interval for the next run.
        self._lines = max(float(sent), 0.9 * self._lines)
        if line_tokens <= 0:
            return
        rate = max(self.broken_rate, 1e-3)
        best = math.sqrt(self._lines * 2 * CHECKPOINT_TOKENS / (rate * line_tokens))
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
    #: A checkpoint every this many lines (see :mod:`mtpipe.engine.framing`).
    every: int = DEFAULT_EVERY
    #: Billed tokens (in + out) a request should carry, when the rate limits say (the text
    #: budget then follows the output ratio a run learns: see AdaptivePacks.fit_output).
    request_tokens: float | None = None

    def budget_for(self, output_ratio: float) -> int:
        """The text budget that makes a request carry :attr:`request_tokens` billed tokens
        when replies are ``output_ratio`` times the request's text (within the input limit)."""
        if self.request_tokens is None:
            return self.token_budget
        budget = int((self.request_tokens - REQUEST_OVERHEAD_TOKENS) / (1.0 + output_ratio))
        return max(64, min(budget, self.most_budget))

    #: The text budget at most (40% of the model's input limit, so the reply fits too).
    most_budget: int = 3_276

    @classmethod
    def for_limits(
        cls,
        rpm: float | None,
        tpm: float | None,
        max_input_tokens: int = MAX_INPUT_TOKENS,
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
        if not (rpm and tpm):
            return cls(token_budget=ceiling, every=every, most_budget=ceiling)
        # 2x TPM/RPM: the token limit binds well before the request limit, so estimates that
        # turn out pessimistic, and retries (each takes a request slot), do not leave the token
        # budget unused. But a provider that enforces its limits per second holds one second of
        # tokens: a request near that size is refused for the smallest misestimate, so keep
        # within SECOND_SHARE of it while 1.25x TPM/RPM still leaves the request limit room.
        request_tokens = 2.0 * tpm / rpm
        per_second = tpm / 60.0
        if request_tokens > SECOND_SHARE * per_second:
            request_tokens = max(SECOND_SHARE * per_second, 1.25 * tpm / rpm)
        shape = cls(every=every, request_tokens=request_tokens, most_budget=ceiling)
        return replace(shape, token_budget=shape.budget_for(output_ratio))



"""Several segments per request, and the check that they come back aligned.

A packed request is one line per segment, each starting with a self-closing marker tag::

    <m1/>Open file
    <m2/>Save %s as…

MT engines keep XML tags and line breaks and translate the words around them (DESIGN.md),
so the reply splits back on the markers. The split is accepted only when the markers come
back exactly ``1..n`` in order; anything else (merged lines, a lost or duplicated marker) is a
misalignment and the caller bisects the batch. A single segment is sent bare, without marker.

The pack size follows the configured limits: about 2 x TPM/RPM billed tokens per request uses
the whole token budget while staying under the request limit, within the model's input limit
and a segment cap.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from pipeline.engine.tokens import REQUEST_OVERHEAD_TOKENS, estimate_tokens

T = TypeVar("T")

# Short on purpose: markers are billed twice (prompt and completion) for every segment.
_MARKER = "<m{}/>"
#: What counts as a marker coming back: also the variants an engine may write for a tag it
#: kept (a space or case change, the slash dropped, full-width brackets in CJK output).
_MARKER_RE = re.compile(r"[<\uff1c]\s*[mM]\s*(\d+)\s*/?\s*[>\uff1e]")
#: Estimated tokens one marker and its line break add to a request (each way).
MARKER_TOKENS = estimate_tokens("\n<m99/>")


def can_pack(text: str) -> bool:
    """False for a text that could be confused with the packing markers (sent alone)."""
    return _MARKER_RE.search(text) is None


def marker_count(content: str) -> int:
    """How many packing markers ``content`` holds (0 for a bare single segment)."""
    return len(_MARKER_RE.findall(content))


def join(texts: Sequence[str]) -> str:
    """The request content for ``texts`` (bare when there is one)."""
    if len(texts) == 1:
        return texts[0]
    return "\n".join(_MARKER.format(i) + text for i, text in enumerate(texts, start=1))


def split(reply: str, count: int) -> list[str] | None:
    """The reply split back into ``count`` translations, or None when misaligned."""
    if count == 1:
        return [reply] if _MARKER_RE.search(reply) is None else None
    parts = _MARKER_RE.split(reply)
    # parts = [before, id1, text1, id2, text2, ...]
    if parts[0].strip() or len(parts) != 2 * count + 1:
        return None
    ids = parts[1::2]
    if ids != [str(i) for i in range(1, count + 1)]:
        return None
    return [text.strip() for text in parts[2::2]]


def split_partial(reply: str, count: int) -> list[str | None]:
    """Each segment's translation where the reply kept it in place, None where it broke.

    A segment is taken when its own marker occurs once and is followed directly by the next
    one (or ends the reply, for the last). An engine that merged two lines loses only those two;
    the caller resends just them. Anything before the first marker voids the whole reply.
    """
    strict = split(reply, count)
    if strict is not None:
        return list(strict)
    found: list[str | None] = [None] * count
    if count == 1:
        return found
    matches = list(_MARKER_RE.finditer(reply))
    if not matches or reply[: matches[0].start()].strip():
        return found
    ids = [int(m.group(1)) for m in matches]
    for k, match in enumerate(matches):
        index = ids[k]
        if not 1 <= index <= count or ids.count(index) != 1:
            continue
        if k + 1 < len(matches):
            in_place = ids[k + 1] == index + 1 <= count and ids.count(index + 1) == 1
            end = matches[k + 1].start()
        else:
            in_place, end = index == count, len(reply)
        if in_place:
            found[index - 1] = reply[match.end() : end].strip()
    return found


class BatchLimits(Protocol):
    """What packing reads: :class:`PackLimits`, or the pool's adaptive view of them."""

    @property
    def token_budget(self) -> int:
        """Estimated tokens of segment text (plus markers) per request."""
        ...

    @property
    def max_segments(self) -> int:
        """Segments per request at most."""
        ...


class AdaptivePacks:
    """Segments per request, learned from what the engine keeps in line.

    A reply that lost most of its markers (the engine merged or dropped lines) brings the cap
    down to the biggest size that came back aligned, or to half that batch's size when none
    did, and that batch's size becomes a ceiling; so the rest of the run is not packed into
    batches that would each be bisected down to what works (a cascade costing several times
    the batch's tokens). Full batches that come back aligned raise the cap by a quarter, up to
    just under the ceiling (as TCP's slow-start threshold). After :attr:`PROBE_EVERY` aligned
    replies there the ceiling is lifted to try bigger batches again; each probe that fails
    doubles the wait before the next. Replies that lost a few lines change nothing.
    """

    PROBE_EVERY = 20
    MOST_PROBE_WAIT = 640

    def __init__(self, limits: PackLimits) -> None:
        self.token_budget = limits.token_budget
        self.most = limits.max_segments
        self.max_segments = limits.max_segments
        self._ceiling = limits.max_segments + 1
        self._good = 0  # the biggest batch that came back aligned (0: none since a setback)
        self._at_ceiling = 0
        self._probe_every = self.PROBE_EVERY
        self._probing = False

    def observe(self, sent: int, lost: int) -> None:
        """Learn from a reply to ``sent`` segments of which ``lost`` came back out of line."""
        if sent > 1 and lost * 2 > sent:
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

    #: Estimated tokens of segment text (plus markers) per request.
    token_budget: int = 1_600
    #: At most this many segments per request (bounds the cost of a bisection).
    max_segments: int = 200

    @classmethod
    def for_limits(
        cls,
        rpm: float | None,
        tpm: float | None,
        max_input_tokens: int = 8_192,
        output_ratio: float = 1.3,
        packing: bool = True,
    ) -> PackLimits:
        """Size requests from the rate limits: ~2 x TPM/RPM billed tokens per request.

        A request is billed for its prompt (text + overhead) and its completion (about
        ``output_ratio`` × the text), so the text budget is (2 x TPM/RPM − overhead) / (1 + ratio),
        kept within 40% of the input limit so the reply stays under the output limit too.
        """
        if not packing:
            return cls(token_budget=max_input_tokens, max_segments=1)
        ceiling = int(max_input_tokens * 0.4)
        if rpm and tpm:
            # 2x TPM/RPM: the token limit binds well before the request limit, so estimates
            # that turn out pessimistic, and retries (each takes a request slot), do not leave
            # the token budget unused.
            per_request = 2.0 * tpm / rpm
            budget = int((per_request - REQUEST_OVERHEAD_TOKENS) / (1.0 + output_ratio))
        else:
            budget = ceiling
        return cls(token_budget=max(64, min(budget, ceiling)))


def pack(items: Iterable[T], size_of: Callable[[T], int | None], limits: BatchLimits) -> Iterator[list[T]]:
    """Group ``items`` in order into batches within ``limits``.

    ``size_of(item)`` is the item's estimated tokens; an item that cannot share a request
    (``size_of`` returns None) or is over the budget on its own goes alone.
    """
    batch: list[T] = []
    used = 0
    for item in items:
        size = size_of(item)
        if size is None:
            yield [item]
            continue
        cost = size + MARKER_TOKENS
        if batch and (used + cost > limits.token_budget or len(batch) >= limits.max_segments):
            yield batch
            batch, used = [], 0
        batch.append(item)
        used += cost
    if batch:
        yield batch


"""The unit of work: what the engine translates, its cache key, when it can be sent at all.

A unit is what is translated once per run: the same (engine, model, source, target,
context, domains, relevant glossary terms, text) anywhere in any file is one unit. Outer
whitespace is kept from the source and never sent; empty and placeholder-only segments are
never sent (their translation is their own text). :func:`pack_by_group` streams units into
requests. The planner (:mod:`mtpipe.run.planner`) makes units from segments with these
functions; the pool and its parts consume them, which is why they live in the engine, below
the run.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from mtpipe.engine.framing import can_pack
from mtpipe.engine.packing import BatchLimits, line_tokens
from mtpipe.engine.tokens import (
    MAX_INPUT_TOKENS,
    MOST_BYTES_PER_TOKEN,
    count_tokens,
    prompt_tokens,
)
from mtpipe.text.languages import Language
from mtpipe.text.protect import needs_translation, split_outer_whitespace
from mtpipe.text.segments import Segment

T = TypeVar("T")

#: A text longer than this cannot fit one request whatever it holds (a character is at least a
#: byte, a token at most MOST_BYTES_PER_TOKEN bytes): it is refused by its length alone, before
#: it is copied, hashed or counted, so one huge value costs no more memory than its own.
MAX_TEXT_CHARS = MAX_INPUT_TOKENS * MOST_BYTES_PER_TOKEN

# Every protected family of mtpipe.text.protect needs one of these to match (URLs "://" or
# "www.", e-mail "@", tags "<" "&", printf and Python "%", brace "{", dollar "$"): text without
# any has no protected span. tests/run/test_dataset_pipeline.py checks this against protect.


@dataclass(slots=True)
class Unit:
    """One distinct piece of text to translate into one target language."""

    key: str
    text: str
    source: Language
    target: Language
    domains: str
    checks: frozenset[str]
    soft_checks: frozenset[str]
    terms: tuple[tuple[str, str], ...]
    file: str
    place: str
    tokens: int
    #: How often the checks rejected this unit's translation (a second rejection is final).
    rejections: int = 0
    #: How often a misaligned reply lost this unit (the first time it joins the next batch).
    losses: int = 0


@dataclass(frozen=True, slots=True)
class EngineIdentity:
    """What, besides the text, decides a translation (part of every cache key)."""

    engine: str
    model: str
    #: What else decides the translations (a hash of a chat model's instructions); "" for none.
    variant: str = ""


def unit_key(
    identity: EngineIdentity,
    source: Language,
    target: Language,
    segment: Segment,
    core: str,
    terms: tuple[tuple[str, str], ...],
) -> str:
    """The content hash identifying a unit (cache key): never a row number."""
    fields = [identity.engine, identity.model, source.name, target.name, segment.context, segment.domains, terms, core]
    if identity.variant:  # appended only when set: the keys of every earlier run stay valid
        fields.append(identity.variant)
    payload = json.dumps(fields, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def split_for_sending(segment: Segment) -> tuple[str, str, str] | None:
    """(leading ws, core, trailing ws), or None when the segment is not sent at all."""
    lead, core, trail = split_outer_whitespace(segment.text)
    if not core:
        return None
    if not needs_translation(core):
        return None
    return lead, core, trail


def oversize(text: str) -> str | None:
    """Why ``text`` is too long for any request, judged by its length alone (None: it may fit);
    the reason a failure report gives, for a text that is never sent."""
    if len(text) <= MAX_TEXT_CHARS:
        return None
    return (
        f"not sent: {len(text):,} characters, more than one request can hold (the model's input "
        f"limit of {MAX_INPUT_TOKENS:,} tokens takes {MAX_TEXT_CHARS:,} characters at most); "
        "split the text"
    )


def over_input_limit(unit: Unit) -> str | None:
    """Why ``unit`` cannot be sent even alone: the prompt of a request holding only it (its
    text, the template, its glossary terms and domains) is over the model's input limit.
    None when it fits; the reason a failure report gives, for a unit that is never sent."""
    prompt = unit.tokens + prompt_tokens("", unit.terms, (), unit.domains)
    if prompt <= MAX_INPUT_TOKENS:
        return None
    return (
        f"not sent: {prompt:,} tokens with the request's template, over the model's input limit "
        f"of {MAX_INPUT_TOKENS:,}; split the text"
    )


def make_unit(
    key: str,
    core: str,
    segment: Segment,
    source: Language,
    target: Language,
    terms: tuple[tuple[str, str], ...],
    file: str,
) -> Unit:
    """Build the unit for a segment that has to be sent."""
    return Unit(
        key=key,
        text=core,
        source=source,
        target=target,
        domains=segment.domains,
        checks=segment.checks,
        soft_checks=segment.soft_checks,
        terms=terms,
        file=file,
        place=segment.place,
        tokens=count_tokens(core),
    )


def request_group(unit: Unit) -> Hashable:
    """What units must share to go in one request: languages and domains."""
    return (unit.source.name, unit.target.name, unit.domains)


def packed_size(unit: Unit) -> int | None:
    """A unit's tokens for packing; None for a text that must go alone (see
    :func:`mtpipe.engine.framing.can_pack`)."""
    return unit.tokens if can_pack(unit.text) else None


def pack_by_group(
    items: Iterable[T],
    group_of: Callable[[T], Hashable],
    size_of: Callable[[T], int | None],
    limits: BatchLimits,
) -> Iterator[list[T]]:
    """Stream ``items`` into request batches, each of one group, within ``limits``.

    Only items of the same group (source, target, domains) share a request. One batch per group
    is open at a time, so memory is bounded by the number of groups, not of items; within a
    group, items are packed in order until the next would pass the token budget or the segment
    cap. An item that cannot share a request (``size_of`` None) goes alone at once. An item
    costs its tokens plus its line's framing (:func:`mtpipe.engine.packing.line_tokens`) at
    the checkpoint interval ``limits.every`` has when the item is packed.
    """
    open_batches: dict[Hashable, tuple[list[T], float]] = {}
    for item in items:
        size = size_of(item)
        if size is None:
            yield [item]
            continue
        group = group_of(item)
        cost = size + line_tokens(limits.every)
        batch, used = open_batches.get(group, ([], 0.0))
        if batch and (used + cost > limits.token_budget or len(batch) >= limits.max_segments):
            yield batch
            batch, used = [], 0.0
        batch.append(item)
        open_batches[group] = (batch, used + cost)
    for batch, _ in open_batches.values():
        yield batch

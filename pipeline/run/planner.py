"""The planning pass of a run: every segment read once, deduplicated into units, looked up.

Memory stays bounded whatever the number of rows, and does not grow past a bound with the
number of distinct values either:

- distinct unit keys, the units to send and the per-file occurrence tallies live in the
  :class:`~mtpipe.run.workstore.WorkStore` (temporary SQLite), not in Python sets and lists;
- a bounded memo (:class:`Memo`, an approximate LRU) maps (text, context, domains, target)
  to what planning decided for it, so a value repeated a million times is split, hashed and
  looked up once while it is hot: a repeated row costs one dict look-up and a counter. A value
  that fell out of the memo is hashed again and found in the work store.

The writers ask :class:`~mtpipe.run.translations.RunTranslations` for each distinct value
per row group (tabular formats) or per segment; the key computation behind it (:class:`Keyer`)
is memoized the same way. :class:`Keyer` is the rule itself, a value's unit key: the Ray Data
integration (:mod:`mtpipe.integrations.ray_data`) uses it as it is.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Hashable, Iterable, Sequence
from typing import Any, Generic, TypeVar

from mtpipe.engine.chat import ChatClient
from mtpipe.engine.client import TranslationRequest
from mtpipe.engine.packing import DEFAULT_OUTPUT_RATIO, Learned, PackLimits, framed_tokens
from mtpipe.engine.tokens import prompt_tokens
from mtpipe.engine.units import (
    EngineIdentity,
    make_unit,
    over_input_limit,
    oversize,
    pack_by_group,
    split_for_sending,
    unit_key,
)
from mtpipe.errors import InputError
from mtpipe.records.cache import Cache
from mtpipe.records.prices import price_for
from mtpipe.run.discover import FileTask
from mtpipe.run.results import Estimate, FileResult, TargetCounts
from mtpipe.run.settings import Job
from mtpipe.run.workstore import CACHED, WorkStore
from mtpipe.text.glossary import Glossary
from mtpipe.text.languages import Language
from mtpipe.text.segments import Segment

#: Entries of each memo (the planner's, then the writers'): tens of MB at most for short values.
MEMO_SIZE = 100_000
_UNSEEN: Any = object()
#: What planning decided for a value too long to send (see mtpipe.engine.units.over_input_limit).
REFUSED = -1
V = TypeVar("V")
#: A value as the writers need it: (leading whitespace length, trailing length, unit key), or
#: None when it is not sent (its translation is itself).
Keyed = tuple[int, int, str] | None


class Memo(Generic[V]):
    """A bounded memo: two generations of plain dicts, an approximate LRU that costs a dict look-up.

    New entries go into the young generation; when it holds ``size / 2`` entries it becomes
    the old one and the previous old one is dropped. A hit in the old generation moves back
    into the young one, so what is used often stays.
    """

    __slots__ = ("_half", "_old", "_young")

    def __init__(self, size: int) -> None:
        self._young: dict[Hashable, V] = {}
        self._old: dict[Hashable, V] = {}
        self._half = max(1, size // 2)

    def get(self, key: Hashable) -> V:
        """The value for ``key``, or the ``_UNSEEN`` sentinel."""
        value: V = self._young.get(key, _UNSEEN)
        if value is _UNSEEN:
            value = self._old.pop(key, _UNSEEN)
            if value is not _UNSEEN:
                self.put(key, value)
        return value

    def put(self, key: Hashable, value: V) -> None:
        """Remember ``value`` for ``key``."""
        self._young[key] = value
        if len(self._young) >= self._half:
            self._old, self._young = self._young, {}

    def clear(self) -> None:
        """Forget everything."""
        self._young, self._old = {}, {}


class Keyer:
    """A job's unit keys: which unit (cache key) a segment is, the one rule of the planner, the
    writers and the Ray workers. ``keyed`` is memoized (see :class:`Memo`)."""

    def __init__(
        self, job: Job, identity: EngineIdentity, glossary: Glossary, memo_size: int | None = None
    ) -> None:
        self.identity = identity
        self.source = job.source
        self.domains = job.domains
        self.glossary = glossary
        #: (text, context, domains, target code) -> what the writers need.
        self._keyed: Memo[Keyed] = Memo(memo_size or MEMO_SIZE)

    def key(
        self, segment: Segment, core: str, target: Language
    ) -> tuple[str, tuple[tuple[str, str], ...]]:
        """The unit key of ``segment`` (whose text without outer whitespace is ``core``) and the
        glossary terms it carries."""
        terms = self.glossary.relevant(core, target)
        return unit_key(self.identity, self.source, target, segment, core, terms), terms

    def keyed(self, segment: Segment, target: Language) -> Keyed:
        """(leading and trailing whitespace lengths, unit key) of ``segment`` under its own
        domains or the job's; None when it is not sent (its translation is its own text)."""
        domains = segment.domains or self.domains
        memo_key = (segment.text, segment.context, domains, target.code)
        found = self._keyed.get(memo_key)
        if found is _UNSEEN:
            found = None
            parts = split_for_sending(segment)
            if parts is not None:
                lead, core, trail = parts
                if segment.domains != domains:
                    segment = _with_domains(segment, domains)
                found = (len(lead), len(trail), self.key(segment, core, target)[0])
            self._keyed.put(memo_key, found)
        return found

    def clear(self) -> None:
        """Forget the memo."""
        self._keyed.clear()


class Planner:
    """Reads segments, deduplicates them into units and looks them up in the cache."""

    def __init__(
        self,
        job: Job,
        identity: EngineIdentity,
        cache: Cache,
        glossary: Glossary,
        memo_size: int | None = None,
        store: WorkStore | None = None,
    ) -> None:
        self.job = job
        self.identity = identity
        self.cache = cache
        self.keys = Keyer(job, identity, glossary, memo_size)
        self.store = store or WorkStore()
        self.estimate = Estimate()
        #: (text, context, domains, target code) -> unit number, CACHED, REFUSED or None (not
        #: sent).
        self._planned: Memo[int | None] = Memo(memo_size or MEMO_SIZE)
        self._files: list[FileResult] = []
        #: unit key -> why it is never sent (too long for one request): failed without a request.
        self.refused: dict[str, str] = {}

    def add_file(self, task: FileTask, result: FileResult) -> None:
        """Plan every segment of ``task`` into ``result``'s counts (InputError propagates)."""
        segments = task.fmt.read(task.path, task.options)
        self.add_segments(str(task.path), segments, task.targets, result)

    def add_segments(
        self,
        name: str,
        segments: Iterable[Segment],
        targets: Sequence[Language],
        result: FileResult,
    ) -> None:
        """Plan ``segments`` (one input, ``name`` in failure reports) into each of ``targets``,
        counted in ``result``; the units to send go to :attr:`store`. A reader's InputError
        part-way through leaves nothing of this input planned (none of its units is sent,
        none of its segments counted) and propagates."""
        file = self.store.add_file(name)
        self._files.append(result)
        first_unit, estimate = self.store.next_unit, dataclasses.replace(self.estimate)
        try:
            self._plan_segments(file, name, segments, targets, result)
        except InputError:
            self.store.forget_file(file, first_unit)
            self.estimate = estimate
            self._planned.clear()  # it may name units just forgotten
            result.by_target.clear()
            result.from_cache = 0
            raise

    def _plan_segments(
        self,
        file: int,
        name: str,
        segments: Iterable[Segment],
        targets: Sequence[Language],
        result: FileResult,
    ) -> None:
        pairs = [(t, result.by_target.setdefault(t.code, TargetCounts())) for t in targets]
        planned, default_domains = self._planned, self.job.domains
        tally: dict[int, int] = {}  # unit number -> segments waiting for it (handed to the store)
        segments_read = 0
        for segment in segments:
            segments_read += 1
            if oversize(segment.text) is not None:  # before its text is hashed or copied
                for _, counts in pairs:
                    counts.failed += 1
                self.estimate.too_long += len(pairs)
                continue
            domains = segment.domains or default_domains
            for target, counts in pairs:
                memo_key = (segment.text, segment.context, domains, target.code)
                seq = planned.get(memo_key)
                if seq is _UNSEEN:
                    seq = self._plan(segment, domains, target, file, result, name)
                    planned.put(memo_key, seq)
                if seq is None:
                    counts.unchanged += 1
                elif seq == CACHED:
                    counts.from_cache += 1
                elif seq == REFUSED:
                    counts.failed += 1
                    self.estimate.too_long += 1
                else:
                    tally[seq] = tally.get(seq, 0) + 1
                    if len(tally) >= self.store.buffer:
                        self.store.add_tally(file, tally)
                        tally.clear()
        self.store.add_tally(file, tally)
        for _, counts in pairs:
            counts.segments += segments_read
        result.segments += segments_read * len(pairs)
        self.estimate.segments += segments_read * len(pairs)

    def _plan(
        self,
        segment: Segment,
        domains: str,
        target: Language,
        file: int,
        result: FileResult,
        name: str,
    ) -> int | None:
        """Plan a value the memo does not hold: None (not sent), CACHED, REFUSED (too long to
        send: failed now, see :attr:`refused`) or the unit's number."""
        parts = split_for_sending(segment)
        if parts is None:
            return None
        if segment.domains != domains:
            segment = _with_domains(segment, domains)
        key, terms = self.keys.key(segment, parts[1], target)
        known = self.store.lookup(key)
        if known is not None:
            return known
        if key in self.refused:
            return REFUSED
        if key in self.cache:
            self.estimate.unique += 1
            self.store.add_cached(key)
            result.from_cache += 1
            self.estimate.cache_hits += 1
            return CACHED
        unit = make_unit(key, parts[1], segment, self.job.source, target, terms, name)
        refusal = over_input_limit(unit)
        if refusal is not None:
            self.refused[key] = refusal
            return REFUSED
        self.estimate.unique += 1
        return self.store.add_unit(unit, file)

    def end_planning(self) -> None:
        """Planning is over: drop the planning memo."""
        self._planned.clear()

    def settle(self) -> None:
        """Per (file, target): the waiting segments now translated (cached) and those that failed."""
        for (file, target), settled in self.store.settle(self.cache.__contains__).items():
            counts = self._files[file].by_target.setdefault(target, TargetCounts())
            counts.translated += settled.translated
            counts.failed += settled.failed

    def close(self) -> None:
        """Drop the work store and the memos."""
        self._planned.clear()
        self.keys.clear()
        self.store.close()


def _with_domains(segment: Segment, domains: str) -> Segment:
    return Segment(
        segment.text, segment.place, segment.context, domains, segment.checks, segment.soft_checks
    )


def estimate(
    planner: Planner, job: Job, limits: PackLimits, learned: Learned | None = None
) -> Estimate:
    """Fill ``planner.estimate`` with requests, tokens, cost and minutes, packed and framed as
    the pool packs and frames them, in Qwen tokens; replies are expected to be the output ratio
    an earlier run against the same endpoint ``learned`` times the request's text (else
    :data:`DEFAULT_OUTPUT_RATIO`)."""
    result = planner.estimate
    price = price_for(planner.identity.model, job.price, job.engine)
    ratio = learned.output_ratio if learned is not None else DEFAULT_OUTPUT_RATIO
    store = planner.store

    @functools.lru_cache(maxsize=256)
    def overhead(group: tuple[str, str, str]) -> int:
        source, target, domains = group
        return _request_overhead(job, store.language(source).name, store.language(target).name, domains)

    sizes = planner.store.sizes()
    for batch in pack_by_group(sizes, lambda s: s[0], lambda s: s[1] if s[2] else None, limits):
        content = framed_tokens(sum(s[1] for s in batch), len(batch), limits.every)
        result.requests += 1
        result.prompt_tokens += round(content) + overhead(batch[0][0])
        result.completion_tokens += math.ceil(content * ratio)
    result.cost_usd = price.cost(result.prompt_tokens, result.completion_tokens)
    if job.engine != "pseudo":
        by_requests = result.requests / job.rpm if job.rpm else 0.0
        total = result.prompt_tokens + result.completion_tokens
        by_tokens = total / job.tpm if job.tpm else 0.0
        result.minutes = max(by_requests, by_tokens)
    return result


def _request_overhead(job: Job, source: str, target: str, domains: str) -> int:
    """Prompt tokens a request of ``job``'s engine is billed besides its segments: Qwen-MT's
    template and the domains text, or a chat model's system message (languages, rules, domain,
    the user's instructions) and message overheads."""
    empty = TranslationRequest("", source, target, domains=domains)
    if job.engine == "chat":
        return ChatClient("", "", model=job.model, instructions=job.instructions).prompt_tokens(empty)
    return prompt_tokens("", domains=domains or None)

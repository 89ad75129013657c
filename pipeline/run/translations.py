"""The writers' view of a run: a segment's translation found by its unit key, failures kept by place.

:class:`KeyedTranslations` is the rule (a segment's unit key from :class:`~mtpipe.run.planner.Keyer`,
its translation from a store of translations by key, its outer whitespace put back); the Ray Data
integration (:mod:`mtpipe.integrations.ray_data`) uses it with a table of translations by key.
:class:`RunTranslations` is what a run's writers ask: the cache behind it, and each segment that
has no translation reported with its file, place and why.
"""

from __future__ import annotations

from typing import Protocol

from mtpipe.engine.units import oversize
from mtpipe.formats.base import WriteReport
from mtpipe.run.planner import Keyer, Planner
from mtpipe.run.results import Failure, FileResult, RunResult, TargetCounts
from mtpipe.run.workstore import CACHED
from mtpipe.text.languages import Language
from mtpipe.text.segments import Segment


class TranslationStore(Protocol):
    """Translations by unit key: the cache, or a table of translations by key."""

    def get(self, key: str) -> str | None:
        """The translation kept for ``key``, or None."""
        ...


class KeyedTranslations:
    """What a writer asks (:class:`~mtpipe.text.segments.Translations`): a segment's
    translation, found by its unit key in ``store``, with the segment's outer whitespace.

    A segment too long to send, or whose key ``store`` lacks, is failed: :meth:`failed` is told
    why (a hook: the writer counts it either way) and None comes back.
    """

    def __init__(self, keys: Keyer, store: TranslationStore) -> None:
        self.keys = keys
        self.store = store

    def get(self, segment: Segment, target: Language) -> str | None:
        """The translation of ``segment`` with its outer whitespace, or None when it failed."""
        too_long = oversize(segment.text)
        if too_long is not None:
            self.failed(segment, target, too_long)
            return None
        keyed = self.keys.keyed(segment, target)
        if keyed is None:
            return segment.text
        lead, trail, key = keyed
        text = self.store.get(key)
        if text is None:
            self.failed(segment, target, self.why(key))
            return None
        return segment.text[:lead] + text + segment.text[len(segment.text) - trail :]

    def why(self, key: str) -> str:
        """Why the unit ``key`` has no translation."""
        return "not translated"

    def failed(self, segment: Segment, target: Language, reason: str) -> None:
        """``segment`` is not translated into ``target``, for ``reason`` (nothing kept here)."""


class RunTranslations(KeyedTranslations):
    """The writers' view of the run: translations by segment, failures recorded by place."""

    def __init__(
        self,
        planner: Planner,
        failures: dict[str, str],
        result: RunResult,
        not_sent: str | None = None,
    ) -> None:
        super().__init__(planner.keys, planner.cache)
        self.planner = planner
        self.failures = failures
        self.result = result
        self.not_sent = not_sent
        self.current_file = ""

    def why(self, key: str) -> str:
        """What the pool reported for ``key``, why the planner refused it, or why it was not
        sent."""
        return (
            self.failures.get(key)
            or self.planner.refused.get(key)
            or (f"not sent: {self.not_sent}" if self.not_sent else "not translated")
        )

    def unwritten(self, file_result: FileResult, report: WriteReport) -> None:
        """List the segments ``report``'s writer could not put back though their translation
        was given (:meth:`WriteReport.fail`), and count each as failed rather than as planning
        and settling count it: nothing to translate, from the cache, or translated (settling
        counts it so, its translation being cached; this runs before, the sum comes after)."""
        for item in report.unwritten:
            segment, target = item.segment, item.target
            self.failed(segment, target, item.reason)
            counts = file_result.by_target.setdefault(target.code, TargetCounts())
            counts.failed += 1
            keyed = self.keys.keyed(segment, target)
            if keyed is None:
                counts.unchanged -= 1
            elif self.planner.store.lookup(keyed[2]) == CACHED:
                counts.from_cache -= 1
            else:
                counts.translated -= 1

    def failed(self, segment: Segment, target: Language, reason: str) -> None:
        """Report ``segment`` as not translated into ``target`` (file, place, why)."""
        self.result.failures.append(
            Failure(self.current_file, f"{segment.place} [{target.code}]", reason)
        )

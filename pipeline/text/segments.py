"""Segments: the units a format reads out of a file and the pipeline translates.

A format turns a file into an ordered stream of :class:`Segment`. Reading is deterministic:
reading the same file twice yields equal segments in the same order, which is how a writer
finds each segment's translation again (it re-reads its input and asks :class:`Translations`
for every segment), so nothing has to hold a whole file's segments in memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from mtpipe.text.languages import Language

#: Placeholder families checked after translation (see mtpipe.text.protect).
ALL_CHECKS: frozenset[str] = frozenset(
    {"printf", "strftime", "python", "brace", "dollar", "tags", "url", "email"}
)


@dataclass(frozen=True, slots=True)
class Segment:
    """One unit of text to translate.

    - ``text``: the source text as sent (a Word paragraph carries inline tags here).
    - ``place``: where it is, for messages: ``"line 42"``, ``"row 7, column 'title'"``.
    - ``context``: identity-bearing context (gettext msgctxt): the same text in two contexts is
      two units, never deduplicated into one.
    - ``domains``: an English hint sent as Qwen-MT ``translation_options.domains``; requests
      only group segments with the same hint.
    - ``checks``: placeholder families that must come back intact, else the translation is
      rejected (retried alone once, then reported failed, never written).
    - ``soft_checks``: families that get the retry but, if still broken, are accepted: the
      writer degrades gracefully (a Word paragraph whose tags broke loses its inline formatting).
    """

    text: str
    place: str
    context: str = ""
    domains: str = ""
    checks: frozenset[str] = ALL_CHECKS
    soft_checks: frozenset[str] = field(default_factory=frozenset)


class Translations(Protocol):
    """What a writer asks for translations: the result of the run for one segment."""

    def get(self, segment: Segment, target: Language) -> str | None:
        """The translation of ``segment`` into ``target``, or None when it failed.

        Segments the pipeline does not send (empty, whitespace or placeholder only) come back
        as their own text.
        """
        ...

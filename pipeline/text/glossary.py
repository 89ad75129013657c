"""Glossaries: term pairs (source, target, optional target language) sent as Qwen-MT ``terms``.

Only the terms that occur in a request's text are sent (terms are billed as input tokens), and
a unit's cache key includes the terms that occur in it, so editing an unrelated term does not
invalidate cached translations. Glossary files are read by
:func:`mtpipe.formats.tabular.glossary.load_glossary` (a CSV/TSV file like any other).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from mtpipe.text.languages import Language


@dataclass
class Glossary:
    """Terms by target language code ("" = every target)."""

    terms: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    _patterns: dict[str, re.Pattern[str]] = field(default_factory=dict, repr=False)

    def add(self, source: str, target: str, language: str = "") -> None:
        """Add one term pair."""
        self.terms.setdefault(language, []).append((source, target))
        self._patterns[source] = re.compile(
            r"(?<!\w)" + re.escape(source) + r"(?!\w)", re.IGNORECASE
        )

    def relevant(self, text: str, target: Language) -> tuple[tuple[str, str], ...]:
        """The term pairs for ``target`` whose source occurs in ``text`` (whole words)."""
        if not self.terms:
            return ()
        found = []
        for pair in self.terms.get("", []) + self.terms.get(target.code, []):
            if self._patterns[pair[0]].search(text):
                found.append(pair)
        return tuple(found)

    def __bool__(self) -> bool:
        return bool(self.terms)

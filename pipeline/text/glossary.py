"""Glossaries: CSV/TSV of (source, target[, language]) sent as Qwen-MT ``terms``.

Only the terms that occur in a request's text are sent (terms are billed as input tokens),
and a unit's cache key includes the terms that occur in it, so editing an unrelated term
does not invalidate cached translations.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.errors import InputError
from pipeline.text.languages import Language, resolve


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


def load_glossary(path: Path) -> Glossary:
    """Read a glossary file: CSV or TSV (by extension or sniffing), optional header row.

    Columns: source, target, optional language (code or name; empty = all targets).
    """
    glossary = Glossary()
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            sample = handle.read(4096)
            handle.seek(0)
            delimiter = "\t" if path.suffix.lower() == ".tsv" or "\t" in sample else ","
            for lineno, row in enumerate(csv.reader(handle, delimiter=delimiter), start=1):
                if not row or not any(cell.strip() for cell in row):
                    continue
                if lineno == 1 and [c.strip().lower() for c in row[:2]] == ["source", "target"]:
                    continue
                if len(row) < 2 or not row[0].strip() or not row[1].strip():
                    raise InputError(path, "expected source,target[,language]", f"line {lineno}")
                language = ""
                if len(row) > 2 and row[2].strip():
                    language = resolve(row[2]).code
                glossary.add(row[0].strip(), row[1].strip(), language)
    except OSError as exc:
        raise InputError(path, f"cannot read glossary: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise InputError(path, f"not a UTF-8 CSV/TSV glossary ({exc})") from None
    return glossary

"""Glossary files: CSV/TSV rows of ``source, target[, language]``, read into a Glossary.

A glossary is read the way a CSV/TSV input is (:class:`~mtpipe.formats.tabular.delimited.
CsvSource`): UTF-8 with or without a byte-order mark, the same dialect detection, and a ``.tsv``
glossary is IANA text/tab-separated-values (a field is everything between two tabs, quotes
included, so ``"Swing it" magistern`` and ``12" display`` are terms) unless it quotes its
fields throughout. Every error names the file and the line.
"""

from __future__ import annotations

from pathlib import Path

from mtpipe.errors import ConfigError, InputError
from mtpipe.formats.tabular.delimited import CsvSource
from mtpipe.text.glossary import Glossary
from mtpipe.text.languages import resolve

#: What a glossary's rows hold, for error messages.
_SHAPE = "a row holds source, target[, language]"


def load_glossary(path: Path) -> Glossary:
    """The glossary in ``path``: one term per row (source, target, optional language: a code
    or English name, empty for every target); blank rows are skipped and a first row reading
    ``source, target`` is a header. InputError naming the file and line for a row without a
    source or target, an unknown language, bytes that are not UTF-8, a NUL byte or broken
    quoting; InputError naming the file when it cannot be read.
    """
    glossary = Glossary()
    first = True
    with CsvSource(path, {}, encoding_hint="save the glossary as UTF-8") as source:
        for row in source.rows():
            cells = [cell.strip() for cell in row]
            if not any(cells):
                continue
            if first and [c.lower() for c in cells[:2]] == ["source", "target"]:
                first = False
                continue
            first = False
            place = f"line {source.line}"
            if len(cells) < 2:
                raise InputError(path, f"one field where {_SHAPE}", place)
            if not cells[0] or not cells[1]:
                raise InputError(path, f"empty {'source' if not cells[0] else 'target'} term", place)
            language = ""
            if len(cells) > 2 and cells[2]:
                try:
                    language = resolve(cells[2]).code
                except ConfigError as exc:
                    raise InputError(path, str(exc), place) from None
            glossary.add(cells[0], cells[1], language)
    return glossary

"""Transitional and Strict WordprocessingML: the namespaces a Word package is written in.

ISO/IEC 29500 names the same markup in two vocabularies. Word's "Word Document" is
Transitional: elements in ``http://schemas.openxmlformats.org/wordprocessingml/2006/main``,
relationship types under ``http://schemas.openxmlformats.org/officeDocument/2006/relationships``.
Its "Strict Open XML Document" moves every namespace and relationship type of the document
markup under ``http://purl.oclc.org/ooxml/`` (``.../wordprocessingml/main``,
``.../officeDocument/relationships/officeDocument``). The packaging layer (content types,
``.rels`` files, core properties) and markup compatibility (``mc:``) are the same in both.

A package is read and written in its own dialect: :mod:`package` finds it from the type of
the relationship to the main part, and the code that names elements asks the dialect
(``dialect.w("p")``), so a Strict document comes back Strict, and what the format adds (runs,
``w:lang``, ``w:bidi``) is in the document's own namespace.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from lxml import etree

__all__ = ["DIALECTS", "STRICT", "TRANSITIONAL", "Dialect", "dialect_of"]


@dataclass(frozen=True, slots=True)
class Dialect:
    """The namespaces of one WordprocessingML vocabulary."""

    name: str
    #: ``w:``, the WordprocessingML main namespace
    main: str
    #: ``r:``; relationship types of the document markup are ``{relationships}/{kind}``
    relationships: str
    #: ``wp:``, drawings anchored in text
    drawing: str

    def w(self, local: str) -> str:
        """The ``{namespace}local`` name of WordprocessingML element or attribute ``local``."""
        return f"{{{self.main}}}{local}"

    def ws(self, *local: str) -> frozenset[str]:
        """The names of several WordprocessingML elements (computed once per dialect)."""
        return _names(self.main, local)

    def wp(self, local: str) -> str:
        """The ``{namespace}local`` name of a text-anchored drawing element (``wp:docPr``)."""
        return f"{{{self.drawing}}}{local}"

    def relationship(self, kind: str) -> str:
        """The relationship type ``kind`` (``officeDocument``, ``header``...) in this dialect."""
        return f"{self.relationships}/{kind}"


@functools.cache
def _names(namespace: str, local: tuple[str, ...]) -> frozenset[str]:
    return frozenset(f"{{{namespace}}}{name}" for name in local)


TRANSITIONAL = Dialect(
    "transitional",
    main="http://schemas.openxmlformats.org/wordprocessingml/2006/main",
    relationships="http://schemas.openxmlformats.org/officeDocument/2006/relationships",
    drawing="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing",
)
STRICT = Dialect(
    "strict",
    main="http://purl.oclc.org/ooxml/wordprocessingml/main",
    relationships="http://purl.oclc.org/ooxml/officeDocument/relationships",
    drawing="http://purl.oclc.org/ooxml/drawingml/wordprocessingDrawing",
)
DIALECTS = (TRANSITIONAL, STRICT)


def dialect_of(element: etree._Element) -> Dialect:
    """The dialect WordprocessingML ``element`` (a ``w:p``, a part's root...) is written in.

    Raises ValueError for an element of another vocabulary: callers only pass Word elements.
    """
    namespace = etree.QName(element).namespace
    for dialect in DIALECTS:
        if namespace == dialect.main:
            return dialect
    raise ValueError(f"not a WordprocessingML element: {element.tag!r}")

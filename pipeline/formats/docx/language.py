"""The language Word records on translated text (``w:lang``), for proofing and screen readers.

A run's ``w:rPr/w:lang`` has one attribute per script class: ``w:val`` for Latin, Cyrillic,
Greek and other simple scripts, ``w:eastAsia`` for Chinese, Japanese and Korean, ``w:bidi`` for
complex scripts (Arabic, Hebrew, Thai, Indic...). Word spell-checks and reads aloud each
character with the language of its class. A translated paragraph that kept its source's
``w:lang`` would be checked as English word by word, so every text run of a translated
paragraph gets the target's tag in the target's class; the other attributes are left alone
(a product name in Latin letters inside a Japanese sentence keeps its own language).

Complex scripts are formatted by the run's complex-script properties (``w:bCs``, ``w:iCs``,
``w:szCs``), not by ``w:b``, ``w:i``, ``w:sz``: a bold 14 pt English heading translated into
Arabic or Thai would come out plain and at the default size. So for such targets a run's bold,
italic and size are copied to their complex-script twins where it has none. For right-to-left
scripts (Arabic, Hebrew, Syriac, Thaana, N'Ko) the paragraph's direction becomes right to left
(``w:pPr/w:bidi``); its alignment and the direction of tables are left as they are.

Runs without ``w:lang`` get one; parts whose text is not translated are not touched, and neither
are the styles (a bold style without ``w:bCs`` stays so), so the package keeps its untouched
parts byte for byte. What is added is in the paragraph's own namespace (Transitional or Strict).
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Mapping
from dataclasses import dataclass

from babel.core import get_global
from lxml import etree

from mtpipe.formats.docx.dialect import Dialect, dialect_of
from mtpipe.formats.docx.nodes import Element, InlineNames
from mtpipe.text.languages import Language

#: CT_RPr children that come after ``w:lang`` (the schema fixes the order; Word enforces it).
_AFTER_LANG = ("eastAsianLayout", "specVanish", "oMath", "rPrChange")
#: CT_PPr children that come after ``w:bidi``.
_AFTER_BIDI = (
    "adjustRightInd", "snapToGrid", "spacing", "ind", "contextualSpacing", "mirrorIndents",
    "suppressOverlap", "jc", "textDirection", "textAlignment", "textboxTightWrap",
    "outlineLvl", "divId", "cnfStyle", "rPr", "sectPr", "pPrChange",
)
#: Run properties that get a complex-script twin (``w:bCs``...) right after them.
_WITH_TWINS = ("b", "i", "sz")
_EAST_ASIAN = frozenset({"Hans", "Hant", "Jpan", "Kore", "Hira", "Kana", "Hang", "Bopo"})
_COMPLEX = frozenset(
    {"Arab", "Hebr", "Syrc", "Thaa", "Nkoo", "Thai", "Laoo", "Khmr", "Mymr", "Tibt", "Deva", "Beng",
     "Guru", "Gujr", "Orya", "Taml", "Telu", "Knda", "Mlym", "Sinh"}
)
_RIGHT_TO_LEFT = frozenset({"Arab", "Hebr", "Syrc", "Thaa", "Nkoo"})
#: Languages Word names with their script (``sr-Cyrl-RS``), as Windows locale names do.
_WITH_SCRIPT = frozenset({"sr", "bs", "uz", "az"})


@dataclass(frozen=True, slots=True)
class _Names:
    """The names :func:`mark_language` writes, in one dialect."""

    inline: InlineNames
    lang: str
    bidi: str
    after_lang: frozenset[str]
    after_bidi: frozenset[str]
    #: (property, its complex-script twin)
    twins: tuple[tuple[str, str], ...]


@functools.cache
def _names(dialect: Dialect) -> _Names:
    w = dialect.w
    twins = tuple((w(name), w(f"{name}Cs")) for name in _WITH_TWINS)
    return _Names(
        InlineNames.of(dialect), w("lang"), w("bidi"), dialect.ws(*_AFTER_LANG),
        dialect.ws(*_AFTER_BIDI), twins,
    )


@dataclass(frozen=True, slots=True)
class WordLanguage:
    """How Word records text in one language."""

    #: the ``w:lang`` attribute of the language's script class: val, eastAsia or bidi
    attribute: str
    #: the language tag: ``de-DE``, ``zh-TW``, ``sr-Cyrl-RS``
    tag: str
    right_to_left: bool = False

    @property
    def complex_script(self) -> bool:
        """True when Word formats this text with the complex-script properties."""
        return self.attribute == "bidi"


@functools.cache
def word_language(language: Language) -> WordLanguage:
    """How Word records text in ``language``: ``val de-DE``, ``eastAsia zh-TW``, ``bidi ar-EG``
    (right to left). The region is the user's (``pt_BR``) or CLDR's likely one; without CLDR
    data, the bare code in ``w:val``."""
    code = language.code
    base, _, region = code.partition("_")
    likely: Mapping[str, str] = get_global("likely_subtags")
    full = likely.get(code) or likely.get(base)
    if full is None:
        return WordLanguage("val", code.replace("_", "-"))
    _, script, likely_region = (full.split("_") + ["", ""])[:3]
    parts = [base]
    if base in _WITH_SCRIPT and script:
        parts.append(script)
    if region or likely_region:
        parts.append(region or likely_region)
    attribute = "eastAsia" if script in _EAST_ASIAN else "bidi" if script in _COMPLEX else "val"
    return WordLanguage(attribute, "-".join(parts), script in _RIGHT_TO_LEFT)


def mark_language(paragraph: Element, language: Language) -> None:
    """Record ``language`` on every text run of ``paragraph`` (not of paragraphs nested in it,
    such as a text box's: they are translated, and marked, on their own), with the formatting
    and direction its script needs (see the module docstring)."""
    word = word_language(language)
    dialect = dialect_of(paragraph)
    names = _names(dialect)
    p, r, t = names.inline.p, names.inline.r, names.inline.t
    for run in paragraph.iter(r):
        if run.find(t) is None or next(run.iterancestors(p), None) is not paragraph:
            continue
        properties = _properties(run, names.inline.rpr)
        _child(properties, names.lang, names.after_lang).set(dialect.w(word.attribute), word.tag)
        if word.complex_script:
            _add_complex_twins(properties, names.twins)
    if word.right_to_left:
        _child(_properties(paragraph, names.inline.ppr), names.bidi, names.after_bidi)


def _properties(element: Element, tag: str) -> Element:
    """The ``w:rPr`` of a run or the ``w:pPr`` of a paragraph (its first child), made if absent."""
    properties = element.find(tag)
    if properties is None:
        properties = etree.Element(tag)
        element.insert(0, properties)
    return properties


def _child(parent: Element, tag: str, later_tags: frozenset[str]) -> Element:
    """``parent``'s child ``tag``, inserted before the first of ``later_tags`` if absent."""
    child = parent.find(tag)
    if child is None:
        child = etree.Element(tag)
        later = next((c for c in parent if c.tag in later_tags), None)
        if later is None:
            parent.append(child)
        else:
            later.addprevious(child)
    return child


def _add_complex_twins(properties: Element, twins: tuple[tuple[str, str], ...]) -> None:
    for plain, twin in twins:
        source = properties.find(plain)
        if source is not None and properties.find(twin) is None:
            copied = copy.deepcopy(source)
            copied.tag = twin
            copied.tail = None
            source.addnext(copied)

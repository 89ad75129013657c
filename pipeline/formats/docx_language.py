"""The language Word records on translated text (``w:lang``), for proofing and screen readers.

A run's ``w:rPr/w:lang`` has one attribute per script class: ``w:val`` for Latin, Cyrillic,
Greek and other simple scripts, ``w:eastAsia`` for Chinese, Japanese and Korean, ``w:bidi`` for
complex scripts (Arabic, Hebrew, Thai, Indic...). Word spell-checks and reads aloud each
character with the language of its class. A translated paragraph that kept its source's
``w:lang`` would be checked as English word by word, so every text run of a translated
paragraph gets the target's tag in the target's class; the other attributes are left alone
(a product name in Latin letters inside a Japanese sentence keeps its own language).

Runs without ``w:lang`` get one; parts whose text is not translated are not touched, and neither
are the styles, so the package keeps its untouched parts byte for byte.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

from babel.core import get_global
from docx.oxml.ns import qn
from lxml import etree

from pipeline.formats.docx_inline import W_P, W_R, W_RPR, W_T, Element
from pipeline.languages import Language

W_LANG = qn("w:lang")
#: CT_RPr children that come after ``w:lang`` (the schema fixes the order; Word enforces it).
_AFTER_LANG = frozenset(qn(f"w:{name}") for name in ("eastAsianLayout", "specVanish", "oMath", "rPrChange"))
_EAST_ASIAN = frozenset({"Hans", "Hant", "Jpan", "Kore", "Hira", "Kana", "Hang", "Bopo"})
_COMPLEX = frozenset(
    {"Arab", "Hebr", "Syrc", "Thaa", "Nkoo", "Thai", "Laoo", "Khmr", "Mymr", "Tibt", "Deva", "Beng",
     "Guru", "Gujr", "Orya", "Taml", "Telu", "Knda", "Mlym", "Sinh"}
)
#: Languages Word names with their script (``sr-Cyrl-RS``), as Windows locale names do.
_WITH_SCRIPT = frozenset({"sr", "bs", "uz", "az"})


@functools.cache
def word_language(language: Language) -> tuple[str, str]:
    """(``w:lang`` attribute, language tag) for text in ``language``: ``("val", "de-DE")``,
    ``("eastAsia", "zh-TW")``, ``("bidi", "ar-EG")``. The region is the user's (``pt_BR``) or
    CLDR's likely one; without CLDR data, the bare code in ``w:val``."""
    code = language.code
    base, _, region = code.partition("_")
    likely: Mapping[str, str] = get_global("likely_subtags")
    full = likely.get(code) or likely.get(base)
    if full is None:
        return "val", code.replace("_", "-")
    _, script, likely_region = (full.split("_") + ["", ""])[:3]
    parts = [base]
    if base in _WITH_SCRIPT and script:
        parts.append(script)
    if region or likely_region:
        parts.append(region or likely_region)
    attribute = "eastAsia" if script in _EAST_ASIAN else "bidi" if script in _COMPLEX else "val"
    return attribute, "-".join(parts)


def mark_language(paragraph: Element, language: Language) -> None:
    """Record ``language`` on every text run of ``paragraph`` (not of paragraphs nested in it,
    such as a text box's: they are translated, and marked, on their own)."""
    attribute, tag = word_language(language)
    for run in paragraph.iter(W_R):
        if run.find(W_T) is None or next(run.iterancestors(W_P), None) is not paragraph:
            continue
        _language_element(run).set(qn(f"w:{attribute}"), tag)


def _language_element(run: Element) -> Element:
    properties = run.find(W_RPR)
    if properties is None:
        properties = etree.Element(W_RPR)
        run.insert(0, properties)
    lang = properties.find(W_LANG)
    if lang is None:
        lang = etree.Element(W_LANG)
        later = next((child for child in properties if child.tag in _AFTER_LANG), None)
        if later is None:
            properties.append(lang)
        else:
            later.addprevious(lang)
    return lang

"""Placeholders, tags and other spans an MT engine must keep, and the checks after translation.

The families (see ``mtpipe.text.segments.ALL_CHECKS``):

- ``printf``  C/printf and Python %-directives: ``%s``, ``%1$s``, ``%5.2f``, ``%lld``, ``%r``, ``%%``
- ``strftime`` date directives printf does not know: ``%Y``, ``%B``, ``%H``, ``%-d``
- ``python``  Python named directives: ``%(name)s``
- ``brace``   curly-brace placeholders: ``{}``, ``{0}``, ``{name}``, ``{n:>3}``
- ``dollar``  shell/JS-style variables: ``$var``, ``${var}``
- ``tags``    XML/HTML tags and character entities: ``<b>``, ``</b>``, ``<x id="3"/>``, ``&amp;``
- ``url``     URLs
- ``email``   e-mail addresses

What an MT engine keeps (DESIGN.md): these spans, numbers and line breaks. The engine, the
emulator and the pseudo engine all use :func:`split_protected` so they agree on what is text.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

_PATTERNS: tuple[tuple[str, str], ...] = (
    ("url", r"(?:\b(?:https?|ftp)://|\bwww\.)[^\s<>\"']*[^\s<>\"'.,;:!?)\]]"),
    ("email", r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b"),
    (
        "tags",
        (
            r"</?[A-Za-z][\w:.-]*(?:\s+[\w:.-]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s>\"']+))?)*\s*/?>"
            r"|&(?:[A-Za-z][A-Za-z0-9]*|#[0-9]+|#x[0-9A-Fa-f]+);"
        ),
    ),
    ("python", r"%\([^()\s]+\)[-#0 +]*(?:\d+|\*)?(?:\.(?:\d+|\*))?[diouxXeEfFgGcrsa%]"),
    (
        "printf",
        (
            r"%%|%(?:[1-9][0-9]*\$)?[-+#0']*(?:[0-9]+|\*)?(?:\.(?:[0-9]+|\*))?"
            r"(?:hh|h|ll|l|L|q|j|z|t|I64|I32)?[diouxXeEfFgGaAcspnr]"
        ),
    ),
    # strftime directives printf does not know (%Y, %B, %H, %-d...): dates in UI strings.
    ("strftime", r"%[-_0^#]?[bBCDhHIjklmMPRSTUVwWyYzZ]"),
    ("brace", r"\{(?:[A-Za-z_][\w.\[\]]*|[0-9]+)?(?:![rsa])?(?::[^{}\s]*)?\}"),
    ("dollar", r"\$\{[A-Za-z_]\w*\}|\$[A-Za-z_]\w*"),
)

#: Every protected span holds one of these; a text without any has no span (fast paths).
_MAYBE_PROTECTED = re.compile(r"[@<&%{$]|://|www\.", re.IGNORECASE)
_COMBINED = re.compile("|".join(f"(?P<{name}>{pattern})" for name, pattern in _PATTERNS))
_POSITIONAL = re.compile(r"%[1-9][0-9]*\$")
_LETTER = re.compile(r"[^\W\d_]")


@dataclass(frozen=True, slots=True)
class Span:
    """A protected span of a text: its family and its exact text."""

    family: str
    text: str


def split_protected(text: str, families: Iterable[str] | None = None) -> list[str | Span]:
    """Split ``text`` into plain strings and protected :class:`Span` s, in order.

    ``families`` limits which families count as protected (default: all). Joining the parts
    (``Span.text`` for spans) gives ``text`` back.
    """
    wanted = None if families is None else frozenset(families)
    parts: list[str | Span] = []
    pos = 0
    for match in _COMBINED.finditer(text):
        family = match.lastgroup
        assert family is not None
        if wanted is not None and family not in wanted:
            continue
        if match.start() > pos:
            parts.append(text[pos : match.start()])
        parts.append(Span(family, match.group()))
        pos = match.end()
    if pos < len(text):
        parts.append(text[pos:])
    return parts


def placeholders(text: str, families: Iterable[str] | None = None) -> list[Span]:
    """The protected spans of ``text`` in order of appearance."""
    return [part for part in split_protected(text, families) if isinstance(part, Span)]


def verify(source: str, translation: str, families: Iterable[str]) -> list[str]:
    """What the translation broke, one short message per problem; empty when intact.

    Non-positional printf directives must keep their order (as ``msgfmt -c`` requires);
    every other family must come back as the same multiset.
    """
    wanted = frozenset(families)
    if not wanted or (not may_have_spans(source) and not may_have_spans(translation)):
        return []
    src = placeholders(source, wanted)
    dst = placeholders(translation, wanted)
    problems: list[str] = []
    for family in sorted(wanted):
        a = [s.text for s in src if s.family == family]
        b = [s.text for s in dst if s.family == family]
        ordered = family == "printf" and not any(_POSITIONAL.match(p) for p in a)
        if (a != b) if ordered else (Counter(a) != Counter(b)):
            missing = list((Counter(a) - Counter(b)).elements())
            extra = list((Counter(b) - Counter(a)).elements())
            detail = []
            if missing:
                detail.append("missing " + " ".join(missing))
            if extra:
                detail.append("unexpected " + " ".join(extra))
            if not detail:
                detail.append("order changed: " + " ".join(a))
            problems.append(f"{family} placeholders: {'; '.join(detail)}")
    return problems


def split_outer_whitespace(text: str) -> tuple[str, str, str]:
    """(leading whitespace, core, trailing whitespace): the whitespace is kept, not sent."""
    core = text.strip()
    if not core:
        return text, "", ""
    start = text.index(core)
    return text[:start], core, text[start + len(core) :]


def may_have_spans(text: str) -> bool:
    """False when ``text`` certainly holds no protected span (cheaper than splitting it)."""
    return _MAYBE_PROTECTED.search(text) is not None


def needs_translation(text: str) -> bool:
    """True when ``text`` has a letter outside protected spans (else it is sent nowhere)."""
    if not may_have_spans(text):
        return _LETTER.search(text) is not None
    return any(isinstance(part, str) and _LETTER.search(part) for part in split_protected(text))

"""What a reply must show before a translation in it is kept (DESIGN.md, "What the engine may
trust").

:func:`unwrap` removes what wraps the text on every path, packed or single: leading and trailing
line breaks (relays send ``"\\r\\n\\r\\n"`` before the translation) and end-of-content tokens
(qwen-mt-flash ends every reply with ``<|endofcontent|>``). :func:`judge` then rejects a
translation that is empty where the source has words, that is the source given back unchanged
(a single text of several words: a relay that dropped ``translation_options``), that carries
commentary (more lines than its source: "Sure! Here is the translation:"), or whose length is
out of all proportion to its source. :func:`is_echo` tells a packed reply that gave every line
back unchanged. Short texts that are the same in both languages ("Status", "OK", "Export" in
German) pass: an echo is judged only on several words, or on a whole packed reply.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from mtpipe.text.protect import split_protected

__all__ = ["ECHO_WORDS", "Rejection", "is_echo", "judge", "unwrap", "width"]

#: Tokens a model or relay may leave around the text (Qwen's control tokens, spelt out).
_CONTROL = r"<\|(?:endofcontent|endoftext|im_end|im_start)\|>"
_WRAPPING = re.compile(rf"^(?:\s|{_CONTROL})+|(?:\s|{_CONTROL})+$")
_WORD = re.compile(r"[^\W\d_]{2,}")
_NEWLINE = re.compile(r"\r\n|\r|\n")

#: A single text given back unchanged is an echo from this many words on.
ECHO_WORDS = 4
#: A translation may be this many times as wide as its source (plus :data:`_SLACK`), and
#: its source this many times as wide as it.
_MOST_RATIO = 4.0
_SLACK = 40


class Rejection:
    """Why a translation is not kept (the ledger's ``rejected`` keys)."""

    EMPTY = "empty"
    ECHO = "echo"
    COMMENTARY = "commentary"
    LENGTH = "length"


def unwrap(text: str) -> str:
    """``text`` without surrounding white space, line breaks and end-of-content tokens."""
    return _WRAPPING.sub("", text)


def width(text: str) -> int:
    """Display width: 2 per East Asian wide character, 1 per other character."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _words(text: str) -> int:
    """Words of letters outside protected spans (placeholders, tags, URLs)."""
    return sum(len(_WORD.findall(part)) for part in split_protected(text) if isinstance(part, str))


def _lines(text: str) -> int:
    return sum(1 for line in _NEWLINE.split(text) if line.strip())


def judge(source: str, translation: str, *, alone: bool, same_language: bool = False) -> str | None:
    """Why ``translation`` of ``source`` must not be kept (a :class:`Rejection`), or None.

    ``alone``: the text was sent as a request of its own (an echo is then judged on the text;
    in a packed reply only the whole reply is, see :func:`is_echo`). ``same_language``: source
    and target are known to be one language, so an unchanged text is no echo.
    """
    if not translation.strip():
        return Rejection.EMPTY
    if _lines(translation) > max(1, _lines(source)):
        return Rejection.COMMENTARY
    if alone and not same_language and translation == source and _words(source) >= ECHO_WORDS:
        return Rejection.ECHO
    wide_in, wide_out = width(source), width(translation)
    if wide_out > _MOST_RATIO * wide_in + _SLACK or wide_in > _MOST_RATIO * wide_out + _SLACK:
        return Rejection.LENGTH
    return None


def is_echo(sources: Sequence[str], translations: Sequence[str | None]) -> bool:
    """True when a packed reply gave back unchanged every text whose place it kept (two at
    least), and they hold words at all: a relay or model that ignores the target language."""
    kept = [(s, t) for s, t in zip(sources, translations, strict=True) if t is not None]
    if len(kept) < 2 or any(s != t for s, t in kept):
        return False
    return sum(_words(s) for s, _ in kept) >= ECHO_WORDS

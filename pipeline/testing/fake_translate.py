"""The emulator's deterministic stand-in for machine translation.

:func:`fake_translate` keeps exactly what an MT engine keeps (DESIGN.md, "What an MT engine
keeps"): every protected span of :func:`mtpipe.text.protect.split_protected` byte for byte, and all
numbers, punctuation, whitespace and line breaks. Only letters change.

The scheme is a Vigenère cipher that restarts at every word:

- The *key* is four shifts in 1..25 taken from the SHA-256 of the target's English name, so each
  target gets its own key (German and French differ; every Qwen-MT name gets a distinct key).
- The i-th letter of a word is rotated by ``key[i % 4]`` inside its own alphabet: ASCII
  ``A-Z`` / ``a-z`` (case kept), Cyrillic, Greek, Hebrew, Arabic, Devanagari, Thai, kana, CJK
  ideographs and Hangul syllables each rotate within their block, so the script, the case and
  the token estimate stay the same. A shift is never a multiple of the block size, so every
  such letter changes.
- Other Latin letters are decomposed (NFD) and their ASCII base letter is rotated, keeping the
  accent (``é`` -> ``h`` + acute).
- A word in which no letter could be rotated (e.g. Ethiopic) gets ``~`` and the key spelled as
  four letters appended, so it still differs from the source and depends on the target.

Each letter's fate depends only on its word, its position in the word and the target, so
translating several segments joined by tags or newlines gives, segment by segment, the same
result as translating each segment alone (what the pipeline's packing relies on).

Terms (glossary pairs) are honoured: where a term's source occurs in a plain part (case
sensitive; at word boundaries for scripts that separate words with spaces, anywhere for
CJK/kana/Hangul), its target is emitted verbatim instead of the cipher of it.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable, Mapping

from mtpipe.text.protect import Span, split_protected

__all__ = ["LETTER_BLOCKS", "fake_translate", "target_key"]

#: Contiguous blocks of letters that rotate within themselves (first, last code point).
LETTER_BLOCKS: tuple[tuple[int, int], ...] = (
    (0x41, 0x5A),  # A-Z
    (0x61, 0x7A),  # a-z
    (0x391, 0x3A1),  # Greek capitals Alpha-Rho
    (0x3A3, 0x3A9),  # Greek capitals Sigma-Omega (U+03A2 is unassigned)
    (0x3B1, 0x3C9),  # Greek small alpha-omega
    (0x410, 0x42F),  # Cyrillic capitals А-Я
    (0x430, 0x44F),  # Cyrillic small а-я
    (0x5D0, 0x5EA),  # Hebrew letters
    (0x621, 0x63A),  # Arabic letters hamza-ghain
    (0x641, 0x64A),  # Arabic letters feh-yeh
    (0x915, 0x939),  # Devanagari consonants
    (0xE01, 0xE2E),  # Thai consonants
    (0x3041, 0x3096),  # Hiragana
    (0x30A1, 0x30FA),  # Katakana
    (0x4E00, 0x9FEF),  # CJK unified ideographs
    (0xAC00, 0xD7A3),  # Hangul syllables
)

_WORD = re.compile(r"[^\W\d_]+")
_KEY_LENGTH = 4
# Scripts written without spaces between words: terms match anywhere in them.
_NO_SPACE_SCRIPTS = ((0x3040, 0x30FF), (0x3400, 0x9FFF), (0xAC00, 0xD7A3), (0xF900, 0xFAFF))


def target_key(target_name: str) -> tuple[int, ...]:
    """The cipher key of a target: four shifts in 1..25 derived from its English name."""
    digest = hashlib.sha256(target_name.strip().lower().encode("utf-8")).digest()
    return tuple(1 + digest[i] % 25 for i in range(_KEY_LENGTH))


def _block_of(code: int) -> tuple[int, int] | None:
    for first, last in LETTER_BLOCKS:
        if first <= code <= last:
            return first, last
    return None


def _rotate(char: str, shift: int) -> str | None:
    """``char`` rotated within its block, or None when it belongs to no block."""
    block = _block_of(ord(char))
    if block is not None:
        first, last = block
        size = last - first + 1
        step = shift % size or 1  # never a full turn: the letter must change
        return chr(first + (ord(char) - first + step) % size)
    decomposed = unicodedata.normalize("NFD", char)
    base = decomposed[0]
    if len(decomposed) > 1 and base.isascii() and base.isalpha():
        rotated = _rotate(base, shift)
        assert rotated is not None
        return unicodedata.normalize("NFC", rotated + decomposed[1:])
    return None


def _cipher_word(word: str, key: tuple[int, ...]) -> str:
    out: list[str] = []
    changed = False
    for index, char in enumerate(word):
        rotated = _rotate(char, key[index % len(key)])
        if rotated is None:
            out.append(char)
        else:
            out.append(rotated)
            changed = True
    if not changed:
        out.append("~" + "".join(chr(ord("a") + shift - 1) for shift in key))
    return "".join(out)


def _cipher_plain(text: str, key: tuple[int, ...]) -> str:
    return _WORD.sub(lambda m: _cipher_word(m.group(), key), text)


def _spaced_letter(char: str) -> bool:
    """A letter of a script that separates words with spaces (term edges must not touch one)."""
    if not (char.isalpha()):
        return False
    code = ord(char)
    return not any(first <= code <= last for first, last in _NO_SPACE_SCRIPTS)


def _term_matches(text: str, terms: list[tuple[str, str]]) -> list[tuple[int, int, str]]:
    """Non-overlapping (start, end, target) occurrences of term sources, longest terms first."""
    taken: list[tuple[int, int, str]] = []
    for source, target in sorted(terms, key=lambda t: -len(t[0])):
        if not source:
            continue
        start = text.find(source)
        while start != -1:
            end = start + len(source)
            before_ok = start == 0 or not (
                _spaced_letter(text[start - 1]) and _spaced_letter(source[0])
            )
            after_ok = end == len(text) or not (
                _spaced_letter(text[end]) and _spaced_letter(source[-1])
            )
            free = all(end <= s or start >= e for s, e, _ in taken)
            if before_ok and after_ok and free:
                taken.append((start, end, target))
                start = text.find(source, end)
            else:
                start = text.find(source, start + 1)
    return sorted(taken)


def _translate_plain(text: str, key: tuple[int, ...], terms: list[tuple[str, str]]) -> str:
    if not terms:
        return _cipher_plain(text, key)
    out: list[str] = []
    pos = 0
    for start, end, target in _term_matches(text, terms):
        out.append(_cipher_plain(text[pos:start], key))
        out.append(target)
        pos = end
    out.append(_cipher_plain(text[pos:], key))
    return "".join(out)


def _term_pairs(
    terms: Mapping[str, str] | Iterable[tuple[str, str]] | None,
) -> list[tuple[str, str]]:
    if terms is None:
        return []
    if isinstance(terms, Mapping):
        return [(str(s), str(t)) for s, t in terms.items()]
    return [(str(s), str(t)) for s, t in terms]


def fake_translate(
    text: str,
    target_name: str,
    terms: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
) -> str:
    """The emulator's "translation" of ``text`` into ``target_name`` (an English language name).

    Promises: protected spans, digits, punctuation, whitespace and line breaks are kept byte for
    byte; every word (run of letters) outside protected spans changes, so the result differs
    from ``text`` whenever :func:`mtpipe.text.protect.needs_translation` is true; the result depends
    on the target; the transformation is word-local (see the module docstring); ``terms``
    (source -> target pairs) are replaced by their targets. Deterministic, never raises on any
    ``str``.
    """
    key = target_key(target_name)
    pairs = _term_pairs(terms)
    parts: list[str] = []
    for part in split_protected(text):
        if isinstance(part, Span):
            parts.append(part.text)
        else:
            parts.append(_translate_plain(part, key, pairs))
    return "".join(parts)

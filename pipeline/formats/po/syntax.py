"""One line of a gettext catalog, read the way msgfmt's lexer reads it.

msgfmt reads a catalog as tokens (keywords, C string literals, comments) with free whitespace
between them. polib reads it line by line, and is both more lenient than msgfmt (it takes an
unterminated string, or ``\\q``, as text) and stricter (it refuses ``#~msgid "x"``, ``msgid"x"``,
two strings on one line). :func:`lex_line` reads a line as msgfmt would and raises
:class:`PoSyntaxError` for what msgfmt refuses; :meth:`PoLine.canonical` spells an accepted
line the one way polib reads, so both parsers see the same catalog.

What msgfmt accepts and this module still refuses (with a clear reason): a backslash at the end
of a line (msgfmt joins the next line to it), a second keyword on the same line, a carriage
return inside a string (polib ends the line there), and the ``domain`` directive.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

#: The keywords of an entry, and those a previous-string line (``#|``) may use.
KEYWORDS = ("msgctxt", "msgid", "msgid_plural", "msgstr")
PREVIOUS_KEYWORDS = ("msgctxt", "msgid", "msgid_plural")
#: The context separator of a .mo file: msgfmt refuses it in any string.
EOT = 4

#: Whitespace between msgfmt's tokens (a line end is the end of the text given to lex_line).
_SPACE = " \t\r\f\v"
_WORD = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
_INDEX = re.compile(r"\[[ \t\f\v]*([0-9]+)[ \t\f\v]*\]")
_SIMPLE_ESCAPES = frozenset('ntbrfva\\"')
_OCTAL = re.compile(r"[0-7]{1,3}")
_HEX = re.compile(r"[0-9A-Fa-f]+")
#: A complete string literal with valid escapes (possessive: a failed match never backtracks).
_STRING = re.compile(r'"(?:[^"\\\x04]|\\(?:[ntbrfva\\"]|[0-7]{1,3}+|x[0-9A-Fa-f]++))*+"')
#: The shape of nearly every line a tool writes (read without the general lexer): a plain
#: keyword or string line whose escapes need no value check.
_PLAIN = re.compile(
    r"[ \t]*+(?:(#~\|?|#\|)[ \t]++)?+(?:(msgctxt|msgid_plural|msgid|msgstr(?:\[[0-9]++\])?+)[ \t]++)?+"
    r'"((?:[^"\\\x04]|\\[ntbrfva\\"])*+)"[ \t\r\f\v]*+'
)
_COMMENT = re.compile(r"[ \t]*+#(?![~|])")
#: An octal or hex escape, whose value must be checked (it may spell the context separator).
_NUMERIC_ESCAPE = re.compile(r"\\[0-7x]")

Kind = Literal["blank", "comment", "key", "cont"]


class PoSyntaxError(Exception):
    """A line msgfmt refuses: what is wrong, and the 1-based column where it was found when
    that helps find it (None for an unterminated string: it is wrong at the line end)."""

    def __init__(self, reason: str, column: int | None) -> None:
        self.reason = reason
        self.column = column
        super().__init__(reason if column is None else f"{reason} (column {column})")


@dataclass(frozen=True, slots=True)
class PoLine:
    """A lexed line: a keyword line (``key``), a string continuing one (``cont``), a comment,
    or nothing (``blank``, also a bare ``#~``). ``previous`` marks ``#|`` / ``#~|`` lines;
    ``body`` is the line's string literals joined, escapes as written (between the quotes)."""

    kind: Kind
    obsolete: bool = False
    previous: bool = False
    keyword: str = ""
    body: str = ""
    #: Whether a string follows the keyword on this line (a ``cont`` line always has one).
    has_string: bool = False
    #: Whether polib reads the line as it is written: whitespace after ``#~`` / ``#|`` and
    #: after the keyword, ``msgstr[N]`` without spaces, exactly one string.
    plain: bool = True

    @property
    def channel(self) -> tuple[bool, bool]:
        """Lines that continue one another share (obsolete, previous): msgfmt's ``#~`` and
        ``#|`` state."""
        return self.obsolete, self.previous

    def canonical(self, raw: str) -> str:
        """The line as polib reads it: ``raw`` itself when it is plain or a comment, an empty
        line for a bare ``#~``, else ``[#~ |#~| |#| ]keyword "body"`` with ``raw``'s line end."""
        if self.plain or self.kind == "comment":
            return raw
        end = raw[len(raw.rstrip("\r\n")) :]
        if self.kind == "blank":
            return end
        prefix = {(True, True): "#~| ", (True, False): "#~ ", (False, True): "#| "}.get(
            self.channel, ""
        )
        keyword = f"{self.keyword} " if self.keyword else ""
        return f'{prefix}{keyword}"{self.body}"{end}'


def lex_line(line: str) -> PoLine:
    """Read one line (its line end excluded or included) as msgfmt's lexer would.

    Raises PoSyntaxError for what msgfmt refuses: an unterminated string, an escape other than
    ``\\n \\t \\b \\r \\f \\v \\a \\\\ \\"``, octal ``\\NNN`` and hex ``\\xH...``, the context
    separator (byte 4) in a string, an unknown keyword, text that is neither a keyword nor a
    string, and ``[N]`` after a keyword other than msgstr.
    """
    text = line.rstrip("\r\n")
    if _COMMENT.match(text):
        return _A_COMMENT
    plain = _PLAIN.fullmatch(text)
    if plain is not None:
        prefix, keyword, body = plain.groups()
        obsolete, previous = (
            bool(prefix) and prefix.startswith("#~"),
            bool(prefix) and prefix.endswith("|"),
        )
        if not (previous and keyword is not None and keyword not in PREVIOUS_KEYWORDS):
            kind: Kind = "key" if keyword else "cont"
            return PoLine(kind, obsolete, previous, keyword or "", body, True)
    return _lex_general(text)


_A_COMMENT = PoLine("comment")


def _lex_general(text: str) -> PoLine:
    """:func:`lex_line` for any line (``text`` without its line end)."""
    obsolete = previous = False
    position = _skip_space(text, 0)
    if text.startswith("#~", position):
        obsolete, position = True, position + 2
        if text.startswith("|", position):
            previous, position = True, position + 1
    elif text.startswith("#|", position):
        previous, position = True, position + 2
    elif text.startswith("#", position):
        return PoLine("comment")
    token = _skip_space(text, position)
    if token == len(text):  # a bare "#~" is nothing to msgfmt, a syntax error to polib
        return PoLine("blank", obsolete, previous, plain=not (obsolete or previous))
    if text.startswith("#", token):  # "#~ #, fuzzy": a comment of an obsolete entry
        return PoLine("comment", obsolete, previous)
    spaced = token > position or not (obsolete or previous)
    keyword, plain_keyword, position = _keyword(text, token, previous)
    bodies = _strings(text, position)
    plain = spaced and plain_keyword and len(bodies) == 1
    if not keyword:
        return PoLine("cont", obsolete, previous, "", bodies[0], True, plain)
    return PoLine("key", obsolete, previous, keyword, "".join(bodies), bool(bodies), plain)


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position] in _SPACE:
        position += 1
    return position


def _keyword(text: str, position: int, previous: bool) -> tuple[str, bool, int]:
    """The keyword starting at ``position`` ("" when a string starts there), whether it is
    written the way polib reads it (followed by whitespace, no spaces in ``[N]``), and where
    it ends."""
    if text.startswith('"', position):
        return "", True, position
    word = _WORD.match(text, position)
    if word is None:
        raise PoSyntaxError(f"unexpected {text[position]!r}", position + 1)
    name = word.group()
    allowed = PREVIOUS_KEYWORDS if previous else KEYWORDS
    if name not in allowed:
        where = " in a #| line" if previous and name in KEYWORDS else ""
        raise PoSyntaxError(f"unknown keyword {name!r}{where}", position + 1)
    end = _skip_space(text, word.end())
    index = _INDEX.match(text, end)
    if index is None:
        return name, end > word.end(), word.end()
    if name != "msgstr" or previous:
        raise PoSyntaxError(f"{name} cannot take a plural index [N]", end + 1)
    keyword = f"msgstr[{int(index.group(1))}]"
    plain = text.startswith(keyword, position) and _skip_space(text, index.end()) > index.end()
    return keyword, plain, index.end()


def _strings(text: str, position: int) -> list[str]:
    """The bodies of the string literals from ``position`` to the line end."""
    bodies: list[str] = []
    while True:
        position = _skip_space(text, position)
        if position == len(text):
            return bodies
        if text[position] != '"':
            raise _not_a_string(text, position, bool(bodies))
        literal = _STRING.match(text, position)
        if literal is None or _NUMERIC_ESCAPE.search(literal.group()):
            end = _string_end(text, position)  # says what is wrong, or checks escape values
        else:
            end = literal.end() - 1
        bodies.append(text[position + 1 : end])
        position = end + 1


def _not_a_string(text: str, position: int, after_string: bool) -> PoSyntaxError:
    """The error for text at ``position`` where only a string (or the line end) may be."""
    rest = text[position:]
    word = _WORD.match(rest)
    if word is not None and word.group() in KEYWORDS:
        reason = f"a second keyword ({word.group()}) on the line; start it on a line of its own"
    elif after_string:
        reason = f'unexpected text after the string: {rest!r} (a quote in a string is written \\")'
    else:
        reason = f"expected a string in double quotes, found {rest!r}"
    return PoSyntaxError(reason, position + 1)


def _string_end(text: str, start: int) -> int:
    """The index of the quote closing the string literal opened at ``start``."""
    position = start + 1
    while position < len(text):
        char = text[position]
        if char == '"':
            return position
        if ord(char) == EOT:
            raise PoSyntaxError("context separator (byte 4) inside a string", position + 1)
        position = _escape_end(text, position) if char == "\\" else position + 1
    raise PoSyntaxError("unterminated string (no closing quote before the end of the line)", None)


def _escape_end(text: str, backslash: int) -> int:
    """Where the escape sequence starting at ``backslash`` ends; PoSyntaxError if invalid."""
    position = backslash + 1
    if position == len(text):
        raise PoSyntaxError(
            "backslash at the end of the line (a line continuation); join the two lines",
            backslash + 1,
        )
    char = text[position]
    if char in _SIMPLE_ESCAPES:
        return position + 1
    digits = _OCTAL.match(text, position)
    base = 8
    if digits is None and char == "x":
        digits, base = _HEX.match(text, position + 1), 16
    if digits is None:
        sequence = text[backslash : position + 1]
        raise PoSyntaxError(f"invalid escape sequence {sequence!r}", backslash + 1)
    if int(digits.group(), base) == EOT:
        raise PoSyntaxError("context separator (byte 4) inside a string", backslash + 1)
    return digits.end()

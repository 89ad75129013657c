"""How a gettext catalog lays out its strings, so new ones look like the file's own.

A PO string field (``msgstr "..."``) can be written on one line or split over several quoted
lines. Tools differ:

- ``gettext`` (msgmerge, msgcat, msginit, Poedit, Lokalize): lines of at most 79 columns,
  breaking where the Unicode line-breaking rules allow (after spaces, between CJK characters),
  a new line after every ``\\n``; :func:`render_field` reproduces GNU gettext's ``wrap()``
  (write-po.c) with an approximation of UAX #14 good enough for text.
- ``babel`` (pybabel extract/update, hence many Python projects): Babel's own ``normalize``
  at width 76, called as is.
- ``nowrap`` (``msgcat --no-wrap``, Transifex, Weblate on request): one line per ``\\n``.

:func:`detect_style` picks the style that reproduces most of the file's existing multi-line
fields (a vote), so a catalog keeps one look after translation.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Sequence
from typing import Literal

from babel.messages.pofile import normalize as _babel_normalize

WrapStyle = Literal["gettext", "babel", "nowrap"]
STYLES: tuple[WrapStyle, ...] = ("gettext", "nowrap", "babel")

#: GNU gettext's default page width (msgmerge/msgcat ``--width``).
PAGE_WIDTH = 79
_GETTEXT_ESCAPES = {"\b": "b", "\f": "f", "\n": "n", "\r": "r", "\t": "t", "\\": "\\", '"': '"'}

# ---- line-breaking classes (a subset of UAX #14) ---------------------------------------------

# fmt: off
_FIXED_CLASSES = {
    " ": "SP", "\u00a0": "GL", "\u202f": "GL", "\u2007": "GL", "\u2060": "GL",
    "!": "EX", "?": "EX", "\uff01": "EX", "\uff1f": "EX",
    ",": "IS", ".": "IS", ":": "IS", ";": "IS",
    "/": "SY", "-": "HY", "%": "PO", "\u00a2": "PO", "\u00b0": "PO", "\u2030": "PO",
    "\\": "PR", "$": "PR", "+": "PR", "\u00a3": "PR", "\u00a5": "PR", "\u20ac": "PR",
    '"': "QU", "'": "QU", "\u00ab": "QU", "\u00bb": "QU",
    "(": "OP", "[": "OP", "{": "OP", ")": "CP", "]": "CP", "}": "CL",
    "|": "BA", "\t": "BA", "\u2010": "BA", "\u2013": "BA", "\u00ad": "BA", "\u3000": "BA",
    "\u2014": "B2", "\u2026": "IN", "\u2025": "IN",
    "\u3001": "CL", "\u3002": "CL", "\uff0c": "CL", "\uff0e": "CL",
    "\u30fc": "NS", "\u30fb": "NS", "\u3005": "NS", "\u309d": "NS", "\u309e": "NS",
    "\u30fd": "NS", "\u30fe": "NS", "\u301c": "NS", "\uff1a": "NS", "\uff1b": "NS",
    "\u200b": "ZW",
}
_SMALL_KANA = set("ぁぃぅぇぉっゃゅょゎゕゖァィゥェォッャュョヮヵヶㇰㇱㇲㇳㇴㇵㇶㇷㇸㇹㇺㇻㇼㇽㇾㇿ")
_NO_BREAK_BEFORE = {"CL", "CP", "EX", "IS", "SY"}  # LB13
# fmt: on


def _line_class(char: str) -> str:
    fixed = _FIXED_CLASSES.get(char)
    if fixed is not None:
        return fixed
    if char in _SMALL_KANA:
        return "NS"
    category = unicodedata.category(char)
    wide = unicodedata.east_asian_width(char) in ("W", "F")
    if category in ("Mn", "Me", "Mc"):
        return "CM"
    if category == "Nd":
        return "NU"
    if category == "Ps":
        return "OPW" if wide else "OP"  # LB30 only holds for narrow opening punctuation
    if category == "Pe":
        return "CL"
    if category in ("Pi", "Pf"):
        return "QU"
    if category == "Zs":
        return "BA"
    return "ID" if wide else "AL"


def _break_opportunities(chars: Sequence[str]) -> list[bool]:
    """``result[i]``: a line may break before ``chars[i]`` (never before the first one)."""
    classes = [_line_class(c) for c in chars]
    result = [False] * len(chars)
    before_spaces = ""  # class of the last non-space character (for the "X SP* ×" rules)
    prev = ""
    for i, cls in enumerate(classes):
        if i == 0:
            prev = before_spaces = cls
            continue
        result[i] = _pair_allows_break(prev, before_spaces, cls)
        if cls == "CM":
            continue  # LB9: a combining mark takes its base's class
        prev = cls
        if cls != "SP":
            before_spaces = cls
    return result


def _pair_allows_break(prev: str, before_spaces: str, cls: str) -> bool:
    """UAX #14 rules LB7-LB31, in order, for a break between ``prev`` and ``cls``."""
    if cls in ("SP", "CM"):
        return False  # LB7, LB9
    if prev == "ZW":
        return True  # LB8
    if prev == "GL" or cls == "GL":
        return False  # LB12
    if cls in _NO_BREAK_BEFORE:
        return False  # LB13
    if before_spaces in ("OP", "OPW"):
        return False  # LB14
    if before_spaces == "QU" and cls in ("OP", "OPW"):
        return False  # LB15
    if before_spaces in ("CL", "CP") and cls == "NS":
        return False  # LB16
    if before_spaces == "B2" and cls == "B2":
        return False  # LB17
    if prev == "SP":
        return True  # LB18
    if cls == "QU" or prev == "QU":
        return False  # LB19
    if cls in ("BA", "HY", "NS"):
        return False  # LB21
    if cls == "IN":
        return False  # LB22
    return (prev, cls) not in _NO_BREAK_PAIRS  # LB23-LB30, else LB31


# fmt: off
_NO_BREAK_PAIRS = frozenset(
    {
        ("AL", "NU"), ("NU", "AL"),  # LB23
        ("PR", "ID"), ("ID", "PO"),  # LB23a
        ("PR", "AL"), ("PO", "AL"), ("AL", "PR"), ("AL", "PO"),  # LB24
        ("CL", "PO"), ("CP", "PO"), ("CL", "PR"), ("CP", "PR"), ("NU", "PO"), ("NU", "PR"),
        ("PO", "OP"), ("PO", "NU"), ("PR", "OP"), ("PR", "NU"), ("HY", "NU"), ("IS", "NU"),
        ("NU", "NU"), ("SY", "NU"), ("OP", "NU"),  # LB25
        ("AL", "AL"),  # LB28
        ("AL", "OP"), ("NU", "OP"), ("CP", "AL"), ("CP", "NU"),  # LB30
    }
)
# fmt: on


def char_width(char: str) -> int:
    """Display columns of ``char`` as libunistring counts them for UTF-8 (0, 1 or 2)."""
    if unicodedata.category(char) in ("Mn", "Me", "Cf") or char == "\u200b":
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def display_width(text: str) -> int:
    """Display columns of ``text`` (wide CJK characters count 2, combining marks 0)."""
    return sum(char_width(c) for c in text)


# ---- rendering -------------------------------------------------------------------------------


def _portions(value: str) -> list[str]:
    """``value`` cut after every newline, as gettext writes one portion per line."""
    if not value:
        return [""]
    parts: list[str] = []
    start = 0
    while start < len(value):
        end = value.find("\n", start)
        end = len(value) if end < 0 else end + 1
        parts.append(value[start:end])
        start = end
    return parts


def _escaped_units(portion: str) -> tuple[list[str], list[bool]]:
    """The escaped characters of ``portion`` and, per character, "never break before it"."""
    chars: list[str] = []
    prohibited: list[bool] = []
    for char in portion:
        escaped = _GETTEXT_ESCAPES.get(char)
        if escaped is None:
            chars.append(char)
            prohibited.append(False)
        else:
            chars += ["\\", escaped]
            prohibited += [False, True]
    if portion.endswith("\n"):
        prohibited[-2] = True  # gettext: never break just before the final "\n"
    return chars, prohibited


def _greedy_breaks(
    chars: Sequence[str], allowed: Sequence[bool], width: int, startcol: int
) -> set[int]:
    """libunistring's ``ulc_width_linebreaks``: break at the last opportunity that still fits."""
    breaks: set[int] = set()
    last_break: int | None = None
    last_column = startcol
    piece_width = 0
    for i, char in enumerate(chars):
        if allowed[i]:
            if last_break is not None and last_column + piece_width > width:
                breaks.add(last_break)
                last_column = 0
            last_break = i
            last_column += piece_width
            piece_width = 0
        piece_width += char_width(char)
    if last_break is not None and last_column + piece_width > width:
        breaks.add(last_break)
    return breaks


def _render_gettext(keyword: str, value: str, prefix: str, page_width: int | None) -> list[str]:
    width = (page_width if page_width else 10**9) - 1 - (len(prefix) + 1)
    lines: list[str] = []
    first_line = True
    portions = _portions(value)
    for index, portion in enumerate(portions):
        chars, prohibited = _escaped_units(portion)
        opportunities = _break_opportunities(chars)
        allowed = [ok and not no for ok, no in zip(opportunities, prohibited)]
        startcol = len(keyword) + 1 if first_line else 0
        breaks = _greedy_breaks(chars, allowed, width, startcol)
        more = index < len(portions) - 1
        if first_line and chars and (more or startcol > width or breaks):
            lines.append(f'{prefix}{keyword} ""')
            first_line = False
            breaks = _greedy_breaks(chars, allowed, width, 0)
        head = f"{prefix}{keyword} " if first_line else prefix
        first_line = False
        current = [head, '"']
        for i, char in enumerate(chars):
            if i in breaks:
                current.append('"')
                lines.append("".join(current))
                current = [prefix, '"']
            current.append(char)
        current.append('"')
        lines.append("".join(current))
    return lines


def render_field(keyword: str, value: str, style: WrapStyle, prefix: str = "") -> list[str]:
    """The lines (without line ends) of ``keyword "value"`` as ``style`` writes them.

    ``keyword`` is ``msgid``, ``msgstr``, ``msgstr[1]``...; ``prefix`` is ``"#~ "`` for
    obsolete entries. Special characters are escaped the way the style's tool escapes them.
    """
    if style == "babel":
        text = _babel_normalize(value, prefix=prefix, width=76)
        first, *rest = text.split("\n")
        return [f"{prefix}{keyword} {first}", *rest]
    return _render_gettext(keyword, value, prefix, PAGE_WIDTH if style == "gettext" else None)


def detect_style(fields: Iterable[tuple[str, str, Sequence[str]]]) -> WrapStyle | None:
    """The style that reproduces most of ``fields`` (keyword, value, original lines).

    Only fields on which the styles disagree count; None when no field tells them apart.
    Ties go to gettext, then nowrap.
    """
    scores = dict.fromkeys(STYLES, 0)
    decisive = False
    for keyword, value, original in fields:
        wanted = [line.rstrip("\r\n") for line in original]
        hits = {style: render_field(keyword, value, style) == wanted for style in STYLES}
        if len(set(hits.values())) > 1:
            decisive = True
            for style, hit in hits.items():
                scores[style] += hit
    if not decisive:
        return None
    return max(STYLES, key=lambda style: scores[style])

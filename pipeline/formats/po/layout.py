"""The text of a gettext catalog as lines, so a writer changes only what it must.

polib parses a catalog into entries but, on save, re-renders every one of them (its own
wrapping, comment layout and escapes). To give back untouched entries byte for byte, a catalog
is also kept as its decoded lines, cut into :class:`Block` s (one per entry, blank lines
between them are left out), each matched to polib's entry. A writer replaces the lines of the
entries it changed and copies every other line as it was.

Before polib sees a catalog, every line is lexed the way msgfmt lexes it
(:mod:`mtpipe.formats.po.syntax`) and the entries are checked against msgfmt's grammar, so
what msgfmt refuses (an unterminated string, ``\\q``, a keyword without a string, msgid
without msgstr, an entry defined twice) is an InputError naming the line, and what msgfmt
accepts but polib cannot read (``#~msgid "x"``, ``msgid"x"``, two strings on one line) is
handed to polib in its canonical spelling.
"""

from __future__ import annotations

import codecs
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polib

from mtpipe.errors import InputError
from mtpipe.formats.po.syntax import PoLine, PoSyntaxError, lex_line
from mtpipe.formats.po.wrap import WrapStyle, detect_style

_CHARSET = re.compile(rb'"?Content-Type:.+? charset=([\w_\-:\.]+)')
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")
_SYNTAX_LINE = re.compile(r"\(line (\d+)\)(?::\s*(.+))?")


@dataclass
class Field:
    """One string field: ``keyword`` (``msgid``, ``msgstr[1]``...), its line range, its value."""

    keyword: str
    start: int
    end: int
    value: str


@dataclass
class Block:
    """The lines ``[start, end)`` of one entry: comment line indices, then its fields."""

    start: int
    end: int
    obsolete: bool = False
    comments: list[int] = field(default_factory=list)
    fields: list[Field] = field(default_factory=list)

    def get(self, keyword: str) -> Field | None:
        """The field named ``keyword``, if the entry has one."""
        return next((f for f in self.fields if f.keyword == keyword), None)

    @property
    def msgid(self) -> str | None:
        """The msgid's value; None for a block of comments only."""
        found = self.get("msgid")
        return None if found is None else found.value

    @property
    def msgctxt(self) -> str | None:
        """The msgctxt's value, None when the entry has none."""
        found = self.get("msgctxt")
        return None if found is None else found.value

    def msgstr_fields(self) -> list[Field]:
        """The msgstr / msgstr[i] fields, in file order."""
        return [f for f in self.fields if f.keyword.startswith("msgstr")]


@dataclass
class Catalog:
    """A parsed catalog: the bytes, the decoded lines, the blocks and polib's entries."""

    path: Path
    data: bytes
    encoding: str
    lines: list[str]
    newline: str
    header: Block | None
    #: Every entry except the header, in file order (obsolete ones included), with its block.
    entries: list[tuple[Block, polib.POEntry]]
    po: polib.POFile
    _style: WrapStyle | None = None

    def wrap_style(self) -> WrapStyle:
        """How this file wraps strings (translated msgstrs decide, else msgids; else gettext)."""
        if self._style is None:
            live = [b for b, _ in self.entries if not b.obsolete]
            style = detect_style(_vote_fields(self, [f for b in live for f in b.msgstr_fields()]))
            if style is None:
                ids = [f for b in live for f in b.fields if f.keyword.startswith("msgid")]
                style = detect_style(_vote_fields(self, ids))
            self._style = style or "gettext"
        return self._style


def _vote_fields(catalog: Catalog, fields: Sequence[Field]) -> list[tuple[str, str, list[str]]]:
    # Short single-line values look the same in every style: skip them, they cannot vote.
    return [
        (f.keyword, f.value, catalog.lines[f.start : f.end])
        for f in fields
        if len(f.value) > 60 or "\n" in f.value[:-1]
    ]


def _decode(path: Path, data: bytes) -> tuple[str, str]:
    match = _CHARSET.search(data)
    declared = match.group(1).decode("ascii") if match else ""
    encoding = "utf-8"
    if declared and declared.upper() != "CHARSET":
        try:
            encoding = codecs.lookup(declared).name
        except LookupError:
            raise InputError(path, f"the header declares an unknown charset {declared!r}") from None
    try:
        return data.decode(encoding), encoding
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        said = f"declared charset {declared}" if declared and encoding != "utf-8" else "UTF-8"
        raise InputError(
            path,
            f"byte 0x{data[exc.start]:02x} is not valid {said}; "
            "declare the file's encoding in the header (Content-Type: ...; charset=...)",
            place=f"line {line}",
        ) from None


def _lex(path: Path, lines: Sequence[str]) -> list[PoLine]:
    """Every line lexed as msgfmt lexes it, then checked for how lines continue one another;
    InputError naming the line for what msgfmt refuses."""
    parsed: list[PoLine] = []
    for index, raw in enumerate(lines):
        try:
            parsed.append(lex_line(raw.lstrip("\ufeff") if index == 0 else raw))
        except PoSyntaxError as exc:
            raise InputError(path, str(exc), place=f"line {index + 1}") from None
    _check_continuations(path, parsed)
    return parsed


def _check_continuations(path: Path, parsed: Sequence[PoLine]) -> None:
    """A keyword is followed by a string (on its line or the next), and a string line
    continues a keyword or string line marked the same way (``#~``, ``#|``)."""
    last: PoLine | None = None
    last_index = 0
    for index, line in enumerate(parsed):
        if line.kind == "blank":
            continue
        if (
            last is not None
            and last.kind == "key"
            and not last.has_string
            and (line.kind != "cont" or line.channel != last.channel)
        ):
            raise _no_string(path, last, last_index)
        if line.kind == "cont" and (
            last is None or last.kind not in ("key", "cont") or last.channel != line.channel
        ):
            reason = "a string line must continue a msgctxt, msgid or msgstr line"
            if last is not None and last.kind in ("key", "cont"):
                reason = "a string line must be marked (#~, #|) like the line it continues"
            raise InputError(path, reason, place=f"line {index + 1}")
        last, last_index = line, index
    if last is not None and last.kind == "key" and not last.has_string:
        raise _no_string(path, last, last_index)


def _no_string(path: Path, line: PoLine, index: int) -> InputError:
    return InputError(
        path, f"{line.keyword} is not followed by a string", place=f"line {index + 1}"
    )


def _scan(parsed: Sequence[PoLine]) -> list[Block]:
    """Cut the lines into blocks: an entry ends where a comment or a new msgctxt/msgid follows
    its msgstr (polib's rule for where an entry starts). Previous-string lines (``#|``) count
    as comments."""
    blocks: list[Block] = []
    current: Block | None = None
    last_keyword = ""
    open_field: Field | None = None
    for index, line in enumerate(parsed):
        if line.kind == "blank":
            continue
        kind = "comment" if line.previous else line.kind
        after_msgstr = last_keyword.startswith("msgstr")
        starts = kind == "comment" or (kind == "key" and not line.keyword.startswith("msgstr"))
        if current is None or (after_msgstr and starts):
            current = Block(start=index, end=index + 1)
            blocks.append(current)
            last_keyword = ""
            open_field = None
        current.end = index + 1
        if kind == "comment":
            current.comments.append(index)
            open_field = None
        elif kind == "key":
            open_field = Field(line.keyword, index, index + 1, polib.unescape(line.body))
            current.fields.append(open_field)
            last_keyword = line.keyword
            if line.keyword == "msgid":
                current.obsolete = line.obsolete
        elif open_field is not None:
            open_field.end = index + 1
            open_field.value += polib.unescape(line.body)
    return blocks


def _check_entry(path: Path, block: Block, parsed: Sequence[PoLine]) -> None:
    """msgfmt's grammar of one entry: ``[msgctxt] msgid msgstr`` or ``[msgctxt] msgid
    msgid_plural msgstr[0] msgstr[1]...``, comments first, ``#~`` on all of it or none."""
    if not block.fields:
        return
    previous: Field | None = None
    for current in [*block.fields, None]:
        allowed = _allowed_after(previous.keyword if previous else "")
        keyword = current.keyword if current else ""
        if keyword not in allowed:
            raise _order_error(path, previous, current, allowed)
        previous = current
    first = block.fields[0].start
    inside = next((c for c in block.comments if c > first), None)
    if inside is not None:
        raise InputError(path, "comment line inside an entry", place=f"line {inside + 1}")
    if len({parsed[f.start].obsolete for f in block.fields}) > 1:
        raise InputError(path, "inconsistent use of #~ within an entry", place=f"line {first + 1}")


def _allowed_after(keyword: str) -> tuple[str, ...]:
    """The keywords msgfmt allows after ``keyword`` in an entry ("": the entry's start or end)."""
    if keyword.startswith("msgstr["):
        return f"msgstr[{int(keyword[len('msgstr[') : -1]) + 1}]", ""
    return {
        "": ("msgctxt", "msgid"),
        "msgctxt": ("msgid",),
        "msgid": ("msgstr", "msgid_plural"),
        "msgid_plural": ("msgstr[0]",),
    }.get(keyword, ("",))


def _order_error(
    path: Path, previous: Field | None, current: Field | None, allowed: Sequence[str]
) -> InputError:
    expected = " or ".join(k or "the end of the entry" for k in allowed)
    if previous is None:
        assert current is not None
        return InputError(
            path, f"an entry cannot start with {current.keyword}", place=f"line {current.start + 1}"
        )
    if current is None:
        reason = f"{previous.keyword} is not followed by {expected}"
        return InputError(path, reason, place=f"line {previous.start + 1}")
    reason = f"{previous.keyword} is followed by {current.keyword} instead of {expected}"
    return InputError(path, reason, place=f"line {current.start + 1}")


def _check_unique(path: Path, blocks: Sequence[Block]) -> None:
    """InputError at the second definition of an entry: msgfmt refuses a catalog in which two
    entries, obsolete ones included, have the same msgctxt and msgid ("duplicate message
    definition"), and a translated copy would be refused the same way."""
    first: dict[tuple[str | None, str], int] = {}
    for block in blocks:
        field = block.get("msgid")
        if field is None:
            continue
        line = field.start + 1
        earlier = first.setdefault((block.msgctxt, field.value), line)
        if earlier != line:
            context = f" (msgctxt {block.msgctxt!r})" if block.msgctxt is not None else ""
            raise InputError(
                path,
                f"msgid {_short(field.value)}{context} is defined twice, first at line "
                f"{earlier}: msgfmt refuses such a catalog (merge or remove one, e.g. with "
                "msguniq)",
                place=f"line {line}",
            )


def _short(text: str, limit: int = 40) -> str:
    """``text`` quoted for a message, cut at ``limit`` characters."""
    return repr(text if len(text) <= limit else text[: limit - 1] + "…")


def _header_block(blocks: Sequence[Block]) -> Block | None:
    """The header entry, chosen as polib chooses it (msgid "" not obsolete, no msgctxt first)."""
    empty = [b for b in blocks if b.msgid == "" and not b.obsolete]
    return next((b for b in empty if b.msgctxt is None), empty[0] if empty else None)


def load_catalog(path: Path) -> Catalog:
    """Read and parse ``path``; InputError naming the file and the line when it is malformed."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror or exc}") from None
    text, encoding = _decode(path, data)
    if "\0" in text:  # polib keeps it; in a .mo a NUL separates plural forms
        line = text[: text.index("\0")].count("\n") + 1
        raise InputError(path, "NUL byte in the file", place=f"line {line}")
    lines = _LINE.findall(text)
    parsed = _lex(path, lines)
    blocks = _scan(parsed)
    for block in blocks:
        _check_entry(path, block, parsed)
    _check_unique(path, blocks)
    po = _polib_catalog(path, lines, parsed, encoding)
    newline = next(
        (ln[len(ln.rstrip("\r\n")) :] for ln in lines if ln.endswith(("\n", "\r"))), "\n"
    )
    header = _header_block(blocks)
    entry_blocks = [b for b in blocks if b.msgid is not None and b is not header]
    if len(entry_blocks) != len(po):
        raise InputError(path, f"found {len(entry_blocks)} entries but polib read {len(po)}")
    for block, entry in zip(entry_blocks, po):
        if (block.msgid, block.msgctxt, block.obsolete) != (
            entry.msgid,
            entry.msgctxt,
            bool(entry.obsolete),
        ):
            raise InputError(
                path, "entry could not be read consistently", place=f"line {block.start + 1}"
            )
    return Catalog(path, data, encoding, lines, newline, header, list(zip(entry_blocks, po)), po)


def _polib_catalog(
    path: Path, lines: Sequence[str], parsed: Sequence[PoLine], encoding: str
) -> polib.POFile:
    """polib's reading of the catalog, given the canonical spelling of every line (the file
    itself when that is how it is written: nearly always)."""
    canonical = [line.canonical(raw) for line, raw in zip(parsed, lines, strict=True)]
    try:
        if canonical == lines:
            return polib.pofile(str(path), encoding=encoding, wrapwidth=0)
        # A file, not a string: polib splits a string with str.splitlines(), which also
        # breaks lines at U+2028, form feeds and (in Latin-1) byte 0x85.
        with tempfile.TemporaryDirectory(prefix="mtpipe-po-") as folder:
            copy = Path(folder) / path.name
            copy.write_bytes("".join(canonical).encode(encoding))
            return polib.pofile(str(copy), encoding=encoding, wrapwidth=0)
    except (OSError, ValueError, KeyError, IndexError) as exc:
        found = _SYNTAX_LINE.search(str(exc))
        reason = (found.group(2) if found else None) or "syntax error"
        raise InputError(
            path,
            f"not a valid gettext catalog ({reason})",
            place=f"line {found.group(1)}" if found else None,
        ) from None


def line_end(line: str) -> str:
    """The line ending of ``line`` ("" for a last line without one)."""
    return line[len(line.rstrip("\r\n")) :]

"""The text of a gettext catalog as lines, so a writer changes only what it must.

polib parses a catalog into entries but, on save, re-renders every one of them (its own
wrapping, comment layout and escapes). To give back untouched entries byte for byte, a catalog
is also kept as its decoded lines, cut into :class:`Block` s (one per entry, blank lines
between them are left out), each matched to polib's entry. A writer replaces the lines of the
entries it changed and copies every other line as it was.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polib

from pipeline.errors import InputError
from pipeline.formats.po_wrap import WrapStyle, detect_style

_CHARSET = re.compile(rb'"?Content-Type:.+? charset=([\w_\-:\.]+)')
_KEYWORD = re.compile(r"(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?)\s*(\".*)$")
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


def _classify(line: str) -> tuple[str, bool, str, str]:
    """(kind, obsolete, keyword, quoted token) of a line, read the way polib reads it."""
    text = line.strip()
    if not text:
        return "blank", False, "", ""
    obsolete = text.startswith("#~")
    if obsolete:
        if text.startswith("#~|"):
            return "comment", True, "", ""
        text = text[2:].strip()
    elif text.startswith("#"):
        return "comment", False, "", ""
    if text.startswith('"'):
        return "cont", obsolete, "", text
    match = _KEYWORD.match(text)
    if match:
        return "key", obsolete, match.group(1), match.group(2)
    return "comment", obsolete, "", ""


def _scan(lines: Sequence[str]) -> list[Block]:
    """Cut the lines into blocks: an entry ends where a comment or a new msgctxt/msgid follows
    its msgstr (polib's rule for where an entry starts)."""
    blocks: list[Block] = []
    current: Block | None = None
    last_keyword = ""
    open_field: Field | None = None
    for index, raw in enumerate(lines):
        kind, obsolete, keyword, token = _classify(raw.lstrip("\ufeff") if index == 0 else raw)
        if kind == "blank":
            continue
        after_msgstr = last_keyword.startswith("msgstr")
        starts = kind == "comment" or (kind == "key" and not keyword.startswith("msgstr"))
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
            open_field = Field(keyword, index, index + 1, polib.unescape(token[1:-1]))
            current.fields.append(open_field)
            last_keyword = keyword
            if keyword == "msgid":
                current.obsolete = obsolete
        elif open_field is not None:
            open_field.end = index + 1
            open_field.value += polib.unescape(token[1:-1])
    return blocks


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
    try:
        po = polib.pofile(str(path), encoding=encoding, wrapwidth=0)
    except (OSError, ValueError, KeyError, IndexError) as exc:
        message = str(exc)
        found = _SYNTAX_LINE.search(message)
        reason = (found.group(2) if found else None) or "syntax error"
        raise InputError(
            path,
            f"not a valid gettext catalog ({reason})",
            place=f"line {found.group(1)}" if found else None,
        ) from None
    lines = _LINE.findall(text)
    newline = next(
        (ln[len(ln.rstrip("\r\n")) :] for ln in lines if ln.endswith(("\n", "\r"))), "\n"
    )
    blocks = _scan(lines)
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


def line_end(line: str) -> str:
    """The line ending of ``line`` ("" for a last line without one)."""
    return line[len(line.rstrip("\r\n")) :]

"""Line-level edits of a gettext catalog: a changed entry, the header, the assembled text.

Every edit keeps the lines it has no reason to touch: a translated entry keeps its comments,
references, msgctxt/msgid lines and (unless told otherwise) its previous-msgid lines; only its
flags line, an mtpipe note and the msgstr lines are rewritten. The header keeps every field's
original lines except the fields that change.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import polib

from mtpipe.formats.po.layout import Block, Catalog, line_end
from mtpipe.formats.po.wrap import WrapStyle, render_field

#: The extracted-comment note ``mark=comment`` adds (followed by `` (<engine label>)``).
MARK_PREFIX = "Machine-translated by mtpipe"

#: Where a header field goes when the header lacks it: after the nearest field listed before it.
HEADER_ORDER = (
    "Project-Id-Version",
    "Report-Msgid-Bugs-To",
    "POT-Creation-Date",
    "PO-Revision-Date",
    "Last-Translator",
    "Language-Team",
    "Language",
    "MIME-Version",
    "Content-Type",
    "Content-Transfer-Encoding",
    "Plural-Forms",
    "X-Generator",
)


@dataclass(frozen=True)
class EntryChange:
    """The new state of one entry: its msgstr values and how it is marked."""

    #: One value (``msgstr``) or one per plural form (``msgstr[i]``).
    msgstrs: tuple[str, ...]
    plural: bool
    #: Whether the entry ends fuzzy; None leaves its flags as they are.
    fuzzy: bool | None
    #: The mtpipe ``#.`` note (without ``#. ``); "" removes an old one, None leaves notes alone.
    note: str | None
    drop_previous: bool


def _flags_of(line: str) -> list[str]:
    return [flag.strip() for flag in line.strip()[2:].split(",") if flag.strip()]


def _is_translator_comment(line: str) -> bool:
    text = line.strip()
    return text == "#" or text.startswith("# ")


def _edit_comments(lines: Sequence[str], change: EntryChange, newline: str) -> list[str]:
    out: list[str] = []
    flags_seen = False
    for line in lines:
        text = line.strip()
        if text.startswith("#,") and change.fuzzy is not None:
            flags = _flags_of(line)
            new = [flag for flag in flags if flag != "fuzzy"]
            if change.fuzzy and not flags_seen:
                new.insert(0, "fuzzy")
            flags_seen = True
            if new == flags:
                out.append(line)
            elif new:
                out.append("#, " + ", ".join(new) + newline)
            continue
        if text.startswith("#|") and change.drop_previous:
            continue
        if (
            change.note is not None
            and text.startswith("#.")
            and text[2:].strip().startswith(MARK_PREFIX)
        ):
            continue
        out.append(line)
    if change.fuzzy and not flags_seen:
        at = next((i for i, line in enumerate(out) if line.strip().startswith("#|")), len(out))
        out.insert(at, "#, fuzzy" + newline)
    if change.note:
        dots = [i for i, line in enumerate(out) if line.strip().startswith("#.")]
        own = [i for i, line in enumerate(out) if _is_translator_comment(line)]
        at = dots[-1] + 1 if dots else own[-1] + 1 if own else 0
        out.insert(at, f"#. {change.note}{newline}")
    return out


def entry_lines(catalog: Catalog, block: Block, change: EntryChange, style: WrapStyle) -> list[str]:
    """The new lines of ``block`` after ``change`` (msgstr lines re-rendered only if changed)."""
    lines = catalog.lines
    first_field = block.fields[0].start
    msgstrs = block.msgstr_fields()
    msgstr_start = msgstrs[0].start if msgstrs else block.end
    out = _edit_comments(lines[block.start : first_field], change, catalog.newline)
    out += lines[first_field:msgstr_start]
    old = tuple(f.value for f in msgstrs)
    if old == change.msgstrs and all(
        f.keyword.startswith("msgstr[") == change.plural for f in msgstrs
    ):
        out += lines[msgstr_start : block.end]
    else:
        for index, value in enumerate(change.msgstrs):
            keyword = f"msgstr[{index}]" if change.plural else "msgstr"
            out += [text + catalog.newline for text in render_field(keyword, value, style)]
        if not line_end(lines[block.end - 1]):
            out[-1] = out[-1].rstrip("\r\n")
    return out


# ---- header ------------------------------------------------------------------------------------


def _field_key(text: str) -> str:
    return text.split(":", 1)[0].strip() if ":" in text else ""


def _group(lines: Sequence[str]) -> list[tuple[str, list[str]]] | None:
    """Continuation lines of a header msgstr grouped per field ("Key: value\\n"); None when the
    layout is unusual (then the whole header is re-rendered)."""
    groups: list[tuple[str, list[str]]] = []
    text, member = "", []
    for line in lines:
        token = line.strip()
        if not (token.startswith('"') and token.endswith('"')):
            return None
        text += polib.unescape(token[1:-1])
        member.append(line)
        if text.endswith("\n"):
            groups.append((text, member))
            text, member = "", []
    if member:
        groups.append((text, member))
    if any("\n" in text[:-1] for text, _ in groups):
        return None
    return groups


def header_fields(catalog: Catalog) -> list[str]:
    """The header's fields as written ("Key: value\\n" each), in order; [] without a header."""
    block = catalog.header
    found = block.get("msgstr") if block is not None else None
    if found is None:
        return []
    return re.findall(r"[^\n]*\n|[^\n]+$", found.value)


def set_fields(fields: Sequence[str], changes: Mapping[str, str]) -> list[str]:
    """``fields`` with ``changes`` (key -> value) applied: in place when present (keeping the
    key's spelling), otherwise after the nearest field HEADER_ORDER puts before it (else before
    the first one it puts after it, else at the end)."""
    out = list(fields)
    for key, value in changes.items():
        keys = [_field_key(text).lower() for text in out]
        if key.lower() in keys:
            index = keys.index(key.lower())
            out[index] = f"{_field_key(out[index])}: {value}\n"
            continue
        rank = HEADER_ORDER.index(key) if key in HEADER_ORDER else len(HEADER_ORDER)
        before = {k.lower() for k in HEADER_ORDER[:rank]}
        after = {k.lower() for k in HEADER_ORDER[rank + 1 :]}
        follows = [i + 1 for i, k in enumerate(keys) if k in before]
        precedes = [i for i, k in enumerate(keys) if k in after]
        at = follows[-1] if follows else precedes[0] if precedes else len(out)
        out.insert(at, f"{key}: {value}\n")
    return out


def header_lines(catalog: Catalog, fields: Sequence[str], style: WrapStyle) -> list[str]:
    """The header entry's new lines: comments and msgid as they were, the ``fuzzy`` flag
    removed, and the msgstr holding ``fields`` (each unchanged field keeps its own lines)."""
    newline = catalog.newline
    rendered = [line + newline for line in render_field("msgstr", "".join(fields), style)]
    block = catalog.header
    if block is None:
        return ['msgid ""' + newline, *rendered, newline]
    change = EntryChange((), False, fuzzy=False, note=None, drop_previous=False)
    lines = catalog.lines
    msgstr = block.get("msgstr")
    first_field = block.fields[0].start
    end = msgstr.start if msgstr is not None else block.end
    out = _edit_comments(lines[block.start : first_field], change, newline) + lines[first_field:end]
    old_groups = None
    if msgstr is not None and lines[msgstr.start].strip() == 'msgstr ""':
        old_groups = _group(lines[msgstr.start + 1 : msgstr.end])
    new_groups = _group(rendered[1:]) if rendered[0].strip() == 'msgstr ""' else None
    if msgstr is None or old_groups is None or new_groups is None:
        out += rendered
    else:
        kept = {text: member for text, member in old_groups}
        out.append(lines[msgstr.start])
        for text, member in new_groups:
            out += kept.get(text, member)
    if not line_end(lines[block.end - 1]):
        out[-1] = out[-1].rstrip("\r\n")
    return out


def assemble(catalog: Catalog, edits: Iterable[tuple[int, int, list[str]]]) -> str:
    """The catalog's text with ``edits`` ((start line, end line, new lines), non-overlapping;
    start == end inserts) applied."""
    out: list[str] = []
    position = 0
    for start, end, replacement in sorted(edits, key=lambda edit: (edit[0], edit[1])):
        out += catalog.lines[position:start]
        out += replacement
        position = end
    out += catalog.lines[position:]
    return "".join(out)

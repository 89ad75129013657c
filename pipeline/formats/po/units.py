"""Which entries of a gettext catalog are sent, and the segments they become.

See :mod:`mtpipe.formats.po.format` for the rules; this module holds them as code: the options
(:class:`Settings`), the selection, the placeholder checks each flag implies
(:func:`checks_for`) and the English hint sent as Qwen-MT ``domains`` (:func:`domains_for`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import polib

from mtpipe import __version__
from mtpipe.errors import ConfigError
from mtpipe.formats.base import Options
from mtpipe.formats.po.edit import MARK_PREFIX
from mtpipe.formats.po.layout import Block, Catalog
from mtpipe.text.protect import placeholders
from mtpipe.text.segments import Segment

MARKS = ("fuzzy", "comment", "none")
_PRINTF_FLAGS = (
    "c-format", "objc-format", "php-format", "gcc-internal-format", "gfc-internal-format",
    "awk-format", "lua-format", "javascript-format", "java-printf-format", "perl-format",
    "object-pascal-format",
)  # fmt: skip
_FLAG_FAMILIES: dict[str, frozenset[str]] = {
    **{flag: frozenset({"printf", "strftime"}) for flag in _PRINTF_FLAGS},
    "python-format": frozenset({"printf", "strftime", "python"}),
    # protect.py reads "${name}" as one dollar span; msgfmt sees the brace directive in it.
    "python-brace-format": frozenset({"brace", "dollar"}),
    "perl-brace-format": frozenset({"brace", "dollar"}),
    "csharp-format": frozenset({"brace", "dollar"}),
    "java-format": frozenset({"brace", "dollar"}),
    "sh-format": frozenset({"dollar"}),
}
_HINT_LIMIT = 200


@dataclass(frozen=True)
class Settings:
    """The format options (see :mod:`mtpipe.formats.po.format`), validated."""

    retranslate: bool
    fuzzy: bool
    mark: str
    engine_label: str
    compile: bool
    generator: str

    @classmethod
    def of(cls, options: Options) -> Settings:
        """Read the options; ConfigError for an unknown ``mark``."""
        mark = str(options.get("mark") or "fuzzy")
        if mark not in MARKS:
            raise ConfigError(f"mark must be one of {', '.join(MARKS)}, got {mark!r}")
        return cls(
            retranslate=bool(options.get("retranslate", False)),
            fuzzy=bool(options.get("fuzzy", False)),
            mark=mark,
            engine_label=str(options.get("engine_label") or ""),
            compile=bool(options.get("compile", False)),
            generator=str(options.get("generator") or f"mtpipe {__version__}"),
        )

    def note(self) -> str:
        """The ``#.`` note of ``mark=comment``."""
        return f"{MARK_PREFIX} ({self.engine_label})" if self.engine_label else MARK_PREFIX


@dataclass(frozen=True)
class Unit:
    """An entry to translate: its block, polib entry and segments (plural is None if none)."""

    block: Block
    entry: polib.POEntry
    singular: Segment
    plural: Segment | None


def checks_for(flags: Sequence[str], text: str) -> frozenset[str]:
    """The placeholder families checked for ``text`` of an entry with ``flags``."""
    families = {"url", "email"}
    if placeholders(text, {"tags"}):
        families.add("tags")
    for flag, added in _FLAG_FAMILIES.items():
        if flag in flags and f"no-{flag}" not in flags:
            families |= added
    return frozenset(families)


def domains_for(entry: polib.POEntry) -> str:
    """The English hint for the engine: msgctxt and extracted comments, at most 200 chars.

    Only entries with a msgctxt get one. Requests group segments with the same hint, and
    extracted comments are mostly unique per entry: a hint on every commented entry would send
    those one per request (each paying the per-request overhead and the request limit), while
    entries with a msgctxt already form their own groups.
    """
    if not entry.msgctxt:
        return ""
    parts = [f'context "{" ".join(entry.msgctxt.split())}"']
    notes = [
        line for line in entry.comment.splitlines() if not line.strip().startswith(MARK_PREFIX)
    ]
    note = " ".join(" ".join(notes).split())
    if note:
        parts.append(f"note: {note}")
    if not parts:
        return ""
    hint = "Software UI string; " + "; ".join(parts)
    return hint if len(hint) <= _HINT_LIMIT else hint[: _HINT_LIMIT - 1].rstrip() + "…"


def _translated(entry: polib.POEntry) -> bool:
    if entry.msgid_plural:
        return bool(entry.msgstr_plural) and all(entry.msgstr_plural.values())
    return bool(entry.msgstr)


def _selected(entry: polib.POEntry, settings: Settings, template: bool) -> bool:
    if entry.obsolete or not entry.msgid:
        return False
    if template:
        return True
    if "fuzzy" in entry.flags:
        return settings.fuzzy
    return settings.retranslate or not _translated(entry)


def units(catalog: Catalog, settings: Settings, template: bool) -> Iterator[Unit]:
    """The entries to translate, in file order, each with its segments."""
    for block, entry in catalog.entries:
        if not _selected(entry, settings, template):
            continue
        context = entry.msgctxt or ""
        where = f', msgctxt "{polib.escape(entry.msgctxt)}"' if entry.msgctxt is not None else ""
        domains = domains_for(entry)
        msgid = block.get("msgid")
        assert msgid is not None
        singular = Segment(
            entry.msgid,
            f"line {msgid.start + 1}{where}",
            context,
            domains,
            checks_for(entry.flags, entry.msgid),
        )
        plural = None
        field = block.get("msgid_plural")
        if entry.msgid_plural and entry.msgid_plural != entry.msgid and field is not None:
            plural = Segment(
                entry.msgid_plural,
                f"line {field.start + 1} (msgid_plural){where}",
                context,
                domains,
                checks_for(entry.flags, entry.msgid_plural),
            )
        yield Unit(block, entry, singular, plural)

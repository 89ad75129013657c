"""gettext catalogs (.po, .pot): translate entries, write catalogs ``msgfmt -c`` accepts.

What is sent
    A ``.pot`` is a template: every entry is sent and the output is a new catalog
    (``<stem>.po``) for the target language. In a ``.po``, untranslated entries are sent;
    ``retranslate`` also sends translated ones; fuzzy entries are sent only with ``fuzzy``
    (otherwise left exactly as they are); obsolete (``#~``) entries and the header never are.
    Each entry gives one segment for its msgid and, for a plural entry, one for its
    msgid_plural (unless both are the same text). The segment's ``context`` is the msgctxt, so
    the same msgid in two contexts is two units; an entry with a msgctxt gets ``domains``, a
    short English hint built from the msgctxt and its extracted ``#.`` comments (entries
    without msgctxt send no hint, so they pack together: comments alone are mostly unique per
    entry and would cost a request each); its ``place`` is the line of the msgid (or msgid_plural).

Placeholders checked (a translation that breaks them is not written)
    ``url`` and ``email`` always; ``tags`` when the source text has tags; and from the flags:
    ``c-format``, ``objc-format``, ``php-format``, ``javascript-format``, ``lua-format``...
    -> printf; ``python-format`` -> printf + python (``%(name)s``); ``python-brace-format``,
    ``perl-brace-format``, ``csharp-format``, ``java-format`` -> brace (and dollar: protect
    reads ``${name}`` as a dollar span, msgfmt sees ``{name}`` in it); ``sh-format`` ->
    dollar. A flag cancelled by its ``no-`` form (``no-c-format``) adds nothing. Entries
    without a format flag get no printf/brace/dollar check (``100% done`` is not a
    directive), as msgfmt does.

What is written
    Plural entries get one msgstr per form of the target's rule (see
    :mod:`mtpipe.formats.po.plural`). A msgid starting or ending with ``\\n`` gets a msgstr
    that does too. The header gets ``Language`` (when empty), ``Plural-Forms``, ``Content-Type:
    text/plain; charset=UTF-8``, ``Content-Transfer-Encoding: 8bit``, ``PO-Revision-Date``
    and ``X-Generator``; its other fields and their order stay, its ``fuzzy`` flag goes.
    ``Plural-Forms``: a ``.po`` whose header names its language and has a valid rule keeps it
    (its existing translations are indexed by it); a template, a ``.po`` with an empty
    ``Language`` (a copied template) or with a placeholder/missing rule gets the target
    language's rule, and every plural entry is padded or cut to its number of
    forms (with empty forms when untranslated; a translated one repeats its last form and
    becomes fuzzy). A ``.po`` whose ``Language`` is another language than the target is
    refused with an InputError (:meth:`PoFormat.check_target` tells before translating).

Marking (``mark``)
    ``fuzzy`` (default): machine-translated entries get the ``fuzzy`` flag, the gettext
    convention for "needs review". ``msgfmt`` leaves fuzzy entries out of the ``.mo`` (unless
    ``--use-fuzzy``), so the program keeps showing the source text until a reviewer clears the
    flag; previous-msgid lines (``#|``) of a retranslated fuzzy entry stay with it.
    ``comment``: entries are final (compiled into the ``.mo``) and carry the extracted comment
    ``#. Machine-translated by mtpipe (<engine label>)``; ``msgmerge`` replaces ``#.`` comments
    with the template's on the next update, so the note lasts until then. ``none``: entries are
    final and unmarked. With ``comment`` and ``none`` the ``fuzzy`` flag and ``#|`` lines of a
    retranslated fuzzy entry are removed (they described the old translation). A retranslation
    identical to the existing (non-fuzzy) msgstr leaves the entry untouched.

Layout
    Entries that are not changed keep their exact lines; changed entries keep their comments,
    references and msgid lines and get new msgstr lines wrapped the way the file wraps (see
    :mod:`mtpipe.formats.po.wrap`). A catalog in which nothing changes is copied byte for
    byte. Output is UTF-8 whenever anything changed (a Latin-1 catalog is converted, a UTF-8
    byte order mark, which msgfmt rejects, is dropped).

Options read: ``retranslate``, ``fuzzy`` (bool), ``mark`` (fuzzy | comment | none),
``engine_label`` (str), ``compile`` (bool: also write ``<name>.mo`` beside the output, through
polib, atomically), ``generator`` (str, default ``mtpipe <version>``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from mtpipe.errors import InputError
from mtpipe.formats.base import Format, Options, WriteReport, atomic_output
from mtpipe.formats.po.edit import (
    assemble,
    header_fields,
    header_lines,
    set_fields,
)
from mtpipe.formats.po.layout import load_catalog
from mtpipe.formats.po.plural import (
    PluralRule,
    make_rule,
    parse_plural_forms,
)
from mtpipe.formats.po.units import Settings, checks_for, domains_for, units
from mtpipe.formats.po.writer import CatalogWriter
from mtpipe.text import languages
from mtpipe.text.languages import Language
from mtpipe.text.segments import Segment, Translations

__all__ = ["PoFormat", "checks_for", "domains_for", "mo_path"]


def _base(code: str) -> str:
    return re.split(r"[_\-@.]", code.strip(), maxsplit=1)[0].lower()


def _field_value(fields: Sequence[str], key: str) -> str | None:
    for text in fields:
        name, _, value = text.partition(":")
        if name.strip().lower() == key.lower():
            return value.strip()
    return None


def _now() -> str:
    return datetime.now().astimezone().strftime("%Y-%m-%d %H:%M%z")


class PoFormat(Format):
    """gettext .po / .pot catalogs (see the module docstring for every rule)."""

    name = "po"
    extensions = (".po", ".pot")
    multi_target = False

    def output_name(self, path: Path, target: Language | None) -> str:
        """``<stem>.po`` for a template, the same name for a catalog."""
        return path.stem + ".po" if path.suffix.lower() == ".pot" else path.name

    def check_options(self, path: Path, options: Options) -> None:
        """The options' values (``mark``)."""
        Settings.of(options)

    def companion_outputs(self, dest: Path, options: Options) -> list[Path]:
        """The ``.mo`` written beside ``dest`` with ``compile`` (see :func:`mo_path`)."""
        return [mo_path(dest)] if Settings.of(options).compile else []

    def read(self, path: Path, options: Options) -> Iterator[Segment]:
        """The segments of the entries to translate, in file order."""
        settings = Settings.of(options)
        catalog = load_catalog(path)
        for unit in units(catalog, settings, _is_template(path)):
            yield unit.singular
            if unit.plural is not None:
                yield unit.plural

    def write(
        self,
        path: Path,
        dest: Path,
        targets: Sequence[Language],
        translations: Translations,
        options: Options,
    ) -> WriteReport:
        """Write the translated catalog for ``targets[0]`` to ``dest`` (and ``.mo`` if asked)."""
        settings = Settings.of(options)
        target = targets[0]
        template = _is_template(path)
        catalog = load_catalog(path)
        report = WriteReport(dest)
        fields = header_fields(catalog)
        language = _field_value(fields, "Language")
        self._check_language(path, language, target, template)
        # A template, or a copy of one that never said its language, is a new catalog for the
        # target: its Language and Plural-Forms (often the source's, en_US) follow the target.
        new_catalog = template or not language
        rule, replace_rule = self._rule(fields, target, new_catalog, report)
        writer = CatalogWriter(catalog, settings, target, rule, report)
        for unit in units(catalog, settings, template):
            writer.translate(unit, translations, template)
        if replace_rule and (writer.edits or template):
            writer.fit_plurals()
        changed = bool(writer.edits) or template
        if changed:
            changes = {
                "PO-Revision-Date": _now(),
                "X-Generator": settings.generator,
            }
            if new_catalog:
                changes["Language"] = target.code
            content_type = _field_value(fields, "Content-Type") or ""
            if not re.search(r"charset=utf-?8\b", content_type, re.IGNORECASE):
                changes["Content-Type"] = "text/plain; charset=UTF-8"
            if (_field_value(fields, "Content-Transfer-Encoding") or "").lower() != "8bit":
                changes["Content-Transfer-Encoding"] = "8bit"
            if replace_rule:
                changes["Plural-Forms"] = rule.header_value()
            new_fields = set_fields(fields, changes)
            header = catalog.header
            start, end = (header.start, header.end) if header is not None else (0, 0)
            writer.edits.append(
                (start, end, header_lines(catalog, new_fields, catalog.wrap_style()))
            )
            # polib reads a UTF-8 byte order mark; msgfmt calls it a syntax error.
            data = assemble(catalog, writer.edits).removeprefix("\ufeff").encode("utf-8")
        else:
            data = catalog.data
        with atomic_output(dest) as tmp:
            tmp.write_bytes(data)
        if settings.compile:
            _compile(dest)
        return report

    def skip_target(self, path: Path, target: Language) -> str | None:
        """A ``.po`` whose header names another language is not translated into ``target``.

        A catalog that cannot be read is not a skip: its InputError (with the line) propagates.
        """
        if _is_template(path):
            return None
        return _other_language(_language_of(path), target, template=False)

    def check_target(self, path: Path, target: Language) -> None:
        """InputError when ``path`` is a catalog for another language than ``target`` (its
        header's ``Language``); callers may check before paying for a translation."""
        reason = self.skip_target(path, target)
        if reason is not None:
            raise InputError(path, reason)

    @staticmethod
    def _check_language(path: Path, language: str | None, target: Language, template: bool) -> None:
        reason = _other_language(language, target, template)
        if reason is not None:
            raise InputError(path, reason)

    @staticmethod
    def _rule(
        fields: Sequence[str], target: Language, new_catalog: bool, report: WriteReport
    ) -> tuple[PluralRule, bool]:
        """The plural rule to write with, and whether it replaces the header's: a catalog that
        declares its language keeps a valid rule of its own (its translations are indexed by it)."""
        nplurals, expression = languages.plural_forms(target)
        own = make_rule(nplurals, expression)
        found = None if new_catalog else parse_plural_forms(_field_value(fields, "Plural-Forms"))
        if found is None:
            return own, True
        if found.nplurals != own.nplurals:
            report.notes.append(
                f"kept the catalog's Plural-Forms (nplurals={found.nplurals}); mtpipe's rule for "
                f"{target.code} has nplurals={own.nplurals}"
            )
        return found, False


def _language_of(path: Path) -> str | None:
    """The header's Language of ``path`` (InputError when it cannot be read)."""
    try:
        stat = path.stat()
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror or exc}") from None
    return _declared_language(path, (stat.st_mtime_ns, stat.st_size))


@functools.lru_cache(maxsize=512)
def _declared_language(path: Path, stamp: tuple[int, int]) -> str | None:
    """The header's Language of ``path``; ``stamp`` (mtime, size) keys the cache, so a run
    asking once per target parses each catalog once, not once per target."""
    return _field_value(header_fields(load_catalog(path)), "Language")


def _other_language(language: str | None, target: Language, template: bool) -> str | None:
    """Why a catalog for ``language`` is not translated into ``target`` (None: it is)."""
    if language and not template and _base(language) != _base(target.code):
        return (
            f"the catalog is for {language!r} (header Language) but the target is "
            f"{target.code!r}; translate its .pot template instead"
        )
    return None


def _is_template(path: Path) -> bool:
    return path.suffix.lower() == ".pot"


def mo_path(po_path: Path) -> Path:
    """Where ``compile`` writes the ``.mo`` of the catalog written to ``po_path``: the same
    path with ``.mo`` for its suffix."""
    return po_path.with_suffix(".mo")


def _compile(po_path: Path) -> None:
    """Write :func:`mo_path` from the written catalog, atomically (read the way every catalog
    is read: an unchanged copy may hold lines only msgfmt's reading accepts)."""
    catalog: Any = load_catalog(po_path).po
    with atomic_output(mo_path(po_path)) as tmp:
        catalog.save_as_mofile(str(tmp))

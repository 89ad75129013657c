"""Filling one output catalog: each entry's msgstr (and plural forms) edited in place.

:class:`CatalogWriter` collects the line edits of a catalog being written for one target: an
entry gets its translation (line breaks at its ends as the msgid has them, :func:`match_newlines`,
as ``msgfmt -c`` checks), its plural forms filled by the target's rule, its flags and comment as
the ``mark`` setting says; a text that failed, or an entry whose forms cannot be filled, leaves
the entry as it was and is told to the write report (:meth:`WriteReport.fail`).
"""

from __future__ import annotations

from mtpipe.formats.base import WriteReport
from mtpipe.formats.po.edit import EntryChange, entry_lines
from mtpipe.formats.po.layout import Block, Catalog
from mtpipe.formats.po.plural import PluralRule, fit_forms, plural_msgstrs, uses_singular
from mtpipe.formats.po.units import Settings, Unit
from mtpipe.text.languages import Language
from mtpipe.text.segments import Segment, Translations

__all__ = ["CatalogWriter", "match_newlines"]


def match_newlines(source: str, text: str) -> str:
    """``text`` made to start/end with a newline exactly when ``source`` does (msgfmt -c)."""
    if source.endswith("\n") and not text.endswith("\n"):
        text += "\n"
    elif not source.endswith("\n") and text.endswith("\n"):
        text = text.rstrip("\n")
    if source.startswith("\n") and not text.startswith("\n"):
        text = "\n" + text
    elif not source.startswith("\n") and text.startswith("\n"):
        text = text.lstrip("\n")
    return text


class CatalogWriter:
    """Collects the line edits of one output catalog."""

    def __init__(
        self,
        catalog: Catalog,
        settings: Settings,
        target: Language,
        rule: PluralRule,
        report: WriteReport,
    ) -> None:
        self.catalog = catalog
        self.settings = settings
        self.target = target
        self.rule = rule
        self.report = report
        self.edits: list[tuple[int, int, list[str]]] = []
        self.edited: set[int] = set()

    def translate(self, unit: Unit, translations: Translations, template: bool) -> None:
        """Ask for the unit's translations and record the entry's edit; an entry that cannot be
        filled fails each of its segments (see :meth:`_unfilled`)."""
        entry = unit.entry
        single = translations.get(unit.singular, self.target)
        plural = single if unit.plural is None else translations.get(unit.plural, self.target)
        given = [(unit.singular, single)]
        if unit.plural is not None:
            given.append((unit.plural, plural))
        forms = self._forms(unit, single, plural, template)
        if forms is None:
            self._unfilled(given)
            return
        # A failed singular the forms do not use (see uses_singular) still failed.
        self.report.translated += sum(text is not None for _, text in given)
        self.report.failed += sum(text is None for _, text in given)
        old_values = tuple(f.value for f in unit.block.msgstr_fields())
        if tuple(forms) == old_values and "fuzzy" not in entry.flags:
            return  # the engine agrees with the existing translation: nothing to review
        mark = self.settings.mark
        change = EntryChange(
            tuple(forms),
            plural=bool(entry.msgid_plural),
            fuzzy=mark == "fuzzy",
            note=self.settings.note() if mark == "comment" else "",
            drop_previous=mark != "fuzzy",
        )
        self._edit(unit.block, change)

    def _unfilled(self, given: list[tuple[Segment, str | None]]) -> None:
        """Fail every segment of an entry whose msgstr cannot be filled: one without a
        translation (None: the run has listed it) or with an empty one, and the other text of a
        plural entry, translated but not written without it (both said with why)."""
        missing = [segment.place for segment, text in given if not text]
        for segment, text in given:
            if text is None:
                self.report.failed += 1
            elif not text:
                self.report.fail(segment, self.target, "the translation is empty: not written")
            else:
                self.report.fail(
                    segment,
                    self.target,
                    f"not written: the entry's forms also need the translation of "
                    f"{' and '.join(missing)}, which failed",
                )

    def _forms(
        self, unit: Unit, single: str | None, plural: str | None, template: bool
    ) -> list[str] | None:
        """The entry's new msgstr values, or None when a translation it needs failed."""
        entry = unit.entry
        if not entry.msgid_plural:
            return [match_newlines(entry.msgid, single)] if single else None
        index = uses_singular(self.rule, entry.msgid, entry.msgid_plural)
        if not plural or (index is not None and not single):
            return None
        forms = [
            match_newlines(entry.msgid, form)
            for form in plural_msgstrs(self.rule, index, single, plural)
        ]
        if not (template or self.settings.retranslate or "fuzzy" in entry.flags):
            # A partly translated plural entry keeps the forms a translator already wrote.
            old = [entry.msgstr_plural.get(i, "") for i in range(len(entry.msgstr_plural))]
            forms = [kept or new for kept, new in zip(fit_forms(old, self.rule.nplurals), forms)]
        return forms

    def fit_plurals(self) -> None:
        """Give every other live plural entry the rule's number of forms (the catalog had no
        valid rule). Untranslated entries get empty forms; a translated one gets its last
        form repeated (or its extra forms cut) and the fuzzy flag, for a reviewer to check."""
        for block, entry in self.catalog.entries:
            if entry.obsolete or not entry.msgid_plural or block.start in self.edited:
                continue
            values = [f.value for f in block.msgstr_fields()]
            if len(values) == self.rule.nplurals:
                continue
            translated = any(values)
            if translated:
                values += [values[-1]] * (self.rule.nplurals - len(values))
            change = EntryChange(
                tuple(fit_forms(values, self.rule.nplurals)),
                plural=True,
                fuzzy=True if translated else None,
                note=None,
                drop_previous=False,
            )
            self._edit(block, change)

    def _edit(self, block: Block, change: EntryChange) -> None:
        lines = entry_lines(self.catalog, block, change, self.catalog.wrap_style())
        if lines != self.catalog.lines[block.start : block.end]:
            self.edits.append((block.start, block.end, lines))
            self.edited.add(block.start)

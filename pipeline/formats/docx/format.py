"""Word documents (.docx): one segment per paragraph, inline formatting as tags.

What is translated, in this order (the order ``write`` sees them again):

1. the main document: body paragraphs, tables (nested ones too; every ``w:tc`` once, so a
   merged cell once), content controls, text boxes (DrawingML and VML);
2. every header part, then every footer part (default, first-page, even: each part once, so a
   header linked to the previous section is translated once);
3. footnotes, endnotes, comments;
4. the core properties title and subject (option ``docx_properties``, default True).

Not translated: field instructions (``w:instrText``, ``w:fldSimple/@w:instr``), hidden text
(``w:vanish`` on the run; option ``include_hidden``), image alt text (``wp:docPr/@descr``;
option ``include_alt_text``), math.

Refused (InputError naming the first such paragraph): a document with tracked changes to its
text (an insertion, deletion or move holding text; see :mod:`revisions` for why).

A text box in ``mc:AlternateContent`` is stored twice (DrawingML in ``mc:Choice``, VML in
``mc:Fallback``): a fallback paragraph whose tagged text equals a choice paragraph's of the
same ``mc:AlternateContent`` is not yielded; it gets the same translation, so both renderings
agree and the text is counted once.

The runs of a translated paragraph record the target language (``w:lang``, see
:mod:`language`), so Word proofs them in that language.

Segments carry every placeholder check; ``tags`` is soft: a paragraph whose tags broke twice is
written with its translation in its first run (see :mod:`mtpipe.formats.docx.rebuild`) and
counted in ``WriteReport.simplified``. A failed segment keeps its source paragraph.

Everything else in the package is copied entry for entry (see :mod:`package`).

Transitional and Strict documents are both read and written, each in its own namespaces (see
:mod:`dialect`): a Strict document comes back Strict.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import ClassVar

from mtpipe.errors import ConfigError, InputError
from mtpipe.formats.base import Format, Options, WriteReport
from mtpipe.formats.docx.dialect import Dialect
from mtpipe.formats.docx.inline import read_paragraph
from mtpipe.formats.docx.language import mark_language
from mtpipe.formats.docx.nodes import Element
from mtpipe.formats.docx.package import Package, open_package, serialize_xml, write_package
from mtpipe.formats.docx.rebuild import Outcome, apply_translation, xml_safe
from mtpipe.formats.docx.revisions import text_change
from mtpipe.formats.docx.tags import strip_tags
from mtpipe.text.languages import Language
from mtpipe.text.segments import ALL_CHECKS, Segment, Translations

__all__ = ["DocxFormat"]

#: Markup compatibility and Dublin Core: the same namespaces in Transitional and Strict.
_MC = "http://schemas.openxmlformats.org/markup-compatibility/2006"
MC_CHOICE, MC_FALLBACK = f"{{{_MC}}}Choice", f"{{{_MC}}}Fallback"
_DC = "http://purl.org/dc/elements/1.1/"
_NOTE_KINDS = ("footnote", "endnote", "comment")
_SOFT = frozenset({"tags"})
_ACCEPT_OR_REJECT = (
    "a document with tracked changes to its text is not translated; accept or reject them in "
    "Word (Review > Accept All Changes, or Reject All Changes) and translate it again"
)
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


@dataclass(frozen=True, slots=True)
class DocxOptions:
    """The options this format reads (see the module docstring)."""

    properties: bool = True
    include_hidden: bool = False
    include_alt_text: bool = False

    @classmethod
    def from_options(cls, options: Options) -> DocxOptions:
        """Read ``docx_properties``, ``include_hidden``, ``include_alt_text``; else ConfigError."""
        return cls(
            _flag(options, "docx_properties", True),
            _flag(options, "include_hidden", False),
            _flag(options, "include_alt_text", False),
        )


@dataclass(frozen=True, slots=True)
class _Names:
    """The names of the elements that hold paragraphs, in one dialect."""

    p: str
    tbl: str
    tr: str
    tc: str
    txbx: str
    doc_pr: str
    id: str
    #: note element name -> its kind (footnote, endnote, comment)
    notes: Mapping[str, str]
    #: the elements a paragraph is numbered within: cell, text box, note
    scopes: frozenset[str]


@functools.cache
def _names(dialect: Dialect) -> _Names:
    w = dialect.w
    notes = {w(kind): kind for kind in _NOTE_KINDS}
    scopes = frozenset({w("tc"), w("txbxContent"), *notes})
    return _Names(
        w("p"), w("tbl"), w("tr"), w("tc"), w("txbxContent"), dialect.wp("docPr"), w("id"),
        notes, scopes,
    )


@dataclass(eq=False)
class _Unit:
    segment: Segment
    apply: Callable[[str], Outcome]
    #: The mc:Choice unit this mc:Fallback paragraph copies; such units are not yielded.
    source: _Unit | None = None
    #: The ``w:p`` written, whose runs then record the target language (None: not a paragraph).
    paragraph: Element | None = None

    def write(self, translation: str, target: Language) -> Outcome:
        """Apply ``translation``; a changed paragraph's runs record ``target`` as their language."""
        outcome = self.apply(translation)
        if outcome != "unchanged" and self.paragraph is not None:
            mark_language(self.paragraph, target)
        return outcome


class DocxFormat(Format):
    """Word .docx documents (options: see :class:`DocxOptions`)."""

    name: ClassVar[str] = "docx"
    extensions: ClassVar[tuple[str, ...]] = (".docx",)
    multi_target: ClassVar[bool] = False

    def check_options(self, path: Path, options: Options) -> None:
        """The options' values (see :class:`DocxOptions`)."""
        DocxOptions.from_options(options)

    def read(self, path: Path, options: Options) -> Iterator[Segment]:
        """Yield one segment per paragraph with text (and title/subject, alt text if asked)."""
        settings = DocxOptions.from_options(options)
        with open_package(path) as package:
            for _name, _root, units in _parts(package, settings):
                for unit in units:
                    if unit.source is None:
                        yield unit.segment

    def write(
        self,
        path: Path,
        dest: Path,
        targets: Sequence[Language],
        translations: Translations,
        options: Options,
    ) -> WriteReport:
        """Write the translated document; parts without a changed paragraph are copied as is."""
        if len(targets) != 1:
            raise ConfigError(f"a .docx is written for one target at a time, got {len(targets)}")
        target = targets[0]
        settings = DocxOptions.from_options(options)
        report = WriteReport(dest)
        with open_package(path) as package:
            replaced: dict[str, bytes] = {}
            for name, root, units in _parts(package, settings):
                done: dict[int, str | None] = {}
                changed = False
                for unit in units:
                    if unit.source is not None:
                        copied = done.get(id(unit.source))
                        if copied is not None:
                            changed |= unit.write(copied, target) != "unchanged"
                        continue
                    translation = translations.get(unit.segment, target)
                    done[id(unit)] = translation
                    if translation is None:
                        report.failed += 1
                        continue
                    outcome = unit.write(translation, target)
                    report.translated += 1
                    report.simplified += outcome == "simplified"
                    changed |= outcome != "unchanged"
                if changed:
                    replaced[name] = serialize_xml(root)
            write_package(package, dest, replaced)
        return report


def _parts(package: Package, settings: DocxOptions) -> Iterator[tuple[str, Element, list[_Unit]]]:
    names = _names(package.dialect)
    for part in package.parts:
        root = package.read_part(part)
        yield part.name, root, _paragraph_units(root, part.name, settings, names, package.path)
    if settings.properties and package.core is not None:
        root = package.read_xml(package.core)
        yield package.core, root, _property_units(root, package.core)


def _paragraph_units(
    root: Element, part: str, settings: DocxOptions, names: _Names, path: Path
) -> list[_Unit]:
    units: list[_Unit] = []
    places = _Places(part, names)
    choices: dict[Element, dict[str, _Unit]] = {}
    for element in root.iter(names.p, names.tbl, names.tr, names.tc, names.txbx, names.doc_pr):
        if element.tag == names.doc_pr:
            descr = element.get("descr", "")
            if settings.include_alt_text and descr.strip():
                place = f"{part} image {element.get('id', '?')} alt text"
                apply = partial(_set_attribute, element, "descr")
                units.append(_Unit(_segment(descr, place), apply))
            continue
        if element.tag != names.p:
            places.count(element)
            continue
        place = places.paragraph(element)
        change = text_change(element)
        if change is not None:
            raise InputError(path, f"{change}: {_ACCEPT_OR_REJECT}", place)
        paragraph = read_paragraph(element, settings.include_hidden)
        if not strip_tags(paragraph.text).strip():
            continue
        apply = partial(apply_translation, paragraph)
        unit = _Unit(_segment(paragraph.text, place), apply, paragraph=element)
        branch = _alternate_branch(element)
        if branch is not None:
            content, is_fallback = branch
            texts = choices.setdefault(content, {})
            if is_fallback:
                unit.source = texts.get(paragraph.text)
            else:
                texts.setdefault(paragraph.text, unit)
        units.append(unit)
    return units


def _property_units(root: Element, part: str) -> list[_Unit]:
    units: list[_Unit] = []
    for name in ("title", "subject"):
        element = root.find(f"{{{_DC}}}{name}")
        if element is not None and element.text and element.text.strip():
            segment = _segment(element.text, f"{part} {name}")
            units.append(_Unit(segment, partial(_set_text, element)))
    return units


def _segment(text: str, place: str) -> Segment:
    return Segment(text, place, checks=ALL_CHECKS, soft_checks=_SOFT)


def _set_attribute(element: Element, attribute: str, value: str) -> Outcome:
    if value == element.get(attribute):
        return "unchanged"
    element.set(attribute, xml_safe(value))
    return "translated"


def _set_text(element: Element, value: str) -> Outcome:
    if value == element.text:
        return "unchanged"
    element.text = xml_safe(value)
    return "translated"


def _alternate_branch(p: Element) -> tuple[Element, bool] | None:
    """(the mc:AlternateContent, inside its Fallback?) for the innermost branch holding ``p``."""
    for ancestor in p.iterancestors(MC_CHOICE, MC_FALLBACK):
        parent = ancestor.getparent()
        return (parent, ancestor.tag == MC_FALLBACK) if parent is not None else None
    return None


class _Places:
    """Human-findable places: ``word/document.xml table 2 row 3 cell 1 paragraph 1``."""

    def __init__(self, part: str, names: _Names) -> None:
        self.part = part
        self.names = names
        self.numbers: dict[Element, int] = {}
        self.counters: dict[tuple[str, Element | None], int] = defaultdict(int)

    def count(self, element: Element) -> None:
        """Number a table (per part), row (per table), cell (per row) or text box (per part)."""
        names = self.names
        scope_tag = {names.tr: names.tbl, names.tc: names.tr}.get(element.tag)
        scope = next(element.iterancestors(scope_tag), None) if scope_tag else None
        key = (element.tag, scope)
        self.counters[key] += 1
        self.numbers[element] = self.counters[key]

    def paragraph(self, p: Element) -> str:
        """The place of paragraph ``p``, numbered within its cell, text box, note or part."""
        names = self.names
        scopes = [a for a in p.iterancestors() if a.tag in names.scopes]
        key = (names.p, scopes[0] if scopes else None)
        self.counters[key] += 1
        words = [self.part]
        for scope in reversed(scopes):
            if scope.tag == names.tc:
                row = self._number(next(scope.iterancestors(names.tr), None))
                table = self._number(next(scope.iterancestors(names.tbl), None))
                words.append(f"table {table} row {row} cell {self._number(scope)}")
            elif scope.tag == names.txbx:
                words.append(f"text box {self._number(scope)}")
            else:
                words.append(f"{names.notes[scope.tag]} {scope.get(names.id, '?')}")
        words.append(f"paragraph {self.counters[key]}")
        return " ".join(words)

    def _number(self, element: Element | None) -> str:
        return str(self.numbers.get(element, "?")) if element is not None else "?"


def _flag(options: Options, key: str, default: bool) -> bool:
    value = options.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    word = value.strip().lower() if isinstance(value, str) else None
    if word in _TRUE or word in _FALSE:
        return word in _TRUE
    raise ConfigError(f"option {key!r} must be true or false, got {value!r}")

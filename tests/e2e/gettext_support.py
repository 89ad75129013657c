"""Helpers of tests/e2e/test_gettext_e2e.py: the corpus catalogs, which entries a run sends, the
known protect.py gap, plural rules, and translate-toolkit's pofilter run in process."""

from __future__ import annotations

import gettext
import re
from collections.abc import Callable
from functools import cache
from pathlib import Path
from types import SimpleNamespace

import polib
import pytest

from mtpipe.formats.po.layout import Catalog, load_catalog
from mtpipe.text.protect import placeholders

PO_CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus" / "po"
CATALOG_FILES = sorted(PO_CORPUS.glob("*.po")) if PO_CORPUS.is_dir() else []
TEMPLATE_FILES = sorted(PO_CORPUS.glob("*.pot")) if PO_CORPUS.is_dir() else []
#: What the template is translated into: 2, 1, 3, 3 and 6 plural forms.
TEMPLATE_TARGETS = ("de", "ja", "ru", "pl", "ar")
#: pofilter's structural checks (names as ``pofilter --listfilters`` gives them).
STRUCTURAL = ("printf", "pythonbraceformat", "xmltags", "escapes", "newlines", "variables",
              "startwhitespace", "endwhitespace")  # fmt: skip
PLACEHOLDER_TESTS = frozenset({"printf", "pythonbraceformat", "variables"})
#: A %-directive as pofilter and strftime see one.
_DIRECTIVE = re.compile(r"%[-_0^#]?[A-Za-z]")


@cache
def read_po(path: Path) -> polib.POFile:
    """polib's reading of a corpus catalog or an output (neither changes once written)."""
    return polib.pofile(str(path))


@cache
def read_layout(path: Path) -> Catalog:
    """mtpipe's line-level reading of a catalog (raw lines per entry)."""
    return load_catalog(path)


def catalog_language(path: Path) -> str:
    """The header's Language of a corpus catalog."""
    return str(read_po(path).metadata["Language"]).strip()


def outputs() -> list[tuple[str, str]]:
    """(input file name, target code) of every output of a run over the whole corpus."""
    pairs = [(p.name, t) for p in TEMPLATE_FILES for t in TEMPLATE_TARGETS]
    return pairs + [(p.name, catalog_language(p)) for p in CATALOG_FILES]


def selected(entry: polib.POEntry, template: bool, mode: str) -> bool:
    """Whether a run sends ``entry`` (the documented selection, restated): ``mode`` is
    ``default`` or ``retranslate`` (``--retranslate --fuzzy``)."""
    if entry.obsolete or not entry.msgid:
        return False
    if template or mode == "retranslate":
        return True
    if "fuzzy" in entry.flags:
        return False
    if entry.msgid_plural:
        return not (entry.msgstr_plural and all(entry.msgstr_plural.values()))
    return not entry.msgstr


def directives(text: str) -> list[str]:
    """Every %-directive of ``text`` as pofilter's printf test reads them (letters only)."""
    return _DIRECTIVE.findall(text)


def plural_rule(value: str) -> tuple[int, Callable[[int], int]]:
    """(nplurals, n -> form) of a ``Plural-Forms`` header value."""
    match = re.match(r"\s*nplurals\s*=\s*(\d+)\s*;\s*plural\s*=\s*(.+?)\s*;?\s*$", value, re.DOTALL)
    assert match, value
    return int(match.group(1)), gettext.c2py(match.group(2))


def placeholder_texts(text: str) -> list[str]:
    """The protected spans of ``text``, in order."""
    return [s.text for s in placeholders(text)]


def exempt(entry: polib.POEntry) -> set[str]:
    """pofilter findings on ``entry`` that are not mtpipe's doing.

    pofilter checks ``msgstr[0]`` against the msgid and every other form against the
    msgid_plural. When the two sources have different placeholders ("one page" / "${n} pages")
    that pairing is wrong for any language whose form 0 is not "exactly one" (ja: one form for
    every n; ru: form 0 is also 21, 31...; ar: form 0 is zero), where the form must keep the
    count; each form is checked against its own source by test_plural_forms instead.
    """
    if entry.msgid_plural and placeholder_texts(entry.msgid) != placeholder_texts(entry.msgid_plural):
        return set(PLACEHOLDER_TESTS)
    return set()


@cache
def toolkit_nplurals(code: str) -> int:
    """translate-toolkit's number of plural forms for ``code`` (what its nplurals test wants)."""
    lang = pytest.importorskip("translate.lang.factory")
    return int(lang.getlanguage(code).nplurals)


@cache
def pofilter_findings(path: Path, tests: tuple[str, ...], code: str) -> dict[tuple[str, str], set[str]]:
    """(msgctxt or "", msgid) -> names of pofilter tests that fail, for live entries.

    Runs pofilter in process, through the objects its command line builds (``pocheckfilter``
    over ``StandardChecker`` with the ``-t`` names as ``limitfilters``, fuzzy and review units
    included, as ``pofilter --fuzzy --review -t ...`` does): a subprocess per catalog would
    cost the suite several seconds. Whitespace and placeholder tests run without
    ``--language``: with it, pofilter first turns the source's punctuation into the language's
    (ja: ``... `` into ``…``) and expects the translation's whitespace to follow, a style rule
    rather than a structural one. ``nplurals`` needs the language (its number of forms comes
    from translate-toolkit's table).
    """
    pofilter = pytest.importorskip("translate.filters.pofilter")
    checks = pytest.importorskip("translate.filters.checks")
    factory = pytest.importorskip("translate.storage.factory")
    runs: list[tuple[list[str], str | None]] = [([t for t in tests if t != "nplurals"], None)]
    if "nplurals" in tests:
        runs.append((["nplurals"], code))
    checkers = []
    for names, language in runs:
        options = SimpleNamespace(
            excludefilters={}, limitfilters=names, includefuzzy=True, includereview=True,
            autocorrect=False, addnotes=False,
        )  # fmt: skip
        config = checks.CheckerConfig(targetlanguage=language)
        checkers.append(pofilter.pocheckfilter(options, checkerconfig=config))
    found: dict[tuple[str, str], set[str]] = {}
    for unit in factory.getobject(str(path)).units:
        if unit.isobsolete():
            continue
        for checker in checkers:
            failures = checker.filterunit(unit)
            if failures:
                found.setdefault((unit.getcontext() or "", str(unit.source)), set()).update(failures)
    return found

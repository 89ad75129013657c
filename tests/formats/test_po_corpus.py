"""Real catalogs from ../shared/corpus/po: translated catalogs stay valid and keep their layout.

Skipped when the corpus is absent; ``msgfmt``/``msgcat`` checks run when gettext is installed.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from mtpipe.formats.base import Options
from mtpipe.formats.po import PoFormat
from mtpipe.formats.po.layout import Catalog, load_catalog
from mtpipe.formats.po.wrap import WrapStyle, render_field
from mtpipe.testing.fake_translate import fake_translate
from mtpipe.text.languages import resolve
from tests.formats.contract import FuncTranslations
from tests.formats.test_po import assert_msgfmt_clean

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus" / "po"
FMT = PoFormat()
#: corpus file -> (target language, how the file wraps its translations)
FILES: dict[str, tuple[str, WrapStyle]] = {
    "sphinx.pot": ("ru", "babel"),
    "sphinx-ru.po": ("ru", "nowrap"),
    "sphinx-ar.po": ("ar", "nowrap"),
    "sphinx-pl.po": ("pl", "nowrap"),
    "sphinx-ja.po": ("ja", "nowrap"),
    "sphinx-de.po": ("de", "nowrap"),
    "gnome-clocks-ru.po": ("ru", "gettext"),
    "gnome-clocks-ar.po": ("ar", "gettext"),
    "gnome-clocks-pl.po": ("pl", "gettext"),
}
EVERYTHING: Options = {"retranslate": True, "fuzzy": True, "mark": "none"}


def corpus(name: str) -> Path:
    path = CORPUS / name
    if not path.exists():
        pytest.skip(f"corpus file po/{name} not available")
    return path


def keyed(catalog: Catalog) -> dict[tuple[str | None, str, bool], str]:
    lines = catalog.lines
    return {
        (e.msgctxt, e.msgid, bool(e.obsolete)): "".join(lines[b.start : b.end])
        for b, e in catalog.entries
    }


def translate_corpus(
    tmp_path: Path, name: str, options: Options, fn: Callable[[str], str]
) -> tuple[Path, Path, set[tuple[str, str]]]:
    source = corpus(name)
    target = resolve(FILES[name][0])
    sent = {(s.context, s.text) for s in FMT.read(source, options)}
    dest = tmp_path / target.code / FMT.output_name(source, target)
    report = FMT.write(source, dest, [target], FuncTranslations(fn), options)
    assert report.failed == 0
    assert_msgfmt_clean(dest)
    return source, dest, sent


@pytest.mark.parametrize("options", [{}, EVERYTHING], ids=["default", "everything"])
@pytest.mark.parametrize("name", list(FILES))
def test_corpus_catalogs(tmp_path: Path, name: str, options: Options) -> None:
    source, dest, sent = translate_corpus(tmp_path, name, options, lambda t: "«" + t + "»")
    before, after = load_catalog(source), load_catalog(dest)
    assert [(e.msgctxt, e.msgid, e.obsolete) for _, e in before.entries] == [
        (e.msgctxt, e.msgid, e.obsolete) for _, e in after.entries
    ]
    old, new = keyed(before), keyed(after)
    nplurals = int(after.po.metadata["Plural-Forms"].split(";")[0].split("=")[1])
    for key, text in old.items():
        context, msgid, obsolete = key
        if obsolete or (context or "", msgid) not in sent:
            assert new[key] == text, msgid
    for _, e in after.entries:
        if not e.obsolete and (e.msgctxt or "", e.msgid) in sent:
            values = list(e.msgstr_plural.values()) if e.msgid_plural else [e.msgstr]
            assert all(v.strip("\n").startswith("«") for v in values), e.msgid
            assert not e.msgid_plural or len(values) == nplurals
    if not sent:
        assert dest.read_bytes() == source.read_bytes()


@pytest.mark.parametrize(
    "name", FILES
)
def test_corpus_catalogs_through_the_emulator_translation(tmp_path: Path, name: str) -> None:
    language = resolve(FILES[name][0]).name
    translate_corpus(tmp_path, name, EVERYTHING, lambda t: fake_translate(t, language))


@pytest.mark.parametrize("name", list(FILES))
def test_wrapping_style_is_detected(name: str) -> None:
    assert load_catalog(corpus(name)).wrap_style() == FILES[name][1]


@pytest.mark.skipif(shutil.which("msgcat") is None, reason="gettext's msgcat is not installed")
@pytest.mark.parametrize(("flag", "style"), [("--width=79", "gettext"), ("--no-wrap", "nowrap")])
def test_rendering_matches_msgcat(tmp_path: Path, flag: str, style: WrapStyle) -> None:
    """Every string of every corpus catalog, as msgcat lays it out, is what render_field gives."""
    corpus("sphinx.pot")
    checked = 0
    for name in FILES:
        out = tmp_path / name
        subprocess.run(["msgcat", flag, "-o", str(out), str(CORPUS / name)], check=True, timeout=60)
        catalog = load_catalog(out)
        for block, _ in catalog.entries:
            prefix = "#~ " if block.obsolete else ""
            for field in block.fields:
                original = [line.rstrip("\r\n") for line in catalog.lines[field.start : field.end]]
                assert render_field(field.keyword, field.value, style, prefix) == original
                checked += 1
    assert checked > 10_000

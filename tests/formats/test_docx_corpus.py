"""Every Word document of ../shared/corpus/docx through the format with the fake engine."""

from __future__ import annotations

import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import docx
import pytest
from lxml import etree

from mtpipe.formats.docx import DocxFormat
from mtpipe.formats.docx.inline import format_key
from mtpipe.testing.fake_translate import fake_translate
from mtpipe.text.languages import resolve
from mtpipe.text.protect import needs_translation
from tests.formats.contract import GERMAN, FuncTranslations

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus" / "docx"
FILES = sorted(CORPUS.glob("*.docx")) if CORPUS.is_dir() else []
FMT = DocxFormat()
W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
TRANSLATED_PARTS = re.compile(
    r"word/(document|header\d*|footer\d*|footnotes|endnotes|comments)\.xml$"
)

pytestmark = pytest.mark.skipif(not FILES, reason="../shared/corpus/docx is absent")


def german(text: str) -> str:
    return fake_translate(text, "German")


def paragraph_facts(path: Path) -> dict[str, list[tuple[str, frozenset[str]]]]:
    """Per translated part: for every w:p, its visible text and the formats of its text runs."""
    facts: dict[str, list[tuple[str, frozenset[str]]]] = {}
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            if not TRANSLATED_PARTS.match(name):
                continue
            root = etree.fromstring(archive.read(name))
            rows = []
            for p in root.iter(f"{W}p"):
                text, formats = [], set()
                for t in p.iter(f"{W}t"):
                    run = t.getparent()
                    if next(t.iterancestors(f"{W}p")) is not p or run is None:
                        continue
                    rpr = run.find(f"{W}rPr")
                    if rpr is not None and rpr.find(f"{W}vanish") is not None:
                        continue
                    text.append(t.text or "")
                    if (t.text or "").strip():
                        formats.add(format_key(rpr))
                rows.append(("".join(text), frozenset(formats)))
            facts[name] = rows
    return facts


def field_instructions(path: Path) -> list[str]:
    found = []
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            if name.endswith(".xml"):
                root = etree.fromstring(archive.read(name))
                found += [t.text or "" for t in root.iter(f"{W}instrText")]
                found += [f.get(f"{W}instr", "") for f in root.iter(f"{W}fldSimple")]
    return found


@pytest.fixture(params=FILES, ids=[p.name for p in FILES])
def translated(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, Path, object]:
    source: Path = request.param
    dest = tmp_path / source.name
    report = FMT.write(source, dest, [GERMAN], FuncTranslations(german), {})
    return source, dest, report


def test_reopens_with_same_parts(translated: tuple[Path, Path, object]) -> None:
    source, dest, _ = translated
    docx.Document(str(dest))
    with zipfile.ZipFile(source) as a, zipfile.ZipFile(dest) as b:
        assert a.namelist() == b.namelist()
        for name in b.namelist():
            if name.endswith((".xml", ".rels")):
                etree.fromstring(b.read(name))  # well-formed


def test_every_paragraph_with_letters_is_translated(translated: tuple[Path, Path, object]) -> None:
    source, dest, report = translated
    before, after = paragraph_facts(source), paragraph_facts(dest)
    assert before.keys() == after.keys()
    for name, rows in before.items():
        assert len(rows) == len(after[name]), name
        for (old, old_formats), (new, new_formats) in zip(rows, after[name]):
            if needs_translation(old):
                assert new != old, f"{name}: {old!r} not translated"
            assert new_formats == old_formats, f"{name}: formatting of {old!r} changed"
    assert report.simplified == 0 and report.failed == 0  # type: ignore[attr-defined]


def test_field_instructions_unchanged(translated: tuple[Path, Path, object]) -> None:
    source, dest, _ = translated
    assert field_instructions(dest) == field_instructions(source)


def test_output_reads_back_as_the_translation(translated: tuple[Path, Path, object]) -> None:
    source, dest, _ = translated
    before, after = list(FMT.read(source, {})), list(FMT.read(dest, {}))
    assert [s.place for s in after] == [s.place for s in before]
    assert [s.text for s in after] == [german(s.text) for s in before]


@pytest.mark.parametrize("source", FILES, ids=[p.name for p in FILES])
def test_identity_is_byte_identical(source: Path, tmp_path: Path) -> None:
    dest = tmp_path / source.name
    FMT.write(source, dest, [GERMAN], FuncTranslations(), {})
    with zipfile.ZipFile(source) as a, zipfile.ZipFile(dest) as b:
        assert a.namelist() == b.namelist()
        assert all(a.read(n) == b.read(n) for n in a.namelist())


def test_corpus_covers_the_parts_users_expect() -> None:
    places = [s.place for path in FILES for s in FMT.read(path, {})]
    for kind in ("table", "header", "footer", "footnote", "comment"):
        assert any(kind in place for place in places), kind


@pytest.mark.skipif(
    not (shutil.which("soffice") or shutil.which("libreoffice")), reason="LibreOffice not installed"
)
def test_libreoffice_converts_an_output_to_pdf(tmp_path: Path) -> None:
    source = next(p for p in FILES if "comments" in p.name or "hdr" in p.name)
    dest = tmp_path / source.name
    FMT.write(source, dest, [GERMAN], FuncTranslations(german), {})
    office = shutil.which("soffice") or shutil.which("libreoffice")
    assert office is not None
    subprocess.run(
        [
            office,
            "--headless",
            f"-env:UserInstallation=file://{tmp_path}/profile",
            "--convert-to",
            "pdf",
            "--outdir",
            str(tmp_path / "pdf"),
            str(dest),
        ],
        check=True,
        timeout=120,
        capture_output=True,
    )
    pdf = tmp_path / "pdf" / (dest.stem + ".pdf")
    assert pdf.read_bytes().startswith(b"%PDF")


#: CT_RPr and CT_PPr children in schema order (as far as this test looks): Word refuses a
#: document whose properties are out of order.
_RPR_ORDER = [
    "rStyle", "rFonts", "b", "bCs", "i", "iCs", "caps", "smallCaps", "strike", "dstrike",
    "outline", "shadow", "emboss", "imprint", "noProof", "snapToGrid", "vanish", "webHidden",
    "color", "spacing", "w", "kern", "position", "sz", "szCs", "highlight", "u", "effect", "bdr",
    "shd", "fitText", "vertAlign", "rtl", "cs", "em", "lang", "eastAsianLayout", "specVanish",
    "oMath", "rPrChange",
]
_PPR_ORDER = [
    "pStyle", "keepNext", "keepLines", "pageBreakBefore", "framePr", "widowControl", "numPr",
    "suppressLineNumbers", "pBdr", "shd", "tabs", "suppressAutoHyphens", "kinsoku", "wordWrap",
    "overflowPunct", "topLinePunct", "autoSpaceDE", "autoSpaceDN", "bidi", "adjustRightInd",
    "snapToGrid", "spacing", "ind", "contextualSpacing", "mirrorIndents", "suppressOverlap", "jc",
    "textDirection", "textAlignment", "textboxTightWrap", "outlineLvl", "divId", "cnfStyle",
    "rPr", "sectPr", "pPrChange",
]


def _in_schema_order(element: etree._Element, order: list[str]) -> bool:
    positions = [order.index(etree.QName(c).localname) for c in element if etree.QName(c).localname in order]
    return positions == sorted(positions)


def _properties_in_order(root: etree._Element) -> bool:
    return all(_in_schema_order(e, _RPR_ORDER) for e in root.iter(f"{W}rPr")) and all(
        _in_schema_order(e, _PPR_ORDER) for e in root.iter(f"{W}pPr")
    )


@pytest.mark.parametrize("source", FILES, ids=[p.name for p in FILES])
def test_arabic_output_is_right_to_left_and_properties_stay_in_schema_order(source: Path, tmp_path: Path) -> None:
    arabic = resolve("ar")
    dest = tmp_path / source.name
    FMT.write(source, dest, [arabic], FuncTranslations(lambda t: fake_translate(t, arabic.name)), {})
    docx.Document(str(dest))  # reopens
    marked = 0
    with zipfile.ZipFile(source) as before, zipfile.ZipFile(dest) as after:
        for name in filter(TRANSLATED_PARTS.match, after.namelist()):
            root = etree.fromstring(after.read(name))
            # Some sources have properties out of order already (sphinx writes w:iCs before w:i).
            if _properties_in_order(etree.fromstring(before.read(name))):
                assert _properties_in_order(root), name
            for lang in root.iter(f"{W}lang"):
                if lang.get(f"{W}bidi") == "ar-EG":
                    paragraph = next(lang.iterancestors(f"{W}p"))
                    assert paragraph.find(f"{W}pPr/{W}bidi") is not None
                    marked += 1
    changed = any(fake_translate(s.text, arabic.name) != s.text for s in FMT.read(source, {}))
    assert (marked > 0) == changed

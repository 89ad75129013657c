"""Strict Open XML documents are read, and written back Strict, like their Transitional twins."""

from __future__ import annotations

import zipfile
from pathlib import Path

import docx
import pytest
from docx.oxml.ns import qn
from lxml import etree

from mtpipe.errors import InputError
from mtpipe.text.languages import resolve
from tests.formats.contract import FuncTranslations
from tests.formats.docx_helpers import (
    FMT,
    STRICT_W,
    convert,
    german,
    part_xml,
    save,
    segments,
    strict_bytes,
    transitional_bytes,
)
from tests.formats.make_docx_samples import add_textbox, build_brochure

TRANSITIONAL_MARKS = (b"openxmlformats.org/wordprocessingml", b"openxmlformats.org/officeDocument")


def twins(tmp_path: Path) -> tuple[Path, Path]:
    """The sample brochure (body, table, link, footnote, header, footer fields) and its Strict
    twin."""
    source = build_brochure(tmp_path / "transitional" / "brochure.docx")
    (tmp_path / "strict").mkdir()
    return source, convert(source, tmp_path / "strict" / "brochure.docx", strict_bytes)


def canonical(xml: bytes) -> bytes:
    return etree.tostring(etree.fromstring(xml), method="c14n")


def write(path: Path, code: str) -> Path:
    dest = path.parent / code / path.name
    FMT.write(path, dest, [resolve(code)], FuncTranslations(german), {})
    return dest


def test_strict_document_reads_as_its_transitional_twin(tmp_path: Path) -> None:
    transitional, strict = twins(tmp_path)
    with zipfile.ZipFile(strict) as archive:
        assert b"purl.oclc.org/ooxml/officeDocument/relationships/officeDocument" in archive.read(
            "_rels/.rels"
        )
    expected = [(s.text, s.context) for s in segments(transitional)]
    assert len(expected) > 10
    assert [(s.text, s.context) for s in segments(strict)] == expected


@pytest.mark.parametrize("code", ["de", "ar"])  # Arabic: w:bidi and complex-script twins too
def test_strict_output_is_the_transitional_output_in_strict_names(
    tmp_path: Path, code: str
) -> None:
    transitional, strict = twins(tmp_path)
    from_transitional = write(transitional, code)
    from_strict = write(strict, code)
    with zipfile.ZipFile(from_transitional) as a, zipfile.ZipFile(from_strict) as b:
        assert a.namelist() == b.namelist()
        for name in b.namelist():
            written = b.read(name)
            assert not any(mark in written for mark in TRANSITIONAL_MARKS), name
            if name.endswith((".xml", ".rels")):
                expected = strict_bytes(a.read(name))
                if name == "word/document.xml":
                    expected = expected.replace(
                        b"<w:document ", b'<w:document w:conformance="strict" ', 1
                    )
                assert canonical(expected) == canonical(written), name


def test_strict_output_holds_the_translation(tmp_path: Path) -> None:
    _, strict = twins(tmp_path)
    dest = write(strict, "de")
    body = part_xml(dest, "word/document.xml")
    assert etree.QName(body).namespace == STRICT_W
    texts = "".join(t.text or "" for t in body.iter(f"{{{STRICT_W}}}t"))
    assert german("Bicycles travel") in texts and "Bicycles" not in texts
    langs = {lang.get(f"{{{STRICT_W}}}val") for lang in body.iter(f"{{{STRICT_W}}}lang")}
    assert langs == {"de-DE"}
    header = part_xml(dest, "word/header1.xml")
    header_texts = "".join(t.text or "" for t in header.iter(f"{{{STRICT_W}}}t"))
    assert german("Harbour Ferries") in header_texts
    # Back in Transitional names, python-docx reads the translated document.
    readable = convert(dest, tmp_path / "readable.docx", transitional_bytes)
    paragraphs = [p.text for p in docx.Document(str(readable)).paragraphs]
    assert german("Summer Ferry Guide") in paragraphs


def test_strict_text_box_and_alt_text(tmp_path: Path) -> None:
    document = docx.Document()
    add_textbox(document.add_paragraph("Before the box "), "Inside the box", box_id=7)
    next(document.element.body.iter(qn("wp:docPr"))).set("descr", "A ferry at sea")
    transitional = save(document, tmp_path)
    strict = convert(transitional, tmp_path / "strict.docx", strict_bytes)
    found = [(s.place, s.text) for s in segments(strict, include_alt_text=True)]
    assert found == [(s.place, s.text) for s in segments(transitional, include_alt_text=True)]
    assert ("word/document.xml image 7 alt text", "A ferry at sea") in found
    assert ("word/document.xml text box 1 paragraph 1", "Inside the box") in found


def test_part_not_in_the_packages_dialect_is_input_error(tmp_path: Path) -> None:
    # A Strict package whose main part is still Transitional: nothing would be found in it.
    transitional, _ = twins(tmp_path)
    mixed = tmp_path / "mixed.docx"
    convert(transitional, mixed, _all_but_the_main_part_strict)
    with pytest.raises(InputError) as info:
        list(FMT.read(mixed, {}))
    assert "word/document.xml" in str(info.value) and "strict" in str(info.value)


def _all_but_the_main_part_strict(data: bytes) -> bytes:
    return data if b"<w:document" in data else strict_bytes(data)

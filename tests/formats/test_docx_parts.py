"""The .docx format: every part users expect translated, and what stays untranslated."""

from __future__ import annotations

from pathlib import Path

import docx
from docx.oxml.ns import qn
from lxml import etree

from tests.formats.docx_helpers import (
    W,
    german,
    part_xml,
    save,
    segments,
    texts_of,
    translate,
)
from tests.formats.make_docx_samples import (
    add_complex_field,
    add_footnote,
    add_simple_field,
    add_textbox,
)

# ---- fields -------------------------------------------------------------------------------


def test_header_and_footer_with_page_fields(tmp_path: Path) -> None:
    document = docx.Document()
    document.add_paragraph("Body")
    section = document.sections[0]
    section.header.paragraphs[0].text = "Company report"
    footer = section.footer.paragraphs[0]
    footer.text = "Page "
    add_complex_field(footer, "PAGE", "3")
    footer.add_run(" of ")
    add_simple_field(footer, "NUMPAGES", "9")
    footer.add_run(" pages")
    path = save(document, tmp_path)
    by_place = {s.place: s.text for s in segments(path)}
    assert by_place["word/header1.xml paragraph 1"] == "Company report"
    assert by_place["word/footer1.xml paragraph 1"] == "Page <x1/> of <x2/> pages"
    assert not any("PAGE" in text for text in by_place.values())

    dest, _, _ = translate(path)
    root = part_xml(dest, "word/footer1.xml")
    assert texts_of(root, "instrText") == [" PAGE "]
    assert [f.get(qn("w:instr")) for f in root.iter(qn("w:fldSimple"))] == [" NUMPAGES "]
    assert texts_of(root) == [german("Page "), "3", german(" of "), "9", german(" pages")]
    kinds = [el.get(qn("w:fldCharType")) for el in root.iter(qn("w:fldChar"))]
    assert kinds == ["begin", "separate", "end"]


def test_field_result_with_words_is_translated_instruction_is_not(tmp_path: Path) -> None:
    document = docx.Document()
    paragraph = document.add_paragraph("See ")
    add_complex_field(paragraph, "REF _Ref123 \\h", "the chapter on boats")
    paragraph.add_run(" for details.")
    path = save(document, tmp_path)
    assert segments(path)[0].text == "See <x1/>the chapter on boats<x2/> for details."
    dest, _, _ = translate(path)
    root = part_xml(dest, "word/document.xml")
    assert texts_of(root, "instrText") == [" REF _Ref123 \\h "]
    assert german("the chapter on boats") in texts_of(root)


# ---- parts --------------------------------------------------------------------------------


def test_nested_tables_and_merged_cells_every_cell_once(tmp_path: Path) -> None:
    document = docx.Document()
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "Top left"
    table.cell(0, 1).text = "Top right"
    merged = table.cell(1, 0).merge(table.cell(1, 1))
    merged.text = "Merged bottom"
    inner = table.cell(0, 1).add_table(rows=1, cols=2)
    inner.cell(0, 0).text = "Inner one"
    inner.cell(0, 1).text = "Inner two"
    path = save(document, tmp_path)
    found = [(s.place, s.text) for s in segments(path)]
    assert found == [
        ("word/document.xml table 1 row 1 cell 1 paragraph 1", "Top left"),
        ("word/document.xml table 1 row 1 cell 2 paragraph 1", "Top right"),
        ("word/document.xml table 1 row 1 cell 2 table 2 row 1 cell 1 paragraph 1", "Inner one"),
        ("word/document.xml table 1 row 1 cell 2 table 2 row 1 cell 2 paragraph 1", "Inner two"),
        ("word/document.xml table 1 row 2 cell 1 paragraph 1", "Merged bottom"),
    ]
    dest, _, _ = translate(path)
    out = docx.Document(str(dest)).tables[0]
    assert out.cell(1, 0).text == german("Merged bottom")
    assert out.cell(0, 1).tables[0].cell(0, 1).text == german("Inner two")


def test_every_header_and_footer_part_once(tmp_path: Path) -> None:
    document = docx.Document()
    document.settings.odd_and_even_pages_header_footer = True
    first = document.sections[0]
    first.different_first_page_header_footer = True
    first.header.paragraphs[0].text = "Default header"
    first.first_page_header.paragraphs[0].text = "First page header"
    first.even_page_header.paragraphs[0].text = "Even page header"
    first.footer.paragraphs[0].text = "Default footer"
    document.add_section()  # linked to the previous section: no parts of its own
    path = save(document, tmp_path)
    texts = [s.text for s in segments(path)]
    assert sorted(texts) == sorted(
        ["Default header", "First page header", "Even page header", "Default footer"]
    )
    dest, _, _ = translate(path)
    out = docx.Document(str(dest)).sections[0]
    assert out.first_page_header.paragraphs[0].text == german("First page header")
    assert out.even_page_header.paragraphs[0].text == german("Even page header")
    assert out.footer.paragraphs[0].text == german("Default footer")


def test_footnotes_translated_reference_kept(tmp_path: Path) -> None:
    document = docx.Document()
    paragraph = document.add_paragraph("Ferries run daily")
    add_footnote(document, paragraph, "Except on holidays.")
    paragraph.add_run(" in summer.")
    path = save(document, tmp_path)
    found = {s.place: s.text for s in segments(path)}
    assert found["word/document.xml paragraph 1"] == "Ferries run daily<x1/> in summer."
    assert found["word/footnotes.xml footnote 1 paragraph 1"] == " Except on holidays."
    dest, _, _ = translate(path)
    body = part_xml(dest, "word/document.xml")
    assert [r.get(qn("w:id")) for r in body.iter(qn("w:footnoteReference"))] == ["1"]
    notes = part_xml(dest, "word/footnotes.xml")
    assert german(" Except on holidays.") in texts_of(notes)
    assert len(list(notes.iter(qn("w:footnoteRef")))) == 1


def test_comments_translated(tmp_path: Path) -> None:
    document = docx.Document()
    paragraph = document.add_paragraph("Check this sentence.")
    document.add_comment(paragraph.runs[0], text="Is this right?", author="Editor")
    path = save(document, tmp_path)
    comment = [s for s in segments(path) if "comments.xml" in s.place]
    assert [s.text for s in comment] == ["Is this right?"]
    dest, _, _ = translate(path)
    out = docx.Document(str(dest))
    assert [c.text for c in out.comments] == [german("Is this right?")]
    assert out.paragraphs[0].text == german("Check this sentence.")


def test_text_box_choice_and_fallback_translated_once(tmp_path: Path) -> None:
    document = docx.Document()
    paragraph = document.add_paragraph("Before the box ")
    add_textbox(paragraph, "Inside the box")
    paragraph.add_run(" after the box.")
    path = save(document, tmp_path)
    found = [(s.place, s.text) for s in segments(path)]
    assert found == [
        ("word/document.xml paragraph 1", "Before the box <x1/> after the box."),
        ("word/document.xml text box 1 paragraph 1", "Inside the box"),
    ]
    dest, tr, report = translate(path)
    assert len(tr.asked) == 2 and report.translated == 2
    body = part_xml(dest, "word/document.xml")
    boxes = list(body.iter(qn("w:txbxContent")))
    assert len(boxes) == 2
    assert [texts_of(box) for box in boxes] == [[german("Inside the box")]] * 2


def test_content_controls_translated(tmp_path: Path) -> None:
    document = docx.Document()
    body = document.element.body
    sdt = etree.fromstring(
        f'<w:sdt xmlns:w="{W}"><w:sdtPr><w:alias w:val="Summary"/></w:sdtPr><w:sdtContent>'
        "<w:p><w:r><w:t>Block control text</w:t></w:r></w:p></w:sdtContent></w:sdt>"
    )
    body.insert(0, sdt)
    paragraph = document.add_paragraph("Name: ")
    paragraph._p.append(
        etree.fromstring(
            f'<w:sdt xmlns:w="{W}"><w:sdtPr><w:tag w:val="name"/></w:sdtPr><w:sdtContent>'
            "<w:r><w:t>Your name here</w:t></w:r></w:sdtContent></w:sdt>"
        )
    )
    path = save(document, tmp_path)
    assert [s.text for s in segments(path)] == [
        "Block control text",
        "Name: <g1>Your name here</g1>",
    ]
    dest, _, _ = translate(path)
    root = part_xml(dest, "word/document.xml")
    assert texts_of(root) == [
        german("Block control text"),
        german("Name: "),
        german("Your name here"),
    ]
    assert [el.get(qn("w:val")) for el in root.iter(qn("w:tag"))] == ["name"]


def test_hidden_text_skipped_unless_asked(tmp_path: Path) -> None:
    document = docx.Document()
    paragraph = document.add_paragraph("Visible words ")
    paragraph.add_run("secret note").font.hidden = True
    paragraph.add_run(" more words.")
    document.add_paragraph().add_run("Entirely hidden").font.hidden = True
    path = save(document, tmp_path)
    assert [s.text for s in segments(path)] == ["Visible words <x1/> more words."]
    dest, _, _ = translate(path)
    assert "secret note" in texts_of(part_xml(dest, "word/document.xml"))
    with_hidden = [s.text for s in segments(path, include_hidden=True)]
    assert with_hidden == ["Visible words <g1>secret note</g1> more words.", "Entirely hidden"]


def test_alt_text_only_when_asked(tmp_path: Path) -> None:
    document = docx.Document()
    paragraph = document.add_paragraph("Picture: ")
    add_textbox(paragraph, "Box", box_id=7)
    doc_pr = next(document.element.body.iter(qn("wp:docPr")))
    doc_pr.set("descr", "A ferry at sea")
    path = save(document, tmp_path)
    assert all("alt text" not in s.place for s in segments(path))
    alt = [s for s in segments(path, include_alt_text=True) if "alt text" in s.place]
    assert [(s.place, s.text) for s in alt] == [
        ("word/document.xml image 7 alt text", "A ferry at sea")
    ]
    dest, _, _ = translate(path, include_alt_text=True)
    out = next(part_xml(dest, "word/document.xml").iter(qn("wp:docPr")))
    assert out.get("descr") == german("A ferry at sea")


def test_core_title_and_subject(tmp_path: Path) -> None:
    document = docx.Document()
    document.add_paragraph("Text")
    document.core_properties.title = "Annual report"
    document.core_properties.subject = "Finance"
    document.core_properties.author = "Anna Author"
    path = save(document, tmp_path)
    found = {s.place: s.text for s in segments(path)}
    assert found["docProps/core.xml title"] == "Annual report"
    assert found["docProps/core.xml subject"] == "Finance"
    assert not any("core.xml" in s.place for s in segments(path, docx_properties=False))
    dest, _, _ = translate(path)
    props = docx.Document(str(dest)).core_properties
    assert (props.title, props.subject, props.author) == (
        german("Annual report"),
        german("Finance"),
        "Anna Author",
    )

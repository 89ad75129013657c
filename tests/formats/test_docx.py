"""The .docx format: contract, inline formatting as tags, broken tags, failures."""

from __future__ import annotations

import zipfile
from pathlib import Path

import docx
import pytest
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml.ns import qn
from lxml import etree

from mtpipe.errors import ConfigError, InputError
from mtpipe.formats.docx.inline import read_paragraph
from mtpipe.formats.docx.language import WordLanguage, word_language
from mtpipe.formats.docx.rebuild import apply_translation, parse_tagged
from mtpipe.formats.docx.revisions import text_change
from mtpipe.text.languages import resolve
from tests.formats.contract import FormatContract, FuncTranslations
from tests.formats.docx_helpers import (
    FMT,
    R,
    W,
    assert_same_package,
    german,
    paragraph_from,
    part_xml,
    save,
    segments,
    texts_of,
    translate,
)
from tests.formats.make_docx_samples import (
    add_complex_field,
    add_footnote,
    add_hyperlink,
    build_brochure,
)


class TestDocxContract(FormatContract):
    def make_sample(self, tmp_path: Path) -> Path:
        return build_brochure(tmp_path / "brochure.docx")

    def make_empty(self, tmp_path: Path) -> Path:
        document = docx.Document()
        document.add_paragraph("")
        document.add_paragraph("   ")
        return save(document, tmp_path, "empty.docx")

    def make_corrupt(self, tmp_path: Path) -> Path:
        path = tmp_path / "corrupt.docx"
        path.write_bytes(b"PK\x03\x04 this is not really a zip archive")
        return path

    def assert_same_content(self, original: Path, written: Path) -> None:
        assert_same_package(original, written)


# ---- inline formatting --------------------------------------------------------------------


def test_bold_word_mid_sentence_is_one_segment_with_one_tag_pair(tmp_path: Path) -> None:
    document = docx.Document()
    paragraph = document.add_paragraph("My name ")
    paragraph.add_run("is").bold = True
    paragraph.add_run(" Michael")
    path = save(document, tmp_path)
    assert [s.text for s in segments(path)] == ["My name <g1>is</g1> Michael"]
    seg = segments(path)[0]
    assert "tags" in seg.checks and seg.soft_checks == frozenset({"tags"})

    dest, _, report = translate(path, lambda t: "Ich <g1>heiße</g1> Michael")
    runs = docx.Document(str(dest)).paragraphs[0].runs
    assert [(r.text, bool(r.bold)) for r in runs] == [
        ("Ich ", False),
        ("heiße", True),
        (" Michael", False),
    ]
    assert report.translated == 1 and report.simplified == 0


def test_runs_split_anywhere_with_same_formatting_are_merged(tmp_path: Path) -> None:
    document = docx.Document()
    paragraph = document.add_paragraph()
    for piece in ("Wor", "d spl", "it ", "anyw", "here"):
        paragraph.add_run(piece)
    paragraph.add_run(" bold").bold = True
    paragraph.add_run(" and").bold = True
    path = save(document, tmp_path)
    assert [s.text for s in segments(path)] == ["Word split anywhere<g1> bold and</g1>"]


def test_spans_can_be_reordered_by_the_translation(tmp_path: Path) -> None:
    document = docx.Document()
    paragraph = document.add_paragraph("The ")
    paragraph.add_run("red").italic = True
    paragraph.add_run(" car by ")
    add_hyperlink(paragraph, "Anna", "https://example.com/anna")
    path = save(document, tmp_path)
    assert segments(path)[0].text == "The <g1>red</g1> car by <a2>Anna</a2>"

    dest, _, _ = translate(path, lambda t: "<a2>Annas</a2> <g1>rotes</g1> Auto")
    out = docx.Document(str(dest)).paragraphs[0]
    assert [(r.text, bool(r.italic)) for r in out.runs] == [
        (" ", False),
        ("rotes", True),
        (" Auto", False),
    ]
    link = out._p.find(qn("w:hyperlink"))
    assert link is not None and "".join(texts_of(link)) == "Annas"
    assert out._p.index(link) < out._p.index(out.runs[1]._r)


def test_hyperlink_text_translated_and_target_kept(tmp_path: Path) -> None:
    document = docx.Document()
    paragraph = document.add_paragraph("Read ")
    add_hyperlink(paragraph, "the manual", "https://example.com/manual")
    paragraph.add_run(" first.")
    path = save(document, tmp_path)
    assert segments(path)[0].text == "Read <a1>the manual</a1> first."

    dest, _, _ = translate(path)
    out = docx.Document(str(dest))
    link = out.paragraphs[0]._p.find(qn("w:hyperlink"))
    assert link is not None
    assert "".join(texts_of(link)) == german("the manual")
    rel = out.part.rels[link.get(qn("r:id"))]
    assert rel.reltype == RT.HYPERLINK and rel.target_ref == "https://example.com/manual"
    assert link.find(f"{{{W}}}r/{{{W}}}rPr/{{{W}}}color") is not None  # link style kept


def test_tabs_and_breaks_stay_in_place(tmp_path: Path) -> None:
    document = docx.Document()
    paragraph = document.add_paragraph("Name:")
    run = paragraph.add_run()
    run.add_tab()
    run.add_text("Anna")
    run.add_break()
    run.add_text("Street")
    path = save(document, tmp_path)
    assert segments(path)[0].text == "Name:<x1/>Anna<x2/>Street"

    dest, _, _ = translate(path)
    p = docx.Document(str(dest)).paragraphs[0]._p
    kinds = [etree.QName(el).localname for el in p.iter(f"{{{W}}}t", f"{{{W}}}tab", f"{{{W}}}br")]
    assert kinds == ["t", "tab", "t", "br", "t"]
    assert texts_of(p) == [german("Name:"), german("Anna"), german("Street")]


def test_literal_angle_brackets_and_entities_survive(tmp_path: Path) -> None:
    document = docx.Document()
    document.add_paragraph("Use <b> for bold & &amp; for an ampersand")
    path = save(document, tmp_path)
    text = segments(path)[0].text
    assert text == "Use &lt;b> for bold & &amp;amp; for an ampersand"
    dest, _, _ = translate(path, lambda t: t.replace("Use", "Nimm"))
    assert (
        docx.Document(str(dest)).paragraphs[0].text == "Nimm <b> for bold & &amp; for an ampersand"
    )


# ---- broken tags, failures ----------------------------------------------------------------


def _name_with_footnote(tmp_path: Path) -> Path:
    document = docx.Document()
    paragraph = document.add_paragraph("My name ")
    paragraph.add_run("is").bold = True
    paragraph.add_run(" Michael")
    add_footnote(document, paragraph, "A note.")
    paragraph.add_run(" here")
    path = save(document, tmp_path)
    assert segments(path)[0].text == "My name <g1>is</g1> Michael<x2/> here"
    return path


@pytest.mark.parametrize(
    "translation",
    [
        "Ich heiße Michael hier",  # tags dropped
        "Ich <g1>heiße</g1> <g1>Michael</g1><x2/> hier",  # duplicated
        "Ich <g1>heiße Michael<x2/> hier",  # unbalanced
        "Ich <g1>heiße</g1> <g7>Michael</g7><x2/> hier",  # unknown
        "Ich <g1>heiße</g1> Michael<x2/><x2/> hier",  # placeholder twice
    ],
)
def test_broken_tags_fall_back_to_first_run(tmp_path: Path, translation: str) -> None:
    path = _name_with_footnote(tmp_path)
    dest, _, report = translate(path, lambda t: translation if "<g1>" in t else t)
    assert report.simplified == 1 and report.translated == 2
    p = docx.Document(str(dest)).paragraphs[0]
    assert [r.text for r in p.runs if r.text] == ["Ich heiße Michael hier"]
    assert not p.runs[0].bold  # the first run keeps its own formatting
    assert len(list(p._p.iter(qn("w:footnoteReference")))) == 1  # non-text content kept


def test_placeholder_moved_inside_a_span_is_still_intact(tmp_path: Path) -> None:
    path = _name_with_footnote(tmp_path)
    dest, _, report = translate(
        path, lambda t: "Ich <g1>heiße<x2/></g1> Michael hier" if "<g1>" in t else t
    )
    assert report.simplified == 0
    p = docx.Document(str(dest)).paragraphs[0]
    assert [(r.text, bool(r.bold)) for r in p.runs] == [
        ("Ich ", False),
        ("heiße", True),
        ("", False),  # the footnote reference run
        (" Michael hier", False),
    ]


def test_placeholders_out_of_order_fall_back(tmp_path: Path) -> None:
    document = docx.Document()
    paragraph = document.add_paragraph("Page ")
    add_complex_field(paragraph, "PAGE", "1")
    paragraph.add_run(" of ")
    add_complex_field(paragraph, "NUMPAGES", "2")
    paragraph.add_run(" total")
    path = save(document, tmp_path)
    assert segments(path)[0].text == "Page <x1/> of <x2/> total"
    dest, _, report = translate(path, lambda t: "Seite <x2/> von <x1/> gesamt")
    assert report.simplified == 1
    root = part_xml(dest, "word/document.xml")
    assert texts_of(root, "instrText") == [" PAGE ", " NUMPAGES "]
    assert [t for t in texts_of(root) if t] == ["Seite  von  gesamt", "1", "2"]


def test_failed_paragraph_keeps_its_source(tmp_path: Path) -> None:
    document = docx.Document()
    document.add_paragraph("Keep me")
    document.add_paragraph("Translate me")
    path = save(document, tmp_path)
    dest, _, report = translate(path, lambda t: None if t == "Keep me" else german(t))
    assert [p.text for p in docx.Document(str(dest)).paragraphs] == [
        "Keep me",
        german("Translate me"),
    ]
    assert (report.failed, report.translated) == (1, 1)


def test_translated_output_reads_back_as_the_translation(tmp_path: Path) -> None:
    path = build_brochure(tmp_path / "brochure.docx")
    dest, _, report = translate(path)
    before, after = segments(path), segments(dest)
    assert [german(s.text) for s in before] == [s.text for s in after]
    assert [s.place for s in before] == [s.place for s in after]
    assert report.simplified == 0


def test_untranslated_parts_are_copied_byte_for_byte(tmp_path: Path) -> None:
    path = build_brochure(tmp_path / "brochure.docx")
    dest, _, _ = translate(path)
    with zipfile.ZipFile(path) as a, zipfile.ZipFile(dest) as b:
        assert a.namelist() == b.namelist()
        changed = {n for n in a.namelist() if a.read(n) != b.read(n)}
    assert changed == {
        "word/document.xml",
        "word/header1.xml",
        "word/footer1.xml",
        "word/footnotes.xml",
        "docProps/core.xml",
    }


# ---- the tag contract, on paragraphs built from XML ---------------------------------------


LINKED = (
    "<w:r><w:t xml:space='preserve'>Plain </w:t></w:r>"
    "<w:r><w:rPr><w:b/></w:rPr><w:t>bold</w:t></w:r>"
    "<w:r><w:tab/></w:r>"
    "<w:hyperlink r:id='rId5'><w:r><w:t>link</w:t></w:r><w:r><w:br/></w:r>"
    "<w:r><w:t>text</w:t></w:r></w:hyperlink>"
    "<w:r><w:t xml:space='preserve'> end</w:t></w:r>"
)


def test_tagged_text_of_a_paragraph_with_a_link() -> None:
    assert paragraph_from(LINKED).text == "Plain <g1>bold</g1><x2/><a3>link<x4/>text</a3> end"


@pytest.mark.parametrize(
    "translation, intact",
    [
        ("Schlicht <g1>fett</g1><x2/><a3>Link<x4/>Text</a3> Ende", True),
        ("<a3>Link<x4/>Text</a3> <g1>fett</g1><x2/> schlicht", True),  # reordered siblings
        ("Schlicht <g1>fett<x2/></g1><a3>Link<x4/>Text</a3>", True),  # x2 joins the span
        ("Schlicht <g1>fett <a3>Link<x4/>Text</a3></g1><x2/>", False),  # link inside a span
        ("Schlicht <g1>fett</g1><x2/><a3>Link</a3><x4/>Text", False),  # x4 left its link
        ("Schlicht <g1>fett</g1><x2/><a3>Link<x4/>Text</a3><x2/>", False),  # x2 twice
        ("Schlicht <g1>fett</g1><a3>Link<x4/>Text</a3>", False),  # x2 missing
        ("Schlicht <g1>fett<x2/><a3>Link<x4/>Text</g1></a3>", False),  # crossing
        ("Schlicht <g1/>fett<x2/><a3>Link<x4/>Text</a3>", False),  # pair as self-closing
        ("Schlicht <x1/>fett<x2/><a3>Link<x4/>Text</a3>", False),  # wrong letter
        ("Schlicht <g1>fett</g1><x2/><g3>Link<x4/>Text</g3>", False),  # wrong letter
    ],
)
def test_tags_must_come_back_intact(translation: str, intact: bool) -> None:
    assert (parse_tagged(paragraph_from(LINKED), translation) is not None) is intact


def test_rebuilt_paragraph_reads_back_as_its_translation() -> None:
    paragraph = paragraph_from(LINKED)
    translation = "<a3>Link<x4/>Text</a3> &lt;b> <g1>fett</g1><x2/> schlicht"
    assert apply_translation(paragraph, translation) == "translated"
    again = read_paragraph(paragraph.element)
    assert again.text == "<a1>Link<x2/>Text</a1> &lt;b> <g3>fett</g3><x4/> schlicht"
    link = paragraph.element.find(f"{{{W}}}hyperlink")
    assert link is not None and link.get(f"{{{R}}}id") == "rId5"


def revised(tmp_path: Path, revised_xml: str, name: str = "revised.docx") -> Path:
    """A document of two paragraphs, the second of which holds ``revised_xml`` (runs and
    revisions in ``w:`` markup), built with python-docx."""
    document = docx.Document()
    document.add_paragraph("A plain first paragraph.")
    p = document.add_paragraph()._p
    for element in etree.fromstring(f'<w:x xmlns:w="{W}">{revised_xml}</w:x>'):
        p.append(element)
    return save(document, tmp_path, name)


INS, DEL = "w:id='1' w:author='A' w:date='2024-01-01T00:00:00Z'", "w:id='2' w:author='B'"


@pytest.mark.parametrize(
    ("revised_xml", "change"),
    [
        (  # an insertion inside a word and a deletion: "The colour of the car."
            (
                f"<w:r><w:t>The colo</w:t></w:r><w:ins {INS}><w:r><w:t>u</w:t></w:r></w:ins>"
                "<w:r><w:t xml:space='preserve'>r of the </w:t></w:r>"
                f"<w:del {DEL}><w:r><w:delText xml:space='preserve'>old </w:delText></w:r></w:del>"
                "<w:r><w:t>car.</w:t></w:r>"
            ),
            "tracked insertion 'u'",
        ),
        (
            (
                f"<w:r><w:t xml:space='preserve'>Keep </w:t></w:r><w:del {DEL}><w:r>"
                "<w:delText>these old words</w:delText></w:r></w:del><w:r><w:t> here</w:t></w:r>"
            ),
            "tracked deletion 'these old words'",
        ),
        (  # a whole paragraph deleted: nothing of it would otherwise be sent
            f"<w:del {DEL}><w:r><w:delText>All of this goes.</w:delText></w:r></w:del>",
            "tracked deletion 'All of this goes.'",
        ),
        (
            (
                "<w:moveToRangeStart w:id='5' w:name='move1'/>"
                f"<w:moveTo {INS}><w:r><w:t>Moved here. </w:t></w:r></w:moveTo>"
                "<w:moveToRangeEnd w:id='5'/><w:r><w:t>Stays.</w:t></w:r>"
            ),
            "tracked move 'Moved here. '",
        ),
    ],
)
def test_tracked_changes_to_the_text_refuse_the_document(
    tmp_path: Path, revised_xml: str, change: str
) -> None:
    """The translation of a paragraph with pending changes to its text could be written neither
    with them (words split at their edges, deleted source text back on "Reject") nor without
    them (the reviewer's decision taken for them): the document is refused, naming the
    paragraph and what to do."""
    path = revised(tmp_path, revised_xml)
    place = "word/document.xml paragraph 2"
    for attempt in (lambda: segments(path), lambda: translate(path)):
        with pytest.raises(InputError) as caught:
            attempt()
        assert caught.value.path == path and caught.value.place == place
        assert caught.value.reason.startswith(f"{change}: a document with tracked changes")
        assert "accept or reject them in Word" in caught.value.reason
    assert not (tmp_path / "out").exists()


def test_revisions_that_do_not_change_the_text_are_kept(tmp_path: Path) -> None:
    """A formatting change, an inserted paragraph mark and an inserted tab change no text: the
    paragraph is translated and they stay."""
    path = revised(
        tmp_path,
        f"<w:pPr><w:rPr><w:ins {INS}/></w:rPr></w:pPr>"
        f"<w:r><w:rPr><w:b/><w:rPrChange {DEL}><w:rPr/></w:rPrChange></w:rPr><w:t>Open</w:t></w:r>"
        f"<w:ins {INS}><w:r><w:tab/></w:r></w:ins><w:r><w:t>the file</w:t></w:r>",
    )
    assert [s.text for s in segments(path)] == ["A plain first paragraph.", "<g1>Open</g1><x2/>the file"]
    dest, _, report = translate(path)
    assert report.translated == 2 and report.failed == 0
    body = part_xml(dest, "word/document.xml")
    changed = [r for r in body.iter(f"{{{W}}}r") if r.find(f"{{{W}}}rPr/{{{W}}}rPrChange") is not None]
    assert [texts_of(r) for r in changed] == [[german("Open")]]
    inserted = list(body.iter(f"{{{W}}}ins"))
    assert len(inserted) == 2 and inserted[1].find(f"{{{W}}}r/{{{W}}}tab") is not None


def test_a_text_box_change_names_the_text_box_paragraph_not_its_anchor() -> None:
    outer = etree.fromstring(
        f'<w:p xmlns:w="{W}"><w:r><w:t>Anchor text</w:t></w:r><w:r><w:pict><w:txbxContent>'
        f"<w:p><w:ins {INS}><w:r><w:t>boxed</w:t></w:r></w:ins></w:p>"
        "</w:txbxContent></w:pict></w:r></w:p>"
    )
    inner = next(outer.iter(f"{{{W}}}txbxContent"))[0]
    assert text_change(outer) is None
    assert text_change(inner) == "tracked insertion 'boxed'"


def test_leading_and_trailing_markers_are_not_sent() -> None:
    paragraph = paragraph_from(
        "<w:bookmarkStart w:id='3' w:name='_Toc1'/><w:r><w:t>Heading</w:t></w:r>"
        "<w:bookmarkEnd w:id='3'/><w:proofErr w:type='spellStart'/>"
    )
    assert paragraph.text == "Heading"
    assert apply_translation(paragraph, "Überschrift") == "translated"
    tags = [etree.QName(el).localname for el in paragraph.element]
    assert tags == ["bookmarkStart", "r", "bookmarkEnd"]


def test_word_go_back_bookmark_does_not_split_a_word() -> None:
    paragraph = paragraph_from(
        "<w:r><w:t>Para</w:t></w:r><w:bookmarkStart w:id='0' w:name='_GoBack'/>"
        "<w:bookmarkEnd w:id='0'/><w:r><w:t>graph</w:t></w:r>"
    )
    assert paragraph.text == "Paragraph"


def test_bad_option_value_is_config_error(tmp_path: Path) -> None:
    document = docx.Document()
    document.add_paragraph("Text")
    path = save(document, tmp_path)
    with pytest.raises(ConfigError):
        segments(path, include_hidden="sometimes")
    assert segments(path, include_hidden="false") == segments(path)


# ---- the language Word records on translated text ------------------------------------------


def _languages(path: Path) -> list[dict[str, str]]:
    """The w:lang attributes of each text run of the main document, in order."""
    root = part_xml(path, "word/document.xml")
    out = []
    for run in root.iter(f"{{{W}}}r"):
        if run.find(f"{{{W}}}t") is not None:
            lang = run.find(f"{{{W}}}rPr/{{{W}}}lang")
            out.append({etree.QName(k).localname: v for k, v in (lang.attrib.items() if lang is not None else [])})
    return out


def test_translated_runs_record_the_target_language_and_others_keep_theirs(tmp_path: Path) -> None:
    document = docx.Document()
    kept = document.add_paragraph().add_run("Keep me")
    translated = document.add_paragraph()
    translated.add_run("Save ")
    translated.add_run("now").bold = True
    for run in (kept, *translated.runs):
        lang = etree.SubElement(run._r.get_or_add_rPr(), qn("w:lang"))
        lang.set(qn("w:val"), "en-US")
        lang.set(qn("w:eastAsia"), "ja-JP")
    path = save(document, tmp_path)
    dest, _, _ = translate(path, lambda t: None if t == "Keep me" else german(t))
    assert _languages(dest) == [
        {"val": "en-US", "eastAsia": "ja-JP"},  # failed: the source text, its source language
        {"val": "de-DE", "eastAsia": "ja-JP"},
        {"val": "de-DE", "eastAsia": "ja-JP"},
    ]


def test_language_is_added_in_schema_order_to_runs_without_one(tmp_path: Path) -> None:
    document = docx.Document()
    document.add_paragraph().add_run("No properties")
    styled = document.add_paragraph().add_run("Styled")
    styled.italic = True
    etree.SubElement(styled._r.get_or_add_rPr(), qn("w:eastAsianLayout"))
    path = save(document, tmp_path)
    dest, _, _ = translate(path)
    assert _languages(dest) == [{"val": "de-DE"}, {"val": "de-DE"}]
    properties = part_xml(dest, "word/document.xml").findall(f".//{{{W}}}rPr")
    assert _children(properties[-1]) == ["i", "lang", "eastAsianLayout"]
    docx.Document(str(dest))  # still opens


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("de", WordLanguage("val", "de-DE")),
        ("pt-BR", WordLanguage("val", "pt-BR")),
        ("zh", WordLanguage("eastAsia", "zh-CN")),
        ("zh-TW", WordLanguage("eastAsia", "zh-TW")),
        ("ja", WordLanguage("eastAsia", "ja-JP")),
        ("ar", WordLanguage("bidi", "ar-EG", right_to_left=True)),
        ("he", WordLanguage("bidi", "he-IL", right_to_left=True)),
        ("th", WordLanguage("bidi", "th-TH")),
        ("sr", WordLanguage("val", "sr-Cyrl-RS")),
    ],
)
def test_word_language_picks_the_script_class_and_a_region(code: str, expected: WordLanguage) -> None:
    assert word_language(resolve(code)) == expected


def _heading_document(tmp_path: Path) -> Path:
    document = docx.Document()
    paragraph = document.add_paragraph()
    paragraph.paragraph_format.space_after = docx.shared.Pt(6)  # a pPr child after w:bidi
    run = paragraph.add_run("Big bold title")
    run.bold, run.font.size = True, docx.shared.Pt(20)
    return save(document, tmp_path)


def _children(element: etree._Element) -> list[str]:
    return [etree.QName(c).localname for c in element]


def _write_into(path: Path, code: str) -> etree._Element:
    dest = path.parent / code / path.name
    FMT.write(path, dest, [resolve(code)], FuncTranslations(german), {})
    return part_xml(dest, "word/document.xml").find(f".//{{{W}}}p")


def test_right_to_left_target_turns_the_paragraph_and_keeps_bold_and_size(tmp_path: Path) -> None:
    paragraph = _write_into(_heading_document(tmp_path), "ar")
    names = lambda element: [etree.QName(c).localname for c in element]
    ppr = paragraph.find(f"{{{W}}}pPr")
    assert names(ppr) == ["bidi", "spacing"]
    rpr = paragraph.find(f"{{{W}}}r/{{{W}}}rPr")
    assert names(rpr) == ["b", "bCs", "sz", "szCs", "lang"]
    assert rpr.find(f"{{{W}}}szCs").get(f"{{{W}}}val") == "40"
    assert rpr.find(f"{{{W}}}lang").get(f"{{{W}}}bidi") == "ar-EG"


def test_complex_left_to_right_script_keeps_bold_and_size_but_not_direction(tmp_path: Path) -> None:
    paragraph = _write_into(_heading_document(tmp_path), "th")
    assert paragraph.find(f"{{{W}}}pPr/{{{W}}}bidi") is None
    rpr = paragraph.find(f"{{{W}}}r/{{{W}}}rPr")
    assert _children(rpr) == ["b", "bCs", "sz", "szCs", "lang"]


def test_simple_script_target_adds_no_complex_script_properties(tmp_path: Path) -> None:
    paragraph = _write_into(_heading_document(tmp_path), "de")
    rpr = paragraph.find(f"{{{W}}}r/{{{W}}}rPr")
    assert _children(rpr) == ["b", "sz", "lang"]

"""Markers that hold no text (bookmarks, comment ranges...) never cut a word for the engine,
and come back in the output, each range still opening before it closes."""

from __future__ import annotations

import re
from pathlib import Path

import docx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from mtpipe.formats.docx.nodes import CodeNode, Paragraph
from mtpipe.formats.docx.rebuild import apply_translation, parse_tagged
from mtpipe.formats.docx.tags import strip_tags
from tests.formats.docx_helpers import (
    W,
    german,
    paragraph_from,
    part_xml,
    save,
    segments,
    translate,
)

START, END = "<w:bookmarkStart w:id='7' w:name='_Ref123'/>", "<w:bookmarkEnd w:id='7'/>"


def w(name: str) -> str:
    return f"{{{W}}}{name}"


def run(text: str) -> str:
    return f"<w:r><w:t xml:space='preserve'>{text}</w:t></w:r>"


def element(xml: str) -> etree._Element:
    """One ``w:`` element from its XML."""
    return etree.fromstring(xml.replace(" ", f' xmlns:w="{W}" ', 1))


def layout(paragraph: Paragraph) -> list[str]:
    """The paragraph's children: a run's text, or ``[bookmarkStart 7]`` for anything else."""
    out = []
    for child in paragraph.element:
        local = etree.QName(child).localname
        if local == "r" and child.find(w("t")) is not None:
            out.append("".join(t.text or "" for t in child.iter(w("t"))))
        elif local == "r":
            out.append(f"[{etree.QName(child[-1]).localname} {child[-1].get(w('id'))}]")
        else:
            out.append(f"[{local} {child.get(w('id'))}]")
    return out


def assert_bookmark_intact(root: etree._Element) -> None:
    """One start and one end of bookmark 7, the start first, its name kept."""
    edges = [
        (etree.QName(el).localname, el.get(w("name")))
        for el in root.iter(w("bookmarkStart"), w("bookmarkEnd"))
        if el.get(w("id")) == "7"
    ]
    assert edges == [("bookmarkStart", "_Ref123"), ("bookmarkEnd", None)]


def test_bookmark_inside_a_word_is_not_sent_inside_it(tmp_path: Path) -> None:
    document = docx.Document()
    paragraph = document.add_paragraph()
    paragraph.add_run("U")
    paragraph._p.append(element(START))
    paragraph.add_run("sing")
    paragraph._p.append(element(END))
    paragraph.add_run(" the tool")
    path = save(document, tmp_path)
    assert [s.text for s in segments(path)] == ["Using<x1/> the tool"]

    dest, _, report = translate(path)
    assert report.translated == 1 and report.simplified == 0
    body = part_xml(dest, "word/document.xml")
    assert_bookmark_intact(body)
    assert german("Using") in "".join(t.text or "" for t in body.iter(w("t")))


def test_start_moves_to_the_word_start_and_end_to_the_word_end() -> None:
    paragraph = paragraph_from(
        run("Click here. U") + START + run("sing the too") + END + run("l now")
    )
    assert paragraph.text == "Click here. <x1/>Using the tool<x2/> now"
    assert apply_translation(paragraph, "Klicke hier. <x1/>Mit dem Werkzeug<x2/> jetzt") == (
        "translated"
    )
    assert layout(paragraph) == [
        "Klicke hier. ", "[bookmarkStart 7]", "Mit dem Werkzeug", "[bookmarkEnd 7]", " jetzt"
    ]


def test_broken_tags_keep_every_marker_in_place() -> None:
    paragraph = paragraph_from(run("Click here. U") + START + run("sing the too") + END + run("l"))
    assert apply_translation(paragraph, "Klicke hier. Mit dem Werkzeug") == "simplified"
    assert layout(paragraph) == [
        "Klicke hier. Mit dem Werkzeug", "[bookmarkStart 7]", "", "[bookmarkEnd 7]", ""
    ]


def test_empty_bookmark_inside_a_word_moves_whole_to_its_start() -> None:
    paragraph = paragraph_from(run("Para") + START + END + run("graph text"))
    assert paragraph.text == "Paragraph text"  # at the paragraph's start: not sent
    assert apply_translation(paragraph, "Absatztext") == "translated"
    assert layout(paragraph) == ["[bookmarkStart 7]", "[bookmarkEnd 7]", "Absatztext"]


def test_comment_range_and_reference_inside_words() -> None:
    paragraph = paragraph_from(
        run("See the sett")
        + "<w:commentRangeStart w:id='0'/>"
        + run("in")
        + "<w:commentRangeEnd w:id='0'/><w:r><w:commentReference w:id='0'/></w:r>"
        + run("gs page.")
    )
    assert paragraph.text == "See the <x1/>settings<x2/> page."
    assert apply_translation(paragraph, "Siehe die <x1/>Einstellungen<x2/>.") == "translated"
    assert layout(paragraph) == [
        "Siehe die ",
        "[commentRangeStart 0]",
        "Einstellungen",
        "[commentRangeEnd 0]",
        "[commentReference 0]",
        ".",
    ]


@pytest.mark.parametrize(
    ("before", "inside", "after", "sent"),
    [
        ("U", "sing", " it", "Using<x1/> it"),
        ("Stra", "ße", " hier", "Straße<x1/> hier"),
        ("कि", "ताब", " है", "किताब<x1/> है"),  # ends with a vowel sign
        ("2", "024", " ok", "2024<x1/> ok"),
        ("设置", "文件", "。", "设置<x1/>文件<x2/>。"),  # no spaces: stays
    ],
)
def test_no_marker_inside_a_word(before: str, inside: str, after: str, sent: str) -> None:
    assert paragraph_from(run(before) + START + run(inside) + END + run(after)).text == sent


def test_marker_between_words_stays_there() -> None:
    paragraph = paragraph_from(run("Read ") + START + run("this") + END + run(" now"))
    assert paragraph.text == "Read <x1/>this<x2/> now"


def test_a_range_cannot_end_before_it_starts_across_containers() -> None:
    paragraph = paragraph_from(
        run("Read ")
        + START
        + run("the ")
        + "<w:hyperlink r:id='rId4'>"
        + run("guide")
        + END
        + run(" now")
        + "</w:hyperlink>"
        + run(".")
    )
    assert paragraph.text == "Read <x1/>the <a2>guide<x3/> now</a2>."
    assert parse_tagged(paragraph, "Lies <x1/>die <a2>Anleitung<x3/> jetzt</a2>.") is not None
    # Each container keeps its placeholders' order, but the link now comes before the start.
    assert parse_tagged(paragraph, "<a2>Anleitung<x3/> jetzt</a2> lesen <x1/>die.") is None


_PIECES = st.one_of(
    st.sampled_from(["U", "sing", " the ", "to", "ol", ". ", "Wo", "rd", "设置", "2"]).map(run),
    st.sampled_from(["start", "end", "comment", "tab"]),
)


def _build(pieces: list[str]) -> tuple[str, list[str]]:
    """Paragraph XML from text runs and markers: ``start``/``end`` open and close bookmarks in
    turn (ids 1, 2...), ``comment`` is an empty comment range, ``tab`` a tab run."""
    xml, opened, next_id, markers = [], [], 1, []
    for piece in pieces:
        if piece == "start":
            xml.append(f"<w:bookmarkStart w:id='{next_id}' w:name='_Ref{next_id}'/>")
            opened.append(next_id)
            markers.append(f"bookmarkStart {next_id}")
            next_id += 1
        elif piece == "end" and opened:
            closed = opened.pop(0)
            xml.append(f"<w:bookmarkEnd w:id='{closed}'/>")
            markers.append(f"bookmarkEnd {closed}")
        elif piece == "comment":
            xml.append(f"<w:commentRangeStart w:id='{next_id}'/>")
            xml.append(f"<w:commentRangeEnd w:id='{next_id}'/>")
            markers += [f"commentRangeStart {next_id}", f"commentRangeEnd {next_id}"]
            next_id += 1
        elif piece == "tab":
            xml.append("<w:r><w:tab/></w:r>")
        elif piece != "end":
            xml.append(piece)
    return "".join(xml), markers


@settings(max_examples=300, deadline=None)
@given(st.lists(_PIECES, max_size=12))
def test_markers_never_cut_a_word_and_all_come_back_in_order(pieces: list[str]) -> None:
    xml, markers = _build(pieces)
    paragraph = paragraph_from(xml)
    source_text = "".join(t.text or "" for t in paragraph.element.iter(w("t")))
    assert strip_tags(paragraph.text) == source_text
    for match in re.finditer(r"<(x\d+)/>", paragraph.text):
        node = paragraph.named[match.group(1)]
        assert isinstance(node, CodeNode)
        if any(etree.QName(element).localname == "tab" for element, _run in node.items):
            continue
        before = paragraph.text[match.start() - 1 : match.start()]
        after = paragraph.text[match.end() : match.end() + 1]
        assert not (_latin_letter(before) and _latin_letter(after)), paragraph.text

    apply_translation(paragraph, german(paragraph.text))
    edges = (w("bookmarkStart"), w("bookmarkEnd"), w("commentRangeStart"), w("commentRangeEnd"))
    found = [
        f"{etree.QName(el).localname} {el.get(w('id'))}" for el in paragraph.element.iter(*edges)
    ]
    assert sorted(found) == sorted(markers)
    for position, edge in enumerate(found):
        end = edge.replace("Start", "End")
        assert end not in found[:position], found


def _latin_letter(char: str) -> bool:
    return char.isascii() and char.isalnum()

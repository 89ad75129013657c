"""Build Word documents for the tests, and ``samples/brochure.docx``.

python-docx writes what it has an API for; hyperlinks, fields, footnotes and text boxes are
added as WordprocessingML with lxml (python-docx has no API for them).

Run ``python tests/formats/make_docx_samples.py`` to regenerate ``samples/brochure.docx``.
"""

from __future__ import annotations

from pathlib import Path

import docx
from docx.document import Document
from docx.opc.constants import CONTENT_TYPE as CT
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.opc.packuri import PackURI
from docx.opc.part import Part
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.text.paragraph import Paragraph
from lxml import etree

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_NOTES_XML = (
    f'<w:footnotes xmlns:w="{W_NS}">'
    '<w:footnote w:type="separator" w:id="-1"><w:p><w:r><w:separator/></w:r></w:p></w:footnote>'
    '<w:footnote w:type="continuationSeparator" w:id="0"><w:p><w:r><w:continuationSeparator/>'
    "</w:r></w:p></w:footnote></w:footnotes>"
)


def add_hyperlink(paragraph: Paragraph, text: str, url: str) -> None:
    """Append an external hyperlink (its own relationship) styled blue and underlined."""
    rid = paragraph.part.relate_to(url, RT.HYPERLINK, is_external=True)
    link = parse_xml(
        f'<w:hyperlink {nsdecls("w", "r")} r:id="{rid}"><w:r><w:rPr>'
        '<w:color w:val="0563C1"/><w:u w:val="single"/></w:rPr>'
        f'<w:t xml:space="preserve">{text}</w:t></w:r></w:hyperlink>'
    )
    paragraph._p.append(link)


def add_complex_field(paragraph: Paragraph, instruction: str, result: str) -> None:
    """Append a complex field: begin, ``instruction``, separate, ``result``, end."""
    for xml in (
        '<w:r><w:fldChar w:fldCharType="begin"/></w:r>',
        f'<w:r><w:instrText xml:space="preserve"> {instruction} </w:instrText></w:r>',
        '<w:r><w:fldChar w:fldCharType="separate"/></w:r>',
        f"<w:r><w:t>{result}</w:t></w:r>",
        '<w:r><w:fldChar w:fldCharType="end"/></w:r>',
    ):
        paragraph._p.append(parse_xml(xml.replace("<w:r>", f"<w:r {nsdecls('w')}>", 1)))


def add_simple_field(paragraph: Paragraph, instruction: str, result: str) -> None:
    """Append a ``w:fldSimple`` with ``instruction`` and a cached ``result``."""
    paragraph._p.append(
        parse_xml(
            f'<w:fldSimple {nsdecls("w")} w:instr=" {instruction} ">'
            f"<w:r><w:t>{result}</w:t></w:r></w:fldSimple>"
        )
    )


def _notes_part(document: Document) -> etree._Element:
    """The footnotes part's root element, created (and related) on first use."""
    part = document.part
    for rel in part.rels.values():
        if rel.reltype == RT.FOOTNOTES:
            target = rel.target_part
            assert isinstance(target, _XmlBlobPart)
            return target.root
    notes = _XmlBlobPart(
        PackURI("/word/footnotes.xml"), CT.WML_FOOTNOTES, _NOTES_XML.encode(), part.package
    )
    part.relate_to(notes, RT.FOOTNOTES)
    return notes.root


class _XmlBlobPart(Part):
    """A part python-docx has no class for, kept as an lxml tree and serialized on save."""

    def __init__(self, partname: PackURI, content_type: str, blob: bytes, package: object) -> None:
        super().__init__(partname, content_type, blob, package)  # type: ignore[arg-type]
        self.root = etree.fromstring(blob)

    @property
    def blob(self) -> bytes:
        data: bytes = etree.tostring(
            self.root, xml_declaration=True, encoding="UTF-8", standalone=True
        )
        return data


def add_footnote(document: Document, paragraph: Paragraph, text: str) -> int:
    """Append a footnote reference to ``paragraph`` and the footnote ``text``; returns its id."""
    notes = _notes_part(document)
    note_id = max(int(n.get(qn("w:id"))) for n in notes.iter(qn("w:footnote"))) + 1
    notes.append(
        etree.fromstring(
            f'<w:footnote xmlns:w="{W_NS}" w:id="{note_id}"><w:p>'
            '<w:r><w:rPr><w:vertAlign w:val="superscript"/></w:rPr><w:footnoteRef/></w:r>'
            f'<w:r><w:t xml:space="preserve"> {text}</w:t></w:r></w:p></w:footnote>'
        )
    )
    paragraph._p.append(
        parse_xml(
            f'<w:r {nsdecls("w")}><w:rPr><w:vertAlign w:val="superscript"/></w:rPr>'
            f'<w:footnoteReference w:id="{note_id}"/></w:r>'
        )
    )
    return note_id


def add_textbox(paragraph: Paragraph, text: str, box_id: int = 10) -> None:
    """Append a floating text box holding ``text``: DrawingML with a VML fallback (as Word does)."""
    body = f"<w:txbxContent><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:txbxContent>"
    paragraph._p.append(
        parse_xml(
            f'<w:r {nsdecls("w", "wp", "a")} xmlns:v="urn:schemas-microsoft-com:vml" '
            'xmlns:mc="http://schemas.openxmlformats.org/markup-compatibility/2006" '
            'xmlns:wps="http://schemas.microsoft.com/office/word/2010/wordprocessingShape">'
            '<mc:AlternateContent><mc:Choice Requires="wps"><w:drawing>'
            '<wp:inline distT="0" distB="0" distL="0" distR="0">'
            '<wp:extent cx="2286000" cy="457200"/>'
            f'<wp:docPr id="{box_id}" name="Text Box {box_id}"/>'
            '<a:graphic><a:graphicData uri="http://schemas.microsoft.com/office/word/2010/'
            'wordprocessingShape"><wps:wsp><wps:cNvSpPr txBox="1"/><wps:spPr><a:xfrm>'
            '<a:off x="0" y="0"/><a:ext cx="2286000" cy="457200"/></a:xfrm>'
            '<a:prstGeom prst="rect"><a:avLst/></a:prstGeom></wps:spPr>'
            f"<wps:txbx>{body}</wps:txbx><wps:bodyPr/></wps:wsp></a:graphicData></a:graphic>"
            "</wp:inline></w:drawing></mc:Choice><mc:Fallback><w:pict>"
            f'<v:shape id="tb{box_id}" type="#_x0000_t202" style="width:180pt;height:36pt">'
            f"<v:textbox>{body}</v:textbox></v:shape></w:pict></mc:Fallback>"
            "</mc:AlternateContent></w:r>"
        )
    )


def build_brochure(path: Path) -> Path:
    """The project's sample: title, bold span, link, footnote, table, header/footer fields."""
    document = docx.Document()
    props = document.core_properties
    props.title = "Summer Ferry Guide"
    props.subject = "Timetable and travel tips"
    props.author = "mtpipe samples"
    document.add_paragraph("Summer Ferry Guide", style="Title")

    intro = document.add_paragraph("Boats leave the harbour ")
    intro.add_run("every hour").bold = True
    intro.add_run(" from seven in the morning. Book online at ")
    add_hyperlink(intro, "our website", "https://example.com/ferries")
    intro.add_run(" or at the kiosk.")
    add_footnote(document, intro, "The kiosk is closed on public holidays.")

    bikes = document.add_paragraph("Bicycles travel ")
    bikes.add_run("free of charge").italic = True
    bikes.add_run(" on every crossing.")

    document.add_heading("Timetable", level=1)
    rows = [
        ("Route", "Crossing time", "First boat"),
        ("Harbour to North Island", "25 minutes", "7:00"),
        ("Harbour to Lighthouse Bay", "40 minutes", "7:30"),
    ]
    table = document.add_table(rows=len(rows), cols=3)
    table.style = "Table Grid"
    for cells, values in zip((row.cells for row in table.rows), rows):
        for cell, value in zip(cells, values):
            cell.text = value
    for cell in table.rows[0].cells:
        cell.paragraphs[0].runs[0].bold = True

    contact = document.add_paragraph("Questions? Call us:")
    run = contact.add_run()
    run.add_tab()
    run.add_text("555 0100")

    section = document.sections[0]
    section.header.paragraphs[0].text = "Harbour Ferries - summer timetable"
    footer = section.footer.paragraphs[0]
    footer.text = "Page "
    add_complex_field(footer, "PAGE", "1")
    footer.add_run(" of ")
    add_complex_field(footer, "NUMPAGES", "1")
    path.parent.mkdir(parents=True, exist_ok=True)
    document.save(str(path))
    return path


if __name__ == "__main__":
    print(build_brochure(Path(__file__).resolve().parents[2] / "samples" / "brochure.docx"))

"""Shared helpers of the .docx tests: translate a file, read parts of the output back."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path

import docx
from lxml import etree

from mtpipe.formats.base import WriteReport
from mtpipe.formats.docx import DocxFormat
from mtpipe.formats.docx.inline import read_paragraph
from mtpipe.formats.docx.nodes import Paragraph
from mtpipe.testing.fake_translate import fake_translate
from mtpipe.text.segments import Segment
from tests.formats.contract import GERMAN, FuncTranslations

FMT = DocxFormat()
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
STRICT_W = "http://purl.oclc.org/ooxml/wordprocessingml/main"

#: Transitional -> Strict names of the markup a python-docx document uses (ISO/IEC 29500-1
#: Strict schemas), most specific first: the extended properties also change their local name.
_TO_STRICT = (
    (
        "http://schemas.openxmlformats.org/officeDocument/2006/relationships/extended-properties",
        "http://purl.oclc.org/ooxml/officeDocument/relationships/extendedProperties",
    ),
    (
        "http://schemas.openxmlformats.org/officeDocument/2006/extended-properties",
        "http://purl.oclc.org/ooxml/officeDocument/extendedProperties",
    ),
    (W, STRICT_W),
    (
        "http://schemas.openxmlformats.org/officeDocument/2006/",
        "http://purl.oclc.org/ooxml/officeDocument/",
    ),
    ("http://schemas.openxmlformats.org/drawingml/2006/", "http://purl.oclc.org/ooxml/drawingml/"),
)


def german(text: str) -> str:
    return fake_translate(text, "German")


def segments(path: Path, **options: object) -> list[Segment]:
    return list(FMT.read(path, options))


def translate(
    path: Path, fn: Callable[[str], str | None] = german, **options: object
) -> tuple[Path, FuncTranslations, WriteReport]:
    dest = path.parent / "out" / path.name
    tr = FuncTranslations(fn)
    report = FMT.write(path, dest, [GERMAN], tr, options)
    return dest, tr, report


def paragraph_from(xml: str) -> Paragraph:
    """A paragraph read from the XML of its content (``w:`` and ``r:`` are declared)."""
    return read_paragraph(etree.fromstring(f'<w:p xmlns:w="{W}" xmlns:r="{R}">{xml}</w:p>'))


def part_xml(path: Path, name: str) -> etree._Element:
    with zipfile.ZipFile(path) as archive:
        return etree.fromstring(archive.read(name))


def texts_of(root: etree._Element, tag: str = "t") -> list[str]:
    return [el.text or "" for el in root.iter(f"{{{W}}}{tag}")]


def save(document: docx.document.Document, tmp_path: Path, name: str = "doc.docx") -> Path:
    path = tmp_path / name
    document.save(str(path))
    return path


def assert_same_package(original: Path, written: Path) -> None:
    """Same zip entries in the same order; XML parts canonically equal, other parts equal."""
    with zipfile.ZipFile(original) as a, zipfile.ZipFile(written) as b:
        assert a.namelist() == b.namelist()
        for name in a.namelist():
            left, right = a.read(name), b.read(name)
            if name.endswith((".xml", ".rels")):
                c14n = [etree.tostring(etree.fromstring(x), method="c14n") for x in (left, right)]
                assert c14n[0] == c14n[1], name
            else:
                assert left == right, name


def strict_bytes(data: bytes) -> bytes:
    """A Transitional XML part or .rels in Strict names (a fixture builder, not a converter)."""
    for transitional, strict in _TO_STRICT:
        data = data.replace(transitional.encode(), strict.encode())
    return data


def transitional_bytes(data: bytes) -> bytes:
    """The inverse of :func:`strict_bytes`."""
    for transitional, strict in _TO_STRICT:
        data = data.replace(strict.encode(), transitional.encode())
    return data


def convert(source: Path, dest: Path, change: Callable[[bytes], bytes]) -> Path:
    """Copy a package entry for entry, passing its XML parts and relationships through ``change``;
    the main part says ``w:conformance="strict"`` when the result is Strict."""
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename.endswith((".xml", ".rels")):
                data = change(data)
            if info.filename == "word/document.xml" and STRICT_W.encode() in data:
                data = data.replace(b"<w:document ", b'<w:document w:conformance="strict" ', 1)
            zout.writestr(info, data)
    return dest

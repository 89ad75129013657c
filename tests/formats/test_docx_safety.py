"""A .docx is untrusted input: zip bombs, XXE and non-Word files are clear InputErrors."""

from __future__ import annotations

import struct
import zipfile
from pathlib import Path

import docx
import pytest

from mtpipe.errors import InputError
from mtpipe.formats.docx import DocxFormat
from mtpipe.formats.docx import package as docx_package
from tests.formats.contract import GERMAN, FuncTranslations

FMT = DocxFormat()


def base_docx(tmp_path: Path) -> Path:
    document = docx.Document()
    document.add_paragraph("Hello world")
    path = tmp_path / "base.docx"
    document.save(str(path))
    return path


def rewrite(source: Path, dest: Path, replace: dict[str, bytes | None]) -> Path:
    """Copy a zip, replacing (bytes) or dropping (None) some entries."""
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zout:
        for name in zin.namelist():
            if name in replace:
                if replace[name] is not None:
                    zout.writestr(name, replace[name])  # type: ignore[arg-type]
            else:
                zout.writestr(name, zin.read(name))
    return dest


def read_error(path: Path) -> str:
    with pytest.raises(InputError) as info:
        list(FMT.read(path, {}))
    message = str(info.value)
    assert str(path) in message and "\n" not in message
    return message


def refused_unexpanded(path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The InputError message for ``path``, failing the test if any entry is decompressed."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("a zip entry was expanded")

    with monkeypatch.context() as patch:
        patch.setattr(zipfile.ZipFile, "open", refuse)
        return read_error(path)


def test_too_many_entries_refused_before_expansion(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "many.docx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for index in range(docx_package.MAX_ENTRIES + 1):
            archive.writestr(zipfile.ZipInfo(f"x/{index}"), b"")
    assert "zip entries" in refused_unexpanded(path, monkeypatch)


def test_huge_declared_size_refused_before_expansion(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = base_docx(tmp_path)
    data = bytearray(path.read_bytes())
    # Claim 3 GiB uncompressed for the first entry in the central directory.
    central = data.index(b"PK\x01\x02")
    struct.pack_into("<I", data, central + 24, 3 << 30)
    path.write_bytes(bytes(data))
    assert "uncompressed" in refused_unexpanded(path, monkeypatch)


def test_absurd_compression_ratio_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "bomb.docx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", b"<Types/>")
        archive.writestr("word/document.xml", b" " * (4 << 20))
    assert "zip bomb" in refused_unexpanded(path, monkeypatch)


def test_external_entity_refused_and_never_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    xxe = (
        '<?xml version="1.0"?>'
        f'<!DOCTYPE w:document [<!ENTITY xxe SYSTEM "file://{secret}">]>'
        '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        "<w:body><w:p><w:r><w:t>&xxe;</w:t></w:r></w:p></w:body></w:document>"
    ).encode()
    path = rewrite(base_docx(tmp_path), tmp_path / "xxe.docx", {"word/document.xml": xxe})
    message = read_error(path)
    assert "DTD" in message and "word/document.xml" in message
    assert "TOP-SECRET" not in message
    with pytest.raises(InputError):
        docx_package.parse_xml(xxe.replace(b"<!DOCTYPE", b"<!doctype"), path, "part")


def test_entity_expansion_refused(tmp_path: Path) -> None:
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
        b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
        b"<w:body><w:p><w:r><w:t>&lol2;</w:t></w:r></w:p></w:body></w:document>"
    )
    path = rewrite(base_docx(tmp_path), tmp_path / "lol.docx", {"word/document.xml": laughs})
    assert "DTD" in read_error(path)


def test_not_a_zip(tmp_path: Path) -> None:
    path = tmp_path / "old.docx"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512)  # an OLE .doc header
    assert "not a Word document" in read_error(path)


def test_zip_without_main_part(tmp_path: Path) -> None:
    path = rewrite(base_docx(tmp_path), tmp_path / "nomain.docx", {"word/document.xml": None})
    assert "no main document part" in read_error(path)


def test_zip_that_is_not_a_package(tmp_path: Path) -> None:
    path = tmp_path / "plain.docx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("readme.txt", "hello")
    assert "[Content_Types].xml" in read_error(path)


def test_main_part_of_another_office_type(tmp_path: Path) -> None:
    source = base_docx(tmp_path)
    with zipfile.ZipFile(source) as archive:
        types = archive.read("[Content_Types].xml").replace(
            b"wordprocessingml.document.main+xml", b"spreadsheetml.sheet.main+xml"
        )
    path = rewrite(source, tmp_path / "sheet.docx", {"[Content_Types].xml": types})
    assert "content type" in read_error(path)


def test_malformed_part_names_the_part(tmp_path: Path) -> None:
    path = rewrite(
        base_docx(tmp_path), tmp_path / "broken.docx", {"word/document.xml": b"<w:document><oops>"}
    )
    message = read_error(path)
    assert "word/document.xml" in message and "malformed XML" in message


def test_bad_file_on_write_is_input_error_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "corrupt.docx"
    path.write_bytes(b"garbage")
    dest = tmp_path / "out" / "corrupt.docx"
    with pytest.raises(InputError):
        FMT.write(path, dest, [GERMAN], FuncTranslations(), {})
    assert not dest.exists()


def test_damaged_entry_data_is_input_error(tmp_path: Path) -> None:
    source = base_docx(tmp_path)
    path = tmp_path / "damaged.docx"
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as zout:
        for name in zin.namelist():
            zout.writestr(name, zin.read(name))
    path.write_bytes(path.read_bytes().replace(b"Hello world", b"Jello world"))  # CRC now wrong
    message = read_error(path)
    assert "corrupt zip entry" in message and "word/document.xml" in message


def test_entry_needing_an_unknown_zip_version_is_input_error(tmp_path: Path) -> None:
    # Found by the fuzzer: zipfile raises NotImplementedError("zip file version 8.4").
    data = bytearray(base_docx(tmp_path).read_bytes())
    central = data.index(b"PK\x01\x02")  # the first entry's central directory header
    data[central + 6 : central + 8] = struct.pack("<H", 84)  # version needed to extract: 8.4
    path = tmp_path / "future.docx"
    path.write_bytes(bytes(data))
    message = read_error(path)
    assert "zip file version 8.4" in message


def with_case_twin(tmp_path: Path, twin: str) -> Path:
    """The base document plus an entry ``twin`` whose name differs from one only in case."""
    source = base_docx(tmp_path)
    path = tmp_path / "twins.docx"
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for name in zin.namelist():
            zout.writestr(name, zin.read(name))
        other = zin.read("word/document.xml").replace(b"Hello world", b"Another text")
        zout.writestr(twin, other)
    return path


@pytest.mark.parametrize("twin", ["WORD/DOCUMENT.XML", "word/Document.xml", "Word/styles.xml"])
def test_entries_differing_only_in_case_refused_naming_both(tmp_path: Path, twin: str) -> None:
    # Word and python-docx would open one of the twins, mtpipe could translate the other.
    path = with_case_twin(tmp_path, twin)
    message = read_error(path)
    assert repr(twin) in message and repr(twin.lower()) in message and "ignore case" in message
    dest = tmp_path / "out" / "twins.docx"
    with pytest.raises(InputError):
        FMT.write(path, dest, [GERMAN], FuncTranslations(), {})
    assert not dest.exists()


def test_relationship_target_differing_in_case_from_its_entry_is_found(tmp_path: Path) -> None:
    source = base_docx(tmp_path)
    with zipfile.ZipFile(source) as archive:
        rels = archive.read("_rels/.rels").replace(b'"word/document.xml"', b'"WORD/Document.XML"')
    assert b"WORD/Document.XML" in rels
    path = rewrite(source, tmp_path / "upper.docx", {"_rels/.rels": rels})
    assert [s.text for s in FMT.read(path, {})] == ["Hello world"]

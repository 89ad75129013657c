"""The .docx package: zip safety checks, safe XML parsing, finding the parts to translate.

A .docx is a zip of XML parts linked by relationships. This module opens it without trusting
it: the zip's central directory is checked (entry count, declared sizes, compression ratio,
entries naming the same part) before any entry is expanded, and every XML part is parsed with
a parser that resolves no entities, loads no DTD and never touches the network (a part that
declares a DOCTYPE is refused outright).

Part names are case-insensitive (OPC, ISO/IEC 29500-2 §6.2.2.3: ``/word/document.xml`` and
``/WORD/DOCUMENT.XML`` are the same part), so relationship targets are looked up ignoring
ASCII case, and a zip holding two entries whose names differ only in case is refused: it is
not a valid package, and readers disagree on which of the two they open.

The package is Transitional or Strict (see :mod:`dialect`), told by the type of the
relationship to its main part; the parts it translates are found with that dialect's
relationship types.

Writing copies the archive entry by entry in its original order, replacing only the parts the
caller changed, so everything the pipeline does not translate (styles, numbering, media,
custom XML, relationships, parts no relationship reaches) comes back byte for byte.
python-docx's own ``Document.save`` was not used for this: it re-serializes every XML part it
knows and writes the entries in its own order.
"""

from __future__ import annotations

import posixpath
import re
import shutil
import string
import zipfile
import zlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

from docx.opc.constants import CONTENT_TYPE as CT
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from lxml import etree

from mtpipe.errors import InputError
from mtpipe.formats.base import atomic_output
from mtpipe.formats.docx.dialect import DIALECTS, TRANSITIONAL, Dialect

#: An archive with more entries than this is refused (Word documents have a few dozen).
MAX_ENTRIES = 10_000
#: Refused when the declared uncompressed sizes add up to more than this.
MAX_TOTAL_SIZE = 1 << 30
#: Refused when one entry larger than ``RATIO_MIN_SIZE`` expands more than this many times.
MAX_RATIO = 200
RATIO_MIN_SIZE = 1 << 20

_PKG_RELS_NS = "http://schemas.openxmlformats.org/package/2006/relationships"
_CT_NS = "http://schemas.openxmlformats.org/package/2006/content-types"

#: Content types of a WordprocessingML main part (document, macro-enabled, templates); the
#: same in Transitional and Strict packages.
MAIN_CONTENT_TYPES = frozenset(
    {
        CT.WML_DOCUMENT_MAIN,
        "application/vnd.ms-word.document.macroEnabled.main+xml",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.template.main+xml",
        "application/vnd.ms-word.template.macroEnabledTemplate.main+xml",
    }
)

#: Relationship kinds of the main part whose targets are translated, in the order they are
#: read (the type is ``dialect.relationship(kind)``).
PART_KINDS = ("header", "footer", "footnotes", "endnotes", "comments")

_DTD_MARKERS = (b"<!DOCTYPE", b"<!ENTITY")
#: What zipfile raises on damaged entry data (bad CRC, truncated or invalid deflate stream,
#: a local header offset that points outside the file: OSError EINVAL from seek; an unknown
#: compression method or "version needed to extract": NotImplementedError).
_CORRUPT = (zipfile.BadZipFile, zlib.error, EOFError, ValueError, OSError, NotImplementedError)
#: Entries are decompressed this much at a time: ``ZipFile.read`` inflates the whole compressed
#: stream at once, so an entry lying about its size would be expanded in memory before the size
#: check (a 1 MB deflate stream can hold 1 GB).
_CHUNK = 1 << 20

#: Case-insensitive zip entry lookup: part name -> the entry's real name, or None.
_Lookup = Callable[[str], "str | None"]
#: Part names are compared ignoring ASCII case only (OPC); other characters compare as they are.
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


@dataclass(frozen=True, slots=True)
class PartRef:
    """A part to translate: its zip entry name and its kind (document, header, ...)."""

    name: str
    kind: str


@dataclass(slots=True)
class Package:
    """An opened, checked .docx: the zip and the parts the format translates, in order."""

    path: Path
    archive: zipfile.ZipFile
    main: PartRef
    #: The vocabulary its document markup is written in.
    dialect: Dialect
    #: Main part first, then headers, footers, footnotes, endnotes, comments (each once).
    parts: list[PartRef] = field(default_factory=list)
    #: The core properties part (title, subject), when the package has one.
    core: str | None = None

    def read_xml(self, name: str) -> etree._Element:
        """Parse part ``name`` safely; InputError naming the file and the part when it is bad."""
        return parse_xml(read_entry(self.archive, self.path, name), self.path, name)

    def read_part(self, part: PartRef) -> etree._Element:
        """Parse a part to translate; InputError when its root is not in the package's
        WordprocessingML namespace (nothing in it would be found, and nothing translated)."""
        root = self.read_xml(part.name)
        namespace = etree.QName(root).namespace
        if namespace != self.dialect.main:
            raise InputError(
                self.path,
                f"the {part.kind} part is not {self.dialect.name} WordprocessingML as the "
                f"package says: its root element is in namespace {namespace or 'none'!r}",
                place=part.name,
            )
        return root


def read_entry(archive: zipfile.ZipFile, path: Path, name: str) -> bytes:
    """The bytes of zip entry ``name``; InputError when its data is corrupt.

    Never holds more than the entry's declared size plus one chunk: reading stops at the
    declared size and the CRC check then refuses an entry that holds more.
    """
    try:
        with archive.open(name) as handle:
            chunks = []
            while chunk := handle.read(_CHUNK):
                chunks.append(chunk)
            return b"".join(chunks)
    except _CORRUPT as exc:
        raise InputError(path, f"corrupt zip entry: {_one_line(str(exc))}", place=name) from None


def parse_xml(data: bytes, path: Path, part: str) -> etree._Element:
    """Parse one XML part: no DTD, no entity expansion, no network.

    A part that declares a DOCTYPE or entities is refused: no Word part needs one, and it is
    how XXE and entity-expansion attacks start.
    """
    if any(marker in data for marker in _DTD_MARKERS):
        raise InputError(path, "refusing an XML part that declares a DTD or entities", place=part)
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise InputError(path, f"malformed XML: {_one_line(str(exc))}", place=part) from None
    if root.getroottree().docinfo.doctype:
        raise InputError(path, "refusing an XML part that declares a DTD or entities", place=part)
    return root


def serialize_xml(root: etree._Element) -> bytes:
    """Serialize a part the way Word writes it: UTF-8 with an XML declaration."""
    tree = root.getroottree()
    standalone = tree.docinfo.standalone
    data: bytes = etree.tostring(
        tree, xml_declaration=True, encoding="UTF-8", standalone=standalone
    )
    return data


def check_archive(archive: zipfile.ZipFile, path: Path) -> None:
    """Refuse zip bombs and odd archives from the central directory, before expanding anything."""
    infos = archive.infolist()
    if len(infos) > MAX_ENTRIES:
        raise InputError(
            path, f"refusing a .docx with {len(infos)} zip entries (limit {MAX_ENTRIES})"
        )
    total = sum(info.file_size for info in infos)
    if total > MAX_TOTAL_SIZE:
        raise InputError(
            path,
            f"refusing a .docx whose entries expand to {total} bytes uncompressed "
            f"(limit {MAX_TOTAL_SIZE})",
        )
    seen: dict[str, str] = {}
    for info in infos:
        ratio_limit = MAX_RATIO * max(info.compress_size, 1)
        if info.file_size > RATIO_MIN_SIZE and info.file_size > ratio_limit:
            raise InputError(
                path,
                f"refusing zip entry {info.filename!r}: it expands {info.file_size} bytes from "
                f"{info.compress_size} (a zip bomb?)",
            )
        if info.flag_bits & 0x1:
            raise InputError(path, f"zip entry {info.filename!r} is encrypted")
        _check_unique(path, info.filename, seen)


def part_key(name: str) -> str:
    """The form under which two part names (or zip entry names) are the same part: ASCII case
    folded, as OPC compares them."""
    return name.translate(_ASCII_LOWER)


def _check_unique(path: Path, name: str, seen: dict[str, str]) -> None:
    """Refuse entry ``name`` when an entry seen before names the same part; record it."""
    key = part_key(name)
    other = seen.get(key)
    if other == name:
        raise InputError(path, f"zip entry {name!r} appears twice")
    if other is not None:
        raise InputError(
            path,
            f"refusing an invalid package: zip entries {other!r} and {name!r} name the same "
            "part (part names ignore case), and readers disagree on which one they open",
        )
    seen[key] = name


@contextmanager
def open_package(path: Path) -> Iterator[Package]:
    """Open and check a .docx; yields a :class:`Package`, closes the zip on exit.

    Raises InputError naming the file when it is not a zip, is a zip bomb, is not a Word
    document, or its content types / relationships are unreadable.
    """
    try:
        archive = zipfile.ZipFile(path)
    except OSError as exc:
        raise InputError(path, f"cannot open: {exc.strerror or exc}") from None
    except (zipfile.BadZipFile, ValueError) as exc:
        raise InputError(
            path,
            "not a Word document: a .docx is a zip archive and this file is not one "
            f"(an old .doc, or password-protected?) ({_one_line(str(exc))})",
        ) from None
    except NotImplementedError as exc:  # an entry needs a zip version or method zipfile lacks
        raise InputError(path, f"unsupported zip archive ({_one_line(str(exc))})") from None
    with archive:
        check_archive(archive, path)
        yield _locate_parts(archive, path)


def write_package(package: Package, dest: Path, replaced: Mapping[str, bytes]) -> None:
    """Write ``package`` to ``dest`` atomically, entries in their order, ``replaced`` swapped in."""
    source = package.archive
    with atomic_output(dest) as tmp, zipfile.ZipFile(tmp, "w", allowZip64=True) as out:
        for info in source.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=info.date_time)
            entry.compress_type = info.compress_type
            entry.external_attr = info.external_attr
            entry.create_system = info.create_system
            entry.comment = info.comment
            if info.filename in replaced:
                out.writestr(entry, replaced[info.filename])
            elif info.is_dir():
                out.writestr(entry, b"")
            else:
                _copy_entry(package, info, entry, out)


def _copy_entry(
    package: Package, info: zipfile.ZipInfo, entry: zipfile.ZipInfo, out: zipfile.ZipFile
) -> None:
    big = info.file_size > 0x7FFF0000
    try:
        with package.archive.open(info) as reader, out.open(entry, "w", force_zip64=big) as writer:
            shutil.copyfileobj(reader, writer, 1 << 20)
    except _CORRUPT as exc:
        message = f"corrupt zip entry: {_one_line(str(exc))}"
        raise InputError(package.path, message, place=info.filename) from None


# ---- relationships ------------------------------------------------------------------------


def _locate_parts(archive: zipfile.ZipFile, path: Path) -> Package:
    names = {part_key(name): name for name in archive.namelist()}

    def entry(part: str) -> str | None:
        return names.get(part_key(part))

    content_types = entry("[Content_Types].xml")
    if content_types is None:
        raise InputError(path, "not a Word document: the zip has no [Content_Types].xml")
    package_rels = _relationships(archive, path, entry, "")
    main_name, dialect = _main_part(package_rels)
    main_entry = entry(main_name) if main_name else None
    if main_entry is None:
        raise InputError(path, "not a Word document: no main document part (word/document.xml)")
    main_type = _content_type(archive, path, content_types, main_entry)
    if main_type not in MAIN_CONTENT_TYPES:
        raise InputError(
            path, f"not a Word document: its main part has content type {main_type or 'none'!r}"
        )
    package = Package(path, archive, PartRef(main_entry, "document"), dialect)
    package.parts.append(package.main)
    seen = {main_entry}
    main_rels = _relationships(archive, path, entry, main_entry)
    for kind in PART_KINDS:
        rel_type = dialect.relationship(kind)
        found = sorted(
            {e for t, k in main_rels if k == rel_type and (e := entry(t)) is not None} - seen,
            key=_natural,
        )
        seen.update(found)
        package.parts.extend(PartRef(name, kind) for name in found)
    core = next((t for t, kind in package_rels if kind == RT.CORE_PROPERTIES), None)
    package.core = entry(core) if core else None
    return package


def _main_part(package_rels: list[tuple[str, str]]) -> tuple[str | None, Dialect]:
    """The target of the package's officeDocument relationship and the dialect its type is in
    (None and Transitional when there is none)."""
    for target, rel_type in package_rels:
        for dialect in DIALECTS:
            if rel_type == dialect.relationship("officeDocument"):
                return target, dialect
    return None, TRANSITIONAL


def _relationships(
    archive: zipfile.ZipFile, path: Path, entry: _Lookup, source: str
) -> list[tuple[str, str]]:
    """(target part name, relationship type) of the internal relationships of ``source``."""
    folder, base = posixpath.split(source)
    rels_name = entry(posixpath.join(folder, "_rels", base + ".rels"))
    if rels_name is None:
        return []
    root = parse_xml(read_entry(archive, path, rels_name), path, rels_name)
    found: list[tuple[str, str]] = []
    for rel in root.iter(f"{{{_PKG_RELS_NS}}}Relationship"):
        target = rel.get("Target")
        if not target or rel.get("TargetMode") == "External":
            continue
        target = unquote(target)
        if target.startswith("/"):
            resolved = target.lstrip("/")
        else:
            resolved = posixpath.normpath(posixpath.join(folder, target))
        found.append((resolved, rel.get("Type", "")))
    return found


def _content_type(archive: zipfile.ZipFile, path: Path, types: str, part: str) -> str:
    """The content type of ``part``: its Override, else the Default for its extension."""
    root = parse_xml(read_entry(archive, path, types), path, types)
    for override in root.iter(f"{{{_CT_NS}}}Override"):
        if part_key(override.get("PartName", "").lstrip("/")) == part_key(part):
            return str(override.get("ContentType", ""))
    extension = posixpath.splitext(part)[1].lstrip(".").lower()
    for default in root.iter(f"{{{_CT_NS}}}Default"):
        if default.get("Extension", "").lower() == extension:
            return str(default.get("ContentType", ""))
    return ""


def _natural(name: str) -> list[int | str]:
    """Sort key putting header2.xml before header10.xml."""
    return [int(piece) if piece.isdigit() else piece for piece in re.split(r"(\d+)", name)]


def _one_line(text: str) -> str:
    return " ".join(text.split())

"""Streaming CSV/TSV reading that remembers how the file was written.

This is the low-level half of the CSV format (:mod:`mtpipe.formats.tabular.csv` is the other):

- :class:`CsvSource` opens a file, detects its encoding (UTF-8 with or without BOM, or the
  ``encoding`` option) and dialect (delimiter, quote character, whether fields may be quoted at
  all), and yields records one at a time, with the physical line each starts on and, on
  request, its raw text.
- :func:`split_raw` cuts a record's raw text back into raw fields, and :func:`render` writes a
  new value the way a given raw field was written (quoted or not), so a writer can replace a
  few cells and keep every other byte of the file as it was.

Nothing here holds more than one record (plus a bounded sniffing sample) in memory.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Self

from mtpipe.errors import ConfigError, InputError
from mtpipe.formats.base import Options

#: Fields up to this size are accepted (the csv module's default limit is 128 KiB).
FIELD_SIZE_LIMIT = 64 * 1024 * 1024
csv.field_size_limit(max(csv.field_size_limit(), FIELD_SIZE_LIMIT))

UTF8_BOM = codecs.BOM_UTF8
#: How much of the file's start the dialect sniffer looks at.
SAMPLE_BYTES = 32 * 1024
DELIMITERS = ",;\t|"

_LINE_END = re.compile(r"\r\n|\n|\r")
_QUOTED = re.compile(r"\"[^\"]*\"|'[^']*'")
#: A line break, or a tab: what a field of a file without quoting cannot hold.
_UNQUOTED_BREAKS = re.compile(r"\r\n|[\n\r]")
#: A record of a tab-separated file whose every field is enclosed in double quotes.
_ALL_QUOTED_TSV = re.compile(r'"(?:[^"]|"")*"(?:\t"(?:[^"]|"")*")*(?:\r\n|\n|\r|\Z)')


@dataclass(frozen=True, slots=True)
class Dialect:
    """How fields are separated and quoted. Quotes inside quoted fields are always doubled.

    Without ``quoting`` (IANA text/tab-separated-values) a field is everything between two
    delimiters: quote characters are plain text, and a field cannot hold the delimiter or a
    line break.
    """

    delimiter: str
    quotechar: str
    skipinitialspace: bool = False
    quoting: bool = True


def resolve_encoding(options: Options) -> str | None:
    """The ``encoding`` option as a codec name; None when unset or UTF-8 (BOM auto-detected).

    Raises ConfigError for an unknown encoding.
    """
    value = options.get("encoding")
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise ConfigError(f"option 'encoding' must be a string, got {value!r}")
    try:
        name = codecs.lookup(value).name
    except LookupError:
        raise ConfigError(f"unknown encoding {value!r} (option 'encoding')") from None
    return None if name in ("utf-8", "utf-8-sig") else name


def sniff_dialect(sample: str, suffix: str) -> Dialect:
    """Guess the dialect from the start of a file.

    ``.tsv`` files are tab-separated, without quoting (IANA text/tab-separated-values: a
    title such as ``"Swing it" magistern`` is text) unless they quote their fields throughout
    (see :func:`quoted_throughout`). Otherwise :class:`csv.Sniffer` picks among
    ``, ; TAB |``; its choice is kept only if the header line contains it, else the candidate
    most frequent in the header line (outside quotes) wins, else ``,`` (a one-column file).
    The quote character is ``"`` unless the sniffer saw ``'`` and the sample has no ``"``.
    """
    if suffix.lower() == ".tsv":
        return Dialect("\t", '"', quoting=quoted_throughout(sample))
    header = _QUOTED.sub("", sample.split("\n", 1)[0])
    counts = {d: header.count(d) for d in DELIMITERS}
    delimiter, quotechar, skip = ",", '"', False
    try:
        sniffed = csv.Sniffer().sniff(sample, delimiters=DELIMITERS)
        delimiter, quotechar = sniffed.delimiter, sniffed.quotechar or '"'
        skip = bool(sniffed.skipinitialspace)
    except csv.Error:
        delimiter = ""
    if counts.get(delimiter, 0) == 0:
        best = max(DELIMITERS, key=lambda d: counts[d])
        delimiter = best if counts[best] > 0 else ","
    if quotechar not in ('"', "'") or (quotechar == "'" and '"' in sample):
        quotechar = '"'
    return Dialect(delimiter, quotechar, skip)


def quoted_throughout(sample: str) -> bool:
    """Whether a tab-separated sample encloses every field in double quotes, as some exporters
    do: every field of the header, or every field of every data record in the sample.

    A record cut off at the sample's end counts as quoted when what the sample holds of it is.
    """
    if _ALL_QUOTED_TSV.match(sample):
        return True
    newline = _LINE_END.search(sample)
    if newline is None:
        return False
    position, size, records = newline.end(), len(sample), 0
    while position < size:
        blank = _LINE_END.match(sample, position)
        if blank:
            position = blank.end()
            continue
        record = _ALL_QUOTED_TSV.match(sample, position)
        if record is None:
            return _cut_off_quoted(sample[position:])
        position, records = record.end(), records + 1
    return records > 0


def _cut_off_quoted(rest: str) -> bool:
    """Whether ``rest`` (the sample's last, incomplete record) is quoted as far as it goes."""
    return _ALL_QUOTED_TSV.fullmatch(rest + '"') is not None


#: What to do about bytes that do not decode, for an input file.
ENCODING_HINT = (
    "if the file uses another encoding, set the 'encoding' option "
    "(--encoding latin-1, or encoding in a job file)"
)


class CsvSource:
    """An open CSV file, read record by record (a context manager).

    ``encoding_hint`` ends the message for bytes that do not decode (what the user can do).
    After entering, ``codec`` is the codec to write the file back with, ``bom`` the byte-order
    mark to write first (``b""`` if none), and ``dialect`` the detected dialect.
    """

    def __init__(
        self,
        path: Path,
        options: Options,
        *,
        capture_raw: bool = False,
        encoding_hint: str = ENCODING_HINT,
    ) -> None:
        self.path = path
        self.capture_raw = capture_raw
        self.encoding_hint = encoding_hint
        self._override = resolve_encoding(options)
        self.codec = self._override or "utf-8"
        self.bom = b""
        self.dialect = Dialect(",", '"')
        self._handle: BinaryIO | None = None
        self._text: io.TextIOWrapper | None = None
        self.line = 0
        self.raw = ""

    def __enter__(self) -> Self:
        try:
            self._handle = open(self.path, "rb")
        except OSError as exc:
            raise InputError(self.path, f"cannot open: {exc.strerror or exc}") from None
        start = self._handle.read(SAMPLE_BYTES)
        if self._override is None and start.startswith(UTF8_BOM):
            self.bom = UTF8_BOM
        self.dialect = sniff_dialect(self._sample_text(start), self.path.suffix)
        self._handle.seek(len(self.bom))
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._text is not None:
            self._text.close()
        elif self._handle is not None:
            self._handle.close()
        self._text = self._handle = None

    def _sample_text(self, start: bytes) -> str:
        decoder = codecs.getincrementaldecoder(self.codec)(errors="replace")
        text = decoder.decode(start[len(self.bom) :], final=len(start) < SAMPLE_BYTES)
        if len(start) == SAMPLE_BYTES and "\n" in text:
            text = text[: text.rindex("\n") + 1]  # whole lines only
        return text

    def rows(self) -> Iterator[list[str]]:
        """Yield every record's fields in file order (a blank line gives ``[]``).

        After each yield, ``line`` is the physical line (1-based) the record starts on and
        ``raw`` its exact text with its line terminator ("" unless ``capture_raw``): attributes
        rather than a record object, because this runs once per row of large files.
        Call once per source. Raises InputError (with the line) for undecodable bytes, NUL
        bytes, malformed quoting and fields over :data:`FIELD_SIZE_LIMIT`.
        """
        assert self._handle is not None, "use CsvSource as a context manager"
        # newline="" keeps \r\n, \n and lone \r line ends as they are (the csv module needs it).
        text = io.TextIOWrapper(self._handle, encoding=self.codec, errors="strict", newline="")
        self._text = text  # closed (with the binary handle under it) by __exit__
        captured: list[str] = []
        reader = csv.reader(
            self._capture(text, captured) if self.capture_raw else text,
            delimiter=self.dialect.delimiter,
            quotechar=self.dialect.quotechar,
            quoting=csv.QUOTE_MINIMAL if self.dialect.quoting else csv.QUOTE_NONE,
            doublequote=True,
            skipinitialspace=self.dialect.skipinitialspace,
            strict=True,
        )
        done = 0  # physical lines consumed by completed records
        while True:
            try:
                fields = next(reader)
            except StopIteration:
                return
            except UnicodeDecodeError:
                raise self._decode_error() from None
            except csv.Error as exc:
                raise self._csv_error(exc, done + 1, reader.line_num) from None
            self.line = done + 1
            for field in fields:
                if "\0" in field:  # the csv module accepts NUL; a text file has none
                    raise InputError(self.path, "NUL byte in the file", place=f"line {self.line}")
            if captured:
                self.raw = "".join(captured)
                captured.clear()
            yield fields
            done = reader.line_num

    @staticmethod
    def _capture(lines: Iterator[str], into: list[str]) -> Iterator[str]:
        for line in lines:
            into.append(line)
            yield line

    def _csv_error(self, exc: csv.Error, first: int, line: int) -> InputError:
        if "NUL" in str(exc):
            return InputError(self.path, "NUL byte in the file", place=f"line {line}")
        return InputError(
            self.path,
            f"malformed CSV ({exc}; record starting at line {first})",
            place=f"line {line}",
        )

    def _decode_error(self) -> InputError:
        """Find the first undecodable byte again, line by line, to say exactly where it is.

        Only runs after decoding failed (the fast path decodes in large blocks and cannot tell).
        """
        decoder = codecs.getincrementaldecoder(self.codec)(errors="strict")
        offset, line = len(self.bom), 1
        with open(self.path, "rb") as handle:
            handle.seek(offset)
            for chunk in itertools.chain(handle, [b""]):  # b"": flush a cut-off sequence
                try:
                    text = decoder.decode(chunk, final=not chunk)
                except UnicodeDecodeError as exc:
                    bad = exc.object[exc.start : exc.start + 1].hex()
                    return InputError(
                        self.path,
                        f"byte 0x{bad} at byte offset {offset + exc.start} is not valid "
                        f"{self._override or 'UTF-8'}; {self.encoding_hint}",
                        place=f"line {line}",
                    )
                offset += len(chunk)
                line += len(_LINE_END.findall(text))
        return InputError(self.path, f"cannot decode the file as {self.codec}")


def split_raw(raw: str, dialect: Dialect) -> tuple[list[str], str]:
    """Cut a record's raw text into raw fields (quotes kept) and its line terminator.

    Assumes the record parsed cleanly with ``strict=True``: a quoted field ends right before a
    delimiter or the end of the record.
    """
    if raw.endswith("\r\n"):
        body, terminator = raw[:-2], "\r\n"
    elif raw.endswith(("\n", "\r")):
        body, terminator = raw[:-1], raw[-1]
    else:
        body, terminator = raw, ""
    delimiter, quote = dialect.delimiter, dialect.quotechar
    if not dialect.quoting:
        return body.split(delimiter), terminator
    fields: list[str] = []
    start, size = 0, len(body)
    while True:
        probe = start
        if dialect.skipinitialspace:
            while probe < size and body[probe] == " ":
                probe += 1
        search_from = start
        if probe < size and body[probe] == quote:
            close = probe + 1
            while True:
                close = body.find(quote, close)
                if close == -1 or not body.startswith(quote, close + 1):
                    break
                close += 2  # a doubled quote inside the field
            search_from = size if close == -1 else close + 1
        end = body.find(delimiter, search_from)
        if end == -1:
            fields.append(body[start:])
            return fields, terminator
        fields.append(body[start:end])
        start = end + 1


def is_quoted(raw_field: str, dialect: Dialect) -> bool:
    """Whether a raw field was written between quote characters."""
    if not dialect.quoting:
        return False
    field = raw_field.lstrip(" ") if dialect.skipinitialspace else raw_field
    return field.startswith(dialect.quotechar)


def flatten(value: str, dialect: Dialect) -> str:
    """``value`` as a field of ``dialect`` can hold it: unchanged with quoting; without, each
    delimiter and line break (``\\r\\n`` counts as one) becomes a space."""
    if dialect.quoting:
        return value
    return _UNQUOTED_BREAKS.sub(" ", value).replace(dialect.delimiter, " ")


def render(value: str, dialect: Dialect, *, quoted: bool) -> str:
    """``value`` as a raw field: quoted when ``quoted`` or when it needs quotes to survive.

    Without quoting the value is written :func:`flatten`-ed, the only way it can be held.
    """
    if not dialect.quoting:
        return flatten(value, dialect)
    quote = dialect.quotechar
    needs = (
        quoted
        or dialect.delimiter in value
        or quote in value
        or "\n" in value
        or "\r" in value
        or (dialect.skipinitialspace and value.startswith(" "))
    )
    return quote + value.replace(quote, quote + quote) + quote if needs else value

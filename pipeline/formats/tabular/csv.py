"""CSV and TSV: translate chosen columns, streaming, keeping every other byte as it was.

Options (keys of the ``options`` mapping):

- ``columns`` (required): the columns to translate, a list or a comma-separated string.
- ``in_place`` (bool, default False): translations replace the source cells instead of going
  into new columns; only with a single target language.
- ``encoding``: the file's encoding when it is not UTF-8 (e.g. ``latin-1``). UTF-8 files are
  read with or without a byte-order mark, and written back the same way.

Reading yields one segment per non-empty cell of the selected columns, row by row and, within
a row, in the order the columns are given. ``place`` is ``"row N, column 'name'"`` where N is
the 1-based data row (the first record after the header is row 1; blank lines do not count);
errors name the physical line instead. Empty cells yield nothing and are written back empty.
``context`` is "": the same text in two columns is one translation unit.

Writing re-reads the input and copies every record unchanged, byte for byte: encoding and BOM,
delimiter, quote character, each field's quoting, line terminators, a missing final newline.
Without ``in_place`` it appends one column ``<column>_<code>`` per selected column and target,
after all source columns, grouped by target: ``title_de, description_de, title_fr,
description_fr``. A new cell is quoted when the source cell it comes from is quoted (so
QUOTE_ALL, QUOTE_MINIMAL and "quote the text, not the numbers" files stay as they were), or
when its text needs quotes. A failed translation (None) leaves the new cell empty; with
``in_place`` it keeps the source text. Either way it counts in ``WriteReport.failed``.
If a translation cannot be encoded in a non-UTF-8 input encoding, the whole output is written
as UTF-8 instead and the report says so.

A ``.tsv`` file is read as IANA text/tab-separated-values: a field is everything between two
tabs, quotes included (``"Swing it" magistern`` is a title, not a malformed field), unless the
file encloses every field in double quotes throughout (see
:func:`mtpipe.formats.tabular.delimited.quoted_throughout`), in which case CSV quoting rules
apply. A translation holding a tab or a line break, which an unquoted TSV field cannot hold, is
written with a space in their place and the report says how many were.

Every data record must have as many fields as the header (InputError with the line otherwise).
A 0-byte file has no segments and gives a 0-byte output.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, ClassVar

from mtpipe.errors import ConfigError, InputError
from mtpipe.formats.base import Format, Options, WriteReport, atomic_output, option_list
from mtpipe.formats.tabular.delimited import (
    CsvSource,
    Dialect,
    flatten,
    is_quoted,
    render,
    split_raw,
)
from mtpipe.text.languages import Language
from mtpipe.text.segments import Segment, Translations


class _Unencodable(Exception):
    """A translation does not fit the output encoding (internal: triggers the UTF-8 retry)."""


def columns_of(path: Path, options: Options) -> list[str]:
    """The file's header (column names in order); [] for a file with no records."""
    with CsvSource(path, options) as source:
        for fields in source.rows():
            if fields:
                return fields
    return []


def _selected(path: Path, header: list[str], options: Options) -> list[tuple[int, str]]:
    """(index, name) of each column to translate, in the order given; ConfigError otherwise."""
    listing = ", ".join(header)
    names = option_list(options, "columns")
    if not names:
        raise ConfigError(
            f"{path.name}: the columns option (--columns) is required; "
            f"columns in {path.name}: {listing}"
        )
    selected: list[tuple[int, str]] = []
    for name in dict.fromkeys(names):
        if name not in header:
            raise ConfigError(f"{path.name}: no column {name!r}; columns in {path.name}: {listing}")
        if header.count(name) > 1:
            raise ConfigError(f"{path.name}: column {name!r} appears more than once in the header")
        selected.append((header.index(name), name))
    return selected


def _in_place(options: Options) -> bool:
    value = options.get("in_place", False)
    if not isinstance(value, bool):
        raise ConfigError(f"option 'in_place' must be true or false, got {value!r}")
    return value


def _segment(text: str, row: int, column: str) -> Segment:
    """The segment for one cell; reader and writer must build it identically."""
    return Segment(text=text, place=f"row {row}, column {column!r}")


def _width_error(path: Path, fields: list[str], width: int, line: int) -> InputError:
    return InputError(
        path, f"record has {len(fields)} fields but the header has {width}", place=f"line {line}"
    )


class CsvFormat(Format):
    """Comma-, semicolon-, tab- or pipe-separated files with a header row (see module doc)."""

    name: ClassVar[str] = "csv"
    extensions: ClassVar[tuple[str, ...]] = (".csv", ".tsv")
    multi_target: ClassVar[bool] = True

    def columns(self, path: Path, options: Options) -> list[str] | None:
        """The header's column names."""
        return columns_of(path, options)

    def check_options(self, path: Path, options: Options) -> None:
        """The ``columns`` (and ``encoding``) options against the file's header."""
        header = columns_of(path, options)
        if header:
            _selected(path, header, options)

    def read(self, path: Path, options: Options) -> Iterator[Segment]:
        """Yield a segment per non-empty selected cell, streaming (one record in memory).

        Raises ConfigError when ``columns`` is missing or names an unknown column, InputError
        (with the line) for malformed input.
        """
        with CsvSource(path, options) as source:
            rows = source.rows()
            header = next((fields for fields in rows if fields), None)
            if header is None:
                return
            selected = _selected(path, header, options)
            width = len(header)
            row = 0
            for fields in rows:
                if len(fields) != width:
                    if not fields:
                        continue
                    raise _width_error(path, fields, width, source.line)
                row += 1
                for index, column in selected:
                    text = fields[index]
                    if text:
                        yield _segment(text, row, column)

    def write(
        self,
        path: Path,
        dest: Path,
        targets: Sequence[Language],
        translations: Translations,
        options: Options,
    ) -> WriteReport:
        """Write ``path`` with its translations to ``dest`` atomically (see module doc)."""
        if _in_place(options) and len(targets) != 1:
            codes = ", ".join(t.code for t in targets)
            raise ConfigError(f"in_place needs exactly one target language, got: {codes}")
        with atomic_output(dest) as tmp:
            try:
                return self._write_file(path, dest, tmp, targets, translations, options, None)
            except _Unencodable as exc:
                report = self._write_file(path, dest, tmp, targets, translations, options, "utf-8")
                report.notes.append(f"written as UTF-8: {exc}")
                return report

    def _write_file(
        self,
        path: Path,
        dest: Path,
        tmp: Path,
        targets: Sequence[Language],
        translations: Translations,
        options: Options,
        codec: str | None,
    ) -> WriteReport:
        with CsvSource(path, options, capture_raw=True) as source, open(tmp, "wb") as out:
            writer = _RowWriter(path, source, out, codec, targets, translations, options)
            for fields in source.rows():
                writer.add(fields)
            writer.finish()
            writer.report.path = dest
            return writer.report


@dataclass
class _RowWriter:
    """Writes records of one file back, adding or replacing the translated cells."""

    path: Path
    source: CsvSource
    out: BinaryIO
    codec: str | None
    targets: Sequence[Language]
    translations: Translations
    options: Options

    def __post_init__(self) -> None:
        self.report = WriteReport(self.path)
        self.in_place = _in_place(self.options)
        self.dialect: Dialect = self.source.dialect
        name = self.codec or self.source.codec
        self._encoder = codecs.getincrementalencoder(name)()
        self.header: list[str] | None = None
        self.selected: list[tuple[int, str]] = []
        self.row = 0
        #: Translations whose tabs or line breaks an unquoted TSV cannot hold (made spaces).
        self.flattened = 0
        if self.source.bom and self.codec in (None, "utf-8"):
            self.out.write(self.source.bom)

    def _emit(self, text: str) -> None:
        try:
            self.out.write(self._encoder.encode(text))
        except UnicodeEncodeError as exc:
            char = exc.object[exc.start : exc.end]
            raise _Unencodable(f"{char!r} does not fit {self.source.codec}") from None

    def add(self, fields: list[str]) -> None:
        """Write the source's current record (header, data row or blank line)."""
        if not fields:
            self._emit(self.source.raw)
        elif self.header is None:
            self._add_header(fields)
        else:
            if len(fields) != len(self.header):
                raise _width_error(self.path, fields, len(self.header), self.source.line)
            self.row += 1
            self._add_row(fields)

    def finish(self) -> None:
        """Flush the encoder (stateful codecs may hold bytes back) and note flattened cells."""
        self.out.write(self._encoder.encode("", final=True))
        if self.flattened:
            self.report.notes.append(
                f"{self.flattened} translation(s) held a tab or a line break, which a "
                "tab-separated file without quotes cannot hold: written with spaces instead"
            )

    def _raw_fields(self, fields: list[str]) -> tuple[list[str], str]:
        raw, terminator = split_raw(self.source.raw, self.dialect)
        if len(raw) != len(fields):  # defensive: fall back to re-quoting the record
            raw = [render(f, self.dialect, quoted=False) for f in fields]
        return raw, terminator

    def _add_header(self, fields: list[str]) -> None:
        self.header = fields
        self.selected = _selected(self.path, self.header, self.options)
        raw, terminator = self._raw_fields(fields)
        if not self.in_place:
            added: list[str] = []
            for target in self.targets:
                for index, column in self.selected:
                    new = f"{column}_{target.code}"
                    if new in self.header:
                        raise ConfigError(
                            f"{self.path.name}: output column {new!r} already exists; "
                            "rename it or use in_place"
                        )
                    added.append(
                        render(new, self.dialect, quoted=is_quoted(raw[index], self.dialect))
                    )
            raw = raw + added
        self._emit(self.dialect.delimiter.join(raw) + terminator)

    def _add_row(self, fields: list[str]) -> None:
        raw, terminator = self._raw_fields(fields)
        added: list[str] = []
        for target in self.targets:
            for index, column in self.selected:
                cell = self._cell(fields[index], raw[index], column, target)
                if self.in_place:
                    raw[index] = cell
                else:
                    added.append(cell)
        if len(raw) == 1 and not added and raw[0] == "" and self.dialect.quoting:
            raw[0] = self.dialect.quotechar * 2  # a lone empty field must not become a blank line
        self._emit(self.dialect.delimiter.join(raw + added) + terminator)

    def _cell(self, text: str, raw: str, column: str, target: Language) -> str:
        """The raw output cell for one source cell and target."""
        quoted = is_quoted(raw, self.dialect)
        if not text:
            return raw if self.in_place else render("", self.dialect, quoted=quoted)
        translated = self.translations.get(_segment(text, self.row, column), target)
        if translated is None:
            self.report.failed += 1
            return raw if self.in_place else render("", self.dialect, quoted=quoted)
        self.report.translated += 1
        if self.in_place and translated == text:
            return raw
        if flatten(translated, self.dialect) != translated:
            self.flattened += 1
        return render(translated, self.dialect, quoted=quoted)

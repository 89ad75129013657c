"""Parquet: translate string columns of a dataset, streaming, keeping the schema as it was.

Options:

- ``columns`` (list or comma-separated string, required): top-level columns to translate, of
  type string, large_string, dictionary<string>, list<string> or large_list<string>.
- ``in_place`` (bool): the translation replaces the source column (same name and type); only
  with one target language.

Reading streams record batches of the selected columns only and yields one segment per
non-null, non-empty value (one per element of a list), place ``row N, column 'c'`` (+
``, item i``), rows and items counted from 1 (as the CSV format counts rows). Duplicates are yielded each time; the pipeline
deduplicates.

Writing reads the source one row group at a time (all columns) and writes each as one row group
of the output, so row-group sizes are the source's and peak memory is that of one row group,
whatever the number of rows. The output keeps every source column (type, field metadata), the
schema metadata and the compression codec, and appends ``<column>_<lang>`` columns after the
source columns, grouped by target language like the CSV format (``title_de, tags_de, title_fr, ...``). The schema metadata is copied unchanged: the
pandas metadata does not list the added columns, which pandas then reads as plain columns.
A failed translation is written as null (as the source text where the column does not allow
nulls) and counted in ``WriteReport.failed``; counts are per value and per target.

A value of a selected column that is not valid UTF-8 (Parquet readers do not check) is an
InputError naming the column and the first such row; other columns are copied as they are.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from mtpipe.errors import ConfigError, InputError
from mtpipe.formats.base import Format, Options, WriteReport, atomic_output
from mtpipe.formats.tabular.arrow import Counts, RowGroupTranslator, invalid_utf8, place
from mtpipe.formats.tabular.schema import (
    compliant_lists,
    has_int96,
    is_list,
    output_compression,
    output_schema,
    selected_columns,
)
from mtpipe.text.languages import Language
from mtpipe.text.segments import Segment, Translations

#: Rows per record batch when reading segments: bounds the Python objects alive at once.
READ_BATCH_ROWS = 16_384


class ParquetFormat(Format):
    """Parquet datasets: selected string-like columns, all targets in one output."""

    name = "parquet"
    extensions = (".parquet",)
    multi_target = True

    def columns(self, path: Path, options: Options) -> list[str] | None:
        """The top-level column names of the schema."""
        with _open(path) as pf:
            return list(pf.schema_arrow.names)

    def check_options(self, path: Path, options: Options) -> None:
        """The ``columns`` option against the file's schema (see selected_columns)."""
        with _open(path) as pf:
            selected_columns(path, pf.schema_arrow, options)

    def read(self, path: Path, options: Options) -> Iterator[Segment]:
        """Yield a segment per non-null, non-empty value of the selected columns, row by row.

        Streams record batches of ``READ_BATCH_ROWS`` rows of the selected columns only.
        Raises ConfigError for a missing, unknown or untranslatable column, InputError for a
        file that is not readable Parquet.
        """
        with _open(path) as pf:
            columns = selected_columns(path, pf.schema_arrow, options)
            list_columns = [is_list(pf.schema_arrow.field(name).type) for name in columns]
            row = 0
            for batch in _batches(path, pf, columns):
                try:  # decoding happens here: a damaged dictionary page fails only now
                    values = [batch.column(name).to_pylist() for name in columns]
                except UnicodeDecodeError:
                    raise _utf8_error(path, batch, columns, row) from None
                except pa.ArrowException as exc:
                    raise InputError(path, f"corrupt Parquet data: {_one_line(exc)}") from exc
                for offset, cells in enumerate(zip(*values, strict=True)):
                    for name, listed, cell in zip(columns, list_columns, cells, strict=True):
                        if listed:
                            for item, text in enumerate(cell or ()):
                                if text:
                                    yield Segment(text=text, place=place(row + offset, name, item))
                        elif cell:
                            yield Segment(text=cell, place=place(row + offset, name))
                row += batch.num_rows

    def write(
        self,
        path: Path,
        dest: Path,
        targets: Sequence[Language],
        translations: Translations,
        options: Options,
    ) -> WriteReport:
        """Write ``path`` with translated columns to ``dest`` atomically, row group by row group.

        See the module docstring for the layout. Raises ConfigError for ``in_place`` with
        several targets, or when an added column's name is already taken.
        """
        in_place = _flag(options, "in_place")
        if in_place and len(targets) != 1:
            raise ConfigError(
                f"in_place replaces the source columns, so it takes one target language, "
                f"got {len(targets)}: {', '.join(t.code for t in targets)}"
            )
        report = WriteReport(path=dest)
        counts = [Counts() for _ in targets]
        with _open(path) as pf:
            source = pf.schema_arrow
            columns = selected_columns(path, source, options)
            schema = output_schema(source, columns, targets, in_place)
            compression, notes = output_compression(
                pf.metadata, columns, [] if in_place else targets
            )
            report.notes.extend(notes)
            version = pf.metadata.format_version
            with atomic_output(dest) as tmp:
                writer = pq.ParquetWriter(
                    tmp,
                    schema,
                    compression=compression,
                    version=version if version in ("1.0", "2.4", "2.6") else "2.6",
                    use_compliant_nested_type=compliant_lists(source),
                    use_deprecated_int96_timestamps=has_int96(pf),
                )
                try:
                    first_row = 0
                    for index in range(pf.num_row_groups):
                        table = _read_row_group(path, pf, index)
                        try:
                            out = translate_table(
                                table,
                                schema,
                                columns,
                                in_place,
                                first_row,
                                RowGroupTranslator(translations, targets, counts),
                            )
                        except UnicodeDecodeError:
                            raise _utf8_error(path, table, columns, first_row) from None
                        except pa.ArrowException as exc:
                            raise InputError(
                                path, f"corrupt Parquet data: {_one_line(exc)}"
                            ) from exc
                        writer.write_table(out, row_group_size=out.num_rows or None)
                        first_row += table.num_rows
                finally:
                    writer.close()
        report.translated = sum(c.translated for c in counts)
        report.failed = sum(c.failed for c in counts)
        return report


def _flag(options: Options, key: str) -> bool:
    value = options.get(key, False)
    if value is None or isinstance(value, bool):
        return bool(value)
    raise ConfigError(f"option {key!r} must be true or false, got {value!r}")


# ---- writing --------------------------------------------------------------------------------


def translate_table(
    table: pa.Table,
    schema: pa.Schema,
    columns: Sequence[str],
    in_place: bool,
    first_row: int,
    translator: RowGroupTranslator,
) -> pa.Table:
    """The output row group: ``table``'s columns, translated ones replaced or appended."""
    arrays: list[pa.ChunkedArray] = list(table.columns)
    added = len(schema) - table.num_columns
    translated: list[list[list[pa.Array]]] = []  # per source column, per target: chunks
    for name in columns:
        index = table.schema.get_field_index(name)
        field = table.schema.field(index)
        keep_source = in_place and not field.nullable
        per_chunk: list[list[pa.Array]] = []
        row = first_row
        for chunk in table.column(index).chunks:
            per_chunk.append(
                translator.translate(chunk, name, row, keep_source_on_failure=keep_source)
            )
            row += len(chunk)
        if in_place:
            arrays[index] = pa.chunked_array([chunks[0] for chunks in per_chunk], type=field.type)
            continue
        translated.append([[chunks[t] for chunks in per_chunk] for t in range(added // len(columns))])
    if not in_place:
        for t in range(added // len(columns)):
            for per_target in translated:
                new_type = schema.field(len(arrays)).type
                arrays.append(pa.chunked_array(per_target[t], type=new_type))
    return pa.Table.from_arrays(arrays, schema=schema)


# ---- reading --------------------------------------------------------------------------------


def _utf8_error(
    path: Path, data: pa.Table | pa.RecordBatch, columns: Sequence[str], first_row: int
) -> InputError:
    """The InputError for a string value that is not UTF-8, naming its column and row."""
    for name in columns:
        where = invalid_utf8(data.column(name), name, first_row)
        if where is not None:
            return InputError(
                path,
                "the value is not valid UTF-8, which a string column must hold "
                "(store bytes as a binary column, or fix the value)",
                place=where,
            )
    return InputError(path, "corrupt Parquet data: a string value is not valid UTF-8")


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


@contextlib.contextmanager
def _open(path: Path) -> Iterator[pq.ParquetFile]:
    try:
        pf = pq.ParquetFile(path)
    except (pa.ArrowException, OSError) as exc:
        if isinstance(exc, OSError) and exc.errno:  # the file itself (permissions, a folder)
            raise InputError(path, f"cannot open: {os.strerror(exc.errno)}") from exc
        raise InputError(path, f"not a readable Parquet file: {_one_line(exc)}") from exc
    try:
        yield pf
    finally:
        pf.close()


def _batches(path: Path, pf: pq.ParquetFile, columns: list[str]) -> Iterator[pa.RecordBatch]:
    batches = pf.iter_batches(batch_size=READ_BATCH_ROWS, columns=columns)
    while True:
        try:
            batch = next(batches)
        except StopIteration:
            return
        except (pa.ArrowException, OSError) as exc:
            raise InputError(path, f"corrupt Parquet data: {_one_line(exc)}") from exc
        yield batch


def _read_row_group(path: Path, pf: pq.ParquetFile, index: int) -> pa.Table:
    try:
        return pf.read_row_group(index)
    except (pa.ArrowException, OSError) as exc:
        raise InputError(
            path, f"corrupt Parquet data: {_one_line(exc)}", place=f"row group {index}"
        ) from exc

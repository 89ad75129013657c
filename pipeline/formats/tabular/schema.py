"""The shape of a translated Parquet file: the columns chosen, the output schema, how it is written.

:mod:`mtpipe.formats.tabular.parquet` streams the rows; this module decides, from the source's
schema and metadata alone, which columns are translated (the ``columns`` option, validated), the
output schema (added ``<column>_<lang>`` columns with their source's type and field metadata,
Parquet field ids dropped), and the writer settings that keep the file as it was: the codec per
column, compliant or legacy list naming, INT96 timestamps.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from mtpipe.errors import ConfigError, InputError
from mtpipe.formats.base import Options, option_list
from mtpipe.formats.tabular.arrow import is_translatable
from mtpipe.text.languages import Language

# Parquet codec names (column chunk metadata) -> pyarrow writer names. LZO cannot be written.
_CODECS = {
    "UNCOMPRESSED": "none",
    "SNAPPY": "snappy",
    "GZIP": "gzip",
    "BROTLI": "brotli",
    "ZSTD": "zstd",
    "LZ4": "lz4",
    "LZ4_RAW": "lz4",
}
_FIELD_ID = b"PARQUET:field_id"


def type_name(t: pa.DataType) -> str:
    """A short readable type name: ``string``, ``list<string>``, ``dictionary<string>``."""
    if pa.types.is_dictionary(t):
        return f"dictionary<{type_name(t.value_type)}>"
    if pa.types.is_large_list(t):
        return f"large_list<{type_name(t.value_type)}>"
    if pa.types.is_list(t):
        return f"list<{type_name(t.value_type)}>"
    return str(t)


def _describe(fields: Sequence[pa.Field]) -> str:
    return ", ".join(f"{f.name} ({type_name(f.type)})" for f in fields) or "none"


def selected_columns(path: Path, schema: pa.Schema, options: Options) -> list[str]:
    """The ``columns`` option, validated against ``schema`` (duplicates dropped, order kept).

    Raises ConfigError naming the file and listing the columns with their types when no
    column is given or a column does not exist; InputError, with the same list, when a column's
    type holds no translatable text (a struct, a number): in a run over many files, that one
    file's schema is what differs, so it fails alone.
    """
    translatable = [f for f in schema if is_translatable(f.type)]
    wanted = option_list(options, "columns")
    if not wanted:
        raise ConfigError(
            f"{path}: choose the Parquet columns to translate (--columns); "
            f"translatable columns: {_describe(translatable)}"
        )
    names = list(dict.fromkeys(wanted))
    for name in names:
        index = schema.get_field_index(name)
        if index < 0:
            raise ConfigError(f"{path}: no column {name!r}; columns: {_describe(list(schema))}")
        field = schema.field(index)
        if not is_translatable(field.type):
            raise InputError(
                path,
                f"column {name!r} is {type_name(field.type)}, which holds no text to translate; "
                f"translatable columns: {_describe(translatable)}",
            )
    return names


def added_name(column: str, target: Language) -> str:
    """The name of the column holding ``column`` translated into ``target``."""
    return f"{column}_{target.code}"


def output_schema(
    source: pa.Schema, columns: Sequence[str], targets: Sequence[Language], in_place: bool
) -> pa.Schema:
    """The output schema: the source's (metadata included), plus the added columns.

    Added columns have their source column's type and field metadata (without Parquet field
    ids, which must stay unique), and are nullable (a failed translation is null).
    """
    if in_place:
        return source
    fields = list(source)
    for target in targets:  # grouped by language, as the CSV format does: title_de, tags_de, title_fr...
        for name in columns:
            field = source.field(name)
            new = added_name(name, target)
            if source.get_field_index(new) >= 0:
                raise ConfigError(
                    f"column {new!r} already exists; translate into another name or use in_place"
                )
            fields.append(
                pa.field(
                    new,
                    _without_field_ids_type(field.type),
                    True,
                    _without_field_id(field.metadata),
                )
            )
    return pa.schema(fields, metadata=source.metadata)


def _without_field_id(metadata: dict[bytes, bytes] | None) -> dict[bytes, bytes] | None:
    if not metadata or _FIELD_ID not in metadata:
        return metadata
    rest = {k: v for k, v in metadata.items() if k != _FIELD_ID}
    return rest or None


def _without_field_ids_type(t: pa.DataType) -> pa.DataType:
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        item = t.value_field
        item = item.with_metadata(_without_field_id(item.metadata) or {})
        return pa.large_list(item) if pa.types.is_large_list(t) else pa.list_(item)
    return t


def is_list(t: pa.DataType) -> bool:
    """True for ``list<...>`` and ``large_list<...>``."""
    return bool(pa.types.is_list(t) or pa.types.is_large_list(t))


def compliant_lists(schema: pa.Schema) -> bool:
    """False when a list in ``schema`` names its item other than ``element`` (legacy files):
    writing those lists the compliant way would rename the item field."""

    def compliant(t: pa.DataType) -> bool:
        if is_list(t):
            return bool(t.value_field.name == "element") and compliant(t.value_type)
        if pa.types.is_struct(t):
            return all(compliant(t.field(i).type) for i in range(t.num_fields))
        return True

    return all(compliant(field.type) for field in schema)


def has_int96(pf: pq.ParquetFile) -> bool:
    """True when the file stores timestamps as INT96 (Spark, Impala): kept for their readers."""
    return any(pf.schema.column(i).physical_type == "INT96" for i in range(len(pf.schema)))


def output_compression(
    metadata: pq.FileMetaData, columns: Sequence[str], added: Sequence[Language]
) -> tuple[str | dict[str, str], list[str]]:
    """The source's codec per column path (one name when uniform), and notes on what changed.

    Columns added for a source column (one per language in ``added``) take its codec.
    """
    if metadata.num_row_groups == 0 or metadata.num_columns == 0:
        return "snappy", []
    notes: list[str] = []
    group = metadata.row_group(0)
    by_path: dict[str, str] = {}
    for j in range(group.num_columns):
        chunk = group.column(j)
        codec = _CODECS.get(chunk.compression)
        if codec is None:
            notes.append(
                f"column {chunk.path_in_schema}: {chunk.compression} cannot be written, used snappy"
            )
            codec = "snappy"
        by_path[chunk.path_in_schema] = codec
    if len(set(by_path.values())) == 1:
        return next(iter(by_path.values())), notes
    for name in columns:
        for path, codec in list(by_path.items()):
            top, dot, rest = path.partition(".")
            if top == name:
                for target in added:
                    by_path[added_name(name, target) + dot + rest] = codec
    return by_path, notes

"""Arrow-level translation of string-like columns, for the Parquet writer.

A :class:`RowGroupTranslator` turns one column chunk (string, large_string,
dictionary<string>, list<string>, large_list<string>) into one translated chunk per target
language, of the same type: dictionary columns stay dictionary-encoded (same indices, translated
dictionary), list columns keep their shape, nulls stay null and empty strings stay empty.

Each distinct value is asked for once per row group (the translator's cache), with the
segment read for its first occurrence in that row group, so the segment passed to
``Translations.get`` is always one that :meth:`ParquetFormat.read` yielded.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from mtpipe.text.languages import Language
from mtpipe.text.segments import Segment, Translations


def is_text(t: pa.DataType) -> bool:
    """True for the Arrow string types a column can hold text in (string, large_string)."""
    return bool(pa.types.is_string(t) or pa.types.is_large_string(t))


def is_translatable(t: pa.DataType) -> bool:
    """True for the column types the Parquet format translates."""
    if pa.types.is_dictionary(t) or pa.types.is_list(t) or pa.types.is_large_list(t):
        return is_text(t.value_type)
    return is_text(t)


def place(row: int, column: str, item: int | None = None) -> str:
    """The segment place for a value at 0-based ``row`` (and ``item`` in a list).

    Rendered 1-based, as the CSV format counts data rows: ``row 1, column 'c', item 1`` is the
    first element of the first row's list.
    """
    where = f"row {row + 1}, column '{column}'"
    return where if item is None else f"{where}, item {item + 1}"


def invalid_utf8(column: pa.Array | pa.ChunkedArray, name: str, first_row: int) -> str | None:
    """The place of the first value of string-like ``column`` (rows ``first_row`` onwards)
    that is not valid UTF-8: ``row N, column 'c'`` (``, item i`` in a list); None if none is.

    Parquet readers do not check that a string column holds UTF-8 (a writer may store any
    bytes there); such a value only fails when it is converted to Python. Finding it costs a
    few full validations, so callers ask once a conversion failed.
    """
    chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
    row = first_row
    for chunk in chunks:
        found = _invalid_in_chunk(chunk, name, row)
        if found is not None:
            return found
        row += len(chunk)
    return None


def _invalid_in_chunk(chunk: pa.Array, name: str, first_row: int) -> str | None:
    t = chunk.type
    if pa.types.is_dictionary(t):
        entry = _first_invalid(chunk.dictionary)
        if entry is None:
            return None
        rows = pc.indices_nonzero(pc.equal(chunk.indices, entry))
        if len(rows) == 0:
            return f"column '{name}', dictionary entry {entry + 1} (no row uses it)"
        return place(first_row + rows[0].as_py(), name)
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        position = _first_invalid(chunk.flatten())
        if position is None:
            return None
        parents = pc.list_parent_indices(chunk)
        row = parents[position].as_py()
        return place(first_row + row, name, position - pc.index(parents, row).as_py())
    position = _first_invalid(chunk)
    return None if position is None else place(first_row + position, name)


def _first_invalid(values: pa.Array) -> int | None:
    """The position of the first value of a string array that is not valid UTF-8.

    Halves the range with Arrow's full validation (which checks UTF-8) instead of decoding
    every value in Python, then confirms the value found really fails to decode.
    """
    if _valid(values):
        return None
    low, high = 0, len(values)  # the first invalid value lies in [low, high)
    while high - low > 1:
        middle = (low + high) // 2
        if _valid(values.slice(low, middle - low)):
            low = middle
        else:
            high = middle
    try:
        values.slice(low, 1).to_pylist()
    except UnicodeDecodeError:
        return low
    return None


def _valid(values: pa.Array) -> bool:
    try:
        values.validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


@dataclass(slots=True)
class Counts:
    """Values written per target: translated, or failed (written as null)."""

    translated: int = 0
    failed: int = 0


@dataclass(slots=True)
class _Distinct:
    """The distinct non-null keys of an array, in order of first occurrence."""

    indices: pa.Array  # per position: the key's number (null where the key is null)
    keys: list[Any]
    first: list[int]  # position of each key's first occurrence
    counts: list[int]  # how many positions hold each key


def _distinct(keys: pa.Array) -> _Distinct:
    encoded = pc.dictionary_encode(keys)
    indices = encoded.indices
    distinct = encoded.dictionary.to_pylist()
    if not distinct:
        return _Distinct(indices, [], [], [])
    # dictionary_encode numbers keys in order of first occurrence, so a key's first position
    # is where the running maximum of the numbers goes up.
    filled = pc.fill_null(indices, -1)
    running = pc.cumulative_max(filled)
    before = pa.concat_arrays(
        [pa.array([-1], type=filled.type), running.slice(0, len(running) - 1)]
    )
    first = pc.indices_nonzero(pc.greater(filled, before)).to_pylist()
    counts = [0] * len(distinct)
    value_counts = pc.value_counts(pc.drop_null(indices))
    for number, count in zip(
        value_counts.field("values").to_pylist(),
        value_counts.field("counts").to_pylist(),
        strict=True,
    ):
        counts[number] = count
    if len(first) != len(distinct):  # pragma: no cover - guards the ordering assumption above
        raise RuntimeError("dictionary_encode did not number keys in order of first occurrence")
    return _Distinct(indices, distinct, first, counts)


class RowGroupTranslator:
    """Translates the string-like column chunks of one row group into every target.

    ``translations.get`` is called once per distinct (non-empty) text in the row group;
    identical texts in other columns or chunks of the same row group reuse the answer.
    ``counts`` (one per target) accumulate over every chunk translated.
    """

    def __init__(
        self, translations: Translations, targets: Sequence[Language], counts: Sequence[Counts]
    ) -> None:
        self._translations = translations
        self._targets = list(targets)
        self._counts = list(counts)
        self._cache: dict[str, list[str | None]] = {}

    def translate(
        self, chunk: pa.Array, column: str, first_row: int, *, keep_source_on_failure: bool = False
    ) -> list[pa.Array]:
        """One translated array per target for ``chunk`` (rows ``first_row`` onwards).

        A failed translation is written as null, or as the source text where the column does
        not allow nulls (``keep_source_on_failure``); either way it counts as failed.
        """
        t = chunk.type
        if pa.types.is_dictionary(t):
            return self._dictionary(chunk, column, first_row, keep_source_on_failure)
        if pa.types.is_list(t) or pa.types.is_large_list(t):
            return self._lists(chunk, column, first_row, keep_source_on_failure)
        places = lambda position: place(first_row + position, column)
        return self._strings(chunk, places, keep_source_on_failure)

    # ---- per distinct value -------------------------------------------------------------

    def _lookup(self, text: str, place_of: Callable[[int], str], first: int) -> list[str | None]:
        hit = self._cache.get(text)
        if hit is None:
            segment = Segment(text=text, place=place_of(first))
            hit = [self._translations.get(segment, target) for target in self._targets]
            self._cache[text] = hit
        return hit

    def _resolve(
        self, texts: Sequence[str | None], distinct: _Distinct, place_of: Callable[[int], str]
    ) -> list[list[str | None]]:
        """Per target, the translation of each distinct text (None: null or failed)."""
        per_target: list[list[str | None]] = [[] for _ in self._targets]
        for text, first, count in zip(texts, distinct.first, distinct.counts, strict=True):
            if text is None or text == "":
                answers: list[str | None] = [text] * len(self._targets)
            else:
                answers = self._lookup(text, place_of, first)
                for answer, tally in zip(answers, self._counts, strict=True):
                    if answer is None:
                        tally.failed += count
                    else:
                        tally.translated += count
            for column, answer in zip(per_target, answers, strict=True):
                column.append(answer)
        return per_target

    # ---- per column type ----------------------------------------------------------------

    def _strings(
        self, chunk: pa.Array, place_of: Callable[[int], str], keep_source: bool
    ) -> list[pa.Array]:
        distinct = _distinct(chunk)
        texts: list[str | None] = distinct.keys
        out = []
        for answers in self._resolve(texts, distinct, place_of):
            if keep_source:
                answers = [
                    src if got is None else got for src, got in zip(texts, answers, strict=True)
                ]
            translated = pa.array(answers, type=chunk.type)
            out.append(pc.take(translated, distinct.indices))
        return out

    def _dictionary(
        self, chunk: pa.DictionaryArray, column: str, first_row: int, keep_source: bool
    ) -> list[pa.Array]:
        dictionary = chunk.dictionary.to_pylist()
        used = _distinct(chunk.indices)  # keys: dictionary positions referenced by some row
        texts = [dictionary[position] for position in used.keys]
        places = lambda position: place(first_row + position, column)
        out = []
        for answers in self._resolve(texts, used, places):
            # Same positions, translated values: entries no row references keep their text.
            values = list(dictionary)
            failed = [False] * len(dictionary)
            for position, source, answer in zip(used.keys, texts, answers, strict=True):
                if answer is None and source is not None and not keep_source:
                    failed[position] = True
                elif answer is not None:
                    values[position] = answer
            indices = chunk.indices
            if any(failed):
                to_null = pc.fill_null(pc.take(pa.array(failed), indices), False)
                indices = pc.if_else(to_null, pa.scalar(None, type=indices.type), indices)
            out.append(
                pa.DictionaryArray.from_arrays(
                    indices,
                    pa.array(values, type=chunk.type.value_type),
                    ordered=chunk.type.ordered,
                )
            )
        return out

    def _lists(
        self, chunk: pa.Array, column: str, first_row: int, keep_source_on_failure: bool
    ) -> list[pa.Array]:
        flat = chunk.flatten()  # values of the non-null lists only, honouring the slice
        parents = pc.list_parent_indices(chunk)
        lengths = pc.fill_null(pc.list_value_length(chunk), 0)
        ends = pc.cumulative_sum(lengths)
        starts = pc.subtract(ends, lengths)

        def place_of(position: int) -> str:
            row = parents[position].as_py()
            return place(first_row + row, column, position - starts[row].as_py())

        item_nullable = chunk.type.value_field.nullable
        keep_source = keep_source_on_failure or not item_nullable
        offset_type = pa.int64() if pa.types.is_large_list(chunk.type) else pa.int32()
        offsets = pa.concat_arrays([pa.array([0], type=offset_type), ends.cast(offset_type)])
        array_class = pa.LargeListArray if pa.types.is_large_list(chunk.type) else pa.ListArray
        mask = chunk.is_null() if chunk.null_count else None
        return [
            array_class.from_arrays(offsets, values, type=chunk.type, mask=mask)
            for values in self._strings(flat, place_of, keep_source)
        ]

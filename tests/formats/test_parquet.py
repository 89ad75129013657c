"""Parquet format: contract, schema preservation, errors, streaming memory, the real corpus."""

from __future__ import annotations

import datetime as dt
import functools
import time
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from types import MappingProxyType
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import mtpipe.formats.tabular.parquet as parquet_module
from mtpipe.errors import ConfigError, InputError
from mtpipe.formats.base import Options
from mtpipe.formats.tabular.arrow import Counts, RowGroupTranslator
from mtpipe.formats.tabular.parquet import ParquetFormat
from mtpipe.testing.fake_translate import fake_translate
from mtpipe.text.languages import Language
from mtpipe.text.segments import Segment
from tests.formats.contract import GERMAN, FormatContract, FuncTranslations
from tests.formats.make_parquet_sample import SAMPLE, build_table

FRENCH = Language("fr", "French")
TEXT_COLUMNS = ["title", "body", "product", "tags", "notes"]
CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus" / "tabular"
FMT = ParquetFormat()


def rich_table() -> pa.Table:
    """Every supported text type with nulls, empty strings and repeats, plus other columns."""
    schema = pa.schema(
        [
            pa.field("id", pa.int64(), nullable=False),
            pa.field("title", pa.string(), metadata={"description": "short title"}),
            pa.field("body", pa.large_string()),
            pa.field("product", pa.dictionary(pa.int32(), pa.string())),
            pa.field("tags", pa.list_(pa.string())),
            pa.field("notes", pa.large_list(pa.string())),
            pa.field("price", pa.float64()),
            pa.field("ts", pa.timestamp("ms", tz="UTC")),
            pa.field("dims", pa.struct([("w", pa.int32()), ("label", pa.string())])),
        ],
        metadata={"owner": "data-team", "pandas": '{"index_columns": [], "columns": []}'},
    )
    titles = [
        "Red shoe",
        None,
        "",
        "Blue hat",
        "Red shoe",
        "Green {size} coat",
        "Blue hat",
        "Scarf",
    ]
    bodies = ["Soft.", "Warm <b>wool</b>.", None, "", "Soft.", "Lined.", "Soft.", "Thin."]
    products = pa.DictionaryArray.from_arrays(
        pa.array([0, 1, None, 0, 2, 1, 0, 3], type=pa.int32()),
        pa.array(["Shoes", "Hats", "Coats", ""]),
    )
    tags = [["new", "sale"], None, [], ["sale", None, ""], ["new"], ["winter"], ["sale"], [""]]
    notes = [["fits small"], [], None, ["fits small", "warm"], None, ["dry clean"], [], ["x"]]
    n = len(titles)
    epoch = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    return pa.Table.from_arrays(
        [
            pa.array(range(n), type=pa.int64()),
            pa.array(titles, type=pa.string()),
            pa.array(bodies, type=pa.large_string()),
            products,
            pa.array(tags, type=pa.list_(pa.string())),
            pa.array(notes, type=pa.large_list(pa.string())),
            pa.array([9.5 * i if i != 3 else None for i in range(n)], type=pa.float64()),
            pa.array(
                [epoch + dt.timedelta(hours=i) for i in range(n)], type=pa.timestamp("ms", tz="UTC")
            ),
            pa.array(
                [{"w": i, "label": f"L{i}"} if i != 2 else None for i in range(n)],
                type=schema.field("dims").type,
            ),
        ],
        schema=schema,
    )


def write_rich(path: Path, **kwargs: Any) -> Path:
    kwargs.setdefault("compression", "zstd")
    kwargs.setdefault("row_group_size", 3)
    pq.write_table(rich_table(), path, **kwargs)
    return path


def expected(value: Any, fn: Callable[[str], str | None]) -> Any:
    """What the writer must produce for one cell: nulls, empties kept; lists element-wise."""
    if isinstance(value, list):
        return [expected(v, fn) for v in value]
    if value is None or value == "":
        return value
    return fn(value)


def tag(code: str) -> Callable[[str], str]:
    return lambda text: f"<{code}>{text}"


class ByTarget:
    """Translations that depend on the target: ``<code>text``; None for texts in ``failing``."""

    def __init__(self, failing: frozenset[str] = frozenset()) -> None:
        self.failing = failing
        self.asked: list[tuple[Segment, str]] = []

    def get(self, segment: Segment, target: Language) -> str | None:
        self.asked.append((segment, target.code))
        return None if segment.text in self.failing else tag(target.code)(segment.text)


class TestParquetContract(FormatContract):
    options: Options = MappingProxyType({"columns": TEXT_COLUMNS})
    round_trip_options: Options = MappingProxyType({"in_place": True})

    def make_sample(self, tmp_path: Path) -> Path:
        return write_rich(tmp_path / "sample.parquet")

    def make_empty(self, tmp_path: Path) -> Path:
        path = tmp_path / "empty.parquet"
        pq.write_table(rich_table().slice(0, 0), path)
        return path

    def make_corrupt(self, tmp_path: Path) -> Path:
        path = tmp_path / "corrupt.parquet"
        path.write_bytes(b"id,title\n1,not parquet at all\n")
        return path

    def assert_same_content(self, original: Path, written: Path) -> None:
        before, after = pq.read_table(original), pq.read_table(written)
        assert after.schema.equals(before.schema, check_metadata=True)
        assert after.schema.metadata == before.schema.metadata
        assert after.equals(before, check_metadata=True)
        assert pq.ParquetFile(written).num_row_groups == pq.ParquetFile(original).num_row_groups


# ---- reading ---------------------------------------------------------------------------------


def test_read_yields_each_value_with_its_place(tmp_path: Path) -> None:
    path = write_rich(tmp_path / "t.parquet")
    segments = list(FMT.read(path, {"columns": "title, tags, product"}))
    got = [(s.text, s.place) for s in segments]
    assert got[:5] == [
        ("Red shoe", "row 1, column 'title'"),
        ("new", "row 1, column 'tags', item 1"),
        ("sale", "row 1, column 'tags', item 2"),
        ("Shoes", "row 1, column 'product'"),
        ("Hats", "row 2, column 'product'"),
    ]
    # Nulls and empty strings yield nothing; duplicates are yielded each time.
    assert ("sale", "row 4, column 'tags', item 1") in got
    assert not any(text == "" for text, _ in got)
    assert [t for t, _ in got].count("Red shoe") == 2
    assert ("", "row 8, column 'product'") not in got
    assert all(s.context == "" and s.checks == Segment("x", "y").checks for s in segments)
    assert len(got) == 6 + 6 + 6  # titles, tag items, products (non-null, non-empty)


def test_read_streams_batches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parquet_module, "READ_BATCH_ROWS", 2)
    path = write_rich(tmp_path / "t.parquet")
    small = [(s.text, s.place) for s in FMT.read(path, {"columns": TEXT_COLUMNS})]
    monkeypatch.setattr(parquet_module, "READ_BATCH_ROWS", 1000)
    assert small == [(s.text, s.place) for s in FMT.read(path, {"columns": TEXT_COLUMNS})]


@pytest.mark.parametrize(
    ("options", "error", "needles"),
    [
        (
            {"columns": ["price"]},
            InputError,  # this file's column is not text: in a run of many, this file fails alone
            [
                "column 'price' is double, which holds no text to translate",
                "translatable columns: title (string)",
                "body (large_string)",
                "product (dictionary<string>)",
                "tags (list<string>)",
                "notes (large_list<string>)",
            ],
        ),
        ({"columns": "title,missing"}, ConfigError, ["no column 'missing'", "id (int64)", "dims (struct<"]),
        ({}, ConfigError, ["--columns", "translatable columns: title (string)"]),
        ({"columns": ""}, ConfigError, ["--columns"]),
        ({"columns": ["dims"]}, InputError, ["column 'dims' is struct<"]),
    ],
)
def test_bad_columns_are_errors_listing_columns(
    tmp_path: Path, options: dict[str, Any], error: type[Exception], needles: list[str]
) -> None:
    path = write_rich(tmp_path / "t.parquet")
    for attempt in (
        lambda: list(FMT.read(path, options)),
        lambda: FMT.check_options(path, options),
        lambda: FMT.write(path, tmp_path / "o.parquet", [GERMAN], FuncTranslations(), options),
    ):
        with pytest.raises(error) as info:
            attempt()
        for needle in needles:
            assert needle in str(info.value)


def test_truncated_file_is_input_error(tmp_path: Path) -> None:
    good = write_rich(tmp_path / "good.parquet")
    bad = tmp_path / "bad.parquet"
    bad.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(InputError) as info:
        list(FMT.read(bad, {"columns": "title"}))
    assert str(bad) in str(info.value) and "\n" not in str(info.value)
    with pytest.raises(InputError):
        FMT.write(bad, tmp_path / "o.parquet", [GERMAN], FuncTranslations(), {"columns": "title"})


def relabelled(values: list[bytes | None], large: bool = False) -> pa.Array:
    """A string array holding ``values`` byte for byte, valid UTF-8 or not (what a writer that
    does not check stores): a binary array relabelled as string."""
    binary = pa.array(values, type=pa.large_binary() if large else pa.binary())
    text_type = pa.large_string() if large else pa.string()
    return pa.Array.from_buffers(text_type, len(binary), binary.buffers(), binary.null_count)


BAD = b"\xff\xfe bad"
INVALID_UTF8 = {
    "string": (relabelled([b"ok", BAD, None, b"fine"]), "row 2, column 'text'"),
    "large_string": (relabelled([b"ok", b"ok", BAD], large=True), "row 3, column 'text'"),
    "dictionary": (
        pa.DictionaryArray.from_arrays(
            pa.array([0, 0, 1, None, 1], type=pa.int32()), relabelled([b"ok", BAD])
        ),
        "row 3, column 'text'",
    ),
    "list": (
        pa.ListArray.from_arrays(
            pa.array([0, 1, 1, 3], type=pa.int32()), relabelled([b"ok", b"fine", BAD])
        ),
        "row 3, column 'text', item 2",
    ),
}


def write_invalid(path: Path, column: pa.Array, **kwargs: Any) -> Path:
    table = pa.table({"id": pa.array(range(len(column)), type=pa.int64()), "text": column})
    pq.write_table(table, path, **kwargs)
    assert pq.ParquetFile(path).schema_arrow.field("text").type == column.type
    return path


@pytest.mark.parametrize(("column", "where"), INVALID_UTF8.values(), ids=INVALID_UTF8.keys())
def test_invalid_utf8_is_an_input_error_naming_column_and_row(
    tmp_path: Path, column: pa.Array, where: str
) -> None:
    path = write_invalid(tmp_path / "bad.parquet", column)
    dest = tmp_path / "out" / "bad.parquet"
    for attempt in (
        lambda: list(FMT.read(path, {"columns": "text"})),
        lambda: FMT.write(path, dest, [GERMAN], FuncTranslations(), {"columns": "text"}),
    ):
        with pytest.raises(InputError) as info:
            attempt()
        assert str(info.value).startswith(f"{path}: {where}: the value is not valid UTF-8")
        assert "\n" not in str(info.value)
    assert not dest.parent.exists() or list(dest.parent.iterdir()) == []


def test_invalid_utf8_row_counts_across_batches_and_row_groups(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parquet_module, "READ_BATCH_ROWS", 2)
    values = [b"a", b"b", b"c", b"d", b"e", BAD, b"g"]
    path = write_invalid(tmp_path / "bad.parquet", relabelled(values), row_group_size=2)
    with pytest.raises(InputError, match="row 6, column 'text'"):
        list(FMT.read(path, {"columns": "text"}))
    with pytest.raises(InputError, match="row 6, column 'text'"):
        FMT.write(path, tmp_path / "o.parquet", [GERMAN], FuncTranslations(), {"columns": "text"})


def test_invalid_utf8_in_a_column_not_translated_is_copied(tmp_path: Path) -> None:
    table = pa.table({"title": ["Red shoe", "Hat"], "raw": relabelled([b"ok", BAD])})
    path = tmp_path / "t.parquet"
    pq.write_table(table, path)
    assert [s.text for s in FMT.read(path, {"columns": "title"})] == ["Red shoe", "Hat"]
    dest = tmp_path / "out.parquet"
    report = FMT.write(path, dest, [GERMAN], FuncTranslations(), {"columns": "title"})
    assert report.translated == 2
    raw = pq.read_table(dest).column("raw").combine_chunks()
    assert raw.type == pa.string()
    assert raw.cast(pa.binary()).to_pylist() == [b"ok", BAD]


# ---- writing ---------------------------------------------------------------------------------


def test_added_columns_keep_types_and_everything_else(tmp_path: Path) -> None:
    path = write_rich(tmp_path / "t.parquet")
    dest = tmp_path / "out" / "t.parquet"
    report = FMT.write(path, dest, [GERMAN, FRENCH], ByTarget(), {"columns": TEXT_COLUMNS})
    source, out = pq.read_table(path), pq.read_table(dest)
    added = [f"{c}_{code}" for code in ("de", "fr") for c in TEXT_COLUMNS]
    assert out.column_names == source.column_names + added
    assert out.schema.metadata == source.schema.metadata
    for name in source.column_names:  # every source column untouched, metadata included
        assert out.schema.field(name).equals(source.schema.field(name), check_metadata=True)
        assert out.column(name).equals(source.column(name))
    for column in TEXT_COLUMNS:
        for code in ("de", "fr"):
            field = out.schema.field(f"{column}_{code}")
            assert field.type == source.schema.field(column).type
            assert field.metadata == source.schema.field(column).metadata
            want = [expected(v, tag(code)) for v in source.column(column).to_pylist()]
            assert out.column(f"{column}_{code}").to_pylist() == want
    assert pa.types.is_dictionary(out.schema.field("product_de").type)
    cells = sum(1 for _ in FMT.read(path, {"columns": TEXT_COLUMNS}))
    assert (report.translated, report.failed) == (2 * cells, 0)


@pytest.mark.parametrize("codec", ["SNAPPY", "ZSTD", "GZIP", "UNCOMPRESSED"])
def test_codec_and_row_groups_kept(tmp_path: Path, codec: str) -> None:
    path = write_rich(
        tmp_path / "t.parquet", compression=codec.lower().replace("uncompressed", "none")
    )
    dest = tmp_path / "o.parquet"
    FMT.write(path, dest, [GERMAN], ByTarget(), {"columns": "title,tags"})
    source, out = pq.ParquetFile(path).metadata, pq.ParquetFile(dest).metadata
    sizes = [source.row_group(i).num_rows for i in range(source.num_row_groups)]
    assert sizes == [3, 3, 2]
    assert [out.row_group(i).num_rows for i in range(out.num_row_groups)] == sizes
    assert {out.row_group(0).column(j).compression for j in range(out.num_columns)} == {codec}


def test_per_column_codecs_kept_and_given_to_added_columns(tmp_path: Path) -> None:
    codecs = {"id": "zstd", "title": "gzip", "tags.list.element": "brotli"}
    path = write_rich(tmp_path / "t.parquet", compression={**codecs, "ts": "none"})
    dest = tmp_path / "o.parquet"
    FMT.write(path, dest, [GERMAN, FRENCH], ByTarget(), {"columns": "title,tags"})
    group = pq.ParquetFile(dest).metadata.row_group(0)
    got = {
        group.column(j).path_in_schema: group.column(j).compression
        for j in range(group.num_columns)
    }
    assert got["id"] == "ZSTD" and got["ts"] == "UNCOMPRESSED"
    assert got["title"] == got["title_de"] == got["title_fr"] == "GZIP"
    assert got["tags.list.element"] == got["tags_fr.list.element"] == "BROTLI"


def test_int96_timestamps_stay_int96(tmp_path: Path) -> None:
    path = write_rich(tmp_path / "t.parquet", use_deprecated_int96_timestamps=True)
    dest = tmp_path / "o.parquet"
    FMT.write(path, dest, [GERMAN], FuncTranslations(), {"columns": "title", "in_place": True})
    schema = pq.ParquetFile(dest).schema
    ts = [schema.column(i) for i in range(len(schema)) if schema.column(i).name == "ts"]
    assert ts[0].physical_type == "INT96"
    assert pq.read_table(dest).equals(pq.read_table(path))


def test_legacy_list_item_name_kept(tmp_path: Path) -> None:
    path = write_rich(tmp_path / "t.parquet", use_compliant_nested_type=False)
    assert pq.read_schema(path).field("tags").type.value_field.name == "item"
    dest = tmp_path / "o.parquet"
    FMT.write(path, dest, [GERMAN], FuncTranslations(), {"columns": "tags", "in_place": True})
    assert pq.read_table(dest).equals(pq.read_table(path), check_metadata=True)


def test_failed_translation_is_null_and_counted(tmp_path: Path) -> None:
    path = write_rich(tmp_path / "t.parquet")
    dest = tmp_path / "o.parquet"
    failing = frozenset({"Red shoe", "Shoes", "sale", "fits small"})
    report = FMT.write(path, dest, [GERMAN, FRENCH], ByTarget(failing), {"columns": TEXT_COLUMNS})
    out = pq.read_table(dest)
    fails = lambda text: None if text in failing else "<de>" + text
    for column in TEXT_COLUMNS:
        assert out.column(f"{column}_de").to_pylist() == [
            expected(v, fails) for v in out.column(column).to_pylist()
        ]
    # Red shoe x2, Shoes x3, sale x3, fits small x2 -- in both targets.
    assert report.failed == 2 * (2 + 3 + 3 + 2)
    cells = sum(1 for _ in FMT.read(path, {"columns": TEXT_COLUMNS}))
    assert report.translated == 2 * cells - report.failed


def test_in_place_replaces_columns_and_keeps_source_where_null_is_not_allowed(
    tmp_path: Path,
) -> None:
    table = rich_table().select(["id", "title", "tags"])
    strict = table.schema.set(1, table.schema.field("title").with_nullable(False))
    table = pa.table(
        {
            "id": table["id"],
            "title": pa.array([t or "x" for t in table["title"].to_pylist()]),
            "tags": table["tags"],
        },
        schema=strict,
    )
    path = tmp_path / "strict.parquet"
    pq.write_table(table, path)
    dest = tmp_path / "o.parquet"
    report = FMT.write(
        path,
        dest,
        [GERMAN],
        ByTarget(frozenset({"Red shoe", "sale"})),
        {"columns": ["title", "tags"], "in_place": True},
    )
    out = pq.read_table(dest)
    assert out.schema.equals(pq.read_schema(path), check_metadata=True)
    titles = out.column("title").to_pylist()
    assert titles[0] == "Red shoe" and titles[3] == "<de>Blue hat"  # failed: source kept
    assert out.column("tags").to_pylist()[0] == ["<de>new", None]  # nullable item: null
    assert report.failed == 2 + 3


def test_in_place_needs_one_target(tmp_path: Path) -> None:
    path = write_rich(tmp_path / "t.parquet")
    with pytest.raises(ConfigError, match="one target"):
        FMT.write(
            path,
            tmp_path / "o.parquet",
            [GERMAN, FRENCH],
            FuncTranslations(),
            {"columns": "title", "in_place": True},
        )
    with pytest.raises(ConfigError, match="true or false"):
        FMT.write(
            path,
            tmp_path / "o.parquet",
            [GERMAN],
            FuncTranslations(),
            {"columns": "title", "in_place": "yes"},
        )


def test_added_column_name_taken_is_config_error(tmp_path: Path) -> None:
    path = write_rich(tmp_path / "t.parquet")
    once = tmp_path / "once.parquet"
    FMT.write(path, once, [GERMAN], FuncTranslations(), {"columns": "title"})
    with pytest.raises(ConfigError, match="title_de"):
        FMT.write(
            once, tmp_path / "twice.parquet", [GERMAN], FuncTranslations(), {"columns": "title"}
        )


def test_each_distinct_value_asked_once_per_row_group_with_a_read_segment(tmp_path: Path) -> None:
    path = write_rich(tmp_path / "t.parquet", row_group_size=4)
    translations = ByTarget()
    FMT.write(path, tmp_path / "o.parquet", [GERMAN], translations, {"columns": TEXT_COLUMNS})
    read = list(FMT.read(path, {"columns": TEXT_COLUMNS}))
    asked = [segment for segment, _ in translations.asked]
    assert set(asked) <= set(read)  # the writer asks with segments the reader yielded
    for group in (range(4), range(4, 8)):
        rows = {f"row {r + 1}," for r in group}
        texts = [s.text for s in asked if s.place.split(" column")[0] in rows]
        distinct = {s.text for s in read if s.place.split(" column")[0] in rows}
        assert sorted(texts) == sorted(distinct)


def test_sliced_chunks_and_unused_dictionary_entries() -> None:
    lists = pa.array([["a"], ["b", "c"], None, ["c", ""]], type=pa.list_(pa.string())).slice(1)
    dictionary = pa.DictionaryArray.from_arrays(
        pa.array([2, None, 2], type=pa.int8()), pa.array(["unused", "also unused", "kept"])
    )
    counts = [Counts()]
    translations = FuncTranslations(str.upper)
    translator = RowGroupTranslator(translations, [GERMAN], counts)
    [out_lists] = translator.translate(lists, "l", 10)
    [out_dict] = translator.translate(dictionary, "d", 10)
    assert out_lists.to_pylist() == [["B", "C"], None, ["C", ""]]
    assert out_dict.type == dictionary.type and out_dict.to_pylist() == ["KEPT", None, "KEPT"]
    assert [(s.text, s.place) for s in translations.asked] == [
        ("b", "row 11, column 'l', item 1"),
        ("c", "row 11, column 'l', item 2"),
        ("kept", "row 11, column 'd'"),
    ]
    assert (counts[0].translated, counts[0].failed) == (5, 0)


def test_sample_file_is_the_generated_one() -> None:
    assert SAMPLE.exists(), "run tests/formats/make_parquet_sample.py"
    table = pq.read_table(SAMPLE)
    assert table.to_pylist() == build_table().to_pylist()
    assert table.schema.metadata == build_table().schema.metadata
    assert [f.type for f in table.schema][:3] == [
        pa.int64(),
        pa.dictionary(pa.int32(), pa.string()),
        pa.string(),
    ]
    segments = list(FMT.read(SAMPLE, {"columns": "product,review,tags"}))
    assert len(segments) == 20 + 18 + 22  # products, reviews, tag items


# ---- streaming memory ------------------------------------------------------------------------

STREAM_ROWS = 300_000


class Identity:
    """Identity translations that keep nothing (FuncTranslations records every segment)."""

    def get(self, segment: Segment, target: Language) -> str | None:
        return segment.text


@pytest.fixture(scope="module")
def big_file(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, int]]:
    path = tmp_path_factory.mktemp("stream") / "big.parquet"
    table = pa.table(
        {
            "id": pa.array(range(STREAM_ROWS), type=pa.int64()),
            # 3,000 distinct values, each repeated 100 times
            "name": pa.array(
                [f"product {i % 3000} in colour {i % 3000 % 7}" for i in range(STREAM_ROWS)]
            ),
        }
    )
    pq.write_table(table, path, row_group_size=20_000)
    yield path, table.nbytes


def measure(action: Callable[[], object], python: bool = True) -> tuple[int, int]:
    """(Python peak via tracemalloc, Arrow peak via a proxy pool) while running ``action``.

    tracemalloc slows allocation-heavy code several times: ``python=False`` skips it (0).
    """
    base = pa.default_memory_pool()
    pool = pa.proxy_memory_pool(base)
    pa.set_memory_pool(pool)
    python_peak = 0
    if python:
        tracemalloc.start()
    try:
        action()
        if python:
            _, python_peak = tracemalloc.get_traced_memory()
    finally:
        if python:
            tracemalloc.stop()
        pa.set_memory_pool(base)
    return python_peak, pool.max_memory() or 0


def test_reading_memory_stays_flat(
    big_file: tuple[Path, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, decoded = big_file
    monkeypatch.setattr(parquet_module, "READ_BATCH_ROWS", 4096)

    def consume(limit: int) -> Callable[[], None]:
        def run() -> None:
            for count, _ in enumerate(FMT.read(path, {"columns": "name"}), 1):
                if count == limit:
                    return

        return run

    started = time.perf_counter()
    early_py, _ = measure(consume(20_000))
    late_py, _ = measure(consume(100_000))
    _, arrow_peak = measure(consume(STREAM_ROWS), python=False)
    assert late_py < 1.25 * early_py + 64_000, (early_py, late_py)
    assert late_py < decoded / 8 and arrow_peak < decoded / 8, (late_py, arrow_peak, decoded)
    assert time.perf_counter() - started < 10


def test_writing_memory_is_one_row_group(big_file: tuple[Path, int], tmp_path: Path) -> None:
    path, decoded = big_file
    dest = tmp_path / "out.parquet"
    reports = []
    python_peak, arrow_peak = measure(
        lambda: reports.append(FMT.write(path, dest, [GERMAN], Identity(), {"columns": "name"}))
    )
    assert reports[0].translated == STREAM_ROWS
    assert python_peak < decoded / 8 and arrow_peak < decoded / 3, (
        python_peak,
        arrow_peak,
        decoded,
    )
    assert pq.ParquetFile(dest).num_row_groups == STREAM_ROWS // 20_000
    out = pq.read_table(dest, columns=["name", "name_de"])
    assert out.column("name").equals(out.column("name_de"))


# ---- the real corpus -------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["multi30k-val.parquet", "multi30k-train.parquet"])
def test_corpus_every_row_translated(tmp_path: Path, name: str) -> None:
    path = CORPUS / name
    if not path.exists():
        pytest.skip(f"{path} not available")
    source = pq.read_table(path)
    segments = list(FMT.read(path, {"columns": "en"}))
    assert [s.text for s in segments] == [v for v in source.column("en").to_pylist() if v]
    dest = tmp_path / name
    german = functools.lru_cache(maxsize=None)(lambda text: fake_translate(text, "German"))
    report = FMT.write(path, dest, [GERMAN], FuncTranslations(german), {"columns": "en"})
    out = pq.read_table(dest)
    assert out.column_names == source.column_names + ["en_de"]
    assert out.select(source.column_names).equals(source, check_metadata=True)
    assert out.column("en_de").to_pylist() == [
        expected(v, german) for v in source.column("en").to_pylist()
    ]
    assert report.failed == 0 and report.translated == len(segments)
    assert pq.ParquetFile(dest).num_row_groups == pq.ParquetFile(path).num_row_groups

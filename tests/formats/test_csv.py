"""CSV/TSV format: the shared contract, dialect fidelity, errors, streaming, the real corpus."""

from __future__ import annotations

import csv
import itertools
import shutil
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from mtpipe.errors import ConfigError, InputError
from mtpipe.formats.base import Options, WriteReport
from mtpipe.formats.tabular.csv import CsvFormat, columns_of
from mtpipe.formats.tabular.delimited import quoted_throughout
from mtpipe.text.languages import Language
from mtpipe.text.segments import Segment
from tests.formats.contract import GERMAN, FormatContract, FuncTranslations

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "samples" / "products.csv"
CORPUS = ROOT / ".." / "shared" / "corpus"
FRENCH = Language("fr", "French")
FMT = CsvFormat()


class ByTarget:
    """Translations that tag each text with the target code, failing texts ``fail`` matches."""

    def __init__(self, fail: Callable[[str], bool] = lambda text: False) -> None:
        self.fail = fail

    def get(self, segment: Segment, target: Language) -> str | None:
        return None if self.fail(segment.text) else f"{target.code}:{segment.text}"


def put(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def texts(path: Path, options: Options) -> list[str]:
    return [seg.text for seg in FMT.read(path, options)]


def write(
    path: Path,
    options: Options,
    targets: list[Language] | None = None,
    fn: Callable[[str], str | None] | None = None,
) -> tuple[bytes, WriteReport]:
    dest = path.parent / "out" / path.name
    translations = FuncTranslations(fn) if fn else FuncTranslations()
    report = FMT.write(path, dest, targets or [GERMAN], translations, options)
    return dest.read_bytes(), report


class TestCsvContract(FormatContract):
    options: ClassVar[Options] = {"columns": ["title", "description"]}
    round_trip_options: ClassVar[Options] = {"in_place": True}

    def make_sample(self, tmp_path: Path) -> Path:
        return Path(shutil.copy(SAMPLE, tmp_path / "products.csv"))

    def make_empty(self, tmp_path: Path) -> Path:
        return put(tmp_path, "empty.csv", b"id,title,description,price\n")

    def make_corrupt(self, tmp_path: Path) -> Path:
        return put(tmp_path, "ragged.csv", b"id,title,description,price\n1,Shoe,Nice,9\n2,Hat\n")


#: IMDb's title.basics.tsv shape: no quoting, ``\\N`` for null, quotes are part of titles.
IMDB_TSV = (
    b"tconst\ttitleType\tprimaryTitle\toriginalTitle\tisAdult\tstartYear\tendYear"
    b"\truntimeMinutes\tgenres\n"
    b'tt0038276\tmovie\t"Swing it" magistern\t"Swing it" magistern\t0\t1940\t\\N\t92'
    b"\tComedy,Music\n"
    b'tt0000002\tshort\tLe clown et ses "chiens\tLe clown et ses "chiens\t0\t1892\t\\N\t5'
    b"\tAnimation,Short\n"
    b"tt0000003\tshort\tPauvre Pierrot\tPauvre Pierrot\t0\t1892\t\\N\t5\tAnimation\n"
)
IMDB_TITLES = ['"Swing it" magistern', 'Le clown et ses "chiens', "Pauvre Pierrot"]


class TestTsvContract(FormatContract):
    options: ClassVar[Options] = {"columns": ["primaryTitle"]}
    round_trip_options: ClassVar[Options] = {"in_place": True}

    def make_sample(self, tmp_path: Path) -> Path:
        return put(tmp_path, "title.basics.tsv", IMDB_TSV)

    def make_empty(self, tmp_path: Path) -> Path:
        return put(tmp_path, "empty.tsv", IMDB_TSV.split(b"\n", 1)[0] + b"\n")

    def make_corrupt(self, tmp_path: Path) -> Path:
        return put(tmp_path, "ragged.tsv", IMDB_TSV + b'tt9\tmovie\t"Short" row\n')


# ---- dialects: read the right cells, write the same bytes back ---------------------------

DIALECTS = {
    "lf": ("a.csv", b"id,title\n1,Hello\n2,World\n", ["Hello", "World"]),
    "crlf": ("a.csv", b"id,title\r\n1,Hello\r\n2,World\r\n", ["Hello", "World"]),
    "cr-only": ("a.csv", b"id,title\r1,Hello\r2,World\r", ["Hello", "World"]),
    "no-final-newline": ("a.csv", b"id,title\n1,Hello\n2,World", ["Hello", "World"]),
    "bom": ("a.csv", b"\xef\xbb\xbfid,title\n1,Gr\xc3\xbc\xc3\x9fe\n", ["Grüße"]),
    "semicolon": ("a.csv", b"id;title\n1;Hello, world\n2;Bye\n", ["Hello, world", "Bye"]),
    "tab-in-csv": ("a.csv", b"id\ttitle\n1\tHello, world\n2\tBye\n", ["Hello, world", "Bye"]),
    "tsv": ("a.tsv", b"id\ttitle\n1\tHello; a, b\n", ["Hello; a, b"]),
    "pipe": ("a.csv", b"id|title\n1|Hello, world\n", ["Hello, world"]),
    "quote-all": ("a.csv", b'"id","title"\r\n"1","Hello"\r\n"2","A, B"\r\n', ["Hello", "A, B"]),
    "quote-nonnumeric": ("a.csv", b'id,"title"\n1,"Hello"\n2,"Bye"\n', ["Hello", "Bye"]),
    "multi-line": (
        "a.csv",
        b'id,title\n1,"line one\nline two"\n2,x\n',
        ["line one\nline two", "x"],
    ),
    "multi-line-crlf": ("a.csv", b'id,title\r\n1,"one\r\ntwo"\r\n', ["one\r\ntwo"]),
    "embedded-quotes": (
        "a.csv",
        b'id,title\n1,"13"" screen"\n2,"say ""hi"""\n',
        ['13" screen', 'say "hi"'],
    ),
    "empty-cells": ("a.csv", b'id,title,note\n1,,x\n2,"",y\n3,Hi,\n', ["Hi"]),
    "single-quote": ("a.csv", b"id,title\n1,'Hello, world'\n2,'x'\n", ["Hello, world", "x"]),
    "blank-lines": ("a.csv", b"id,title\n\n1,Hello\n\n2,World\n", ["Hello", "World"]),
    "one-column": ("a.csv", b'title\nHello\n""\nWorld\n', ["Hello", "World"]),
}


@pytest.mark.parametrize("case", DIALECTS.values(), ids=DIALECTS.keys())
def test_dialect_read_and_identity_round_trip(
    tmp_path: Path, case: tuple[str, bytes, list[str]]
) -> None:
    name, data, expected = case
    path = put(tmp_path, name, data)
    assert texts(path, {"columns": "title"}) == expected
    out, report = write(path, {"columns": "title", "in_place": True})
    assert out == data
    assert report.translated == len(expected) and report.failed == 0


ADDED = {
    "lf": (b"id,title\n1,Hello\n", b"id,title,title_de\n1,Hello,ZZHello\n"),
    "crlf-no-final-newline": (
        b"id,title\r\n1,Hi\r\n2,Yo",
        b"id,title,title_de\r\n1,Hi,ZZHi\r\n2,Yo,ZZYo",
    ),
    "quote-all": (
        b'"id","title"\r\n"1","Hi"\r\n',
        b'"id","title","title_de"\r\n"1","Hi","ZZHi"\r\n',
    ),
    "semicolon": (b"id;title\n1;Hi, you\n", b"id;title;title_de\n1;Hi, you;ZZHi, you\n"),
    "multi-line": (
        b'id,title\n1,"a ""b""\nc"\n',
        b'id,title,title_de\n1,"a ""b""\nc","ZZa ""b""\nc"\n',
    ),
    "empty-stays-empty": (b'id,title\n1,\n2,""\n', b'id,title,title_de\n1,,\n2,"",""\n'),
    "bom": (b"\xef\xbb\xbfid,title\n1,A\n", b"\xef\xbb\xbfid,title,title_de\n1,A,ZZA\n"),
}


@pytest.mark.parametrize(("data", "expected"), ADDED.values(), ids=ADDED.keys())
def test_added_column_keeps_the_dialect(tmp_path: Path, data: bytes, expected: bytes) -> None:
    path = put(tmp_path, "a.csv", data)
    out, _ = write(path, {"columns": "title"}, fn=lambda t: "ZZ" + t)
    assert out == expected


# ---- TSV: IANA text/tab-separated-values, unless quoted throughout --------------------------


def test_tsv_quotes_are_text(tmp_path: Path) -> None:
    path = put(tmp_path, "title.basics.tsv", IMDB_TSV)
    assert texts(path, {"columns": "primaryTitle"}) == IMDB_TITLES
    out, report = write(path, {"columns": "primaryTitle"}, fn=lambda t: "ZZ" + t)
    lines = out.decode().splitlines()
    assert lines[0].endswith("\tgenres\tprimaryTitle_de")
    assert lines[1].endswith('\tComedy,Music\tZZ"Swing it" magistern')
    assert lines[2].endswith('\tAnimation,Short\tZZLe clown et ses "chiens')
    assert report.translated == 3 and report.notes == []


QUOTED_TSV = {
    "header-and-rows": (
        b'"id"\t"title"\r\n"1"\t"tab\there"\r\n"2"\t"two\nlines, ""quoted"""\r\n',
        ["tab\there", 'two\nlines, "quoted"'],
    ),
    "header-only-quoted": (b'"id"\t"title"\n1\t"a\tb"\n2\tplain\n', ["a\tb", "plain"]),
    "rows-only-quoted": (b'id\ttitle\n"1"\t"a\tb"\n\n"2"\t"say ""hi"""\n', ["a\tb", 'say "hi"']),
}


@pytest.mark.parametrize(("data", "expected"), QUOTED_TSV.values(), ids=QUOTED_TSV.keys())
def test_tsv_quoted_throughout_keeps_csv_quoting(
    tmp_path: Path, data: bytes, expected: list[str]
) -> None:
    path = put(tmp_path, "q.tsv", data)
    assert texts(path, {"columns": "title"}) == expected
    out, _ = write(path, {"columns": "title", "in_place": True})
    assert out == data
    out, _ = write(path, {"columns": "title"}, fn=lambda t: t + "\tZZ")
    rows = list(csv.reader(out.decode().splitlines(keepends=True), delimiter="\t"))
    assert [row[2] for row in rows[1:] if row] == [t + "\tZZ" for t in expected]


@pytest.mark.parametrize(
    ("sample", "quoted"),
    [
        ('"a"\t"b"\n1\t2\n', True),
        ('"a"\t"b"', True),
        ('a\tb\n"1"\t"x\ny"\n"2"\t""\n', True),
        ('a\tb\n"1"\t"cut off at the sample\n', True),
        ('a\tb\n"1"\t"x"\n2\t"y"\n', False),
        ('a\t"b"\n1\t"x"\n', False),
        ('tconst\tprimaryTitle\ntt1\t"Swing it" magistern\n', False),
        ('"Swing it" magistern\tx\n', False),
        ("a\tb\n", False),
        ("", False),
    ],
)
def test_quoted_throughout_detection(sample: str, quoted: bool) -> None:
    assert quoted_throughout(sample) is quoted


def test_tsv_translation_with_tab_or_line_break_is_flattened(tmp_path: Path) -> None:
    path = put(tmp_path, "a.tsv", b'id\ttitle\n1\t"Swing it"\n2\tplain\n')
    out, report = write(path, {"columns": "title"}, fn=lambda t: "a\tb\r\nc" if t == "plain" else t)
    assert out == b'id\ttitle\ttitle_de\n1\t"Swing it"\t"Swing it"\n2\tplain\ta b c\n'
    assert report.translated == 2
    assert report.notes == [
        (
            "1 translation(s) held a tab or a line break, which a tab-separated file without "
            "quotes cannot hold: written with spaces instead"
        )
    ]


def test_new_cell_quoted_when_its_text_needs_it(tmp_path: Path) -> None:
    path = put(tmp_path, "a.csv", b"id;title\n1;Hi\n")
    out, _ = write(path, {"columns": "title"}, fn=lambda t: 'Hallo; "du"\nda')
    assert out == b'id;title;title_de\n1;Hi;"Hallo; ""du""\nda"\n'


def test_in_place_replaces_and_requotes_only_changed_cells(tmp_path: Path) -> None:
    path = put(tmp_path, "a.csv", b'id,title,n\n1,"Same",7\n2,Other,8\n3,"x",9\n')
    out, report = write(
        path, {"columns": "title", "in_place": True}, fn=lambda t: "a,b" if t == "Other" else t
    )
    assert out == b'id,title,n\n1,"Same",7\n2,"a,b",8\n3,"x",9\n'
    assert report.translated == 3


def test_several_targets_column_order(tmp_path: Path) -> None:
    path = put(tmp_path, "p.csv", b"id,title,description,price\n1,Shoe,Light,9\n")
    dest = tmp_path / "out.csv"
    report = FMT.write(path, dest, [GERMAN, FRENCH], ByTarget(), {"columns": "title,description"})
    rows = list(csv.reader(dest.open(newline="")))
    assert rows[0] == [
        "id",
        "title",
        "description",
        "price",
        "title_de",
        "description_de",
        "title_fr",
        "description_fr",
    ]
    assert rows[1] == ["1", "Shoe", "Light", "9", "de:Shoe", "de:Light", "fr:Shoe", "fr:Light"]
    assert report.translated == 4


def test_failed_segments_leave_empty_cells_and_are_counted(tmp_path: Path) -> None:
    path = Path(shutil.copy(SAMPLE, tmp_path / "products.csv"))
    dest = tmp_path / "out.csv"

    def fails(text: str) -> bool:
        return "{" in text

    report = FMT.write(
        path, dest, [GERMAN, FRENCH], ByTarget(fails), {"columns": "title,description"}
    )
    rows = list(csv.DictReader(dest.open(newline="", encoding="utf-8")))
    expected_failed = sum(1 for row in rows for col in ("title", "description") if "{" in row[col])
    assert expected_failed >= 3 and report.failed == 2 * expected_failed
    for row in rows:
        for col in ("title", "description"):
            for code in ("de", "fr"):
                want = "" if not row[col] or "{" in row[col] else f"{code}:{row[col]}"
                assert row[f"{col}_{code}"] == want
    assert report.translated == 2 * (23 - expected_failed)


def test_failed_segment_in_place_keeps_source(tmp_path: Path) -> None:
    path = put(tmp_path, "a.csv", b"id,title\n1,Keep me\n2,Go\n")
    out, report = write(
        path, {"columns": "title", "in_place": True}, fn=lambda t: None if t == "Keep me" else "Los"
    )
    assert out == b"id,title\n1,Keep me\n2,Los\n"
    assert (report.failed, report.translated) == (1, 1)


def test_sample_segments_and_places() -> None:
    segs = list(FMT.read(SAMPLE, {"columns": "title,description"}))
    assert len(segs) == 23  # 12 titles, 11 descriptions (one is empty)
    by_place = {seg.place: seg.text for seg in segs}
    assert by_place["row 4, column 'description'"].count("\n") == 1
    assert by_place["row 5, column 'title'"] == "Tablet Stand, Aluminium"
    assert "row 7, column 'description'" not in by_place
    assert all(seg.context == "" for seg in segs)
    assert columns_of(SAMPLE, {}) == ["id", "title", "description", "price"]


# ---- configuration errors -----------------------------------------------------------------


def test_missing_columns_option_lists_columns() -> None:
    with pytest.raises(
        ConfigError,
        match=r"--columns\) is required; columns in products.csv: id, title, description, price",
    ):
        list(FMT.read(SAMPLE, {}))


def test_unknown_column_lists_columns() -> None:
    with pytest.raises(
        ConfigError,
        match=r"no column 'name'; columns in products.csv: id, title, description, price",
    ):
        list(FMT.read(SAMPLE, {"columns": ["title", "name"]}))


def test_existing_output_column_is_config_error(tmp_path: Path) -> None:
    path = put(tmp_path, "a.csv", b"id,title,title_de\n1,Hi,Hallo\n")
    with pytest.raises(ConfigError, match="'title_de' already exists"):
        write(path, {"columns": "title"})
    out, _ = write(path, {"columns": "title", "in_place": True})
    assert out == path.read_bytes()


def test_in_place_with_several_targets_is_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="in_place"):
        FMT.write(
            SAMPLE,
            tmp_path / "o.csv",
            [GERMAN, FRENCH],
            ByTarget(),
            {"columns": "title", "in_place": True},
        )
    assert not (tmp_path / "o.csv").exists()


def test_in_place_must_be_a_bool(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="'in_place' must be true or false"):
        FMT.write(
            SAMPLE, tmp_path / "o.csv", [GERMAN], ByTarget(), {"columns": "title", "in_place": "no"}
        )


def test_unknown_encoding_is_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown encoding"):
        list(FMT.read(SAMPLE, {"columns": "title", "encoding": "klingon-8"}))


# ---- encodings ----------------------------------------------------------------------------

LATIN1 = "id,title\n1,Caf\xe9 cr\xe8me\n2,Na\xefve\n".encode("latin-1")


def test_latin1_without_option_is_clear_input_error(tmp_path: Path) -> None:
    path = put(tmp_path, "latin.csv", LATIN1)
    with pytest.raises(InputError) as info:
        list(FMT.read(path, {"columns": "title"}))
    message = str(info.value)
    assert str(path) in message and "line 2" in message
    offset = LATIN1.index(b"\xe9")
    assert f"byte offset {offset}" in message and "0xe9" in message
    assert "'encoding' option" in message and "\n" not in message


def test_latin1_with_encoding_option(tmp_path: Path) -> None:
    path = put(tmp_path, "latin.csv", LATIN1)
    options = {"columns": "title", "encoding": "latin-1"}
    assert texts(path, options) == ["Café crème", "Naïve"]
    out, _ = write(path, {**options, "in_place": True})
    assert out == LATIN1
    out, report = write(path, options, fn=lambda t: t.upper())
    assert out.decode("latin-1").splitlines()[1] == "1,Café crème,CAFÉ CRÈME"
    out, report = write(path, options, fn=lambda t: "Кофе")
    assert out.decode("utf-8").splitlines()[1] == "1,Café crème,Кофе"
    assert any("UTF-8" in note for note in report.notes)


@pytest.mark.parametrize("encoding", ["utf-16", "cp1252"])
def test_other_encodings_round_trip(tmp_path: Path, encoding: str) -> None:
    data = "id;title\r\n1;Grüße, 5 €\r\n".encode(encoding)
    path = put(tmp_path, "enc.csv", data)
    options = {"columns": "title", "encoding": encoding}
    assert texts(path, options) == ["Grüße, 5 €"]
    assert write(path, {**options, "in_place": True})[0] == data
    out, _ = write(path, options, fn=str.upper)
    assert out == "id;title;title_de\r\n1;Grüße, 5 €;GRÜSSE, 5 €\r\n".encode(encoding)


def test_invalid_utf8_late_in_file_names_its_line(tmp_path: Path) -> None:
    data = b"id,title\n" + b"".join(b"%d,ok\n" % i for i in range(1, 5000)) + b"5000,bad \xff\n"
    path = put(tmp_path, "late.csv", data)
    offset = data.index(b"\xff")
    with pytest.raises(InputError, match=rf"line 5001: byte 0xff at byte offset {offset}"):
        list(FMT.read(path, {"columns": "title"}))


# ---- malformed input ----------------------------------------------------------------------

MALFORMED = {
    "too-many-fields": (b"id,title\n1,a\n2,b,c\n", "line 3", "3 fields but the header has 2"),
    "too-few-fields": (b"id,title,x\n1,a,b\n2,b\n", "line 3", "2 fields but the header has 3"),
    "after-multi-line": (b'id,title\n1,"a\nb"\n2,x,y\n', "line 4", "3 fields"),
    "nul-byte": (b"id,title\n1,a\x00b\n", "line 2", "NUL byte"),
    "unterminated-quote": (b'id,title\n1,"open\n2,x\n', "line 3", "record starting at line 2"),
    "junk-after-quote": (b'id,title\n1,"a"b\n', "line 2", "malformed CSV"),
}


@pytest.mark.parametrize(("data", "place", "reason"), MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_input_is_input_error_with_line(
    tmp_path: Path, data: bytes, place: str, reason: str
) -> None:
    path = put(tmp_path, "bad.csv", data)
    for attempt in (
        lambda: list(FMT.read(path, {"columns": "title"})),
        lambda: write(path, {"columns": "title"}),
    ):
        with pytest.raises(InputError) as info:
            attempt()
        assert f"{path}: {place}: " in str(info.value) and reason in str(info.value)
    assert not (tmp_path / "out" / "bad.csv").exists()


def test_field_over_size_limit_is_input_error(tmp_path: Path) -> None:
    path = put(tmp_path, "big.csv", b"id,title\n1,short\n2," + b"x" * 5000 + b"\n")
    previous = csv.field_size_limit(1000)
    try:
        with pytest.raises(InputError, match=r"line 3: .*field larger than field limit"):
            list(FMT.read(path, {"columns": "title"}))
    finally:
        csv.field_size_limit(previous)


def test_large_field_within_default_limit(tmp_path: Path) -> None:
    big = "word " * 100_000  # 500 kB, over the csv module's 128 KiB default
    path = put(tmp_path, "big.csv", f'id,title\n1,"{big}"\n'.encode())
    assert texts(path, {"columns": "title"}) == [big]


def test_zero_byte_file(tmp_path: Path) -> None:
    path = put(tmp_path, "zero.csv", b"")
    assert texts(path, {"columns": "title"}) == [] and texts(path, {}) == []
    out, report = write(path, {"columns": "title"})
    assert out == b"" and report.translated == 0
    assert columns_of(path, {}) == []


def test_header_only_file(tmp_path: Path) -> None:
    path = put(tmp_path, "h.csv", b"id,title\r\n")
    assert texts(path, {"columns": "title"}) == []
    out, _ = write(path, {"columns": "title"})
    assert out == b"id,title,title_de\r\n"


# ---- streaming and the real corpus --------------------------------------------------------


def _rows(count: int) -> Iterator[bytes]:
    yield b"id,title\n"
    for i in range(count):
        yield b'%d,"Product %d, size {size}"\n' % (i, i)


def _traced_peak(consume: Callable[[], int]) -> tuple[int, int]:
    """Run ``consume`` under tracemalloc: (its result, peak bytes allocated meanwhile)."""
    tracemalloc.start()
    try:
        result = consume()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_read_streams_in_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "huge.csv"
    with path.open("wb") as handle:
        handle.writelines(_rows(200_000))
    segments: Iterator[Segment] = iter(())

    def start() -> int:
        nonlocal segments
        segments = iter(FMT.read(path, {"columns": "title"}))
        return sum(1 for _ in itertools.islice(segments, 1000))

    # tracemalloc slows every allocation several times over, so only two windows are traced:
    # the start (a reader that loads the file or all rows up front shows there) and the second
    # half (a reader that keeps rows shows there).
    first, peak_start = _traced_peak(start)
    middle = sum(1 for _ in itertools.islice(segments, 99_000))
    rest, peak_end = _traced_peak(lambda: sum(1 for _ in segments))
    assert first + middle + rest == 200_000
    size = path.stat().st_size
    for peak in (peak_start, peak_end):
        assert peak < 5 * 1024 * 1024, (
            f"peak {peak / 1e6:.1f} MB reading a {size / 1e6:.0f} MB file"
        )


def test_corpus_multi30k_val(tmp_path: Path) -> None:
    source = CORPUS / "tabular" / "multi30k-val.csv"
    if not source.exists():
        pytest.skip("shared corpus not present")
    segs = list(FMT.read(source, {"columns": "en"}))
    assert len(segs) == 1014 and segs[-1].place == "row 1014, column 'en'"
    dest = tmp_path / "val.csv"
    FMT.write(source, dest, [GERMAN], FuncTranslations(), {"columns": "en", "in_place": True})
    assert dest.read_bytes() == source.read_bytes()
    report = FMT.write(source, dest, [GERMAN, FRENCH], ByTarget(), {"columns": "en"})
    rows = list(csv.DictReader(dest.open(newline="", encoding="utf-8")))
    assert report.translated == 2 * 1014 and len(rows) == 1014
    assert all(row["en_fr"] == f"fr:{row['en']}" for row in rows)

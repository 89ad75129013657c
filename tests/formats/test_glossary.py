"""Glossary files: read as CSV/TSV inputs are (a .tsv is IANA TSV), errors naming file and line."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from mtpipe.cli import main
from mtpipe.errors import InputError
from mtpipe.formats.tabular.glossary import load_glossary
from mtpipe.text.languages import Language

GERMAN = Language("de", "German")
FRENCH = Language("fr", "French")


def glossary_file(tmp_path: Path, name: str, data: bytes | str) -> Path:
    path = tmp_path / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def all_terms(path: Path) -> dict[str, list[tuple[str, str]]]:
    return load_glossary(path).terms


def test_a_tsv_glossary_keeps_quotes_as_text(tmp_path: Path) -> None:
    path = glossary_file(
        tmp_path,
        "terms.tsv",
        'source\ttarget\n"Swing it" magistern\t"Swing it", Herr Lehrer\n12" display\t12-Zoll-Display\n'
        '"open\t"offen\n',
    )
    assert all_terms(path) == {
        "": [
            ('"Swing it" magistern', '"Swing it", Herr Lehrer'),
            ('12" display', "12-Zoll-Display"),
            ('"open', '"offen'),
        ]
    }


def test_a_tsv_glossary_quoted_throughout_is_read_with_quoting(tmp_path: Path) -> None:
    path = glossary_file(tmp_path, "terms.tsv", '"source"\t"target"\n"say ""hi"""\t"sag ""hallo"""\n')
    assert all_terms(path) == {"": [('say "hi"', 'sag "hallo"')]}


def test_a_csv_glossary_keeps_its_quoting_and_languages(tmp_path: Path) -> None:
    path = glossary_file(
        tmp_path,
        "terms.csv",
        '\ufeffsource,target,language\n\n"file, new",neue Datei,German\nwindow,fenêtre,fr\nOK,OK,\n',
    )
    glossary = load_glossary(path)
    assert glossary.terms == {"de": [("file, new", "neue Datei")], "fr": [("window", "fenêtre")], "": [("OK", "OK")]}
    assert glossary.relevant("Click OK in the window", FRENCH) == (("OK", "OK"), ("window", "fenêtre"))
    assert glossary.relevant("Click OK in the window", GERMAN) == (("OK", "OK"),)


@pytest.mark.parametrize(
    ("name", "data", "place", "reason"),
    [
        ("terms.tsv", "a\tb\nonly one field\n", "line 2", "one field where a row holds source, target"),
        ("terms.csv", "a,b\n\n,Ziel\n", "line 3", "empty source term"),
        ("terms.csv", "a,b\nc,  \n", "line 2", "empty target term"),
        ("terms.csv", "a,b\nc,d,Klingon\n", "line 2", "Klingon"),
        ("terms.csv", b"a,b\nc,d\n\xe9t\xe9,summer\n", "line 3", "save the glossary as UTF-8"),
        ("terms.csv", 'a,b\n"c,d\n', "line 2", "malformed CSV"),
        ("terms.csv", "a,b\nc\0,d\n", "line 2", "NUL byte"),
    ],
)
def test_a_bad_glossary_row_is_an_error_naming_file_and_line(
    tmp_path: Path, name: str, data: str | bytes, place: str, reason: str
) -> None:
    path = glossary_file(tmp_path, name, data)
    with pytest.raises(InputError) as caught:
        load_glossary(path)
    assert caught.value.path == path
    assert caught.value.place == place
    assert reason in caught.value.reason
    assert str(caught.value).startswith(f"{path}: {place}: ")


def test_an_unreadable_glossary_is_an_error_naming_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.csv"
    with pytest.raises(InputError) as caught:
        load_glossary(missing)
    assert caught.value.path == missing and "cannot open" in caught.value.reason


def test_a_bad_glossary_stops_the_run_before_anything_is_read_or_written(tmp_path: Path) -> None:
    data = tmp_path / "data.csv"
    data.write_text("id,text\n1,Open the file\n", encoding="utf-8")
    terms = glossary_file(tmp_path, "terms.tsv", 'source\ttarget\n"Swing it" magistern\n')
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["translate", str(data), "--columns", "text", "--to", "de", "--engine", "pseudo",
                                       "--glossary", str(terms), "--out", str(out), "--ledger", str(tmp_path / "l.jsonl"),
                                       "--cache", str(tmp_path / "cache.sqlite")])  # fmt: skip
    assert result.exit_code == 2
    assert f'{terms}: line 2: one field where a row holds source, target[, language]' in result.output
    assert "Traceback" not in result.output and not out.exists()

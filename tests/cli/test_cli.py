"""The CLI over the pseudo engine: outputs, exit codes, dry run, errors, ledger summary."""

from __future__ import annotations

import ast
import io
import json
import logging
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import mtpipe
from mtpipe.cli import main
from mtpipe.cli import output as cli_output
from mtpipe.cli.output import setup_output
from mtpipe.cli.progress import Progress
from mtpipe.engine.bookkeeping import PoolStats
from mtpipe.testing import Emulator
from tests.conftest import KEY, KEY_ENV

CSV = "id,title,description\n1,Open file,Opens a file\n2,Save %s,\n3,Open file,Close all windows\n"


def invoke(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> Result:
    runner = CliRunner()
    base = ["--out", str(tmp_path / "out"), "--ledger", str(tmp_path / "ledger.jsonl"), "--cache", str(tmp_path / "cache.sqlite")]
    return runner.invoke(main, [*args[:1], *base, *args[1:]], env=env or {}, catch_exceptions=False)


@pytest.fixture()
def products(tmp_path: Path) -> Path:
    path = tmp_path / "products.csv"
    path.write_text(CSV, encoding="utf-8")
    return path


def test_pseudo_run_writes_columns_and_ledger(tmp_path: Path, products: Path) -> None:
    result = invoke(tmp_path, "translate", str(products), "--columns", "title,description", "--to", "de", "--to", "pt-BR", "--engine", "pseudo")
    assert result.exit_code == 0, result.output
    lines = (tmp_path / "out" / "products.csv").read_text(encoding="utf-8").splitlines()
    assert lines[0] == "id,title,description,title_de,description_de,title_pt_BR,description_pt_BR"
    assert "[" in lines[1] and "%s" in lines[2]
    records = [json.loads(line) for line in (tmp_path / "ledger.jsonl").read_text().splitlines()]
    assert records[0]["event"] == "run_start" and records[-1]["event"] == "run_end"
    assert records[-1]["segments"] == 10 and records[-1]["unique"] == 8  # "Open file" once per target


def test_second_run_sends_nothing(tmp_path: Path, products: Path) -> None:
    args = ("translate", str(products), "--columns", "title,description", "--to", "de", "--engine", "pseudo")
    invoke(tmp_path, *args)
    first = (tmp_path / "out" / "products.csv").read_bytes()
    result = invoke(tmp_path, *args)
    assert result.exit_code == 0
    end = json.loads((tmp_path / "ledger.jsonl").read_text().splitlines()[-1])
    assert end["requests"] == 0 and end["cache_hits"] == 4
    assert (tmp_path / "out" / "products.csv").read_bytes() == first


def test_dry_run_sends_nothing_and_estimates(tmp_path: Path, products: Path) -> None:
    result = invoke(tmp_path, "translate", str(products), "--columns", "title", "--to", "de", "--dry-run", "--engine", "pseudo")
    assert result.exit_code == 0
    assert "dry run: 3 segments, 2 unique, 0 from cache, 1 requests" in result.output
    assert not (tmp_path / "out").exists() and not (tmp_path / "ledger.jsonl").exists()
    assert not (tmp_path / "cache.sqlite").exists()  # nothing to read, nothing created


def test_dry_run_counts_what_an_existing_cache_holds(tmp_path: Path, products: Path) -> None:
    invoke(tmp_path, "translate", str(products), "--columns", "title", "--to", "de", "--engine", "pseudo")
    result = invoke(tmp_path, "translate", str(products), "--columns", "title", "--to", "de", "--dry-run", "--engine", "pseudo")
    assert "dry run: 3 segments, 2 unique, 2 from cache, 0 requests" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--to", "xx-invalid"], "unknown language"),
        (["--to", "de", "--rpm", "0"], "--rpm must be positive"),
        (["--to", "de", "--engine", "qwen"], "DASHSCOPE_API_KEY"),
        (["--to", "de", "--output-template", "../{name}"], "outside the output directory"),
        (["--to", "de", "--columns", "titel"], "products.csv: no column 'titel'; columns in products.csv"),
        (["--to", "de", "--price", "cheap"], "price 'cheap': expected IN,OUT"),
        (["--to", "de", "--encoding", "klingon"], "unknown encoding 'klingon'"),
    ],
)
def test_configuration_errors_exit_2_with_one_line(tmp_path: Path, products: Path, args: list[str], message: str) -> None:
    """... and leave no trace: no output, no ledger, no cache file."""
    result = invoke(tmp_path, "translate", str(products), "--columns", "title", "--engine", "pseudo", *args)
    assert result.exit_code == 2
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1 and "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["products.csv"]


@pytest.mark.parametrize(
    "key", ["sk-0123456789abcdef0123456789abcdef", "0123456789abcdef0123456789abcdef", "a1b2c3d4e5f60718293a4b5c6d7e8f90"]
)
def test_a_key_given_as_the_variable_name_is_never_printed(tmp_path: Path, products: Path, key: str) -> None:
    result = invoke(tmp_path, "translate", str(products), "--columns", "title", "--to", "de", "--api-key-env", key)
    assert result.exit_code == 2
    assert "--api-key-env takes the name of an environment variable (such as DASHSCOPE_API_KEY)" in result.output
    assert key not in result.output and key[3:] not in result.output
    assert not (tmp_path / "ledger.jsonl").exists()  # refused before anything was read or sent


def test_a_variable_name_still_names_the_unset_variable(tmp_path: Path, products: Path) -> None:
    result = invoke(tmp_path, "translate", str(products), "--columns", "title", "--to", "de", "--api-key-env", "MY_MT_KEY")
    assert result.exit_code == 2 and "set the environment variable MY_MT_KEY" in result.output


def test_missing_input_is_a_clear_error(tmp_path: Path) -> None:
    result = invoke(tmp_path, "translate", str(tmp_path / "nope.csv"), "--to", "de", "--engine", "pseudo")
    assert result.exit_code == 2 and "does not exist" in result.output


def test_directory_walk_reports_skipped_files(tmp_path: Path, products: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    result = invoke(tmp_path, "translate", str(tmp_path), "--columns", "title", "--to", "de", "--engine", "pseudo")
    assert result.exit_code == 0, result.output
    assert "skipped" in result.output and "notes.txt" in result.output


def test_a_walk_does_not_follow_links_out_of_its_directory(tmp_path: Path) -> None:
    """A file link (and a glob through a directory link) leading outside the walked directory
    is skipped and reported; a link to a file inside it is translated once."""
    outside = tmp_path / "private"
    outside.mkdir()
    (outside / "secret.csv").write_text("id,title\n1,PRIVATE-SALARY-TABLE\n", encoding="utf-8")
    walked = tmp_path / "docs"
    walked.mkdir()
    (walked / "products.csv").write_text(CSV, encoding="utf-8")
    (walked / "leak.csv").symlink_to(outside / "secret.csv")
    (walked / "alias.csv").symlink_to(walked / "products.csv")
    (walked / "shared").symlink_to(outside, target_is_directory=True)
    for source in (str(walked), str(walked / "**" / "*.csv")):
        result = invoke(tmp_path, "translate", source, "--columns", "title", "--to", "de", "--engine", "pseudo")
        assert result.exit_code == 0, result.output
        why = f"a symbolic link to {(outside / 'secret.csv').resolve()}, outside {walked.resolve()}"
        assert f"skipped {walked / 'leak.csv'}: {why}" in result.output
        assert "give the file itself as an input" in result.output
        assert "1 files written" in result.output
        written = "".join(p.read_text(encoding="utf-8") for p in (tmp_path / "out").rglob("*.csv"))
        assert "PRIVATE" not in written
        starts = [json.loads(line) for line in (tmp_path / "ledger.jsonl").read_text().splitlines() if "run_start" in line]
        assert starts[-1]["files"] == [str(walked / "alias.csv")]  # products.csv, reached once


def test_one_bad_file_fails_alone(tmp_path: Path, products: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"id,title\n1,\"unterminated\n2,x\x00y\n")
    result = invoke(tmp_path, "translate", str(products), str(bad), "--columns", "title", "--to", "de", "--engine", "pseudo")
    assert result.exit_code == 1
    assert "bad.csv" in result.output
    assert (tmp_path / "out" / "products.csv").exists() and not (tmp_path / "out" / "bad.csv").exists()


def test_parquet_with_invalid_utf8_fails_alone(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = tmp_path / "in"
    folder.mkdir()
    binary = pa.array([b"Open file", b"\xff\xfe bad", b"Save"], type=pa.binary())
    text = pa.Array.from_buffers(pa.string(), len(binary), binary.buffers(), binary.null_count)
    pq.write_table(pa.table({"id": [1, 2, 3], "text": text}), folder / "bad.parquet")
    (folder / "good.csv").write_text("id,text\n1,Open file\n2,Close all windows\n", encoding="utf-8")
    result = invoke(tmp_path, "translate", str(folder), "--columns", "text", "--to", "de", "--engine", "pseudo")
    assert result.exit_code == 1, result.output
    assert f"{folder / 'bad.parquet'}: row 2, column 'text': the value is not valid UTF-8" in result.output
    assert "Traceback" not in result.output
    rows = (tmp_path / "out" / "good.csv").read_text(encoding="utf-8").splitlines()
    assert rows[0] == "id,text,text_de" and len(rows) == 3 and all(row.split(",")[2] for row in rows[1:])
    assert not (tmp_path / "out" / "bad.parquet").exists()


def test_input_never_overwritten_without_in_place(tmp_path: Path, products: Path) -> None:
    result = invoke(tmp_path, "translate", str(products), "--columns", "title", "--to", "de", "--engine", "pseudo", "--output-template", str(products.name))
    # the template is relative to --out, so this is a new file, not the input
    assert result.exit_code == 0
    assert products.read_text(encoding="utf-8") == CSV


def test_languages_and_ledger_summary(tmp_path: Path, products: Path) -> None:
    runner = CliRunner()
    listing = runner.invoke(main, ["languages"])
    assert listing.exit_code == 0 and "German" in listing.output
    invoke(tmp_path, "translate", str(products), "--columns", "title", "--to", "de", "--engine", "pseudo")
    summary = runner.invoke(main, ["ledger", "summary", str(tmp_path / "ledger.jsonl")])
    assert summary.exit_code == 0
    assert "by model:" in summary.output and "pseudo" in summary.output and "auto->de" in summary.output


def test_lang_template_level_vanishes_for_tabular_outputs(tmp_path: Path, products: Path) -> None:
    result = invoke(tmp_path, "translate", str(products), "--columns", "title", "--to", "de", "--engine", "pseudo", "--output-template", "{lang}/{stem}.mt{ext}")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "products.mt.csv").exists()


def test_catalog_for_another_language_is_skipped_for_that_target(tmp_path: Path) -> None:
    samples = Path(__file__).resolve().parents[2] / "samples"
    result = invoke(tmp_path, "translate", str(samples / "app-de.po"), str(samples / "app.pot"), "--to", "de", "--to", "ja", "--engine", "pseudo")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "de" / "app-de.po").exists() and (tmp_path / "out" / "ja" / "app.po").exists()
    assert not (tmp_path / "out" / "ja" / "app-de.po").exists()


@pytest.mark.parametrize("targets", [["de"], ["de", "ja"]])
def test_malformed_catalog_is_an_error_naming_its_line_not_a_skip(tmp_path: Path, targets: list[str]) -> None:
    samples = Path(__file__).resolve().parents[2] / "samples"
    bad = tmp_path / "bad-de.po"
    bad.write_text('msgid ""\nmsgstr ""\n"Language: de\\n"\n\nmsgid "Hello\nmsgstr ""\n', encoding="utf-8")
    to = [arg for code in targets for arg in ("--to", code)]
    result = invoke(tmp_path, "translate", str(bad), str(samples / "app.pot"), *to, "--engine", "pseudo")
    assert result.exit_code == 1, result.output
    assert f"{bad}: line 5: unterminated string" in result.output
    assert "skipped" not in result.output
    assert all((tmp_path / "out" / code / "app.po").exists() for code in targets)


def test_in_place_takes_one_target(tmp_path: Path, products: Path) -> None:
    result = invoke(tmp_path, "translate", str(products), "--columns", "title", "--to", "de", "--to", "fr", "--in-place", "--engine", "pseudo")
    assert result.exit_code == 2 and "--in-place takes a single --to language" in result.output
    assert products.read_text(encoding="utf-8") == CSV


def test_in_place_keeps_mode_and_group_and_writes_through_a_link(tmp_path: Path, products: Path) -> None:
    os.chmod(products, 0o600)
    group = os.getgid() if os.getuid() else 4242
    os.chown(products, -1, group)
    link = tmp_path / "linked.csv"
    link.symlink_to(products)
    result = invoke(tmp_path, "translate", str(link), "--columns", "title", "--to", "de", "--in-place", "--engine", "pseudo")
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and products.read_text(encoding="utf-8") != CSV  # the target was translated
    info = products.stat()
    assert (stat.S_IMODE(info.st_mode), info.st_gid) == (0o600, group)


@pytest.mark.parametrize(("make", "why"), [("read-only", "is read-only"), ("hard link", "has 2 hard links")])
def test_in_place_refuses_a_read_only_or_hard_linked_file_before_sending(
    tmp_path: Path, products: Path, make: str, why: str
) -> None:
    if make == "read-only":
        os.chmod(products, 0o444)
    else:
        os.link(products, tmp_path / "other-name.csv")
    result = invoke(tmp_path, "translate", str(products), "--columns", "title", "--to", "de", "--in-place", "--engine", "pseudo")
    assert result.exit_code == 2
    assert f"error: {products} {why}" in result.output and "Traceback" not in result.output
    assert products.read_text(encoding="utf-8") == CSV
    assert not (tmp_path / "ledger.jsonl").exists()  # nothing sent


@pytest.mark.parametrize(("mask", "expected"), [(0o077, 0o600), (0o002, 0o664)])
def test_new_outputs_honour_the_umask(tmp_path: Path, products: Path, mask: int, expected: int) -> None:
    old = os.umask(mask)
    try:
        result = invoke(tmp_path, "translate", str(products), "--columns", "title", "--to", "de", "--engine", "pseudo")
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE((tmp_path / "out" / "products.csv").stat().st_mode) == expected


def test_docx_hidden_text_only_with_its_flag(tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    paragraph = document.add_paragraph("Visible words. ")
    hidden = paragraph.add_run("Secret note")
    hidden.font.hidden = True
    source = tmp_path / "notes.docx"
    document.save(str(source))

    def translated_runs(*flags: str) -> list[str]:
        result = invoke(tmp_path, "translate", str(source), "--to", "de", "--engine", "pseudo", "--no-cache", *flags)
        assert result.exit_code == 0, result.output
        return [run.text for run in docx.Document(str(tmp_path / "out" / "de" / "notes.docx")).paragraphs[0].runs]

    assert "Secret note" in translated_runs()
    assert "Secret note" not in translated_runs("--docx-hidden")


def listed_rows(output: str) -> dict[str, list[str]]:
    """``mtpipe languages``: code -> the rest of its row (split on runs of 2+ spaces)."""
    rows = {}
    for line in output.splitlines()[1:]:
        if not line.strip():
            break
        code, *rest = re.split(r"\s{2,}", line)
        rows[code] = rest
    return rows


def test_languages_lists_what_to_type_after_to() -> None:
    listing = CliRunner().invoke(main, ["languages"])
    assert listing.exit_code == 0
    lines = listing.output.splitlines()
    assert re.split(r"\s{2,}", lines[0]) == ["code", "or name", "sent to Qwen-MT as"]
    rows = listed_rows(listing.output)
    assert rows["zh-TW"] == ["Traditional Chinese", "Traditional Chinese"]
    assert rows["pt-BR"] == ["Brazilian Portuguese", "Portuguese"]
    assert rows["zh-CN"] == ["Chinese"]  # no name of its own: the code, sent as Chinese
    for tag in ["pt-PT", "zh-HK", "es-419", "es-MX", "en-US", "en-GB", "fr-CA", "de", "tl"]:
        assert tag in rows, tag
    assert not any("_" in code for code in rows)
    assert "--to pt-BR" in listing.output  # the closing hint says how to use it


def test_every_listed_code_and_name_is_accepted(tmp_path: Path, products: Path) -> None:
    rows = listed_rows(CliRunner().invoke(main, ["languages"]).output)
    names = [name for rest in rows.values() if len(rest) == 2 for name in rest[0].split(", ")]
    for value in ["pt-BR", "zh-TW", "Brazilian Portuguese", "Latin American Spanish", "Canadian French"]:
        assert value in rows or value in names
        result = invoke(tmp_path, "translate", str(products), "--columns", "title", "--to", value, "--engine", "pseudo", "--dry-run")
        assert result.exit_code == 0, result.output


@pytest.mark.parametrize(
    ("to", "message"),
    [
        (["--to", "de", "--to", "de"], "'de' is listed twice"),
        (["--to", "de", "--to", "German"], "'German' is listed twice: 'de' is the same language (de)"),
        (["--to", "de,ja,deu"], "'deu' is listed twice"),
        (["--to", "pt-BR", "--to", "Brazilian Portuguese"], "'Brazilian Portuguese' is listed twice"),
    ],
)
def test_a_target_given_twice_is_a_usage_error(tmp_path: Path, products: Path, to: list[str], message: str) -> None:
    result = invoke(tmp_path, "translate", str(products), "--columns", "title", "--engine", "pseudo", *to)
    assert result.exit_code == 2
    assert f"mtpipe: error: {message}" in result.stderr
    assert not (tmp_path / "out").exists() and not (tmp_path / "ledger.jsonl").exists()


def test_regional_variants_are_two_targets(tmp_path: Path, products: Path) -> None:
    result = invoke(tmp_path, "translate", str(products), "--columns", "title", "--to", "pt-BR", "--to", "pt-PT", "--engine", "pseudo")
    assert result.exit_code == 0, result.output
    header = (tmp_path / "out" / "products.csv").read_text(encoding="utf-8").splitlines()[0]
    assert header == "id,title,description,title_pt_BR,title_pt_PT"


FRENCH_PO = """msgid ""
msgstr ""
"Language: fr\\n"
"Content-Type: text/plain; charset=UTF-8\\n"
"Plural-Forms: nplurals=2; plural=(n > 1);\\n"

msgid "Open file"
msgstr ""
"""


def test_catalog_skipped_for_a_language_says_so(tmp_path: Path) -> None:
    catalog = tmp_path / "app-fr.po"
    catalog.write_text(FRENCH_PO, encoding="utf-8")
    result = invoke(tmp_path, "translate", str(catalog), "--to", "de", "--to", "fr", "--to", "ja", "--engine", "pseudo")
    assert result.exit_code == 0, result.output
    skipped = [line for line in result.stderr.splitlines() if line.startswith("skipped")]
    assert skipped == [
        f"skipped {catalog} for {lang}: the catalog is for 'fr' (header Language) but the target is "
        f"'{lang}'; translate its .pot template instead"
        for lang in ("de", "ja")
    ]
    assert "1 files written, 2 skipped in" in result.stdout
    assert (tmp_path / "out" / "fr" / "app-fr.po").exists() and not (tmp_path / "out" / "de").exists()


def test_catalog_for_none_of_the_targets_is_skipped_for_each(tmp_path: Path, products: Path) -> None:
    catalog = tmp_path / "app-fr.po"
    catalog.write_text(FRENCH_PO, encoding="utf-8")
    result = invoke(tmp_path, "translate", str(catalog), str(products), "--columns", "title", "--to", "de", "--to", "ja", "--engine", "pseudo")
    assert result.exit_code == 0, result.output
    skipped = [line for line in result.stderr.splitlines() if line.startswith("skipped")]
    assert [line.split(":")[0] for line in skipped] == [f"skipped {catalog} for de", f"skipped {catalog} for ja"]
    assert "1 files written, 2 skipped in" in result.stdout


# ---------------------------------------------------------------------------------------------
# ledger summary of something that is not a ledger


@pytest.mark.parametrize(
    ("content", "where", "shown"),
    [
        (CSV, "line 1", "'id,title,description'"),
        ('{"id": 1, "text": "Hello"}\n{"id": 2, "text": "World"}\n', "line 1", """'{"id": 1, "text": "Hello"}'"""),
        ('[1, 2]\n', "line 1", "'[1, 2]'"),
        ('{"v":1,"event":"run_start"}\n\nplain text\n', "line 3", "'plain text'"),
    ],
)
def test_ledger_summary_of_a_file_that_is_not_a_ledger_exits_2(tmp_path: Path, content: str, where: str, shown: str) -> None:
    path = tmp_path / "data.jsonl"
    path.write_text(content, encoding="utf-8")
    result = CliRunner().invoke(main, ["ledger", "summary", str(path)])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f'mtpipe: error: {path}: {where}: not an mtpipe ledger: {shown} is not a JSON object with an "event" field'
    ]
    assert result.stdout == ""


def test_ledger_summary_of_an_empty_file_says_it_is_empty(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    path.write_text("\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["ledger", "summary", str(path)])
    assert result.exit_code == 2
    assert result.stderr == f"mtpipe: error: {path}: the file is empty: no mtpipe run has recorded anything in it\n"


def test_ledger_summary_skips_a_torn_line(tmp_path: Path, products: Path) -> None:
    invoke(tmp_path, "translate", str(products), "--columns", "title", "--to", "de", "--engine", "pseudo")
    ledger = tmp_path / "ledger.jsonl"
    whole = ledger.read_text(encoding="utf-8")
    ledger.write_text('{"v":1,"ts":"2025-01-0\n' + whole + whole.splitlines()[1][:40], encoding="utf-8")
    result = CliRunner().invoke(main, ["ledger", "summary", str(ledger)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("runs: 1  requests: 1 ")


# ---- what -q, -v and -vv show ------------------------------------------------------------


@pytest.fixture()
def restored_logging() -> Iterator[None]:
    """The logging set-up as it was before the test (a command configures the root logger)."""
    names = ("", "mtpipe", "httpx", "httpcore")
    levels = {name: logging.getLogger(name).level for name in names}
    handlers = list(logging.getLogger().handlers)
    yield
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)
    logging.getLogger().handlers[:] = handlers


def request_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("mtpipe: request ")]


@pytest.mark.usefixtures("restored_logging")
def test_verbose_tells_each_finished_request(tmp_path: Path, products: Path) -> None:
    args = ("translate", str(products), "--columns", "title,description", "--to", "de,fr", "--from", "en", "--engine", "pseudo", "--no-packing")
    quiet = invoke(tmp_path, *args)
    assert quiet.exit_code == 0 and not request_lines(quiet.stderr)
    verbose = invoke(tmp_path, *args, "--no-cache", "-v")
    assert verbose.exit_code == 0, verbose.output
    told = request_lines(verbose.stderr)
    ledger = [json.loads(line) for line in (tmp_path / "ledger.jsonl").read_text().splitlines()]
    assert len(told) == sum(1 for r in ledger if r["event"] == "request" and r["run_id"] == ledger[-1]["run_id"]) == 8
    assert all(re.fullmatch(r"mtpipe: request ok en->(de|fr): 1 segment, 1 accepted; tokens \d+ in \+ \d+ out; 1 attempt", line) for line in told), told
    assert "mtpipe.http" not in verbose.stderr  # that is -vv


@pytest.mark.usefixtures("restored_logging")
def test_very_verbose_tells_the_http_exchange_without_the_key(tmp_path: Path, products: Path, emulator: Emulator) -> None:
    result = invoke(
        tmp_path, "translate", str(products), "--columns", "title", "--to", "de", "--from", "en",
        "--base-url", emulator.base_url, "--api-key-env", KEY_ENV, "-vv",
        env={KEY_ENV: KEY},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    out = [line for line in result.stderr.splitlines() if line.startswith("mtpipe.http: -> POST ")]
    back = [line for line in result.stderr.splitlines() if line.startswith("mtpipe.http: <- 200 OK from POST ")]
    assert len(out) == len(back) == len(request_lines(result.stderr)) == 1
    assert f"{emulator.base_url}/chat/completions" in out[0] and "authorization: [redacted]" in out[0]
    assert re.search(r", \d+ bytes in \d+\.\d\d s; headers: ", back[0]), back[0]
    assert KEY not in result.output and KEY.removeprefix("sk-") not in result.output
    assert "HTTP Request:" not in result.stderr  # httpx's own lines stay out


@pytest.mark.usefixtures("restored_logging")
@pytest.mark.parametrize(
    ("verbose", "quiet", "shown"),
    [
        (0, True, ["mtpipe: error: e"]),
        (0, False, ["mtpipe: error: e", "mtpipe: warning: w"]),
        (1, False, ["mtpipe: error: e", "mtpipe: warning: w", "mtpipe: i"]),
        (2, False, ["mtpipe: error: e", "mtpipe: warning: w", "mtpipe: i", "mtpipe.http: d"]),
    ],
)
def test_each_verbosity_shows_its_levels(verbose: int, quiet: bool, shown: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    setup_output(verbose, quiet)
    logging.getLogger("mtpipe.retry").error("e")
    logging.getLogger("mtpipe.retry").warning("w")  # a long wait before a retry: shown by default
    logging.getLogger("mtpipe.requests").info("i")
    logging.getLogger("mtpipe.http").debug("d")
    logging.getLogger("httpcore").debug("never")
    assert capsys.readouterr().err.splitlines() == shown


@pytest.mark.usefixtures("restored_logging")
def test_a_log_line_takes_the_live_progress_line_off_first(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "120")  # the bar on one line (figures wrap on a narrower terminal)
    terminal = io.StringIO()
    terminal.isatty = lambda: True  # type: ignore[method-assign]
    monkeypatch.setattr(cli_output, "Progress", lambda quiet: Progress(terminal, quiet=quiet))
    progress = setup_output(0, False)
    progress.update(PoolStats(units_total=10, units_done=3))
    logging.getLogger("mtpipe.retry").warning("waiting 30 s before retrying")
    drawn = terminal.getvalue()
    assert "3/10" in drawn and "30%" in drawn  # the bar was drawn
    assert drawn.endswith("\r\x1b[1A\x1b[2K")  # ... then erased (cursor up, line cleared) first
    assert capsys.readouterr().err == "mtpipe: warning: waiting 30 s before retrying\n"


def test_the_bar_left_on_a_terminal_shows_the_last_figures(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "120")
    terminal = io.StringIO()
    terminal.isatty = lambda: True  # type: ignore[method-assign]
    progress = Progress(terminal, interval=3600)  # every update after the first is throttled
    progress.update(PoolStats(units_total=3000, units_done=10, requests=1))
    progress.update(PoolStats(units_total=3000, units_done=3000, requests=9, prompt_tokens=5, completion_tokens=6, cost_usd=0.5))
    progress.finish()
    last = terminal.getvalue().rsplit("\r", 1)[-1]
    assert "100%" in last and "requests 9  tokens 11  $0.5000" in last
    assert "ETA" in last and last.endswith("\n\x1b[?25h")  # kept on screen


def test_without_a_terminal_progress_is_plain_lines() -> None:
    log = io.StringIO()
    progress = Progress(log, interval=0)
    progress.update(PoolStats(units_total=4, units_done=2, requests=1))
    progress.finish()
    assert log.getvalue() == "segments 2/4  requests 1  tokens 0  $0.0000\n"


def test_only_the_cli_imports_click_or_rich() -> None:
    package = Path(mtpipe.__file__).parent
    offenders = [
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if "cli" not in path.relative_to(package).parts
        and any(
            isinstance(node, (ast.Import, ast.ImportFrom))
            and any(name.split(".")[0] in ("click", "rich") or name.startswith("mtpipe.cli") for name in _imported(node))
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        )
    ]
    assert offenders == []


def test_no_module_imports_a_private_name_of_another() -> None:
    """A name with a leading underscore is its module's own: one another module needs is public."""
    package = Path(mtpipe.__file__).parent
    offenders = [
        f"{path.relative_to(package)}:{node.lineno}: {alias.name} from {node.module}"
        for path in package.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("mtpipe")
        for alias in node.names
        if alias.name.startswith("_") and not alias.name.startswith("__")
    ]
    assert offenders == []


def test_a_glob_input_is_told_by_its_wildcards() -> None:
    from mtpipe.run.discover import is_glob_pattern

    assert all(is_glob_pattern(p) for p in ("po/*.po", "docs/**/x.docx", "a?.csv", "data/[ab].csv"))
    assert not any(is_glob_pattern(p) for p in ("po/de.po", "data", "my file (1).csv"))


def _imported(node: ast.Import | ast.ImportFrom) -> list[str]:
    if isinstance(node, ast.ImportFrom):
        return [node.module or ""]
    return [alias.name for alias in node.names]


def test_a_segment_a_writer_failed_is_exit_1_even_when_no_failure_was_listed() -> None:
    from mtpipe.run.results import FileResult, RunResult

    result = RunResult(run_id="r")
    result.files.append(FileResult(Path("a.csv")))
    assert result.exit_code == 0
    result.files[0].failed = 1  # counted by the writer only (its WriteReport.failed)
    assert result.exit_code == 1


def test_a_segment_the_counts_settled_as_failed_is_exit_1_but_not_a_dry_runs_forecast() -> None:
    from mtpipe.run.results import FileResult, RunResult, TargetCounts

    for dry_run, code in ((False, 1), (True, 0)):
        result = RunResult(run_id="r", dry_run=dry_run)
        result.files.append(FileResult(Path("a.po"), by_target={"de": TargetCounts(segments=2, translated=1)}))
        assert result.exit_code == 0 and not result.failed
        result.files[0].by_target["de"].failed = 1  # settled as failed, listed by no writer
        assert result.exit_code == code and result.failed is (not dry_run)

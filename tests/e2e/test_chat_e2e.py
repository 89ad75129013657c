"""The chat engine end to end against the emulator's chat mode over loopback."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polib
import pytest

from mtpipe.engine.framing import unframe
from mtpipe.run.runner import translate
from mtpipe.run.settings import Job
from mtpipe.testing import Emulator, EmulatorConfig, Fault, FaultConfig, fake_translate
from tests.conftest import FAST_RETRIES, KEY, KEY_ENV, corpus
from tests.run.test_integration import make_job as integration_job

SAMPLES = Path(__file__).resolve().parents[2] / "samples"


def chat_emulator(monkeypatch: pytest.MonkeyPatch, **faults: float) -> Emulator:
    monkeypatch.setenv(KEY_ENV, KEY)
    config = EmulatorConfig(
        api_key=KEY, rpm=6000, tpm=10_000_000, mode="chat", faults=FaultConfig(rates=faults), seed=7
    )
    return Emulator(config)


@pytest.fixture()
def chat(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    with chat_emulator(monkeypatch) as emu:
        yield emu


def make_job(tmp_path: Path, emu: Emulator, inputs: list[Path], **overrides: Any) -> Job:
    """test_integration's job, asking the chat engine (no columns unless given)."""
    return integration_job(tmp_path, emu, inputs, **{"engine": "chat", "model": "qwen-plus", "options": {}, **overrides})


def expected(text: str) -> str:
    core = text.strip()
    if not core or not any(c.isalpha() for c in core):
        return text
    return text[: len(text) - len(text.lstrip())] + fake_translate(core, "German") + text[len(text.rstrip()) :]


def csv_rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_the_csv_sample_translates_right_through_a_chat_model(tmp_path: Path, chat: Emulator) -> None:
    job = make_job(tmp_path, chat, [SAMPLES / "products.csv"], options={"columns": ["title", "description"]})
    result = translate(job, hooks=FAST_RETRIES)
    assert result.exit_code == 0, result.failures
    rows = csv_rows(tmp_path / "out" / "products.csv")
    assert rows and all(r["title_de"] == expected(r["title"]) for r in rows)
    assert all(r["description_de"] == expected(r["description"]) for r in rows)
    sent = chat.requests
    assert sent and all(r.request.target_lang == "German" for r in sent)
    assert result.warnings == []  # qwen-plus has a price


def test_the_po_sample_translates_right_through_a_chat_model(tmp_path: Path, chat: Emulator) -> None:
    result = translate(make_job(tmp_path, chat, [SAMPLES / "app.pot"]), hooks=FAST_RETRIES)
    assert result.exit_code == 0, result.failures
    catalog = polib.pofile(str(next((tmp_path / "out").rglob("*.po"))))
    entries = [e for e in catalog if e.msgid and not e.obsolete]
    assert entries
    for entry in entries:
        if entry.msgid_plural:
            assert entry.msgstr_plural[0] == expected(entry.msgid)
            assert all(v == expected(entry.msgid_plural) for k, v in entry.msgstr_plural.items() if k > 0)
        else:
            assert entry.msgstr == expected(entry.msgid)


def test_instructions_reach_the_model_and_another_model_warns_of_its_price(
    tmp_path: Path, chat: Emulator
) -> None:
    job = make_job(tmp_path, chat, [SAMPLES / "products.csv"], model="local-model", instructions="Du, not Sie.",
                   options={"columns": ["title"]})  # fmt: skip
    result = translate(job, hooks=FAST_RETRIES)
    assert result.exit_code == 0
    assert result.stats.cost_usd == 0.0
    assert any("local-model" in w and "--price" in w for w in result.warnings)


def test_chat_faults_never_write_a_wrong_cell(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    source = tmp_path / "data.csv"
    with open(source, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text"])
        writer.writerows((str(i), f"Row {i}: save the {i % 7} open files to {{path}} now") for i in range(120))
    faults = {Fault.COMMENTARY: 0.2, Fault.MERGED_LINES: 0.2}
    with chat_emulator(monkeypatch, **faults) as emu:
        result = translate(make_job(tmp_path, emu, [source], options={"columns": ["text"]}), hooks=FAST_RETRIES)
        applied = emu.stats.faults
    assert result.exit_code in (0, 1) and not result.aborted
    assert applied.get("commentary", 0) > 0 and applied.get("merged_lines", 0) > 0
    rows = csv_rows(tmp_path / "out" / "data.csv")
    wrong = [r for r in rows if r["text_de"] not in ("", expected(r["text"]))]
    assert wrong == []
    empty = sum(1 for r in rows if r["text_de"] == "")
    assert empty == len(result.failures)  # what was not translated is reported, row by row
    assert empty < len(rows) // 4


@pytest.mark.parametrize("fault", [Fault.RENUMBERED_MARKERS, Fault.ANSWER])
def test_renumbered_markers_and_answers_lose_the_request_not_the_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fault: Fault
) -> None:
    source = tmp_path / "data.csv"
    with open(source, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text"])
        writer.writerows((str(i), f"Line {i} of the settings page") for i in range(40))
    with chat_emulator(monkeypatch) as emu:
        emu.script(fault, n=1)  # the first (packed) reply
        result = translate(make_job(tmp_path, emu, [source], options={"columns": ["text"]}), hooks=FAST_RETRIES)
        assert emu.stats.faults.get(fault.value) == 1
    assert result.exit_code == 0, result.failures
    assert all(r["text_de"] == expected(r["text"]) for r in csv_rows(tmp_path / "out" / "data.csv"))


def test_a_reply_whose_checkpoints_were_renumbered_is_void() -> None:
    # Shifted by one, every block would otherwise land one block late with its counts right.
    assert unframe("<m2/>A\nB\n<m3/>C\nD\n<m4/>E", 5, 2) == ([None] * 5, 3)
    assert unframe("<m0/>A\nB\n<m1/>C\nD\n<m2/>E", 5, 2) == ([None] * 5, 3)


def test_a_chat_dry_run_counts_the_system_message(tmp_path: Path, chat: Emulator) -> None:
    source = SAMPLES / "products.csv"
    options = {"options": {"columns": ["title", "description"]}}
    dry = translate(make_job(tmp_path, chat, [source], dry_run=True, **options), hooks=FAST_RETRIES)
    real = translate(make_job(tmp_path, chat, [source], **options), hooks=FAST_RETRIES)
    assert real.exit_code == 0 and real.stats is not None
    # The system message (languages, rules) is most of a small request's prompt: counted, the
    # estimate's prompt tokens land near what the emulator billed.
    assert dry.estimate.requests == real.stats.requests
    assert abs(dry.estimate.prompt_tokens / real.stats.prompt_tokens - 1) < 0.1


@pytest.mark.parametrize("name", ["po/sphinx.pot", "tabular/multi30k-val.csv"])
def test_the_corpus_through_the_chat_mode_matches_qwen_mt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    path = corpus(name)
    options = {"options": {"columns": ["en"]}} if path.suffix == ".csv" else {}
    outputs = {}
    for mode in ("qwen", "chat"):
        monkeypatch.setenv(KEY_ENV, KEY)
        config = EmulatorConfig(api_key=KEY, rpm=None, tpm=None, mode=mode)
        with Emulator(config) as emu:
            engine = {"engine": "chat", "model": "qwen-plus"} if mode == "chat" else {"engine": "qwen", "model": "qwen-mt-turbo"}
            result = translate(make_job(tmp_path / mode, emu, [path], **{**options, **engine}), hooks=FAST_RETRIES)
        assert result.exit_code == 0 and not result.failures, result.failures[:3]
        out = next((tmp_path / mode / "out").rglob(f"{path.stem}*"))
        if out.suffix == ".po":
            outputs[mode] = [(e.msgid, e.msgstr, dict(e.msgstr_plural)) for e in polib.pofile(str(out))]
        else:
            outputs[mode] = out.read_text(encoding="utf-8")
    # The same engine behind both: every segment the chat engine wrote is the one Qwen-MT wrote.
    assert outputs["chat"] == outputs["qwen"]

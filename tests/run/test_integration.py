"""The whole pipeline against the Qwen-MT emulator over loopback."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from mtpipe.records.ledger import read_ledger
from mtpipe.run.runner import translate
from mtpipe.run.settings import EngineHooks, InputSpec, Job
from mtpipe.testing import Emulator, EmulatorConfig, Fault, fake_translate
from mtpipe.text.languages import resolve
from tests.conftest import FAST_RETRIES, KEY, KEY_ENV, corpus

ROWS = [
    ("1", "Open the file", "  Opens %s in a new window  "),
    ("2", "Save", "Saves <b>all</b> changes to {path}"),
    ("3", "Open the file", "See https://example.com/help or write to help@example.com"),
    ("4", "Quit", ""),
    ("5", "Preferences\nand settings", "100%"),
]


def write_csv(path: Path, rows: list[tuple[str, str, str]] = ROWS) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "title", "description"])
        writer.writerows(rows)
    return path


def make_job(tmp_path: Path, emulator: Emulator, inputs: list[Path], **overrides: Any) -> Job:
    settings: dict[str, Any] = {
        "inputs": [InputSpec(p) for p in inputs],
        "targets": [resolve("de")],
        "source": resolve("en"),
        "out": tmp_path / "out",
        "base_url": emulator.base_url,
        "api_key_env": KEY_ENV,
        "ledger": tmp_path / "ledger.jsonl",
        "cache": tmp_path / "cache.sqlite",
        "rpm": 6000,
        "tpm": 10_000_000,
        "options": {"columns": ["title", "description"]},
        "timeout": 5.0,
    }
    settings.update(overrides)
    return Job(**settings)


def expected(text: str, target: str = "German") -> str:
    if not text.strip() or text.strip() == "100%":
        return text
    lead = text[: len(text) - len(text.lstrip())]
    trail = text[len(text.rstrip()) :]
    return lead + fake_translate(text.strip(), target) + trail


def output_rows(tmp_path: Path, name: str = "data.csv") -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO((tmp_path / "out" / name).read_text(encoding="utf-8"), newline="")))


def read_rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def check_all_right(tmp_path: Path, rows: list[tuple[str, str, str]] = ROWS) -> None:
    out = output_rows(tmp_path)
    assert len(out) == len(rows)
    for (ident, title, description), row in zip(rows, out, strict=True):
        assert row["id"] == ident and row["title"] == title and row["description"] == description
        assert row["title_de"] == expected(title)
        assert row["description_de"] == expected(description)


def ledger_requests(tmp_path: Path) -> list[dict[str, Any]]:
    return [r for r in read_ledger(tmp_path / "ledger.jsonl") if r["event"] == "request"]


def test_every_row_right_and_ledger_matches_emulator(tmp_path: Path, emulator: Emulator) -> None:
    data = write_csv(tmp_path / "data.csv")
    result = translate(make_job(tmp_path, emulator, [data]), hooks=FAST_RETRIES)
    assert result.exit_code == 0, result.failures
    check_all_right(tmp_path)
    stats = emulator.stats
    requests = ledger_requests(tmp_path)
    assert len(requests) == stats.ok == 1  # 7 unique segments packed into one request
    assert sum(r["prompt_tokens"] for r in requests) == stats.prompt_tokens
    assert sum(r["completion_tokens"] for r in requests) == stats.completion_tokens
    assert requests[0]["segments"] == 7
    body = emulator.requests[0].request
    assert body.source_lang == "English" and body.target_lang == "German"


def test_second_run_sends_no_request(tmp_path: Path, emulator: Emulator) -> None:
    data = write_csv(tmp_path / "data.csv")
    translate(make_job(tmp_path, emulator, [data]), hooks=FAST_RETRIES)
    before = emulator.stats.received
    result = translate(make_job(tmp_path, emulator, [data]), hooks=FAST_RETRIES)
    assert result.exit_code == 0 and emulator.stats.received == before
    check_all_right(tmp_path)


def test_no_packing_sends_one_segment_per_request(tmp_path: Path, emulator: Emulator) -> None:
    data = write_csv(tmp_path / "data.csv")
    result = translate(make_job(tmp_path, emulator, [data], packing=False), hooks=FAST_RETRIES)
    assert result.exit_code == 0
    assert emulator.stats.ok == 7
    check_all_right(tmp_path)


def test_pacing_at_the_emulators_limits_sends_no_429(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, KEY)
    rows = [(str(i), f"Item number {i} of the list", f"Description {i} with words") for i in range(100)]
    data = write_csv(tmp_path / "data.csv", rows)
    with Emulator(EmulatorConfig(api_key=KEY, rpm=600, tpm=120_000)) as emu:
        job = make_job(tmp_path, emu, [data], rpm=600, tpm=120_000)
        result = translate(job, hooks=FAST_RETRIES)
        stats = emu.stats
    assert result.exit_code == 0
    assert stats.throttled_rpm == 0 and stats.throttled_tpm == 0
    assert stats.ok >= 2  # the token limit forces several requests
    check_all_right(tmp_path, rows)


@pytest.mark.parametrize(
    "fault",
    [
        Fault.THROTTLE,
        Fault.THROTTLE_RETRY_AFTER,
        Fault.THROTTLE_RETRY_AFTER_MS,
        Fault.SERVER_ERROR,
        Fault.OVERLOADED,
        Fault.RESET,
        Fault.TRUNCATED,
        Fault.SLOW,
        Fault.MERGED_LINES,
    ],
)
def test_transient_faults_end_with_every_row_right(tmp_path: Path, emulator: Emulator, fault: Fault) -> None:
    data = write_csv(tmp_path / "data.csv")
    emulator.script(fault, 2)
    result = translate(make_job(tmp_path, emulator, [data], timeout=5.0), hooks=FAST_RETRIES)
    assert result.exit_code == 0, (fault, result.failures, result.aborted)
    check_all_right(tmp_path)
    requests = ledger_requests(tmp_path)
    ok = [r for r in requests if r["status"] == "ok"]
    stats = emulator.stats
    assert len(ok) == stats.ok
    assert sum(r["prompt_tokens"] for r in ok) == stats.prompt_tokens
    if fault in (Fault.RESET, Fault.TRUNCATED):
        assert sum(r["lost_attempts"] for r in requests) == stats.lost == 2


def test_content_rejection_fails_only_that_segment(tmp_path: Path, emulator: Emulator) -> None:
    rows = ROWS + [("6", "A FORBIDDENWORD here", "fine text")]
    data = write_csv(tmp_path / "data.csv", rows)
    result = translate(make_job(tmp_path, emulator, [data]), hooks=FAST_RETRIES)
    assert result.exit_code == 1
    assert [f.place for f in result.failures] == ["row 6, column 'title' [de]"]
    out = output_rows(tmp_path)
    assert out[5]["title_de"] == "" and out[5]["description_de"] == expected("fine text")
    assert out[0]["title_de"] == expected("Open the file")


@pytest.mark.parametrize(("fault", "code"), [(Fault.FREE_TIER_ONLY, 3), (Fault.INSUFFICIENT_QUOTA, 3)])
def test_quota_errors_abort(tmp_path: Path, emulator: Emulator, fault: Fault, code: int) -> None:
    data = write_csv(tmp_path / "data.csv")
    emulator.script(fault, 5)
    result = translate(make_job(tmp_path, emulator, [data]), hooks=FAST_RETRIES)
    assert result.exit_code == code and result.aborted
    assert not (tmp_path / "out" / "data.csv").exists()


def test_wrong_key_aborts_with_a_message_about_key_and_region(tmp_path: Path, emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, "sk-wrong-key-000")
    data = write_csv(tmp_path / "data.csv")
    result = translate(make_job(tmp_path, emulator, [data]), hooks=FAST_RETRIES)
    assert result.exit_code == 3 and result.aborted and "region" in result.aborted
    assert "sk-wrong-key-000" not in (tmp_path / "ledger.jsonl").read_text()
    assert emulator.stats.received == 1


def test_test_hooks_are_not_part_of_the_job_users_build(tmp_path: Path, emulator: Emulator) -> None:
    """The transport and the backoff base go to translate() beside the Job, never in it."""
    assert {"transport", "retry_base"}.isdisjoint(f.name for f in dataclasses.fields(Job))
    seen: list[str] = []

    async def forward(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        async with httpx.AsyncClient(trust_env=False) as client:  # loopback, never a proxy
            return await client.send(request)

    data = write_csv(tmp_path / "data.csv")
    result = translate(make_job(tmp_path, emulator, [data]), hooks=EngineHooks(transport=httpx.MockTransport(forward)))
    assert result.exit_code == 0 and seen and len(seen) == emulator.stats.received


def test_dead_endpoint_ends_in_bounded_time(tmp_path: Path, emulator: Emulator) -> None:
    data = write_csv(tmp_path / "data.csv")
    emulator.script(Fault.OVERLOADED, 1000)
    result = translate(make_job(tmp_path, emulator, [data], max_retries=100), hooks=EngineHooks(retry_base=0.001))
    assert result.exit_code == 3 and "retry budget" in (result.aborted or "")
    assert emulator.stats.received <= 12


def test_connection_refused_is_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, KEY)
    data = write_csv(tmp_path / "data.csv")
    job = make_job(tmp_path, Emulator(EmulatorConfig(api_key=KEY)), [data], base_url="http://127.0.0.1:9/v1")
    started = time.monotonic()
    result = translate(job, hooks=FAST_RETRIES)
    # A few refused connections stop the run with one message naming the host and what to
    # check; nothing looks translated, and no attempt counts as possibly billed.
    assert time.monotonic() - started < 20
    assert result.exit_code == 3
    assert result.aborted and "cannot connect to 127.0.0.1" in result.aborted
    assert "--base-url" in result.aborted and "proxy" in result.aborted
    assert not (tmp_path / "out" / "data.csv").exists()
    requests = ledger_requests(tmp_path)
    assert all(r["lost_attempts"] == 0 for r in requests)


def test_glossary_terms_reach_the_engine_only_when_they_occur(tmp_path: Path, emulator: Emulator) -> None:
    data = write_csv(tmp_path / "data.csv")
    glossary = tmp_path / "glossary.csv"
    glossary.write_text("source,target\nfile,Datei\nwindow,Fenster\nbanana,Banane\n", encoding="utf-8")
    result = translate(make_job(tmp_path, emulator, [data], glossary=glossary), hooks=FAST_RETRIES)
    assert result.exit_code == 0
    terms = emulator.requests[0].request.terms
    assert {t[0] if isinstance(t, tuple) else t["source"] for t in terms} == {"file", "window"}
    assert "Datei" in output_rows(tmp_path)[0]["title_de"]


def test_several_targets_and_auto_source(tmp_path: Path, emulator: Emulator) -> None:
    data = write_csv(tmp_path / "data.csv")
    result = translate(make_job(tmp_path, emulator, [data], targets=[resolve("de"), resolve("fr")], source=resolve("auto", allow_auto=True)), hooks=FAST_RETRIES)
    assert result.exit_code == 0
    out = output_rows(tmp_path)
    assert out[0]["title_fr"] == expected("Open the file", "French")
    assert {r.request.source_lang for r in emulator.requests} == {"auto"}


def test_max_cost_stops_and_exits_3(tmp_path: Path, emulator: Emulator) -> None:
    rows = [(str(i), f"Title number {i}", f"Description {i}") for i in range(50)]
    data = write_csv(tmp_path / "data.csv", rows)
    result = translate(make_job(tmp_path, emulator, [data], packing=False, concurrency=1, max_cost=0.00005, price="1,1"), hooks=FAST_RETRIES)
    assert result.exit_code == 3 and "max-cost" in (result.aborted or "")
    assert result.stats.cost_usd <= 0.00005
    assert (tmp_path / "out" / "data.csv").exists()  # what was done is written


def test_corpus_csv_every_row_right(tmp_path: Path, emulator: Emulator) -> None:
    source = corpus("tabular/multi30k-val.csv")
    result = translate(make_job(tmp_path, emulator, [source], options={"columns": ["en"]}), hooks=FAST_RETRIES)
    assert result.exit_code == 0, result.failures[:3]
    out = read_rows(tmp_path / "out" / source.name)
    original = read_rows(source)
    assert len(out) == len(original) == 1014
    for before, after in zip(original, out, strict=True):
        assert {k: after[k] for k in before} == before
        assert after["en_de"] == expected(before["en"])
    assert emulator.stats.ok < 40  # packed


def test_corpus_csv_through_pseudo(tmp_path: Path) -> None:
    source = corpus("tabular/multi30k-val.csv")
    job = Job(inputs=[InputSpec(source)], targets=[resolve("de")], engine="pseudo", out=tmp_path / "out",
              ledger=tmp_path / "l.jsonl", cache=tmp_path / "c.sqlite", options={"columns": "en"})
    result = translate(job, hooks=FAST_RETRIES)
    assert result.exit_code == 0
    rows = read_rows(tmp_path / "out" / source.name)
    assert len(rows) == 1014 and all(r["en_de"].startswith("[") and r["en_de"].endswith("]") for r in rows)


def test_run_end_totals(tmp_path: Path, emulator: Emulator) -> None:
    data = write_csv(tmp_path / "data.csv")
    translate(make_job(tmp_path, emulator, [data]), hooks=FAST_RETRIES)
    end = next(r for r in read_ledger(tmp_path / "ledger.jsonl") if r["event"] == "run_end")
    assert end["requests"] == emulator.stats.ok and end["segments"] == 9 and end["unique"] == 7
    assert end["total_tokens"] == emulator.stats.prompt_tokens + emulator.stats.completion_tokens
    json.dumps(end)

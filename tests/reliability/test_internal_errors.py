"""A bug must not look like a crash of the run's bookkeeping: whatever unexpected exception
reaches the run's boundary ends the run in the ledger (``run_end``, status aborted), exits 4
with one line saying where the traceback is (-vv), and never prints a bare traceback. A
malformed ``Retry-After`` is not such an error at all: the run retries and finishes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner, Result

from mtpipe.cli import main
from mtpipe.engine.pseudo import PseudoClient
from mtpipe.run.results import EXIT_INTERNAL
from mtpipe.run.runner import translate
from mtpipe.run.settings import EngineHooks, InputSpec, Job
from mtpipe.text.languages import resolve
from tests.conftest import KEY, KEY_ENV

ROWS = "id,text\n1,Hello world\n2,Good morning\n"


def reply(content: str) -> dict[str, Any]:
    return {"choices": [{"message": {"content": content}, "finish_reason": "stop"}], "usage": {"prompt_tokens": 9, "completion_tokens": 9}}


def job_for(tmp_path: Path) -> Job:
    (tmp_path / "data.csv").write_text(ROWS, encoding="utf-8")
    return Job(
        inputs=[InputSpec(tmp_path / "data.csv")], targets=[resolve("de")], base_url="https://mt.invalid/v1",
        api_key_env=KEY_ENV, out=tmp_path / "out", ledger=tmp_path / "ledger.jsonl", use_cache=False,
        options={"columns": ["text"]}, packing=False, rpm=None, tpm=None,
    )  # fmt: skip


def answered_by(handler: Any) -> EngineHooks:
    """The run's requests go to ``handler`` (an httpx.MockTransport), retried without waiting."""
    return EngineHooks(transport=httpx.MockTransport(handler), retry_base=0.001)


def run_end(tmp_path: Path) -> dict[str, Any]:
    records = [json.loads(line) for line in (tmp_path / "ledger.jsonl").read_text(encoding="utf-8").splitlines()]
    assert records[-1]["event"] == "run_end"
    return records[-1]


def test_an_unexpected_error_while_sending_ends_the_run_in_the_ledger(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, KEY)

    def broken(request: httpx.Request) -> httpx.Response:
        raise RuntimeError("a bug somewhere below the client")

    result = translate(job_for(tmp_path), hooks=answered_by(broken))
    assert result.exit_code == EXIT_INTERNAL == 4
    assert result.aborted and result.aborted.startswith("internal error (RuntimeError: a bug somewhere below the client")
    assert "-vv" in result.aborted
    end = run_end(tmp_path)
    assert end["status"] == "aborted" and end["error"] == result.aborted
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("value", ["later", "nan", "inf", "-1", "Mon, 99 Foo 2024 10:00:00 GMT"])
def test_a_malformed_retry_after_is_retried_and_the_run_finishes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv(KEY_ENV, KEY)
    throttled: list[str] = []

    def throttle_once(request: httpx.Request) -> httpx.Response:
        text = json.loads(request.content)["messages"][0]["content"]
        if text not in throttled:
            throttled.append(text)
            return httpx.Response(429, json={"error": {"code": "Throttling"}}, headers={"Retry-After": value})
        return httpx.Response(200, json=reply(f"DE {text}"))

    result = translate(job_for(tmp_path), hooks=answered_by(throttle_once))
    assert result.exit_code == 0, result.aborted
    assert run_end(tmp_path)["status"] == "ok"
    assert "DE Hello world" in (tmp_path / "out" / "data.csv").read_text(encoding="utf-8")


def invoke(tmp_path: Path, *extra: str) -> Result:
    (tmp_path / "data.csv").write_text(ROWS, encoding="utf-8")
    args = ["translate", str(tmp_path / "data.csv"), "--columns", "text", "--to", "de", "--engine", "pseudo",
            "--out", str(tmp_path / "out"), "--ledger", str(tmp_path / "ledger.jsonl"), "--no-cache", *extra]  # fmt: skip
    return CliRunner().invoke(main, args)


def test_the_cli_says_one_line_and_exits_4_when_the_pool_hits_a_bug(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(self: PseudoClient, request: Any) -> Any:
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(PseudoClient, "translate", broken)
    result = invoke(tmp_path)
    assert result.exit_code == 4, result.output
    assert "mtpipe: stopped: internal error (ZeroDivisionError: division by zero)" in result.output
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)
    assert run_end(tmp_path)["status"] == "aborted"
    verbose = invoke(tmp_path, "-vv")  # what the message says to do shows the traceback
    assert verbose.exit_code == 4
    assert "Traceback" in verbose.output and 'ZeroDivisionError("division by zero")' in verbose.output


def test_the_cli_says_one_line_and_exits_4_for_a_bug_before_sending(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any) -> Any:
        raise KeyError("lost")

    monkeypatch.setattr("mtpipe.run.runner.discover", broken)
    result = invoke(tmp_path)
    assert result.exit_code == 4
    line = (
        "mtpipe: error: internal error (KeyError: 'lost'): a bug in mtpipe; run the same command with -vv "
        "to see the traceback, and please report it"
    )
    assert result.output.strip().splitlines() == [line]
    assert isinstance(result.exception, SystemExit)
    verbose = invoke(tmp_path, "-vv")
    assert verbose.exit_code == 4 and "Traceback" in verbose.output and "KeyError: 'lost'" in verbose.output

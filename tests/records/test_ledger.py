"""The ledger reader and its aggregation (what ``mtpipe ledger summary`` and run reports add up)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mtpipe.errors import InputError
from mtpipe.records.ledger import (
    Ledger,
    Totals,
    by_file,
    by_file_and_target,
    read_ledger,
    summarize,
)


def request(tokens: int, files: list[str], target: str = "de", cost: float = 0.3) -> dict[str, Any]:
    return {
        "event": "request", "status": "ok", "model": "m", "source_lang": "en", "target_lang": target,
        "segments": 1, "files": files, "prompt_tokens": tokens, "completion_tokens": tokens, "cost_usd": cost,
    }  # fmt: skip


def test_shares_of_a_request_add_up_to_the_request() -> None:
    totals = Totals()
    for _ in range(3):
        totals.add(request(10, ["a", "b", "c"]), share=1 / 3)
    assert (totals.requests, totals.prompt_tokens, totals.completion_tokens) == (3, 10, 10)
    assert totals.cost_usd == pytest.approx(0.3)


def test_per_file_figures_are_rounded_once_not_per_request() -> None:
    # Three requests of 10 tokens over three files: each file carried 10 tokens, not 3 x 3.
    summary = summarize([request(10, ["a", "b", "c"]) for _ in range(3)])
    assert {name: t.prompt_tokens for name, t in summary.by["file"].items()} == {"a": 10, "b": 10, "c": 10}
    assert summary.total.prompt_tokens == 30 and summary.total.requests == 3


def test_groupings_of_a_run_report() -> None:
    records = [request(9, ["a", "b"], "de"), request(4, ["a"], "ja"), {"event": "run_start"}]
    summary = summarize(records, {"file": by_file, "pair": by_file_and_target})
    assert summary.runs == 1 and summary.lines == 3 and summary.total.requests == 2
    assert {k: t.prompt_tokens for k, t in summary.by["file"].items()} == {"a": 8, "b": 4}  # 4.5 + 4 -> 8
    assert {k: t.prompt_tokens for k, t in summary.by["pair"].items()} == {
        ("a", "de"): 4, ("a", "ja"): 4, ("b", "de"): 4,
    }  # fmt: skip


def test_read_from_a_size_the_file_had_returns_only_what_was_appended(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    first = Ledger(path, "run1")
    first.append("run_start")
    first.close()
    size = path.stat().st_size
    second = Ledger(path, "run2")
    second.append("run_start")
    second.append("request", **{k: v for k, v in request(5, ["a"]).items() if k != "event"})
    second.close()
    assert [r["run_id"] for r in read_ledger(path, size)] == ["run2", "run2"]
    assert [r["run_id"] for r in read_ledger(path)] == ["run1", "run2", "run2"]
    assert [r["run_id"] for r in read_ledger(path, path.stat().st_size + 10)] == ["run1", "run2", "run2"]  # replaced


def test_a_foreign_line_after_the_start_names_where_it_is(tmp_path: Path) -> None:
    path = tmp_path / "ledger.jsonl"
    path.write_text(json.dumps({"event": "run_start"}) + "\n", encoding="utf-8")
    size = path.stat().st_size
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps({"event": "request"}) + "\nid,title\n")
    with pytest.raises(InputError) as caught:
        list(read_ledger(path, size))
    assert caught.value.place == f"line 2 after byte {size}" and "'id,title'" in caught.value.reason

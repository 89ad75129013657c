"""Ray Data integration on a local Ray (2 CPUs): pseudo engine, and the emulator under one budget.

Skipped when Ray is not installed (``pip install 'mtpipe[ray]'``). Marked slow: starting Ray
and its workers takes most of the ~20 s.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

ray = pytest.importorskip("ray")
pytest.importorskip("ray.data")

import itertools

from mtpipe.engine.pacing import Reservation
from mtpipe.engine.pseudo import pseudo_localize
from mtpipe.engine.units import MAX_TEXT_CHARS
from mtpipe.integrations.ray_data import (
    SharedPacer,
    TranslateColumns,
    distinct_texts,
    pacing_budget,
)
from mtpipe.testing import Emulator, EmulatorConfig, fake_translate
from mtpipe.text.protect import needs_translation, split_outer_whitespace
from tests.conftest import KEY, KEY_ENV

pytestmark = pytest.mark.slow


def translated_like(text: str | None, fn: Any) -> str | None:
    if not text:
        return text
    lead, core, trail = split_outer_whitespace(text)
    return lead + fn(core) + trail if needs_translation(core) else text


def table(rows: int) -> pa.Table:
    titles = [f"Product number {n % 37} for sale" for n in range(rows)]
    titles[3], titles[4], titles[5] = None, "", "  Padded title  "  # type: ignore[call-overload]
    products = pa.DictionaryArray.from_arrays(
        pa.array([n % 3 for n in range(rows)], type=pa.int32()),
        pa.array(["Shoes", "Hats", "Coats"]),
    )
    tags = [["new", "sale"] if n % 2 else None for n in range(rows)]
    return pa.table(
        {
            "id": pa.array(range(rows), type=pa.int64()),
            "title": pa.array(titles, type=pa.string()),
            "product": products,
            "tags": pa.array(tags, type=pa.list_(pa.string())),
            "score": pa.array([n / 10 for n in range(rows)], type=pa.float64()),
        }
    )


def run(data: pa.Table, **kwargs: Any) -> pa.Table:
    """``data`` in 4 blocks through 2 workers (half a CPU each: the other CPU reads blocks)."""
    quarter = -(-data.num_rows // 4)
    ds = ray.data.from_arrow(
        [data.slice(start, quarter) for start in range(0, data.num_rows, quarter)]
    )
    out = ds.map_batches(
        TranslateColumns,
        fn_constructor_kwargs=kwargs,
        batch_format="pyarrow",
        batch_size=64,
        compute=ray.data.ActorPoolStrategy(size=2),
        num_cpus=0.5,
    )
    return pa.concat_tables(ray.get(out.to_arrow_refs())).sort_by("id")


def ledger_lines(directory: Path) -> list[dict[str, Any]]:
    return [
        json.loads(line)
        for path in directory.glob("*.jsonl")
        for line in path.read_text().splitlines()
    ]


def test_distinct_texts_of_every_column_type() -> None:
    data = table(10)
    assert sorted(distinct_texts(data.column("product"))) == ["Coats", "Hats", "Shoes"]
    assert sorted(distinct_texts(data.column("tags"))) == ["new", "sale"]
    assert "" not in distinct_texts(data.column("title")) and None not in distinct_texts(
        data.column("title")
    )


@pytest.mark.usefixtures("local_ray")
def test_pseudo_engine_translates_every_column_type(tmp_path: Path) -> None:
    source = table(300)
    out = run(
        source,
        columns=["title", "product", "tags"],
        targets=["de", "fr"],
        source="en",
        engine="pseudo",
        cache=str(tmp_path / "cache.sqlite"),
        ledger_dir=str(tmp_path / "ledgers"),
        run_id="ray-test",
    )
    assert out.num_rows == 300
    for name in source.column_names:
        assert out.column(name).combine_chunks().equals(source.column(name).combine_chunks())
    assert out.column_names[-6:] == [
        "title_de",
        "product_de",
        "tags_de",
        "title_fr",
        "product_fr",
        "tags_fr",
    ]
    for name in ("title", "product", "tags"):
        assert out.schema.field(f"{name}_de").type == source.schema.field(name).type
    titles = source.column("title").to_pylist()
    assert out.column("title_de").to_pylist() == [
        translated_like(t, pseudo_localize) for t in titles
    ]
    assert out.column("product_fr").to_pylist() == [
        pseudo_localize(p) for p in source.column("product").to_pylist()
    ]
    assert out.column("tags_de").to_pylist() == [
        [pseudo_localize(t) for t in tags] if tags else tags
        for tags in source.column("tags").to_pylist()
    ]
    lines = ledger_lines(tmp_path / "ledgers")
    starts = [line for line in lines if line["event"] == "run_start"]
    assert 1 <= len(starts) <= 2 and len({s["worker"] for s in starts}) == len(
        starts
    )  # a file per worker
    assert len(list((tmp_path / "ledgers").glob("mtpipe-ray-test-*.jsonl"))) == len(starts)
    distinct = 37 + 1 + 3 + 2  # titles (and the padded one), products, tags
    sent = sum(line["segments"] for line in lines if line["event"] == "request")
    # Once per value and target; workers running at the same time may both pay for one value.
    assert 2 * distinct <= sent <= 2 * 2 * distinct


@pytest.mark.usefixtures("local_ray")
def test_budget_actor_spaces_permits_for_all_callers() -> None:
    budget = pacing_budget(rpm=1200, tpm=None, name="spacing-test")
    grants = sorted(granted for _, granted in ray.get([budget.reserve.remote(10) for _ in range(6)]))
    gaps = [b - a for a, b in itertools.pairwise(grants)]
    assert min(gaps) >= 0.9 * 60 / 1200
    assert ray.get(budget.stats.remote())["granted"] == 6
    shared = SharedPacer(budget)
    shared.on_throttled()  # a 429 seen by one worker slows every worker down
    shared.refund_request(Reservation(10, ticket=0))
    for _ in range(50):  # fire and forget: give the actor a moment
        stats = ray.get(budget.stats.remote())
        if stats["throttled"]:
            break
        time.sleep(0.02)
    assert stats["throttled"] == 1 and stats["factor"] < 1.0


@pytest.mark.usefixtures("local_ray")
def test_emulator_under_one_shared_budget_sends_no_429(tmp_path: Path) -> None:
    rpm = 600
    texts = [f"Sentence {n} about a walk in the park" for n in range(40)]
    source = pa.table({"id": pa.array(range(40), type=pa.int64()), "text": pa.array(texts)})
    with Emulator(EmulatorConfig(api_key=KEY, rpm=rpm, tpm=1_000_000)) as emu:
        budget = pacing_budget(rpm=rpm, tpm=1_000_000, name="emulator-test")
        out = run(
            source,
            columns="text",
            targets="de",
            source="en",
            base_url=emu.base_url,
            api_key_env=KEY_ENV,
            budget=budget,
            # One request per value: 40 requests from 2 workers at 4 in flight each. (At 8, the
            # requests granted in a worker's first second could leave it bunched, measured up to
            # 20 within 1.2 s while the grants were 0.1 s apart: now and then 11 within the
            # emulator's 10-request second, a 429. Pacing is by grant, not by arrival.)
            packing=False,
            concurrency=4,
            cache=str(tmp_path / "cache.sqlite"),
            ledger_dir=str(tmp_path / "ledgers"),
            retry_base=0.01,
            timeout=10.0,
        )
        stats = emu.stats
    assert out.column("text_de").to_pylist() == [fake_translate(t, "German") for t in texts]
    assert stats.throttled_rpm == 0 and stats.throttled_tpm == 0
    assert stats.ok == 40 and ray.get(budget.stats.remote())["granted"] == 40
    requests = [line for line in ledger_lines(tmp_path / "ledgers") if line["event"] == "request"]
    assert len(requests) == 40 and sum(r["prompt_tokens"] for r in requests) == stats.prompt_tokens


@pytest.mark.usefixtures("local_ray")
def test_a_worker_asks_a_chat_model_and_refuses_a_value_too_long_to_send(tmp_path: Path) -> None:
    """What the worker's own copy of the CLI had lost: ``engine="chat"`` (a chat model's
    contract, here on loopback), and the input size limit (a value no request can hold is
    null, never sent)."""
    texts = [f"Sentence {n} about a walk in the park" for n in range(12)]
    texts[5] = "word " * (MAX_TEXT_CHARS // 5 + 1)
    source = pa.table({"id": pa.array(range(12), type=pa.int64()), "text": pa.array(texts)})
    with Emulator(EmulatorConfig(api_key=KEY, rpm=6000, tpm=10_000_000, mode="chat")) as emu:
        out = run(
            source,
            columns="text",
            targets="de",
            source="en",
            budget=pacing_budget(rpm=6000, tpm=10_000_000, name="chat-test"),
            engine="chat",
            model="qwen-plus",
            base_url=emu.base_url,
            api_key_env=KEY_ENV,
            rpm=6000,
            tpm=10_000_000,
            cache=str(tmp_path / "cache.sqlite"),
            retry_base=0.01,
            timeout=10.0,
        )
        stats = emu.stats
    expected: list[str | None] = [fake_translate(t, "German") for t in texts]
    expected[5] = None
    assert out.column("text_de").to_pylist() == expected
    assert stats.ok >= 1 and stats.by_status == {200: stats.ok}
    assert emu.requests and all("word word" not in r.request.content for r in emu.requests)

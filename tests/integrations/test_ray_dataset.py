"""translate_dataset on a local Ray (2 CPUs): one translation per distinct value, cluster-wide.

Skipped when Ray is not installed; marked slow (Ray's start, its shuffle and 200,000 rows take
a minute or two on two cores).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest

ray = pytest.importorskip("ray")
pytest.importorskip("ray.data")

import numpy as np  # a dependency of ray[data]

from mtpipe.engine.pseudo import pseudo_localize
from mtpipe.engine.units import MAX_TEXT_CHARS
from mtpipe.errors import ConfigError
from mtpipe.integrations.ray_data import TranslateColumns, pacing_budget, translate_dataset
from mtpipe.testing import Emulator, EmulatorConfig, fake_translate
from tests.conftest import KEY, KEY_ENV
from tests.integrations.test_ray_data import ledger_lines, table, translated_like

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("local_ray")]

ROWS, DISTINCT, BLOCKS, WORKERS = 200_000, 20_000, 20, 4
#: The account the emulator plays: high enough that the test takes seconds, not minutes.
RPM, TPM = 6000, 20_000_000


def captions() -> pa.Table:
    """``ROWS`` rows holding ``DISTINCT`` captions ten times each, shuffled so that every value
    is spread over several blocks (and every block holds values found in other blocks)."""
    order = np.random.default_rng(7).permutation(np.tile(np.arange(DISTINCT), ROWS // DISTINCT))
    texts = np.array([f"Caption {n} of the spring catalogue" for n in range(DISTINCT)], dtype=object)
    return pa.table({"id": pa.array(np.arange(ROWS)), "caption": pa.array(texts[order], pa.string())})


def blocks(data: pa.Table, count: int) -> Any:
    size = -(-data.num_rows // count)
    return ray.data.from_arrow([data.slice(start, size) for start in range(0, data.num_rows, size)])


def rows_of(ds: Any) -> pa.Table:
    return pa.concat_tables(ray.get(ds.to_arrow_refs())).sort_by("id")


def segments_sent(ledgers: Path) -> int:
    return sum(line["segments"] for line in ledger_lines(ledgers) if line["event"] == "request")


def test_a_dataset_pays_once_per_distinct_value_and_a_rerun_pays_nothing(tmp_path: Path) -> None:
    data = captions()
    block = pa.array(np.arange(ROWS) // (ROWS // BLOCKS))
    placed = pa.table({"caption": data.column("caption"), "block": block}).group_by(["caption", "block"]).aggregate([])
    spread = placed.group_by("caption").aggregate([("block", "count")])
    assert spread.num_rows == DISTINCT and pc.min(spread.column("block_count")).as_py() >= 2
    assert len(set(placed.column("block").to_pylist())) == BLOCKS
    expected = [fake_translate(text, "German") for text in data.column("caption").to_pylist()]
    settings: dict[str, Any] = {
        "columns": "caption",
        "targets": "de",
        "source": "en",
        "api_key_env": KEY_ENV,
        "rpm": RPM,
        "tpm": TPM,
        "cache": str(tmp_path / "cache.sqlite"),
        "retry_base": 0.01,
        "timeout": 30.0,
        "workers": WORKERS,
        "worker_cpus": 0.25,
    }
    with Emulator(EmulatorConfig(api_key=KEY, rpm=RPM, tpm=TPM)) as emu:
        budget = pacing_budget(rpm=RPM, tpm=TPM, name="dataset-test")
        first = translate_dataset(
            blocks(data, BLOCKS), base_url=emu.base_url, budget=budget,
            ledger_dir=str(tmp_path / "first"), **settings,
        )
        out = rows_of(first.dataset)
        stats = emu.stats
        emu.reset_stats()
        again = translate_dataset(
            blocks(data, BLOCKS), base_url=emu.base_url, budget=budget,
            ledger_dir=str(tmp_path / "again"), **settings,
        )
        rerun = rows_of(again.dataset)
        rerun_stats = emu.stats
    sent = segments_sent(tmp_path / "first")
    print(f"translate_dataset: {sent} segments sent for {DISTINCT} distinct values, {stats.ok} requests")
    assert DISTINCT <= sent <= DISTINCT * 1.01
    assert first.units == DISTINCT and first.failed == {}
    assert out.column("caption_de").to_pylist() == expected
    assert out.column("caption").equals(data.column("caption"))
    assert stats.throttled_rpm == 0 and stats.throttled_tpm == 0 and stats.by_status == {200: stats.ok}
    requests = [line for line in ledger_lines(tmp_path / "first") if line["event"] == "request"]
    assert len(requests) == stats.ok  # every request is in a worker's ledger
    starts = [line for line in ledger_lines(tmp_path / "first") if line["event"] == "run_start"]
    assert len({line["worker"] for line in starts}) == len(starts) >= 1  # a ledger per worker
    assert rerun_stats.received == 0 and segments_sent(tmp_path / "again") == 0
    assert again.units == DISTINCT and again.failed == {}
    assert rerun.column("caption_de").to_pylist() == expected


def test_every_column_type_as_the_per_batch_worker_translates_it(tmp_path: Path) -> None:
    source = table(300)
    long_text = "word " * (MAX_TEXT_CHARS // 5 + 1)
    titles = source.column("title").to_pylist()
    titles[7] = long_text  # too long for any request: null, and counted as failed
    source = source.set_column(1, "title", pa.array(titles, pa.string()))
    settings: dict[str, Any] = {
        "columns": ["title", "product", "tags"],
        "targets": ["de", "fr"],
        "source": "en",
        "engine": "pseudo",
        "cache": str(tmp_path / "cache.sqlite"),
        "ledger_dir": str(tmp_path / "ledgers"),
    }
    done = translate_dataset(blocks(source, 4), workers=2, worker_cpus=0.25, **settings)
    out = rows_of(done.dataset)
    assert done.failed == {"de": 1, "fr": 1}
    assert done.units == 2 * (37 + 1 + 3 + 2 + 1)  # titles, the padded one, products, tags, too long
    titles_de = out.column("title_de").to_pylist()
    assert titles_de[7] is None
    assert titles_de[:7] + titles_de[8:] == [
        translated_like(t, pseudo_localize) for t in titles[:7] + titles[8:]
    ]
    per_batch = blocks(source, 4).map_batches(
        TranslateColumns, fn_constructor_kwargs=settings, batch_format="pyarrow",
        compute=ray.data.ActorPoolStrategy(size=2), num_cpus=0.25,
    )
    assert rows_of(per_batch).equals(out)  # same columns, types and values as the per-batch path
    assert out.schema.field("product_de").type == source.schema.field("product").type


def test_settings_and_columns_refused_before_anything_is_sent(tmp_path: Path) -> None:
    source = table(10).append_column("title_de", pa.array(["x"] * 10))
    with Emulator(EmulatorConfig(api_key=KEY)) as emu:
        common: dict[str, Any] = {"targets": "de", "source": "en", "base_url": emu.base_url, "api_key_env": KEY_ENV}
        with pytest.raises(ConfigError, match="'title_de' already exists"):
            translate_dataset(blocks(source, 2), columns="title", **common)
        with pytest.raises(ConfigError, match="no column 'nope'"):
            translate_dataset(blocks(source, 2), columns="nope", **common)
        with pytest.raises(ConfigError, match="Qwen-MT model"):
            translate_dataset(blocks(source, 2), columns="title", engine="chat", model="qwen-mt-plus", **common)
        with pytest.warns(UserWarning, match="clear text"), pytest.raises(ConfigError):
            translate_dataset(
                blocks(source, 2), columns="nope", targets="de",
                base_url="http://mt.example.invalid/compatible-mode/v1",
            )
        assert emu.stats.received == 0


def test_ledgers_hold_one_run_start_per_translating_worker(tmp_path: Path) -> None:
    done = translate_dataset(
        blocks(table(100), 4), columns="title", targets="de", source="en", engine="pseudo",
        cache=str(tmp_path / "cache.sqlite"), ledger_dir=str(tmp_path / "ledgers"),
        run_id="ledger-test", workers=2, worker_cpus=0.25,
    )
    rows_of(done.dataset)
    starts = [line for line in ledger_lines(tmp_path / "ledgers") if line["event"] == "run_start"]
    assert starts and all(s["run_id"] == "ledger-test" and s["engine"] == "pseudo" for s in starts)
    assert len(list((tmp_path / "ledgers").glob("mtpipe-ledger-test-*.jsonl"))) == len(starts)
    assert json.dumps(starts[0]["target_langs"]) == '["de"]'

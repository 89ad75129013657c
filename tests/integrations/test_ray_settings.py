"""The Ray integration's settings and its distinct-values step, without starting Ray (not slow;
skipped when Ray is not installed)."""

from __future__ import annotations

import hashlib

import pyarrow as pa
import pytest

pytest.importorskip("ray")

from mtpipe.engine.units import MAX_TEXT_CHARS
from mtpipe.errors import ConfigError
from mtpipe.integrations.ray_data import (
    TOO_LONG,
    VALUE,
    TranslateColumns,
    cluster_job,
    distinct_values,
)
from tests.conftest import KEY, KEY_ENV


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"engine": "chat", "model": "qwen-mt-plus"}, "Qwen-MT model"),
        ({"instructions": "Be formal."}, "instructions are for chat models only"),
        ({"targets": ["de", "German"]}, "listed twice"),
        ({"targets": "en"}, "also the source language"),
        ({"targets": ["de", "fr"], "in_place": True}, "single --to language"),
        ({"rpm": 0}, "--rpm must be positive"),
        ({"engine": "deepl"}, "unknown engine"),
        ({"api_key_env": "sk0123456789abcdef0123456789"}, "name of an environment variable"),
    ],
)
def test_a_cluster_run_refuses_what_the_cli_refuses(settings: dict[str, object], message: str) -> None:
    arguments: dict[str, object] = {"targets": "de", "source": "en", **settings}
    with pytest.raises(ConfigError, match=message):
        cluster_job(**arguments)  # type: ignore[arg-type]


def test_a_cluster_run_takes_the_engine_default_model() -> None:
    assert cluster_job("de", engine="chat").model == "qwen-plus"
    assert cluster_job("de").model == "qwen-mt-turbo"
    job = cluster_job(["de", "fr"], "en", label="captions", domains="retail")
    assert ([t.code for t in job.targets], job.source.code, job.name, job.ledger) == (
        ["de", "fr"], "en", "captions", None,
    )


def test_distinct_values_are_the_units_cores_of_every_column_type() -> None:
    long_text = "x" * (MAX_TEXT_CHARS + 1)
    batch = pa.table(
        {
            "title": pa.array(["  Hello ", "Hello", "{name}", None, "", "Bye\n", long_text]),
            "product": pa.DictionaryArray.from_arrays(pa.array([0, 1, 0, 0, 1, 1, 0]), pa.array(["Hello", "Coat"])),
            "tags": pa.array([["new", " sale"], None, [], ["new"], None, None, None], pa.list_(pa.string())),
        }
    )
    out = distinct_values(batch, ["title", "product", "tags"])
    digest = hashlib.sha256(long_text.encode()).hexdigest()
    assert out.column(VALUE).to_pylist() == ["Bye", "Coat", "Hello", "new", "sale", digest]
    assert out.column(TOO_LONG).to_pylist() == [False] * 5 + [True]


def test_a_worker_without_the_drivers_budget_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """A budget actor created by a worker would die with that worker, mid-run."""
    monkeypatch.setenv(KEY_ENV, KEY)
    with pytest.raises(ConfigError, match="no pacing budget: create one on the driver"):
        TranslateColumns("text", "de", api_key_env=KEY_ENV)

"""Datasets through the pipeline: dedup across files in bounded memory, directories, resume.

The planner keeps distinct values in the SQLite work store and a bounded memo; these tests
shrink both (a memo of a few entries, buffers of a few rows) so that every path (memo
eviction, look-ups in the buffer and in SQLite, tally flushes) runs on small inputs.
"""

from __future__ import annotations

import itertools
import random
import string
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mtpipe.run.planner
import mtpipe.run.workstore
from mtpipe.engine.client import Reply, TranslationRequest
from mtpipe.engine.pacing import Pacer
from mtpipe.engine.packing import PackLimits, line_tokens
from mtpipe.engine.pool import PoolSettings, TranslationPool
from mtpipe.engine.pseudo import pseudo_localize
from mtpipe.engine.retry import RetryPolicy
from mtpipe.engine.units import Unit, pack_by_group, split_for_sending
from mtpipe.records.cache import Cache
from mtpipe.records.ledger import Ledger, read_ledger
from mtpipe.records.prices import Price
from mtpipe.run.planner import Memo
from mtpipe.run.runner import translate
from mtpipe.run.settings import InputSpec, Job
from mtpipe.run.workstore import CACHED, WorkStore
from mtpipe.testing import Emulator, fake_translate
from mtpipe.text.languages import Language, resolve
from mtpipe.text.protect import needs_translation, split_outer_whitespace
from mtpipe.text.segments import ALL_CHECKS, Segment
from tests.conftest import FAST_RETRIES, KEY_ENV, corpus

EN, DE, FR = Language("en", "English"), Language("de", "German"), Language("fr", "French")


def expected(text: str, target: str = "German") -> str:
    """What the emulator returns for ``text``, outer whitespace kept."""
    lead, core, trail = split_outer_whitespace(text)
    if not core or not needs_translation(core):
        return text
    return lead + fake_translate(core, target) + trail


def pseudo(text: str | None) -> str | None:
    if text is None or text == "":
        return text
    lead, core, trail = split_outer_whitespace(text)
    return lead + pseudo_localize(core) + trail if needs_translation(core) else text


def write_parquet(
    path: Path, texts: Sequence[str | None], row_group: int = 50, **extra: list[Any]
) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = {
        "id": pa.array(range(len(texts)), type=pa.int64()),
        "text": pa.array(texts, type=pa.string()),
    }
    columns.update({name: pa.array(values) for name, values in extra.items()})
    pq.write_table(pa.table(columns), path, row_group_size=row_group)
    return path


def pseudo_job(tmp_path: Path, inputs: list[Path], **overrides: Any) -> Job:
    settings_: dict[str, Any] = {
        "inputs": [InputSpec(p) for p in inputs],
        "targets": [resolve("de")],
        "source": resolve("en"),
        "engine": "pseudo",
        "out": tmp_path / "out",
        "ledger": tmp_path / "ledger.jsonl",
        "cache": tmp_path / "cache.sqlite",
        "options": {"columns": ["text"]},
    }
    settings_.update(overrides)
    return Job(**settings_)


def emulator_job(tmp_path: Path, emulator: Emulator, inputs: list[Path], **overrides: Any) -> Job:
    settings_: dict[str, Any] = {
        "engine": "qwen",
        "base_url": emulator.base_url,
        "api_key_env": KEY_ENV,
        "rpm": 6000,
        "tpm": 10_000_000,
        "timeout": 10.0,
    }
    settings_.update(overrides)
    return pseudo_job(tmp_path, inputs, **settings_)


def sent_segments(ledger: Path) -> int:
    return sum(
        int(r["segments"])
        for r in read_ledger(ledger)
        if r["event"] == "request" and r["status"] == "ok"
    )


@pytest.fixture()
def tiny_bounds(monkeypatch: pytest.MonkeyPatch) -> None:
    """A memo of 4 entries and work-store buffers of 3 rows: everything spills."""
    monkeypatch.setattr(mtpipe.run.planner, "MEMO_SIZE", 4)
    monkeypatch.setattr(mtpipe.run.workstore, "BUFFER", 3)


# ---- the pieces ---------------------------------------------------------------------------


def test_memo_keeps_what_is_used_and_drops_the_rest() -> None:
    memo: Memo[int] = Memo(4)
    for n in range(3):
        memo.put(n, n)
    assert memo.get(0) == 0  # promoted into the young generation
    for n in range(3, 10):
        memo.put(n, n)
        memo.get(0)  # kept alive by use
    assert memo.get(0) == 0 and memo.get(9) == 9
    assert memo.get(1) is mtpipe.run.planner._UNSEEN  # cold: dropped


def test_work_store_numbers_units_and_finds_them_buffered_or_in_sqlite() -> None:
    store = WorkStore(buffer=2)
    file = store.add_file("a.parquet")
    seqs = []
    for n in range(5):
        unit = Unit(
            f"key{n}",
            f"text {n}",
            EN,
            DE,
            "",
            ALL_CHECKS,
            frozenset(),
            (("a", "b"),) if n == 1 else (),
            "a.parquet",
            f"row {n}",
            3,
        )
        seqs.append(store.add_unit(unit, file))
    store.add_cached("cached-key")
    assert seqs == [1, 2, 3, 4, 5]
    assert [store.lookup(f"key{n}") for n in range(5)] == seqs  # some flushed, some buffered
    assert store.lookup("cached-key") == CACHED and store.lookup("unknown") is None
    units = list(store.units(page=2))
    assert [u.key for u in units] == [f"key{n}" for n in range(5)] and store.to_send == 5
    assert (
        units[1].terms == (("a", "b"),) and units[0].checks == ALL_CHECKS and units[0].target == DE
    )
    store.add_tally(file, {1: 3, 2: 1})
    store.add_tally(file, {1: 2, 5: 4})
    settled = store.settle(lambda key: key != "key4")
    assert (settled[(file, "de")].translated, settled[(file, "de")].failed) == (3 + 2 + 1, 4)
    store.close()


def test_pack_by_group_keeps_each_group_within_the_limits() -> None:
    rng = random.Random(3)
    items = [(rng.choice("ab"), rng.randint(1, 40), rng.random() < 0.05, n) for n in range(500)]
    limits = PackLimits(token_budget=200, max_segments=7, every=4)
    size = lambda item: None if item[2] else item[1]
    streamed = list(pack_by_group(items, lambda item: item[0], size, limits))
    # Every item exactly once, in its group's order; alone when it cannot share a request.
    assert sorted(i for batch in streamed for i in batch) == sorted(items)
    for batch in streamed:
        assert len({item[0] for item in batch}) == 1
        assert [i[3] for i in batch] == sorted(i[3] for i in batch)
        if any(item[2] for item in batch):
            assert len(batch) == 1
        elif len(batch) > 1:
            framed = sum(item[1] + line_tokens(limits.every) for item in batch)
            assert framed <= limits.token_budget and len(batch) <= limits.max_segments
    # A batch closes only when the next item of its group would not fit.
    for group in "ab":
        batches = [b for b in streamed if b[0][0] == group and not b[0][2]]
        for batch, after in itertools.pairwise(batches):
            used = sum(item[1] + line_tokens(limits.every) for item in batch)
            assert len(batch) == limits.max_segments or used + after[0][1] + line_tokens(limits.every) > limits.token_budget


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=string.printable + "éß€{}%$<>&@", max_size=40))
def test_fast_path_agrees_with_needs_translation(text: str) -> None:
    lead, core, trail = split_outer_whitespace(text)
    want = None if not core or not needs_translation(core) else (lead, core, trail)
    assert split_for_sending(Segment(text, "x")) == want


@pytest.mark.parametrize(
    "text",
    [
        "http://x.org",
        "www.example.com",
        "a@b.cd",
        "%s",
        "{0}",
        "$HOME",
        "<b/>",
        "&amp;",
        "%(n)d",
        "Hello",
        "42",
        "  ",
        "x%",
    ],
)
def test_fast_path_examples(text: str) -> None:
    lead, core, trail = split_outer_whitespace(text)
    want = None if not core or not needs_translation(core) else (lead, core, trail)
    assert split_for_sending(Segment(text, "x")) == want


class _Counting:
    name = "counting"

    def __init__(self, consumed: list[int]) -> None:
        self.consumed = consumed
        self.seen_at_first: int | None = None

    async def translate(self, request: TranslationRequest) -> Reply:
        if self.seen_at_first is None:
            self.seen_at_first = self.consumed[0]
        await anyio.lowlevel.checkpoint()
        return Reply(request.text.upper(), 10, 10, "r")


def test_pool_reads_a_stream_only_a_few_batches_ahead(tmp_path: Path) -> None:
    consumed = [0]

    def stream() -> Any:
        for n in range(300):
            consumed[0] += 1
            yield Unit(
                f"k{n}",
                f"text {n}",
                EN,
                DE if n % 2 else FR,
                "",
                ALL_CHECKS,
                frozenset(),
                (),
                "f",
                f"row {n}",
                3,
            )

    client = _Counting(consumed)
    cache = Cache(None)
    pool = TranslationPool(
        client,
        Pacer(rpm=None, tpm=None),
        RetryPolicy(max_retries=0),
        cache,
        Ledger(tmp_path / "l.jsonl", "r"),
        Price(1.0, 1.0),
        PoolSettings(concurrency=2, limits=PackLimits(token_budget=1000, max_segments=5)),
    )
    anyio.run(pool.run, stream(), 300)
    assert client.seen_at_first is not None and client.seen_at_first <= 60  # not the whole stream
    assert pool.stats.units_total == 300 and pool.stats.units_done == 300
    assert all(cache.get(f"k{n}") == f"TEXT {n}" for n in range(300))


# ---- whole runs ---------------------------------------------------------------------------


def repeated_values(rows: int, distinct: int, seed: int = 1) -> list[str | None]:
    rng = random.Random(seed)
    values = [f"Caption number {n} of the set" for n in range(distinct)]
    out: list[str | None] = [*values, *(rng.choice(values) for _ in range(rows - distinct))]
    rng.shuffle(out)
    out[::37] = [f"  {v}  " if v else v for v in out[::37]]  # outer whitespace: same unit
    out[5], out[6], out[7] = None, "", "123"
    return out


@pytest.mark.usefixtures("tiny_bounds")
def test_dedup_across_files_with_everything_spilled(tmp_path: Path) -> None:
    texts = repeated_values(600, 60)
    first = write_parquet(tmp_path / "in" / "a.parquet", texts)
    second = write_parquet(tmp_path / "in" / "b.parquet", texts[::-1])
    result = translate(
        pseudo_job(tmp_path, [tmp_path / "in"], targets=[resolve("de"), resolve("fr")])
    )
    assert result.exit_code == 0, result.failures[:3]
    distinct = {t.strip() for t in texts if t and t != "123"}
    assert result.estimate.unique == result.stats.units_done == 2 * len(distinct)
    assert sent_segments(tmp_path / "ledger.jsonl") == 2 * len(distinct)
    for source in (first, second):
        out = pq.read_table(tmp_path / "out" / source.name)
        assert out.column("text_de").to_pylist() == [
            pseudo(t) for t in pq.read_table(source).column("text").to_pylist()
        ]
        counts = next(f for f in result.files if f.path == source).by_target
        for code in ("de", "fr"):
            c = counts[code]
            assert (c.segments, c.unchanged, c.translated, c.failed, c.from_cache) == (
                598,
                1,
                597,
                0,
                0,
            )


@pytest.mark.usefixtures("tiny_bounds")
def test_second_run_is_all_from_cache_with_everything_spilled(tmp_path: Path) -> None:
    source = write_parquet(tmp_path / "a.parquet", repeated_values(300, 40))
    translate(pseudo_job(tmp_path, [source]))
    again = translate(pseudo_job(tmp_path, [source]))
    assert again.exit_code == 0 and again.stats.requests == 0
    counts = again.files[0].by_target["de"]
    assert (counts.from_cache, counts.translated, counts.unchanged) == (297, 0, 1)
    assert again.files[0].from_cache == again.estimate.cache_hits == 40


def test_dry_run_estimate_matches_what_is_sent(tmp_path: Path) -> None:
    source = write_parquet(tmp_path / "a.parquet", repeated_values(400, 120))
    dry = translate(pseudo_job(tmp_path, [source], dry_run=True, rpm=60, tpm=20_000))
    assert not (tmp_path / "out").exists()
    real = translate(pseudo_job(tmp_path, [source], rpm=60, tpm=20_000))
    assert dry.estimate.unique == real.estimate.unique == 120
    assert dry.estimate.requests == real.stats.requests > 1


def test_directory_with_hive_partitions_keeps_its_layout(tmp_path: Path) -> None:
    root = tmp_path / "dataset"
    parts: dict[str, list[str | None]] = {
        "year=2023/month=12/part-0.parquet": ["Red shoe", "Blue hat", None],
        "year=2024/month=01/part-0.parquet": ["Blue hat", "Green coat", ""],
        "year=2024/month=01/part-1.parquet": ["Red shoe", "Scarf", "Scarf"],
    }
    for rel, texts in parts.items():
        write_parquet(root / rel, texts, extra_col=[1.5] * len(texts))
    (root / "_SUCCESS").write_bytes(b"")
    (root / "year=2024" / "_committed_123").write_text("{}")
    (root / ".part-0.parquet.crc").write_bytes(b"crc")
    result = translate(pseudo_job(tmp_path, [root]))
    assert result.exit_code == 0 and not result.failures
    assert sorted(p.name for p, _ in result.skipped) == ["_SUCCESS", "_committed_123"]
    written = sorted(
        p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*.parquet")
    )
    assert written == sorted(parts)
    for rel, texts in parts.items():
        out = pq.read_table(tmp_path / "out" / rel)
        assert out.column("text").to_pylist() == texts and out.column("extra_col").to_pylist() == [
            1.5
        ] * len(texts)
        assert out.column("text_de").to_pylist() == [pseudo(t) for t in texts]
    assert (
        result.estimate.unique == result.stats.units_done == 4
    )  # each value once for the whole dataset


def test_resume_is_by_content_not_by_row(tmp_path: Path, emulator: Emulator) -> None:
    texts = [f"A person number {n} walks in the park" for n in range(200)]
    first = write_parquet(tmp_path / "a.parquet", list(texts))
    translate(emulator_job(tmp_path, emulator, [first]), hooks=FAST_RETRIES)
    sent_before = sent_segments(tmp_path / "ledger.jsonl")
    assert sent_before == 200
    # The same values shuffled and shifted by a few new rows in front: only the new ones are paid.
    new = ["A brand new caption", "Another new one", "A third one"]
    moved = list(texts)
    random.Random(2).shuffle(moved)
    second = write_parquet(tmp_path / "b.parquet", new + moved, row_group=64)
    result = translate(emulator_job(tmp_path, emulator, [second]), hooks=FAST_RETRIES)
    assert result.exit_code == 0
    assert sent_segments(tmp_path / "ledger.jsonl") - sent_before == len(new)
    assert result.estimate.cache_hits == 200 and result.files[0].by_target["de"].translated == 3
    got = pq.read_table(tmp_path / "out" / "b.parquet").column("text_de").to_pylist()
    assert got == [expected(t) for t in new + moved]


def test_budget_stop_reports_what_was_not_sent(tmp_path: Path, emulator: Emulator) -> None:
    source = write_parquet(tmp_path / "a.parquet", [f"Sentence {n} here" for n in range(60)])
    job = emulator_job(
        tmp_path, emulator, [source], packing=False, concurrency=1, max_cost=0.0001, price="1,1"
    )
    result = translate(job, hooks=FAST_RETRIES)
    assert result.exit_code == 3 and "max-cost" in (result.aborted or "")
    assert 0 < result.stats.requests < 60
    counts = result.files[0].by_target["de"]
    assert counts.translated == result.stats.units_done and counts.translated + counts.failed == 60
    assert all("not sent" in f.reason and "max-cost" in f.reason for f in result.failures)
    assert len(result.failures) == counts.failed


def test_corpus_parquet_every_row_right(tmp_path: Path, emulator: Emulator) -> None:
    source = corpus("tabular/multi30k-train.parquet")
    result = translate(emulator_job(tmp_path, emulator, [source], options={"columns": ["en"]}), hooks=FAST_RETRIES)
    assert result.exit_code == 0, result.failures[:3]
    before, after = pq.ParquetFile(source), pq.ParquetFile(tmp_path / "out" / source.name)
    assert after.metadata.num_row_groups == before.metadata.num_row_groups
    assert after.metadata.num_rows == before.metadata.num_rows == 29_000
    original, out = before.read(), after.read()
    for name in original.column_names:
        assert out.column(name).equals(original.column(name))
    assert out.column("en_de").to_pylist() == [
        expected(t) for t in original.column("en").to_pylist()
    ]
    assert (
        result.stats.units_done
        == result.estimate.unique
        == len(set(original.column("en").to_pylist()))
    )


def test_a_value_too_long_to_send_fails_wherever_it_occurs(tmp_path: Path, tiny_bounds: None) -> None:
    """Over the input limit: counted once per occurrence, never a unit, even once the memo
    forgot it (the planner remembers what it refused by key)."""
    long_text = " ".join(f"word{i}" for i in range(4_000))
    texts = [long_text if n % 3 == 0 else f"Short value {n % 5}" for n in range(30)]
    data = write_parquet(tmp_path / "data.parquet", texts, row_group=7)
    result = translate(pseudo_job(tmp_path, [data]))
    assert result.exit_code == 1
    assert result.estimate.too_long == 10 and result.estimate.unique == 5
    counts = result.files[0].by_target["de"]
    assert (counts.failed, counts.translated, counts.segments) == (10, 20, 30)
    assert {f.reason for f in result.failures} == {result.failures[0].reason}
    assert "over the model's input limit of 8,192" in result.failures[0].reason
    out = pq.read_table(tmp_path / "out" / "data.parquet").column("text_de").to_pylist()
    assert [n for n, text in enumerate(out) if text is None] == list(range(0, 30, 3))
    assert out[1] == pseudo(texts[1])

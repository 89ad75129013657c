"""Benchmark: a Parquet text column at 200k and 2M rows, deduplicated, in flat memory.

Run on demand (not part of the default test run; ~2-3 minutes):

    /tmp/venv/bin/pytest tests/benchmarks/test_dataset_scale.py -s -p no:cacheprovider -o addopts=""

Generates Parquet files of short captions (``MTPIPE_BENCH_ROWS``, default ``200000,2000000``)
where 10% of the rows are distinct values: every distinct value occurs at least once, the other
90% are drawn Zipf-like (weight 1/rank) from them, so a few values are very frequent and most
are rare, as in real caption, label or comment columns. Row groups of 131,072 rows.

Each size is translated through the pipeline (``translate(job)``) with the offline pseudo
engine in a fresh subprocess, which prints rows/s, segments sent vs distinct values, and its
peak RSS (``ru_maxrss``: a high-water mark of the whole process, hence one process per size).
A subprocess that only imports the pipeline gives the baseline RSS. Then the 200k file goes
through the Qwen-MT emulator at 600 RPM / 1M TPM to show that what is sent is the distinct
values, once each, packed, and no 429.

Asserts loose sanity bounds only: every value sent once, every row right, and peak RSS at 2M
rows within 1.5x (+64 MB) of the figure at 200k rows although it has 10x the distinct values.
"""

from __future__ import annotations

import json
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mtpipe.records.ledger import read_ledger
from mtpipe.run.runner import translate
from mtpipe.run.settings import InputSpec, Job
from mtpipe.testing import EmulatorConfig
from mtpipe.text.languages import resolve
from tests.benchmarks.support import RPM, TPM, run_through_emulator

REPO = Path(__file__).resolve().parents[2]
SIZES = [int(n) for n in os.environ.get("MTPIPE_BENCH_ROWS", "200000,2000000").split(",")]
DISTINCT_SHARE = 0.10
ROW_GROUP = 131_072
KEY = "bench-dataset-key"

SUBJECTS = [
    "A man",
    "A woman",
    "A young boy",
    "A little girl",
    "Two dogs",
    "A brown dog",
    "An old man",
    "A group of people",
    "A child",
    "Three women",
    "A cyclist",
    "A street vendor",
    "A small boy",
    "A black cat",
    "Two men",
    "A teenager",
    "A crowd",
    "A musician",
    "A worker",
    "A family",
    "A baby",
    "A soccer player",
    "A surfer",
    "A chef",
    "A police officer",
    "A tourist",
    "An artist",
    "A farmer",
    "A couple",
    "A waiter",
]
ACTIONS = [
    "is walking",
    "is running",
    "is sitting",
    "is standing",
    "is playing",
    "is jumping",
    "is looking",
    "is riding a bike",
    "is reading a book",
    "is eating lunch",
    "is smiling",
    "is waiting",
    "is dancing",
    "is singing",
    "is climbing",
    "is painting",
    "is cooking",
    "is swimming",
    "is talking",
    "is resting",
    "is working",
    "is laughing",
    "is shopping",
    "is sleeping",
    "is driving",
    "is fishing",
    "is skating",
    "is posing",
    "is cleaning",
    "is writing",
]
PLACES = [
    "in the park",
    "on the beach",
    "near a fountain",
    "in a busy street",
    "on a wooden bridge",
    "in the snow",
    "by the river",
    "in a small kitchen",
    "on a stage",
    "in front of a shop",
    "under a tree",
    "in the rain",
    "at the market",
    "on the grass",
    "in a library",
    "next to a car",
    "on a boat",
    "in a crowded bar",
    "at night",
    "in the mountains",
    "on a red bench",
    "at the station",
    "in a garden",
    "by the lake",
    "on the sidewalk",
    "in a classroom",
    "at the beach",
    "in a stadium",
    "near the sea",
    "in the desert",
]
EXTRAS = [
    "",
    " with a friend",
    " while it rains",
    " in the sun",
    " at sunset",
    " on a cold day",
    " with a smile",
    " again",
]
WHEN = [
    "",
    " today",
    " this morning",
    " in the evening",
    " last summer",
    " once more",
    " for hours",
    " all day",
    " in winter",
    " on Sunday",
]


def captions(count: int, seed: int) -> list[str]:
    """``count`` distinct short captions, in a random order."""
    rng = random.Random(seed)
    space = len(SUBJECTS) * len(ACTIONS) * len(PLACES) * len(EXTRAS) * len(WHEN)
    assert count <= space, f"at most {space} distinct captions"
    out = []
    for n in rng.sample(range(space), count):
        n, when = divmod(n, len(WHEN))
        n, extra = divmod(n, len(EXTRAS))
        n, place = divmod(n, len(PLACES))
        subject, action = divmod(n, len(ACTIONS))
        out.append(f"{SUBJECTS[subject]} {ACTIONS[action]} {PLACES[place]}{EXTRAS[extra]}{WHEN[when]}.")
    return out


def generate(path: Path, rows: int, seed: int = 5) -> int:
    """Write ``rows`` rows (id, caption, source, score) in row groups; returns distinct captions.

    Every distinct caption occurs once, the rest are Zipf-like draws; generated one row group
    at a time so the file can be larger than what the generator holds.
    """
    rng = random.Random(seed)
    distinct = captions(max(1, int(rows * DISTINCT_SHARE)), seed)
    cumulative: list[float] = []
    total = 0.0
    for rank in range(1, len(distinct) + 1):
        total += 1.0 / rank
        cumulative.append(total)
    schema = pa.schema(
        [
            pa.field("id", pa.int64(), nullable=False),
            pa.field("caption", pa.string(), metadata={"lang": "en"}),
            pa.field("source", pa.dictionary(pa.int8(), pa.string())),
            pa.field("score", pa.float32()),
        ],
        metadata={"dataset": "synthetic captions"},
    )
    # Row positions that get the "every distinct value once" occurrences, spread over the file.
    firsts = sorted(rng.sample(range(rows), len(distinct)))
    next_first = 0
    with pq.ParquetWriter(path, schema, compression="zstd") as writer:
        for start in range(0, rows, ROW_GROUP):
            stop = min(rows, start + ROW_GROUP)
            draws = rng.choices(distinct, cum_weights=cumulative, k=stop - start)
            while next_first < len(firsts) and firsts[next_first] < stop:
                draws[firsts[next_first] - start] = distinct[next_first]
                next_first += 1
            table = pa.table(
                {
                    "id": pa.array(range(start, stop), type=pa.int64()),
                    "caption": pa.array(draws, type=pa.string()),
                    "source": pa.array(
                        [("flickr", "coco", "web")[i % 3] for i in range(start, stop)]
                    )
                    .dictionary_encode()
                    .cast(schema.field("source").type),
                    "score": pa.array(
                        [((i * 7919) % 1000) / 1000 for i in range(start, stop)], type=pa.float32()
                    ),
                },
                schema=schema,
            )
            writer.write_table(table)
    return len(distinct)


def measure(path: str, out: str, cache: str) -> dict[str, Any]:
    """Translate ``path`` with the pseudo engine (run in a fresh process); the figures."""
    job = Job(
        inputs=[InputSpec(Path(path))],
        targets=[resolve("de")],
        source=resolve("en"),
        engine="pseudo",
        out=Path(out),
        ledger=Path(out) / "ledger.jsonl",
        cache=Path(cache),
        options={"columns": ["caption"]},
    )
    started = time.monotonic()
    result = translate(job)
    wall = time.monotonic() - started
    counts = result.files[0].by_target["de"]
    return {
        "exit_code": result.exit_code,
        "rows": pq.ParquetFile(path).metadata.num_rows,
        "wall_s": wall,
        "segments": result.estimate.segments,
        "unique": result.estimate.unique,
        "sent": result.stats.units_done,
        "requests": result.stats.requests,
        "translated": counts.translated,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def baseline_rss() -> dict[str, Any]:
    """Peak RSS of a process that only imports the pipeline (run in a fresh process)."""
    import mtpipe.run.runner  # noqa: F401  (the import is what is measured)

    return {"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def in_subprocess(call: str) -> dict[str, Any]:
    code = (
        f"import json\nfrom tests.benchmarks.test_dataset_scale import *\nprint(json.dumps({call}))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def check_rows(source: Path, output: Path, translate_one: Any) -> None:
    """Every output row: source columns identical, the added column its translation."""
    before, after = pq.ParquetFile(source), pq.ParquetFile(output)
    assert after.metadata.num_row_groups == before.metadata.num_row_groups
    for index in range(before.metadata.num_row_groups):
        src, out = before.read_row_group(index), after.read_row_group(index)
        for name in src.column_names:
            assert out.column(name).equals(src.column(name))
        answers: dict[str, str] = {}
        for text, got in zip(
            src.column("caption").to_pylist(), out.column("caption_de").to_pylist(), strict=True
        ):
            if text not in answers:
                answers[text] = translate_one(text)
            assert got == answers[text]


@pytest.mark.benchmark
def test_memory_stays_flat_from_200k_to_2m_rows(tmp_path: Path) -> None:
    from mtpipe.engine.pseudo import pseudo_localize

    base = in_subprocess("baseline_rss()")
    print(f"\nbaseline (import only): peak RSS {base['peak_rss_mb']:.0f} MB")
    figures = {}
    for rows in SIZES:
        started = time.monotonic()
        path = tmp_path / f"captions-{rows}.parquet"
        distinct = generate(path, rows)
        generated = time.monotonic() - started
        got = in_subprocess(
            f"measure({str(path)!r}, {str(tmp_path / f'out-{rows}')!r}, {str(tmp_path / f'cache-{rows}.sqlite')!r})"
        )
        figures[rows] = got
        print(
            f"[{rows:,} rows, {distinct:,} distinct] generated in {generated:.1f}s; translated in {got['wall_s']:.1f}s "
            f"= {rows / got['wall_s']:,.0f} rows/s; segments sent {got['sent']:,} vs distinct {distinct:,} "
            f"({got['requests']} requests); peak RSS {got['peak_rss_mb']:.0f} MB"
        )
        assert got["exit_code"] == 0
        assert got["unique"] == got["sent"] == distinct
        assert got["translated"] == rows
        if rows == SIZES[0]:
            check_rows(path, tmp_path / f"out-{rows}" / path.name, pseudo_localize)
    small, large = figures[SIZES[0]], figures[SIZES[-1]]
    print(
        f"peak RSS {SIZES[-1]:,} / {SIZES[0]:,} rows: {large['peak_rss_mb'] / small['peak_rss_mb']:.2f}x"
    )
    assert large["peak_rss_mb"] <= 1.5 * small["peak_rss_mb"] + 64


@pytest.mark.benchmark
def test_emulator_sends_each_distinct_value_once(tmp_path: Path) -> None:
    from mtpipe.testing import fake_translate

    rows = SIZES[0]
    path = tmp_path / f"captions-{rows}.parquet"
    distinct = generate(path, rows)
    config = EmulatorConfig(api_key=KEY, rpm=RPM, tpm=TPM, record_requests=False)
    run = run_through_emulator(path, ["caption"], tmp_path, "emulator", config)
    result, wall, stats = run.result, run.wall_s, run.stats
    requests = [r for r in read_ledger(run.ledger) if r["event"] == "request" and r["status"] == "ok"]
    sent = sum(int(r["segments"]) for r in requests)
    bound = max(stats.ok / RPM, stats.billed_tokens / TPM) * 60.0
    print(
        f"\n[emulator, {rows:,} rows, {distinct:,} distinct] wall {wall:.1f}s (limits allow {bound:.1f}s), "
        f"{rows / wall:,.0f} rows/s; segments sent {sent:,} vs distinct {distinct:,} in {stats.ok} requests, "
        f"{stats.throttled_rpm + stats.throttled_tpm} x 429, {stats.billed_tokens:,} billed tokens"
    )
    assert result.exit_code == 0, result.failures[:3]
    assert sent == distinct == result.estimate.unique
    assert stats.throttled_rpm + stats.throttled_tpm == 0
    check_rows(path, run.out, lambda text: fake_translate(text, "German"))

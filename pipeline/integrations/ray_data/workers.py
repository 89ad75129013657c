"""The per-batch worker, :class:`TranslateColumns`, and the settings of a cluster run.

:func:`cluster_job` turns a worker's keyword arguments into the CLI's
:class:`~mtpipe.run.settings.Job`, validated as the CLI validates its flags; a worker plans
with the CLI's :class:`~mtpipe.run.planner.Planner`, builds its engine with
:func:`mtpipe.run.engines.client`, sends with the CLI's pool (paced by the cluster's budget,
see :mod:`~mtpipe.integrations.ray_data.pacing`) and writes with the Parquet format's Arrow
code.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import anyio
import pyarrow as pa
import pyarrow.compute as pc
import ray

from mtpipe.engine.bookkeeping import PoolStats
from mtpipe.engine.client import DEFAULT_BASE_URL
from mtpipe.engine.pacing import Pacer
from mtpipe.engine.packing import PackLimits
from mtpipe.engine.pool import PoolSettings, TranslationPool
from mtpipe.engine.retry import RetryPolicy
from mtpipe.errors import ConfigError
from mtpipe.formats.base import option_list
from mtpipe.formats.tabular.arrow import Counts, RowGroupTranslator
from mtpipe.formats.tabular.glossary import load_glossary
from mtpipe.formats.tabular.parquet import translate_table
from mtpipe.formats.tabular.schema import output_schema, selected_columns
from mtpipe.integrations.ray_data.pacing import SharedPacer
from mtpipe.records.cache import Cache, default_cache_path
from mtpipe.records.ledger import Ledger
from mtpipe.records.prices import price_for
from mtpipe.run.engines import client as make_client
from mtpipe.run.engines import engine_identity, learned, record_run_start
from mtpipe.run.planner import Planner
from mtpipe.run.results import FileResult
from mtpipe.run.settings import DEFAULT_API_KEY_ENV, DEFAULT_MODELS, Job
from mtpipe.run.translations import KeyedTranslations
from mtpipe.text.glossary import Glossary
from mtpipe.text.languages import resolve, resolve_targets
from mtpipe.text.segments import Segment, Translations


def cluster_job(
    targets: Sequence[str] | str,
    source: str = "auto",
    *,
    engine: str = "qwen",
    model: str | None = None,
    base_url: str = DEFAULT_BASE_URL,
    api_key_env: str = DEFAULT_API_KEY_ENV,
    instructions: str = "",
    rpm: float | None = 60.0,
    tpm: float | None = 100_000.0,
    cache: str | Path | None = None,
    use_cache: bool = True,
    domains: str = "",
    glossary: str | Path | None = None,
    in_place: bool = False,
    concurrency: int = 8,
    packing: bool = True,
    max_retries: int = 8,
    timeout: float = 120.0,
    price: str | None = None,
    label: str = "ray-data",
) -> Job:
    """The :class:`~mtpipe.run.settings.Job` a cluster run asks, validated as the CLI validates
    its flags (ConfigError before anything is sent). ``concurrency``: requests in flight per
    worker; ``model``: the engine's default when None; ``label``: the run's name in the ledgers."""
    job = Job(
        inputs=[],
        targets=resolve_targets(option_list({"targets": targets}, "targets") or []),
        source=resolve(source, allow_auto=True),
        name=label,
        in_place=in_place,
        engine=engine,
        model=model or DEFAULT_MODELS.get(engine, DEFAULT_MODELS["qwen"]),
        base_url=base_url,
        api_key_env=api_key_env,
        instructions=instructions,
        concurrency=concurrency,
        rpm=rpm,
        tpm=tpm,
        max_retries=max_retries,
        timeout=timeout,
        ledger=None,
        cache=Path(cache) if cache else None,
        use_cache=use_cache,
        packing=packing,
        price=price,
        glossary=Path(glossary) if glossary else None,
        domains=domains,
    )
    job.validate()
    return job


def distinct_texts(column: pa.ChunkedArray | pa.Array) -> list[str]:
    """The distinct non-null, non-empty strings of a string-like column (list items included)."""
    t = column.type
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        column = pc.list_flatten(column)
    elif pa.types.is_dictionary(t):
        column = column.cast(t.value_type)
    return [text for text in pc.unique(column).to_pylist() if text]


def batch_table(batch: pa.Table | pa.RecordBatch) -> pa.Table:
    """``batch`` as a Table (Ray hands ``map_batches`` either)."""
    return pa.Table.from_batches([batch]) if isinstance(batch, pa.RecordBatch) else batch


def job_glossary(job: Job) -> Glossary:
    """The glossary ``job`` names, or none."""
    return load_glossary(job.glossary) if job.glossary else Glossary()


class TableWriter:
    """What every kind of worker does with a batch: the chosen columns translated, from
    translations by segment, into ``<column>_<lang>`` columns or in place."""

    def __init__(self, job: Job, columns: Sequence[str] | str) -> None:
        self.job = job
        self.columns = option_list({"columns": columns}, "columns") or []
        #: Values written per target, over every batch of this worker: translated, failed (null).
        self.translated = self.failed = 0

    def chosen(self, batch: pa.Table) -> tuple[list[str], pa.Schema]:
        """The batch's columns to translate and the output schema (ConfigError for a column it
        lacks, InputError for one that holds no text: nothing sent)."""
        columns = selected_columns(Path(self.job.name), batch.schema, {"columns": self.columns})
        return columns, output_schema(batch.schema, columns, self.job.targets, self.job.in_place)

    def write(
        self, batch: pa.Table, columns: list[str], schema: pa.Schema, translations: Translations
    ) -> pa.Table:
        """``batch`` with its columns translated, counted in :attr:`translated` / :attr:`failed`."""
        counts = [Counts() for _ in self.job.targets]
        translator = RowGroupTranslator(translations, self.job.targets, counts)
        out = translate_table(batch, schema, columns, self.job.in_place, 0, translator)
        self.translated += sum(c.translated for c in counts)
        self.failed += sum(c.failed for c in counts)
        return out


#: The keywords of :class:`TranslateColumns` that are not :func:`cluster_job`'s.
WORKER_ONLY = ("budget", "ledger_dir", "run_id", "retry_base")


class TranslateColumns(TableWriter):
    """Callable class for ``Dataset.map_batches(..., batch_format="pyarrow")``.

    ``columns``: string, large_string, dictionary<string> or list<string> columns to translate;
    ``targets``: language codes or names; ``source``: a language or ``auto``; the other settings
    are :func:`cluster_job`'s (``engine``: ``qwen``, ``chat`` or ``pseudo``; the key is read
    from ``$<api_key_env>`` on the worker: pass it with ``runtime_env={"env_vars": ...}``).
    ``budget``: the handle from :func:`~mtpipe.integrations.ray_data.pacing.pacing_budget`,
    created on the driver (required but with ``engine="pseudo"``: an actor a worker created
    would die with that worker); ``rpm``/``tpm`` size the requests.
    ``cache``: SQLite path (default: the user cache; ``use_cache=False`` keeps it in memory per
    worker). ``ledger_dir``: where each worker writes its ledger (None: no ledger). ``run_id``:
    shared by the workers' ledgers (default: the Ray job id). ``retry_base``: the first backoff,
    in seconds. Counters ``translated``/``failed`` (values written per target) and ``stats``
    are kept per worker.
    """

    def __init__(
        self,
        columns: Sequence[str] | str,
        targets: Sequence[str] | str,
        source: str = "auto",
        *,
        budget: Any = None,
        ledger_dir: str | Path | None = None,
        run_id: str | None = None,
        retry_base: float = 1.0,
        **settings: Any,
    ) -> None:
        super().__init__(cluster_job(targets, source, **settings), columns)
        job = self.job
        self.identity = engine_identity(job)
        if job.engine != "pseudo":
            job.api_key()  # ConfigError on this worker now, not at its first request
            if budget is None:
                # An actor a worker creates dies with that worker, in the middle of the run.
                raise ConfigError(
                    "no pacing budget: create one on the driver with "
                    "pacing_budget(rpm=..., tpm=...) and pass it as budget"
                )
            self.budget = budget
        self.glossary = job_glossary(job)
        self.cache = Cache((job.cache or default_cache_path()) if job.use_cache else None)
        self.learned = learned(job, self.cache, self.identity.model)
        limits = PackLimits.for_limits(job.rpm, job.tpm, packing=job.packing, learned=self.learned)
        self.settings = PoolSettings(
            concurrency=job.effective_concurrency(), limits=limits, learned=self.learned
        )
        self.policy = RetryPolicy(max_retries=job.max_retries, base=retry_base)
        self.price = price_for(self.identity.model, job.price, job.engine)
        self.stats = PoolStats()
        self.run_id = run_id or ray.get_runtime_context().get_job_id()
        self.ledger = Ledger(self._ledger_path(ledger_dir), self.run_id)
        worker = f"{socket.gethostname()}:{os.getpid()}"
        record_run_start(self.ledger, job, [job.name], worker=worker, columns=self.columns)

    def _ledger_path(self, ledger_dir: str | Path | None) -> Path | None:
        if ledger_dir is None:
            return None
        host = socket.gethostname().replace(os.sep, "_")
        return Path(ledger_dir) / f"mtpipe-{self.run_id}-{host}-{os.getpid()}.jsonl"

    def __call__(self, batch: pa.Table | pa.RecordBatch) -> pa.Table:
        """The batch with its columns translated (added ``<column>_<lang>``, or in place)."""
        batch = batch_table(batch)
        columns, schema = self.chosen(batch)
        segments = (
            Segment(text, f"column '{name}'")
            for name in columns
            for text in distinct_texts(batch.column(name))
        )
        with self.translating(segments) as translations:
            return self.write(batch, columns, schema, translations)

    @contextlib.contextmanager
    def translating(self, segments: Iterable[Segment]) -> Iterator[KeyedTranslations]:
        """Plan ``segments`` (the cache's hits, the planner's refusals), send what the cache
        lacks, and yield their translations by segment (None: failed)."""
        planner = Planner(self.job, self.identity, self.cache, self.glossary)
        try:
            result = FileResult(Path(self.job.name))
            planner.add_segments(self.job.name, segments, self.job.targets, result)
            planner.end_planning()
            if planner.store.to_send:
                anyio.run(self._send, planner)
            yield KeyedTranslations(planner.keys, self.cache)
        finally:
            planner.close()

    async def _send(self, planner: Planner) -> None:
        client = make_client(self.job)
        pseudo = self.job.engine == "pseudo"
        pacer = Pacer(rpm=None, tpm=None) if pseudo else SharedPacer(self.budget, self.job.rpm, self.job.tpm)
        pool = TranslationPool(
            client, pacer, self.policy, self.cache, self.ledger, self.price, self.settings
        )
        try:
            await pool.run(planner.store.units(), planner.store.to_send)
        finally:
            if hasattr(client, "aclose"):
                await client.aclose()
            for name, value in vars(pool.stats).items():
                if isinstance(value, int | float):  # the counters, not the per-file figures
                    setattr(self.stats, name, getattr(self.stats, name) + value)

    def __del__(self) -> None:
        # At interpreter shutdown there is nothing left to report a failure to.
        with contextlib.suppress(Exception):
            self.ledger.close()
            self.cache.close()

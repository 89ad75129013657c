"""Ray Data integration: translate columns of a dataset on a Ray cluster, one pacing budget for all.

Needs the optional extra ``mtpipe[ray]`` (``ray[data]>=2.9``). A dataset that outgrows one
machine runs on Ray, not on our own scheduler::

    import ray
    from pipeline.integrations.ray_data import TranslateColumns, pacing_budget

    ray.init()
    budget = pacing_budget(rpm=60, tpm=100_000)  # the account's limits, for the whole cluster
    ds = ray.data.read_parquet("s3://bucket/captions/")
    out = ds.map_batches(
        TranslateColumns,
        fn_constructor_kwargs={"columns": ["caption"], "targets": ["de", "fr"], "source": "en",
                               "budget": budget, "cache": "/var/tmp/mtpipe-cache.sqlite",
                               "ledger_dir": "/mnt/shared/mtpipe-ledgers"},
        batch_format="pyarrow", batch_size=4096, concurrency=8,
    )
    out.write_parquet("s3://bucket/captions-translated/")

Each worker (one :class:`TranslateColumns` per Ray actor) does per batch what ``mtpipe
translate`` does per file: the distinct values of the batch's columns are looked up in the
cache (same SQLite format and keys as the CLI, so a CLI run and a Ray run share translations),
the misses are packed and sent by the same worker pool (retries, bisection, placeholder
checks), committed to the cache, then recorded in the worker's ledger, and
``<column>_<lang>`` columns of the source column's type are appended (grouped by language,
as the Parquet format does), or the source column replaced with ``in_place``. A failed
value is null (counted in ``failed``).

Pacing: every request of every worker first takes a permit from one :class:`PacingBudget`
actor (the engine's :class:`~pipeline.engine.pacing.Pacer` on the actor), so the account's
RPM and TPM hold across the cluster whatever the number of workers; a 429 seen by any worker
slows all of them down. Packs are sized from the same limits.

Ledgers: one JSONL file per worker process, ``<ledger_dir>/mtpipe-<run_id>-<host>-<pid>.jsonl``
(same line format as the CLI's; each starts with a ``run_start`` line naming the worker), so
workers never write to the same file; ``cat`` them for ``mtpipe ledger summary``. The cache is
an SQLite file: give each node a local path (workers of a node share it; SQLite must not be
used over a network file system).
"""

from __future__ import annotations

import contextlib
import inspect
import os
import socket
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio
import httpx
import pyarrow as pa
import pyarrow.compute as pc

try:
    import ray
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("the Ray Data integration needs Ray: pip install 'mtpipe[ray]'") from exc

from pipeline import __version__
from pipeline.engine.bookkeeping import PoolStats
from pipeline.engine.client import DEFAULT_BASE_URL, QwenClient
from pipeline.engine.pacing import Pacer, Reservation
from pipeline.engine.packing import PackLimits
from pipeline.engine.pool import PoolSettings, TranslationPool
from pipeline.engine.pseudo import PseudoClient
from pipeline.engine.retry import RetryPolicy
from pipeline.engine.units import EngineIdentity, Unit, make_unit, split_for_sending, unit_key
from pipeline.errors import ConfigError
from pipeline.formats.base import option_list
from pipeline.formats.tabular.arrow import Counts, RowGroupTranslator
from pipeline.formats.tabular.glossary import load_glossary
from pipeline.formats.tabular.parquet import translate_table
from pipeline.formats.tabular.schema import output_schema, selected_columns
from pipeline.records.cache import Cache, default_cache_path
from pipeline.records.ledger import Ledger
from pipeline.records.prices import price_for
from pipeline.run.settings import DEFAULT_API_KEY_ENV, ENGINES, check_variable_name
from pipeline.text.glossary import Glossary
from pipeline.text.languages import Language, resolve
from pipeline.text.segments import Segment

#: Name of the cluster's budget actor when none is passed in.
DEFAULT_BUDGET_NAME = "mtpipe-pacing-budget"
_Keyed = tuple[int, int, str] | None  # (leading, trailing whitespace lengths, unit key)


class PacingBudget:
    """The state behind :func:`pacing_budget`: one Pacer for every worker of the cluster."""

    def __init__(self, rpm: float | None, tpm: float | None) -> None:
        self._pacer = Pacer(rpm=rpm, tpm=tpm)
        self.granted = 0
        self.throttled = 0

    async def acquire(self, tokens: int) -> float:
        """Return (the grant time, epoch seconds) once a request of ``tokens`` may be sent."""
        await self._pacer.acquire(tokens)
        self.granted += 1
        return time.time()

    def signal(self, name: str, *args: int) -> None:
        """Apply a worker's pool callback (``reconcile``, ``on_throttled``...) to the shared Pacer."""
        if name not in _CALLBACKS:
            raise ValueError(f"not a Pacer callback: {name!r}")
        if name == "on_throttled":
            self.throttled += 1
        getattr(self._pacer, name)(*args)

    def stats(self) -> dict[str, float]:
        """Permits granted, 429s reported, and the current rate factor."""
        return {"granted": self.granted, "throttled": self.throttled, "factor": self._pacer.factor}


def pacing_budget(
    rpm: float | None = 60.0, tpm: float | None = 100_000.0, name: str = DEFAULT_BUDGET_NAME
) -> Any:
    """The cluster's budget actor named ``name``: created with these limits, or the existing one.

    Call it on the driver after ``ray.init()`` and pass the handle as ``budget``. The actor
    takes no CPU, so it never competes with the workers for slots.
    """
    actor = ray.remote(num_cpus=0)(PacingBudget)
    return actor.options(name=name, get_if_exists=True).remote(rpm, tpm)


class SharedPacer(Pacer):
    """A Pacer whose schedule lives in a :class:`PacingBudget` actor (the pool's view of it)."""

    def __init__(self, budget: Any) -> None:
        super().__init__(rpm=None, tpm=None)
        self.budget = budget

    async def acquire(self, tokens: int) -> Reservation:
        """Wait for the cluster-wide permit."""
        await self.budget.acquire.remote(tokens)
        return Reservation(tokens)


#: The Pacer's public synchronous methods (the pool's callbacks after a reply or an error):
#: each is forwarded to the budget actor, so a callback added to the Pacer is shared as well.
_CALLBACKS = frozenset(
    name
    for name, value in vars(Pacer).items()
    if not name.startswith("_")
    and inspect.isfunction(value)
    and not inspect.iscoroutinefunction(value)
)


def _forwarder(name: str) -> Any:
    def forward(self: SharedPacer, *args: int) -> None:
        self.budget.signal.remote(name, *args)  # fire and forget

    forward.__name__ = name
    forward.__doc__ = f"Forward ``{name}`` to the cluster's budget."
    return forward


for _name in _CALLBACKS:
    setattr(SharedPacer, _name, _forwarder(_name))


def distinct_texts(column: pa.ChunkedArray | pa.Array) -> list[str]:
    """The distinct non-null, non-empty strings of a string-like column (list items included)."""
    t = column.type
    if pa.types.is_list(t) or pa.types.is_large_list(t):
        column = pc.list_flatten(column)
    elif pa.types.is_dictionary(t):
        column = column.cast(t.value_type)
    return [text for text in pc.unique(column).to_pylist() if text]


class _BatchTranslations:
    """What the Arrow translator asks for: translations of this batch's values, by text."""

    def __init__(self, keyed: dict[tuple[str, str], _Keyed], cache: Cache) -> None:
        self.keyed = keyed
        self.cache = cache

    def get(self, segment: Segment, target: Language) -> str | None:
        """The cached translation with the outer whitespace of ``segment``; None: failed."""
        found = self.keyed.get((segment.text, target.code))
        if found is None:
            return segment.text
        lead, trail, key = found
        text = self.cache.get(key)
        if text is None:
            return None
        return segment.text[:lead] + text + segment.text[len(segment.text) - trail :]


class TranslateColumns:
    """Callable class for ``Dataset.map_batches(..., batch_format="pyarrow")``.

    ``columns``: string, large_string, dictionary<string> or list<string> columns to translate;
    ``targets``: language codes or names; ``source``: a language or ``auto``. ``engine``:
    ``qwen`` (the key is read from ``$<api_key_env>`` on the worker: pass it with
    ``runtime_env={"env_vars": ...}``) or ``pseudo`` (offline). ``budget``: the handle from
    :func:`pacing_budget`; without one the workers share the actor named
    :data:`DEFAULT_BUDGET_NAME`, created with ``rpm``/``tpm`` by the first of them. ``cache``:
    SQLite path (default: the user cache; ``use_cache=False`` keeps it in memory per worker).
    ``ledger_dir``: where each worker writes its ledger (None: no ledger). ``run_id``: shared by
    the workers' ledgers (default: the Ray job id). Counters ``translated``/``failed`` (values
    written per target) and ``stats`` are kept per worker.
    """

    def __init__(
        self,
        columns: Sequence[str] | str,
        targets: Sequence[str] | str,
        source: str = "auto",
        *,
        engine: str = "qwen",
        model: str = "qwen-mt-turbo",
        base_url: str = DEFAULT_BASE_URL,
        api_key_env: str = DEFAULT_API_KEY_ENV,
        rpm: float | None = 60.0,
        tpm: float | None = 100_000.0,
        budget: Any = None,
        cache: str | Path | None = None,
        use_cache: bool = True,
        ledger_dir: str | Path | None = None,
        run_id: str | None = None,
        domains: str = "",
        glossary: str | Path | None = None,
        in_place: bool = False,
        concurrency: int = 8,
        packing: bool = True,
        max_retries: int = 8,
        retry_base: float = 1.0,
        timeout: float = 120.0,
        price: str | None = None,
        label: str = "ray-data",
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        if engine not in ENGINES:
            raise ConfigError(f"unknown engine {engine!r}: choose {' or '.join(ENGINES)}")
        self.columns = option_list({"columns": columns}, "columns") or []
        self.targets = [resolve(t) for t in option_list({"targets": targets}, "targets") or []]
        if not self.targets:
            raise ConfigError("no target language")
        if in_place and len(self.targets) != 1:
            raise ConfigError(
                "in_place replaces the source columns, so it takes one target language"
            )
        self.source = resolve(source, allow_auto=True)
        self.engine, self.model, self.base_url, self.timeout = engine, model, base_url, timeout
        self.transport = transport
        self.identity = EngineIdentity(engine, "pseudo" if engine == "pseudo" else model)
        self.api_key = ""
        if engine != "pseudo":
            check_variable_name(api_key_env, "api_key_env")
            self.api_key = os.environ.get(api_key_env, "").strip()
            if not self.api_key:
                raise ConfigError(
                    f"no API key on this worker: set {api_key_env} (runtime_env env_vars)"
                )
            self.budget = budget if budget is not None else pacing_budget(rpm, tpm)
        self.domains, self.in_place, self.label = domains, in_place, label
        self.glossary = load_glossary(Path(glossary)) if glossary else Glossary()
        self.cache = (
            Cache(Path(cache) if cache else default_cache_path()) if use_cache else Cache(None)
        )
        self.limits = PackLimits.for_limits(rpm, tpm, packing=packing)
        self.settings = PoolSettings(concurrency=concurrency, limits=self.limits)
        self.policy = RetryPolicy(max_retries=max_retries, base=retry_base)
        self.price = price_for(self.identity.model, price)
        self.stats = PoolStats()
        self.translated = self.failed = 0
        self.run_id = run_id or ray.get_runtime_context().get_job_id()
        self.ledger = Ledger(self._ledger_path(ledger_dir), self.run_id)
        self.ledger.append(
            "run_start",
            name=label,
            version=__version__,
            engine=engine,
            model=self.identity.model,
            source_lang=self.source.code,
            target_langs=[t.code for t in self.targets],
            files=[label],
            worker=f"{socket.gethostname()}:{os.getpid()}",
            columns=self.columns,
        )

    def _ledger_path(self, ledger_dir: str | Path | None) -> Path | None:
        if ledger_dir is None:
            return None
        host = socket.gethostname().replace(os.sep, "_")
        return Path(ledger_dir) / f"mtpipe-{self.run_id}-{host}-{os.getpid()}.jsonl"

    def __call__(self, batch: pa.Table) -> pa.Table:
        """The batch with its columns translated (added ``<column>_<lang>``, or in place)."""
        if isinstance(batch, pa.RecordBatch):
            batch = pa.Table.from_batches([batch])
        columns = selected_columns(Path(self.label), batch.schema, {"columns": self.columns})
        keyed, todo = self._plan(batch, columns)
        if todo:
            anyio.run(self._send, list(todo.values()))
        schema = output_schema(batch.schema, columns, self.targets, self.in_place)
        counts = [Counts() for _ in self.targets]
        translator = RowGroupTranslator(_BatchTranslations(keyed, self.cache), self.targets, counts)
        out = translate_table(batch, schema, columns, self.in_place, 0, translator)
        self.translated += sum(c.translated for c in counts)
        self.failed += sum(c.failed for c in counts)
        return out

    def _plan(
        self, batch: pa.Table, columns: list[str]
    ) -> tuple[dict[tuple[str, str], _Keyed], dict[str, Unit]]:
        """Per (distinct text, target): its key (None: not sent); the units the cache lacks."""
        keyed: dict[tuple[str, str], _Keyed] = {}
        todo: dict[str, Unit] = {}
        for name in columns:
            for text in distinct_texts(batch.column(name)):
                segment = Segment(text, f"column '{name}'", domains=self.domains)
                parts = split_for_sending(segment)
                for target in self.targets:
                    if (text, target.code) in keyed:
                        continue
                    if parts is None:
                        keyed[(text, target.code)] = None
                        continue
                    lead, core, trail = parts
                    terms = self.glossary.relevant(core, target)
                    key = unit_key(self.identity, self.source, target, segment, core, terms)
                    keyed[(text, target.code)] = (len(lead), len(trail), key)
                    if key not in todo and key not in self.cache:
                        todo[key] = make_unit(
                            key, core, segment, self.source, target, terms, self.label
                        )
        return keyed, todo

    async def _send(self, units: list[Unit]) -> None:
        if self.engine == "pseudo":
            client: Any = PseudoClient()
            pacer: Pacer = Pacer(rpm=None, tpm=None)
        else:
            client = QwenClient(
                base_url=self.base_url,
                api_key=self.api_key,
                model=self.model,
                timeout=self.timeout,
                transport=self.transport,
            )
            pacer = SharedPacer(self.budget)
        pool = TranslationPool(
            client, pacer, self.policy, self.cache, self.ledger, self.price, self.settings
        )
        try:
            await pool.run(units)
        finally:
            if hasattr(client, "aclose"):
                await client.aclose()
            for name in vars(self.stats):
                setattr(self.stats, name, getattr(self.stats, name) + getattr(pool.stats, name))

    def __del__(self) -> None:
        # At interpreter shutdown there is nothing left to report a failure to.
        with contextlib.suppress(Exception):
            self.ledger.close()
            self.cache.close()

"""Ray Data integration: translate columns of a dataset on a Ray cluster, one pacing budget for all.

Needs the optional extra ``mtpipe[ray]`` (``ray[data]``). A dataset that outgrows one machine
runs on Ray, not on our own scheduler::

    import ray
    from mtpipe.integrations.ray_data import pacing_budget, translate_dataset

    ray.init()
    budget = pacing_budget(rpm=60, tpm=100_000)  # the account's limits, for the whole cluster
    ds = ray.data.read_parquet("s3://bucket/captions/")
    done = translate_dataset(ds, columns=["caption"], targets=["de", "fr"], source="en",
                             budget=budget, cache="/var/tmp/mtpipe-cache.sqlite",
                             ledger_dir="/mnt/shared/mtpipe-ledgers", workers=8)
    done.dataset.write_parquet("s3://bucket/captions-translated/")

Two entry points, one engine:

- :func:`translate_dataset` pays once per distinct value of the dataset, cluster-wide;
- :class:`TranslateColumns`, a callable class for ``Dataset.map_batches``, pays once per
  distinct value of each batch (and not again for what the cache already holds).

Both run what ``mtpipe translate`` runs, built from the same pieces: the settings are a
:class:`~mtpipe.run.settings.Job` validated as the CLI validates it; the planner
(:class:`~mtpipe.run.planner.Planner`) deduplicates values into units, refuses those too long
for a request and looks them up in the cache (same SQLite format and keys as the CLI, so a CLI
run and a cluster run share translations); the engine is the CLI's
(:func:`mtpipe.run.engines.client`: Qwen-MT, a chat model or pseudo, with the plain-http
warning); the same worker pool sends the misses (packing, retries, bisection, reply checks);
:class:`~mtpipe.run.translations.KeyedTranslations` puts translations back with each value's outer
whitespace; the Parquet format's Arrow code appends ``<column>_<lang>`` columns of the source
column's type (or replaces the column with ``in_place``). A failed value is null.

How :func:`translate_dataset` keeps one translation per distinct value (the design choice):

1. *Distinct values, by Ray Data.* Each block's distinct texts of the chosen columns, without
   their outer whitespace (the part a unit is made of), become a dataset of values (a text too
   long for any request stands as its digest, to be counted as failed); a ``groupby`` on it
   (Ray's hash shuffle) leaves each value once, on one partition, whatever the number of
   blocks and nodes it was spread over. No registry of our own, no driver-side set.
2. *Translated once.* ``map_batches`` over that dataset with an actor pool of translation
   workers (the per-batch worker's engine, cache, budget actor and ledgers), each worker
   answering a table of (unit key, target, translation); the pool is paced by the one budget
   actor. The table is materialized in Ray's object store: one translation per unit key.
3. *Joined back by broadcast.* ``map_batches`` over the rows with workers that load that table
   as a dictionary by unit key (a cache by another name) and ask it exactly as a CLI writer
   asks the cache. Not ``Dataset.join``: the key of a row is per value, not per row (list
   columns hold several values, dictionary columns share them), a hash join shuffles the whole
   dataset once per column and loses the row order, while the table of distinct values is
   what deduplication made small. Its cost: each joining worker holds the table (about
   250 bytes plus the translation per distinct value and target); where that does not fit,
   :class:`TranslateColumns` keeps memory per batch instead.

Pacing: every request of every worker first takes a permit from one :class:`PacingBudget`
actor (the engine's :class:`~mtpipe.engine.pacing.Pacer` on the actor), so the account's
RPM and TPM hold across the cluster whatever the number of workers; a 429 seen by any worker
slows all of them down. Packs are sized from the same limits.

Ledgers: one JSONL file per translating worker process,
``<ledger_dir>/mtpipe-<run_id>-<host>-<pid>.jsonl`` (the CLI's line format; each starts with a
``run_start`` line naming the worker), so workers never write to the same file; ``cat`` them
for ``mtpipe ledger summary``. The cache is an SQLite file: give each node a local path
(workers of a node share it; SQLite must not be used over a network file system). On several
nodes, each node's cache holds what its workers translated: a rerun whose value lands on
another node than the first time pays for it again.

Modules: :mod:`~mtpipe.integrations.ray_data.pacing` (the budget actor),
:mod:`~mtpipe.integrations.ray_data.workers` (the settings, the per-batch worker),
:mod:`~mtpipe.integrations.ray_data.dataset` (:func:`translate_dataset` and its stages).
"""

from __future__ import annotations

try:
    import ray  # noqa: F401 - the clear message below rather than one from a submodule
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError("the Ray Data integration needs Ray: pip install 'mtpipe[ray]'") from exc

from mtpipe.integrations.ray_data.dataset import (
    TOO_LONG,
    VALUE,
    ApplyTranslations,
    DatasetTranslation,
    TranslateValues,
    distinct_values,
    translate_dataset,
)
from mtpipe.integrations.ray_data.pacing import (
    DEFAULT_BUDGET_NAME,
    PacingBudget,
    SharedPacer,
    pacing_budget,
)
from mtpipe.integrations.ray_data.workers import TranslateColumns, cluster_job, distinct_texts

__all__ = [
    "DEFAULT_BUDGET_NAME",
    "TOO_LONG",
    "VALUE",
    "ApplyTranslations",
    "DatasetTranslation",
    "PacingBudget",
    "SharedPacer",
    "TranslateColumns",
    "TranslateValues",
    "cluster_job",
    "distinct_texts",
    "distinct_values",
    "pacing_budget",
    "translate_dataset",
]

"""The dataset-level entry point, :func:`translate_dataset`, and its stages (see the package
docstring for the design): the distinct values (:func:`distinct_values`, then a ``groupby``),
translated once (:class:`TranslateValues`), joined back onto the rows by broadcast
(:class:`ApplyTranslations`).
"""

from __future__ import annotations

import hashlib
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import ray

from mtpipe.engine.units import oversize, split_for_sending
from mtpipe.formats.tabular.schema import output_schema, selected_columns
from mtpipe.integrations.ray_data.pacing import pacing_budget
from mtpipe.integrations.ray_data.workers import (
    WORKER_ONLY,
    TableWriter,
    TranslateColumns,
    batch_table,
    cluster_job,
    distinct_texts,
    job_glossary,
)
from mtpipe.run.engines import engine_identity, warn_plain_http
from mtpipe.run.planner import Keyer
from mtpipe.run.translations import KeyedTranslations
from mtpipe.text.segments import Segment

#: The columns of the distinct-values dataset (:func:`translate_dataset`): a value, and whether
#: it stands for a text too long for any request (by its digest).
VALUE = "text"
TOO_LONG = "too_long"


class TranslateValues(TranslateColumns):
    """The translating stage of :func:`translate_dataset`: a batch of distinct values (column
    :data:`VALUE`, no outer whitespace; :data:`TOO_LONG` marks the digest of a value too long
    for any request) in, their translations by unit key out: a table of ``key``, ``target``
    (language code) and ``translation`` (null: failed), one row per value and target."""

    def __init__(self, targets: Sequence[str] | str, source: str = "auto", **settings: Any) -> None:
        super().__init__(VALUE, targets, source, **settings)

    def __call__(self, batch: pa.Table | pa.RecordBatch) -> pa.Table:
        """Translations by unit key of the batch's values (see the class docstring)."""
        table = batch_table(batch)
        too_long = table.column(TOO_LONG).to_pylist()
        values = table.column(VALUE).to_pylist()
        pairs = list(zip(values, too_long, strict=True))
        segments = [Segment(value, "distinct value") for value, long in pairs if not long]
        rows: dict[str, list[str | None]] = {"key": [], "target": [], "translation": []}
        with self.translating(segments) as translations:
            for segment in segments:
                for target in self.job.targets:
                    keyed = translations.keys.keyed(segment, target)
                    if keyed is not None:
                        _add(rows, keyed[2], target.code, translations.store.get(keyed[2]))
        for digest in (value for value, long in pairs if long):
            for target in self.job.targets:
                _add(rows, digest, target.code, None)  # never sent: failed, counted
        failed = rows["translation"].count(None)
        self.failed += failed
        self.translated += len(rows["translation"]) - failed
        return pa.table({name: pa.array(column, pa.string()) for name, column in rows.items()})


def _add(rows: dict[str, list[str | None]], key: str, target: str, text: str | None) -> None:
    rows["key"].append(key)
    rows["target"].append(target)
    rows["translation"].append(text)


class ApplyTranslations(TableWriter):
    """The joining stage of :func:`translate_dataset`, a callable class for ``map_batches``:
    each batch's columns translated from the translations by unit key that ``translations``
    (object refs of :class:`TranslateValues`'s tables) hold, asked as a CLI writer asks the
    cache; sends nothing. ``columns``, ``targets``, ``source`` and ``settings`` are those given
    to the translating stage (they decide the keys)."""

    def __init__(
        self,
        translations: Sequence[Any],
        columns: Sequence[str] | str,
        targets: Sequence[str] | str,
        source: str = "auto",
        **settings: Any,
    ) -> None:
        super().__init__(cluster_job(targets, source, **settings), columns)
        table: dict[str, str | None] = {}
        for part in ray.get(list(translations)):
            keys, texts = part.column("key").to_pylist(), part.column("translation").to_pylist()
            table.update(zip(keys, texts, strict=True))
        keyer = Keyer(self.job, engine_identity(self.job), job_glossary(self.job))
        self.translations = KeyedTranslations(keyer, table)

    def __call__(self, batch: pa.Table | pa.RecordBatch) -> pa.Table:
        """The batch with its columns translated (added ``<column>_<lang>``, or in place)."""
        batch = batch_table(batch)
        columns, schema = self.chosen(batch)
        return self.write(batch, columns, schema, self.translations)


def distinct_values(batch: pa.Table | pa.RecordBatch, columns: Sequence[str]) -> pa.Table:
    """The distinct values of ``batch``'s ``columns`` that a unit is made of: each text without
    its outer whitespace, where it is sent at all (not empty, not only placeholders), as a
    table of :data:`VALUE` and :data:`TOO_LONG` (False). A text too long for any request
    stands as its SHA-256 digest with :data:`TOO_LONG` True: counted as failed, never shipped
    whole."""
    batch = batch_table(batch)
    cores: set[str] = set()
    too_long: set[str] = set()
    for name in columns:
        for text in distinct_texts(batch.column(name)):
            if oversize(text) is not None:
                too_long.add(hashlib.sha256(text.encode("utf-8")).hexdigest())
                continue
            parts = split_for_sending(Segment(text, ""))
            if parts is not None:
                cores.add(parts[1])
    values = sorted(cores) + sorted(too_long)
    flags = [False] * len(cores) + [True] * len(too_long)
    return pa.table({VALUE: pa.array(values, pa.string()), TOO_LONG: pa.array(flags, pa.bool_())})


def _failed_by_target(table: pa.Table) -> pa.Table:
    """Per target code, how many of ``table``'s translations are null."""
    texts = table.column("translation").to_pylist()
    failed = Counter(
        target
        for target, text in zip(table.column("target").to_pylist(), texts, strict=True)
        if text is None
    )
    return pa.table(
        {"target": pa.array(list(failed), pa.string()), "failed": list(failed.values())}
    )


@dataclass
class DatasetTranslation:
    """What :func:`translate_dataset` returns.

    ``dataset``: the rows with their columns translated (lazy: the translations are done, the
    join runs when the dataset is consumed); ``units``: distinct values times targets that were
    planned (each translated once, or found in the cache); ``failed``: per target code, the
    distinct values with no translation (null in every row that holds them).
    """

    dataset: Any
    units: int = 0
    failed: dict[str, int] = field(default_factory=dict)


def translate_dataset(
    ds: Any,
    columns: Sequence[str] | str,
    targets: Sequence[str] | str,
    source: str = "auto",
    *,
    workers: int = 4,
    worker_cpus: float = 0.5,
    batch_size: int = 4096,
    **settings: Any,
) -> DatasetTranslation:
    """Translate ``columns`` of the Ray dataset ``ds`` into ``targets``, paying once per distinct
    value cluster-wide (see the package docstring for how).

    Blocks until every distinct value is translated (or failed); the returned dataset applies
    the translations as it is consumed. ``workers``: actors of each stage, ``worker_cpus`` CPUs
    each (translating is waiting on the network: a fraction of a CPU is enough);
    ``batch_size``: distinct values per translating batch. ``settings``: those of
    :class:`~mtpipe.integrations.ray_data.workers.TranslateColumns` (``budget``, ``cache``,
    ``ledger_dir``, ``run_id``, ``engine``...); without a ``budget``, one is made for this call
    from ``rpm``/``tpm``. Before anything is sent: ConfigError for settings the CLI would
    refuse, columns ``ds`` does not have, or an added column whose name is taken; InputError
    for a column of a type that holds no text.
    """
    job_settings = {k: v for k, v in settings.items() if k not in WORKER_ONLY}
    job = cluster_job(targets, source, **job_settings)
    warn_plain_http(job)
    if job.engine != "pseudo" and settings.get("budget") is None:
        # Owned by the driver for this call only: its limits are this call's.
        name = f"mtpipe-budget-{uuid.uuid4().hex}"
        settings["budget"] = pacing_budget(job.rpm, job.tpm, name=name)
    schema = ds.schema()
    schema = getattr(schema, "base_schema", schema)  # ray.data.Schema wraps the Arrow schema
    chosen = selected_columns(Path(job.name), schema, {"columns": columns})
    output_schema(schema, chosen, job.targets, job.in_place)
    values = ds.select_columns(chosen).map_batches(
        distinct_values, fn_kwargs={"columns": chosen}, batch_format="pyarrow"
    )
    translated = (
        values.groupby([VALUE, TOO_LONG])
        .count()
        .map_batches(
            TranslateValues,
            fn_constructor_args=(targets, source),
            fn_constructor_kwargs=settings,
            batch_size=batch_size,
            **_actors(workers, worker_cpus),
        )
        .materialize()
    )
    joined = ds.map_batches(
        ApplyTranslations,
        fn_constructor_args=(translated.to_arrow_refs(), chosen, targets, source),
        fn_constructor_kwargs=job_settings,
        **_actors(workers, worker_cpus),
    )
    return DatasetTranslation(joined, translated.count(), _failures(translated))


def _actors(workers: int, cpus: float) -> dict[str, Any]:
    """``map_batches`` arguments for a stage run by a pool of ``workers`` actors."""
    from ray.data import ActorPoolStrategy  # loaded by whoever made the dataset

    return {"batch_format": "pyarrow", "num_cpus": cpus, "compute": ActorPoolStrategy(size=workers)}


def _failures(translated: Any) -> dict[str, int]:
    """Per target code, the distinct values of the translated table with no translation."""
    failed: Counter[str] = Counter()
    for row in translated.map_batches(_failed_by_target, batch_format="pyarrow").iter_rows():
        failed[row["target"]] += row["failed"]
    return dict(failed)

"""One translation run: discover, plan, translate, write, record. The library entry point.

``translate(job)`` is what ``mtpipe translate`` and ``mtpipe run`` call. It never raises for a
bad input file (the file is reported, the rest of the run goes on); it raises ConfigError for
settings that cannot work, before any request is sent.
"""

from __future__ import annotations

import math
import signal
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio

from pipeline import __version__
from pipeline.cache import Cache, default_cache_path
from pipeline.discover import FileTask, discover, output_path
from pipeline.engine.client import QwenClient
from pipeline.engine.pacing import Pacer
from pipeline.engine.packing import PackLimits, can_pack, pack
from pipeline.engine.pool import PoolSettings, PoolStats, TranslationPool
from pipeline.engine.pseudo import PseudoClient
from pipeline.engine.retry import RetryPolicy
from pipeline.engine.tokens import REQUEST_OVERHEAD_TOKENS
from pipeline.errors import BudgetExceeded, ConfigError, InputError, PipelineError, ProviderError
from pipeline.glossary import Glossary, load_glossary
from pipeline.job import Job
from pipeline.languages import Language
from pipeline.ledger import Ledger
from pipeline.plan import EngineIdentity, Unit, make_unit, split_for_sending, unit_key
from pipeline.pricing import price_for
from pipeline.progress import Progress
from pipeline.segments import Segment

EXIT_OK, EXIT_FAILURES, EXIT_CONFIG, EXIT_ABORTED, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


@dataclass
class Failure:
    """A segment (or a whole file) that was not translated, and why."""

    file: str
    place: str
    reason: str


@dataclass
class TargetCounts:
    """Per (input file, target language): every segment read, and how it ended up.

    ``segments`` = ``unchanged`` (nothing to translate: empty or placeholders only) +
    ``from_cache`` (already in the cache when the run started) + ``translated`` (by this run's
    requests) + ``failed`` (no translation), once the run has translated. Duplicates count
    each time they occur (FileResult.from_cache counts unique cache hits instead).
    """

    segments: int = 0
    unchanged: int = 0
    from_cache: int = 0
    translated: int = 0
    failed: int = 0
    #: unit key -> occurrences waiting for the pool; settled into translated / failed.
    pending: Counter[str] = field(default_factory=Counter, repr=False, compare=False)


@dataclass
class FileResult:
    """Per input file: what was planned and written."""

    path: Path
    segments: int = 0
    from_cache: int = 0
    translated: int = 0
    failed: int = 0
    simplified: int = 0
    outputs: list[Path] = field(default_factory=list)
    error: str | None = None
    #: target language code -> counts (filled by the planner, settled after translating).
    by_target: dict[str, TargetCounts] = field(default_factory=dict)


@dataclass
class Estimate:
    """What a run would send (``--dry-run``), at the configured limits."""

    segments: int = 0
    unique: int = 0
    cache_hits: int = 0
    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    minutes: float = 0.0


@dataclass
class RunResult:
    """Everything a caller (CLI, job runner, tests) needs to report on a run."""

    run_id: str
    files: list[FileResult] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    estimate: Estimate = field(default_factory=Estimate)
    stats: PoolStats = field(default_factory=PoolStats)
    aborted: str | None = None
    aborted_code: int = EXIT_ABORTED
    duration_s: float = 0.0
    dry_run: bool = False

    @property
    def exit_code(self) -> int:
        """0 all translated; 1 some failed; 2 every input unreadable; 3 aborted; 130 interrupted."""
        if self.aborted:
            return self.aborted_code
        if self.files and all(f.error for f in self.files):
            return EXIT_CONFIG
        if self.failures or any(f.error for f in self.files):
            return EXIT_FAILURES
        return EXIT_OK


class _Planner:
    """Reads segments, deduplicates them into units and looks them up in the cache."""

    def __init__(self, job: Job, identity: EngineIdentity, cache: Cache, glossary: Glossary) -> None:
        self.job = job
        self.identity = identity
        self.cache = cache
        self.glossary = glossary
        self.seen: set[str] = set()
        self.cached: set[str] = set()  # keys already in the cache when planned
        self.units: list[Unit] = []
        self.estimate = Estimate()

    def key(self, segment: Segment, core: str, target: Language) -> tuple[str, tuple[tuple[str, str], ...]]:
        terms = self.glossary.relevant(core, target)
        return unit_key(self.identity, self.job.source, target, segment, core, terms), terms

    def add_file(self, task: FileTask, result: FileResult) -> None:
        for segment in task.fmt.read(task.path, task.options):
            if self.job.domains and not segment.domains:
                segment = _with_domains(segment, self.job.domains)
            parts = split_for_sending(segment)
            for target in task.targets:
                result.segments += 1
                self.estimate.segments += 1
                counts = result.by_target.setdefault(target.code, TargetCounts())
                counts.segments += 1
                if parts is None:
                    counts.unchanged += 1
                    continue
                key, terms = self.key(segment, parts[1], target)
                if key in self.seen:
                    if key in self.cached:
                        counts.from_cache += 1
                    else:
                        counts.pending[key] += 1
                    continue
                self.seen.add(key)
                self.estimate.unique += 1
                if key in self.cache:
                    self.cached.add(key)
                    counts.from_cache += 1
                    result.from_cache += 1
                    self.estimate.cache_hits += 1
                    continue
                counts.pending[key] += 1
                self.units.append(
                    make_unit(key, parts[1], segment, self.job.source, target, terms, str(task.path))
                )


def _with_domains(segment: Segment, domains: str) -> Segment:
    return Segment(
        segment.text, segment.place, segment.context, domains, segment.checks, segment.soft_checks
    )


class RunTranslations:
    """The writers' view of the run: translations by segment, failures recorded by place."""

    def __init__(self, planner: _Planner, failures: dict[str, str], result: RunResult) -> None:
        self.planner = planner
        self.failures = failures
        self.result = result
        self.current_file = ""

    def get(self, segment: Segment, target: Language) -> str | None:
        """The translation of ``segment`` with its outer whitespace, or None when it failed."""
        if self.planner.job.domains and not segment.domains:
            segment = _with_domains(segment, self.planner.job.domains)
        parts = split_for_sending(segment)
        if parts is None:
            return segment.text
        lead, core, trail = parts
        key, _ = self.planner.key(segment, core, target)
        text = self.planner.cache.get(key)
        if text is None:
            reason = self.failures.get(key, "not translated")
            self.result.failures.append(Failure(self.current_file, f"{segment.place} [{target.code}]", reason))
            return None
        return lead + text + trail


def _client(job: Job) -> Any:
    if job.engine == "pseudo":
        return PseudoClient()
    if job.base_url.startswith("http://") and not _is_loopback(job.base_url):
        import warnings

        warnings.warn(
            f"{job.base_url} is plain http: the API key would travel in clear text", stacklevel=2
        )
    return QwenClient(
        base_url=job.base_url,
        api_key=job.api_key(),
        model=job.model,
        timeout=job.timeout,
        transport=job.transport,
    )


def _is_loopback(url: str) -> bool:
    host = url.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)[0].strip("[]")
    return host in ("localhost", "::1") or host.startswith("127.")


def translate(job: Job, progress: Progress | None = None) -> RunResult:
    """Run ``job`` end to end and return what happened (see RunResult.exit_code)."""
    job.validate()
    started = time.monotonic()
    progress = progress or Progress(quiet=True)
    result = RunResult(run_id=uuid.uuid4().hex[:16], dry_run=job.dry_run)
    discovery = discover(job)
    result.skipped = discovery.skipped
    for path, why in discovery.skipped:
        progress.log(f"skipped {path}: {why}")
    if not discovery.files:
        raise ConfigError("no input file to translate" + ("" if not discovery.skipped else " (all skipped)"))
    _check_outputs(job, discovery.files)
    _narrow_columns(job, discovery.files)
    glossary = load_glossary(job.glossary) if job.glossary else Glossary()
    identity = EngineIdentity(job.engine, "pseudo" if job.engine == "pseudo" else job.model)
    cache = Cache((job.cache or default_cache_path()) if job.use_cache else None)
    try:
        planner = _Planner(job, identity, cache, glossary)
        readable: list[tuple[FileTask, FileResult]] = []
        for task in discovery.files:
            file_result = FileResult(task.path)
            result.files.append(file_result)
            try:
                if not _choose_targets(job, task, result, progress):
                    result.files.pop()
                    continue
                planner.add_file(task, file_result)
            except InputError as exc:
                file_result.error = str(exc)
                result.failures.append(Failure(str(task.path), exc.place or "", exc.reason))
                progress.log(f"error: {exc}")
                continue
            readable.append((task, file_result))
        limits = PackLimits.for_limits(job.rpm, job.tpm, packing=job.packing)
        result.estimate = _estimate(planner, job, limits)
        if job.dry_run or not readable:
            return result
        _translate_and_write(job, planner, limits, readable, result, progress)
        _settle(planner.cache, result.files)
    finally:
        cache.close()
        result.duration_s = time.monotonic() - started
    return result


def _settle(cache: Cache, files: list[FileResult]) -> None:
    """Per (file, target): the planned segments now translated (cached) and those that are not."""
    for file_result in files:
        for counts in file_result.by_target.values():
            for key, occurrences in counts.pending.items():
                if key in cache:
                    counts.translated += occurrences
                else:
                    counts.failed += occurrences
            counts.pending.clear()


def _choose_targets(job: Job, task: FileTask, result: RunResult, progress: Progress) -> bool:
    """Set ``task.targets``; False (file skipped, with a note) when no target applies."""
    task.targets = []
    for target in job.targets:
        reason = task.fmt.skip_target(task.path, target)
        if reason is None:
            task.targets.append(target)
        elif len(job.targets) == 1:
            raise InputError(task.path, reason)
    if not task.targets:
        result.skipped.append((task.path, f"no target language applies ({reason})"))
        progress.log(f"skipped {task.path}: no target language applies")
        return False
    return True


def _check_outputs(job: Job, files: list[FileTask]) -> None:
    if job.in_place and len(job.targets) > 1 and any(not f.fmt.multi_target for f in files):
        raise ConfigError("--in-place takes a single --to language for document formats")
    for task in files:
        for target in ([None] if task.fmt.multi_target else job.targets):
            output_path(job, task, target)


def _narrow_columns(job: Job, files: list[FileTask]) -> None:
    """With several tabular files, run-wide ``columns`` mean "those of them each file has".

    A column no file has is still a ConfigError, and so is a file that has none of them; a
    single file keeps the strict check of its format.
    """
    wanted = job.options.get("columns")
    tabular = [f for f in files if f.fmt.multi_target and f.options.get("columns") == wanted]
    if not wanted or len(tabular) < 2:
        return
    names = [c.strip() for c in wanted.split(",")] if isinstance(wanted, str) else list(wanted)
    seen: set[str] = set()
    for task in tabular:
        try:
            present = task.fmt.columns(task.path, task.options) or []
        except InputError:
            continue  # reported when the file is read
        mine = [c for c in names if c in present]
        seen.update(mine)
        if not mine:
            raise ConfigError(f"{task.path}: none of the columns {', '.join(names)}; it has: {', '.join(present)}")
        task.options = {**task.options, "columns": mine}
    missing = [c for c in names if c not in seen]
    if missing:
        raise ConfigError(f"no input has the column(s) {', '.join(missing)}")


def _estimate(planner: _Planner, job: Job, limits: PackLimits) -> Estimate:
    estimate = planner.estimate
    price = price_for(planner.identity.model, job.price)
    groups: dict[tuple[str, str, str], list[Unit]] = {}
    for unit in planner.units:
        groups.setdefault((unit.source.name, unit.target.name, unit.domains), []).append(unit)
    for members in groups.values():
        for batch in pack(members, lambda u: u.tokens if can_pack(u.text) else None, limits):
            text_tokens = sum(u.tokens for u in batch) + (5 * len(batch) if len(batch) > 1 else 0)
            estimate.requests += 1
            estimate.prompt_tokens += text_tokens + REQUEST_OVERHEAD_TOKENS
            estimate.completion_tokens += math.ceil(text_tokens * 1.3)
    estimate.cost_usd = price.cost(estimate.prompt_tokens, estimate.completion_tokens)
    if job.engine != "pseudo":
        by_requests = estimate.requests / job.rpm if job.rpm else 0.0
        total = estimate.prompt_tokens + estimate.completion_tokens
        by_tokens = total / job.tpm if job.tpm else 0.0
        estimate.minutes = max(by_requests, by_tokens)
    return estimate


def _translate_and_write(
    job: Job,
    planner: _Planner,
    limits: PackLimits,
    readable: list[tuple[FileTask, FileResult]],
    result: RunResult,
    progress: Progress,
) -> None:
    client = _client(job)
    ledger = Ledger(job.ledger, result.run_id)
    pseudo = job.engine == "pseudo"
    pool = TranslationPool(
        client=client,
        pacer=Pacer(rpm=None if pseudo else job.rpm, tpm=None if pseudo else job.tpm),
        policy=RetryPolicy(max_retries=job.max_retries, base=job.retry_base),
        cache=planner.cache,
        ledger=ledger,
        price=price_for(planner.identity.model, job.price),
        settings=PoolSettings(concurrency=job.effective_concurrency(), limits=limits, max_cost=job.max_cost),
        on_progress=progress.update,
    )
    ledger.append(
        "run_start",
        name=job.name,
        version=__version__,
        engine=job.engine,
        model=planner.identity.model,
        source_lang=job.source.code,
        target_langs=[t.code for t in job.targets],
        files=[str(t.path) for t, _ in readable],
        segments=result.estimate.segments,
        unique=result.estimate.unique,
        cache_hits=result.estimate.cache_hits,
    )
    write = True
    try:
        anyio.run(_execute, pool, planner.units, client)
    except BudgetExceeded as exc:
        result.aborted = str(exc)
    except ProviderError as exc:
        result.aborted = str(exc)
        write = False
    finally:
        progress.finish()
    result.stats = pool.stats
    if pool.stopping == "interrupted":
        result.aborted = "interrupted: what was translated is cached; run the same command again to resume"
        result.aborted_code = EXIT_INTERRUPTED
        write = False
    try:
        if write:
            _write_outputs(job, planner, pool.failures, readable, result, progress)
    finally:
        ledger.append(
            "run_end",
            status="aborted" if result.aborted else ("failed" if result.failures else "ok"),
            segments=result.estimate.segments,
            unique=result.estimate.unique,
            cache_hits=result.estimate.cache_hits,
            requests=pool.stats.requests,
            failed_requests=pool.stats.failed_requests,
            prompt_tokens=pool.stats.prompt_tokens,
            completion_tokens=pool.stats.completion_tokens,
            total_tokens=pool.stats.prompt_tokens + pool.stats.completion_tokens,
            cost_usd=round(pool.stats.cost_usd, 8),
            failures=len(result.failures),
            simplified=sum(f.simplified for f in result.files),
            error=result.aborted,
        )
        ledger.close()


async def _execute(pool: TranslationPool, units: list[Unit], client: Any) -> None:
    error: PipelineError | None = None
    try:
        async with anyio.create_task_group() as tg:
            if threading.current_thread() is threading.main_thread():
                tg.start_soon(_watch_signals, pool, tg.cancel_scope)
            try:
                await pool.run(units)
            except PipelineError as exc:
                error = exc  # raised below, outside the task group (no ExceptionGroup)
            tg.cancel_scope.cancel()
    finally:
        if hasattr(client, "aclose"):
            await client.aclose()
    if error is not None:
        raise error


async def _watch_signals(pool: TranslationPool, scope: anyio.CancelScope) -> None:
    """First SIGINT/SIGTERM: stop scheduling, let in-flight requests land. Second: cancel."""
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for _ in signals:
            if pool.stopping is None:
                pool.stop("interrupted")
            else:
                scope.cancel()
                return


def _write_outputs(
    job: Job,
    planner: _Planner,
    failures: dict[str, str],
    readable: list[tuple[FileTask, FileResult]],
    result: RunResult,
    progress: Progress,
) -> None:
    translations = RunTranslations(planner, failures, result)
    for task, file_result in readable:
        translations.current_file = str(task.path)
        options = {
            **task.options,
            "in_place": job.in_place,
            "engine_label": planner.identity.model,
            "generator": f"mtpipe {__version__}",
        }
        targets: list[list[Language]] = [task.targets] if task.fmt.multi_target else [[t] for t in task.targets]
        for group in targets:
            dest = output_path(job, task, None if task.fmt.multi_target else group[0])
            try:
                report = task.fmt.write(task.path, dest, group, translations, options)
            except InputError as exc:
                file_result.error = str(exc)
                result.failures.append(Failure(str(task.path), exc.place or "", exc.reason))
                progress.log(f"error: {exc}")
                break
            except PipelineError:
                raise
            file_result.outputs.append(dest)
            file_result.translated += report.translated
            file_result.failed += report.failed
            file_result.simplified += report.simplified

"""One translation run: discover, plan, translate, write, record. The library entry point.

``translate(job)`` is what ``mtpipe translate`` and ``mtpipe run`` call. It never raises for a
bad input file (the file is reported, the rest of the run goes on); it raises ConfigError for
settings that cannot work, before any request is sent.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import asdict
from pathlib import Path

import anyio

from mtpipe import __version__
from mtpipe.engine.pacing import Pacer
from mtpipe.engine.packing import Learned, PackLimits
from mtpipe.engine.pool import PoolSettings, TranslationPool
from mtpipe.engine.retry import RetryPolicy
from mtpipe.engine.stopping import Stop
from mtpipe.errors import (
    BudgetExceeded,
    ConfigError,
    InputError,
    PipelineError,
    ProviderError,
    RecordError,
)
from mtpipe.formats.tabular.glossary import load_glossary
from mtpipe.records.cache import Cache, default_cache_path
from mtpipe.records.ledger import Ledger
from mtpipe.records.prices import price_for, price_warning
from mtpipe.run.discover import FileTask, discover, output_path
from mtpipe.run.ending import kept, settle_and_end
from mtpipe.run.engines import check_engine, endpoint, engine_identity, record_run_start
from mtpipe.run.engines import client as make_client
from mtpipe.run.engines import learned as learned_state
from mtpipe.run.execute import execute
from mtpipe.run.outputs import check_output_settings, check_outputs
from mtpipe.run.planner import Planner, estimate
from mtpipe.run.progress import RunProgress, Silent
from mtpipe.run.results import (
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    Failure,
    FileResult,
    RunResult,
    internal_error,
)
from mtpipe.run.settings import EngineHooks, Job
from mtpipe.run.translations import RunTranslations
from mtpipe.text.glossary import Glossary
from mtpipe.text.languages import Language

logger = logging.getLogger(__name__)

__all__ = ["translate"]


def translate(
    job: Job, progress: RunProgress | None = None, *, hooks: EngineHooks | None = None
) -> RunResult:
    """Run ``job`` end to end and return what happened (see RunResult.exit_code); ``hooks``
    (tests, benchmarks) say how to reach the engine (see EngineHooks)."""
    job.validate()
    started = time.monotonic()
    progress = progress or Silent()
    hooks = hooks or EngineHooks()
    result = RunResult(run_id=uuid.uuid4().hex[:16], dry_run=job.dry_run)
    discovery = discover(job)
    result.skipped = discovery.skipped
    for path, why in discovery.skipped:
        progress.log(f"skipped {path}: {why}")
    if not discovery.files:
        raise ConfigError("no input file to translate" + ("" if not discovery.skipped else " (all skipped)"))
    check_output_settings(job, discovery.files)
    _narrow_columns(job, discovery.files)
    glossary = load_glossary(job.glossary) if job.glossary else Glossary()
    identity = engine_identity(job)
    check_engine(job)
    warning = price_warning(job.model, job.price, job.engine)
    if warning is not None:
        result.warnings.append(warning)
    targeted = _targeted(job, discovery.files, result, progress)
    check_outputs(job, [task for task, _ in targeted])
    # Only now, with every setting checked, does the run leave a trace (the cache file); a dry
    # run reads a cache that exists and creates none.
    cache_path = (job.cache or default_cache_path()) if job.use_cache else None
    cache = Cache(None if job.dry_run and cache_path and not cache_path.exists() else cache_path)
    try:
        planner = Planner(job, identity, cache, glossary)
        try:
            _plan_and_translate(job, planner, targeted, result, progress, hooks)
        finally:
            planner.close()
    finally:
        cache.close()
        result.duration_s = time.monotonic() - started
    return result


def _plan_and_translate(
    job: Job,
    planner: Planner,
    targeted: list[tuple[FileTask, FileResult]],
    result: RunResult,
    progress: RunProgress,
    hooks: EngineHooks,
) -> None:
    """Plan every file (a bad one is reported, the rest go on), estimate, translate, write."""
    readable: list[tuple[FileTask, FileResult]] = []
    for task, file_result in targeted:
        try:
            planner.add_file(task, file_result)
        except InputError as exc:
            _file_failed(file_result, exc, result, progress)
            continue
        readable.append((task, file_result))
    planner.end_planning()
    learned = learned_state(job, planner.cache, planner.identity.model)
    limits = PackLimits.for_limits(job.rpm, job.tpm, packing=job.packing, learned=learned)
    result.estimate = estimate(planner, job, limits, learned)
    if job.dry_run or not readable:
        return
    _translate_and_write(job, planner, limits, learned, readable, result, progress, hooks)


def _targeted(
    job: Job, files: list[FileTask], result: RunResult, progress: RunProgress
) -> list[tuple[FileTask, FileResult]]:
    """The files with their targets chosen (see _choose_targets) and their options checked
    against them (Format.check_options), each with its FileResult in ``result``; a file none of
    the targets applies to is left out, one that cannot be read is reported and left out."""
    targeted: list[tuple[FileTask, FileResult]] = []
    for task in files:
        file_result = FileResult(task.path)
        try:
            task.fmt.check_options(task.path, task.options)
            chosen = _choose_targets(job, task, result, progress)
        except InputError as exc:
            result.files.append(file_result)
            _file_failed(file_result, exc, result, progress)
            continue
        if chosen:
            result.files.append(file_result)
            targeted.append((task, file_result))
    return targeted


def _file_failed(
    file_result: FileResult, exc: InputError, result: RunResult, progress: RunProgress
) -> None:
    """Report a file that cannot be read (the rest of the run goes on)."""
    file_result.error = str(exc)
    result.failures.append(Failure(str(file_result.path), exc.place or "", exc.reason))
    progress.log(f"error: {exc}")


def _choose_targets(job: Job, task: FileTask, result: RunResult, progress: RunProgress) -> bool:
    """Set ``task.targets``; a target the file is not for (a catalog for another language) is
    skipped with a note; False when no target applies (the file is skipped)."""
    task.targets = []
    for target in job.targets:
        reason = task.fmt.skip_target(task.path, target)
        if reason is None:
            task.targets.append(target)
        elif len(job.targets) == 1:
            raise InputError(task.path, reason)
        else:
            result.skipped.append((task.path, f"not translated into {target.code}: {reason}"))
            progress.log(f"skipped {task.path} for {target.code}: {reason}")
    return bool(task.targets)


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
        if not present:
            continue  # an empty file: nothing to translate, written back empty
        mine = [c for c in names if c in present]
        seen.update(mine)
        if not mine:
            raise ConfigError(f"{task.path}: none of the columns {', '.join(names)}; it has: {', '.join(present)}")
        task.options = {**task.options, "columns": mine}
    missing = [c for c in names if c not in seen]
    if missing:
        raise ConfigError(f"no input has the column(s) {', '.join(missing)}")


def _translate_and_write(
    job: Job,
    planner: Planner,
    limits: PackLimits,
    learned: Learned | None,
    readable: list[tuple[FileTask, FileResult]],
    result: RunResult,
    progress: RunProgress,
    hooks: EngineHooks,
) -> None:
    client = make_client(job, hooks.transport)
    ledger = Ledger(job.ledger, result.run_id)
    pseudo = job.engine == "pseudo"
    pool = TranslationPool(
        client=client,
        pacer=Pacer(rpm=None if pseudo else job.rpm, tpm=None if pseudo else job.tpm),
        policy=RetryPolicy(max_retries=job.max_retries, base=hooks.retry_base),
        cache=planner.cache,
        ledger=ledger,
        price=price_for(planner.identity.model, job.price, job.engine),
        settings=PoolSettings(
            concurrency=job.effective_concurrency(),
            adaptive=job.concurrency is None and not pseudo,
            limits=limits,
            max_cost=job.max_cost,
            learned=learned,
        ),
        on_progress=progress.update,
    )
    record_run_start(
        ledger,
        job,
        [str(t.path) for t, _ in readable],
        segments=result.estimate.segments,
        unique=result.estimate.unique,
        cache_hits=result.estimate.cache_hits,
    )
    stopped: str | None = None  # why the run stopped before translating everything
    write = True
    try:
        pool.stats.expect(planner.store.to_send_by_file())
        anyio.run(execute, pool, planner.store.units(), planner.store.to_send, client)
    except BudgetExceeded as exc:
        stopped = str(exc)
    except (ProviderError, RecordError) as exc:
        stopped = str(exc)
        write = False
    except Exception as exc:  # noqa: BLE001 - a bug: the run still ends in the ledger, in one line
        _stop_on_internal_error(result, exc)
        write = False
    finally:
        progress.finish()
    result.stats = pool.stats
    if pool.stats.requests and not pseudo:
        try:
            planner.cache.remember(endpoint(job), planner.identity.model, asdict(pool.learned()))
        except RecordError as exc:
            progress.log(f"warning: {exc}")
    if pool.stopping is not None and pool.stopping.kind is Stop.INTERRUPTED:
        stopped = "interrupted"
        result.aborted_code = EXIT_INTERRUPTED
        write = False
    if stopped is not None:
        result.aborted = stopped
    # Without the cache, the outputs are the only place the translations paid for can be kept.
    write = write or (not job.use_cache and planner.cache.stored > 0)
    try:
        if write:
            # Without a cache, an earlier complete output holds translations kept nowhere else.
            beside = stopped is not None and not job.use_cache
            _write_outputs(job, planner, pool, readable, result, progress, beside)
    except KeyboardInterrupt:  # Ctrl-C / SIGTERM while writing: stop there, say what is kept
        stopped = "interrupted while writing the outputs"
        result.aborted_code = EXIT_INTERRUPTED
    except PipelineError as exc:
        result.aborted = result.aborted or str(exc)  # for run_end; the caller reports the error
        raise
    except Exception as exc:  # noqa: BLE001 - as above
        _stop_on_internal_error(result, exc)
    finally:
        if stopped is not None:
            result.aborted = f"{stopped}; {kept(job, planner.cache.stored, readable)}"
        settle_and_end(planner, ledger, pool.stats, result)


def partial_path(dest: Path) -> Path:
    """Where a stopped run without a cache writes an output that already exists:
    ``<stem>.partial<suffix>`` beside it."""
    return dest.with_name(f"{dest.stem}.partial{dest.suffix}")


def _stop_on_internal_error(result: RunResult, error: Exception) -> None:
    """Record an unexpected error as the reason the run stopped (exit 4); its traceback goes to
    the debug log (-vv), not to the user's screen."""
    logger.debug("internal error", exc_info=error)
    result.aborted = internal_error(error)
    result.aborted_code = EXIT_INTERNAL


def _write_outputs(
    job: Job,
    planner: Planner,
    pool: TranslationPool,
    readable: list[tuple[FileTask, FileResult]],
    result: RunResult,
    progress: RunProgress,
    beside: bool = False,
) -> None:
    """Write every output of ``readable``; ``beside``: the run stopped early without a cache,
    so an output that exists is kept and this one goes beside it (see partial_path)."""
    not_sent = pool.stopping.message if pool.stopping is not None else None
    translations = RunTranslations(planner, pool.failures, result, not_sent)
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
            if beside and dest.exists():
                progress.log(f"note: {dest} is kept: this stopped run's output is {partial_path(dest)}")
                dest = partial_path(dest)
            listed = len(result.failures)
            try:
                report = task.fmt.write(task.path, dest, group, translations, options)
            except InputError as exc:
                file_result.error = str(exc)
                result.failures.append(Failure(str(task.path), exc.place or "", exc.reason))
                progress.log(f"error: {exc}")
                break
            except PipelineError:
                raise
            except OSError as exc:  # disk full, permissions: this output (or its .mo) is not written
                reason = f"cannot write {exc.filename or dest}: {exc.strerror or exc}"
                file_result.error = f"{task.path}: {reason}"
                result.failures.append(Failure(str(task.path), "", reason))
                progress.log(f"error: {file_result.error}")
                break
            file_result.outputs.append(dest)
            translations.unwritten(file_result, report)
            if report.failed and len(result.failures) == listed:  # a writer that named none
                why = f"{report.failed} segment(s) not written; the {task.fmt.name} writer did not say which"
                result.failures.append(Failure(str(task.path), "", f"{dest}: {why}"))
            for note in report.notes:
                file_result.notes.append(note)
                progress.log(f"note: {dest}: {note}")
            file_result.translated += report.translated
            file_result.failed += report.failed
            file_result.simplified += report.simplified

"""How a run that sent requests ends: its counts settled, what it kept said, its run_end line.

The ``run_end`` line is written last, once the counts are settled, so its status is the run's
final verdict (:attr:`RunResult.failed` reads the settled counts).
"""

from __future__ import annotations

from mtpipe.engine.bookkeeping import PoolStats
from mtpipe.errors import RecordError
from mtpipe.records.ledger import Ledger
from mtpipe.run.discover import FileTask
from mtpipe.run.planner import Planner
from mtpipe.run.results import FileResult, RunResult
from mtpipe.run.settings import Job


def kept(job: Job, stored: int, readable: list[tuple[FileTask, FileResult]]) -> str:
    """What became of the translations of a run that stopped early, said as it is in the run's
    cache mode: ``stored`` is how many this run committed to its cache (``Cache.stored``,
    counted as each commit succeeds, so a request cached before its ledger line failed is
    in it and one whose cache write failed is not); cached, a rerun resumes; with
    ``--no-cache``, kept only in the outputs written (a rerun pays for them again) and lost
    with the outputs not written.
    """
    if job.use_cache:
        held = f"the {stored} translations done are cached; " if stored else ""
        return f"{held}run the same command again to resume"
    if not stored:
        return "nothing was translated yet"
    note = (
        f"--no-cache: the {stored} translations done are kept only in the outputs written, "
        "so a new run pays for them again"
    )
    unwritten = sum(1 for _, written in readable if written.error or not written.outputs)
    if unwritten:
        note += (
            f"; the outputs of {unwritten} file(s) were not written: "
            "what was translated for them is lost"
        )
    return note


def settle_and_end(planner: Planner, ledger: Ledger, stats: PoolStats, result: RunResult) -> None:
    """Settle the per-file counts, then append the ``run_end`` line with the final status and
    close the ledger.

    A work store or cache that cannot be read while settling stops the run (RecordError,
    raised after the run_end line says ``aborted``), unless it already stopped for another
    reason, which is the one reported.
    """
    unsettled: RecordError | None = None
    try:
        planner.settle()
    except RecordError as exc:
        if not result.aborted:
            unsettled = exc
            result.aborted = str(exc)
    end_ledger(ledger, stats, result)
    if unsettled is not None:
        raise unsettled


def end_ledger(ledger: Ledger, stats: PoolStats, result: RunResult) -> None:
    """Append the ``run_end`` line and close the ledger; when the run already stopped because
    its records could not be written, a second such failure is not reported over the first."""
    try:
        ledger.append(
            "run_end",
            status="aborted" if result.aborted else ("failed" if result.failed else "ok"),
            segments=result.estimate.segments,
            unique=result.estimate.unique,
            cache_hits=result.estimate.cache_hits,
            **stats.usage(),
            failures=len(result.failures),
            simplified=sum(f.simplified for f in result.files),
            error=result.aborted,
        )
    except RecordError:
        if not result.aborted:
            raise
    finally:
        try:
            ledger.close()
        except RecordError:
            if not result.aborted:
                raise

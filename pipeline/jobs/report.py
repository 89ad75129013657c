"""The JSON run report of a job, and running a job under its lock.

:func:`run_job` takes the job's lock, runs it, and writes a report (atomically) whether the
run succeeded, failed some segments, was aborted, or stopped on a configuration error found
while running (e.g. a missing API key); :func:`format_report` renders it for ``mtpipe status``.

The report (``version`` 1) holds, per input file and target language, the segments total /
unchanged (nothing to translate) / from cache / translated / failed, and the tokens and cost of
this run's requests; per language and in total the same plus requests; the outputs written;
the failures with file and place; duration, status and exit code. Token and cost figures come
from the run's own ledger lines, read and added up by :mod:`mtpipe.records.ledger` as
``mtpipe ledger summary`` adds them: a request is charged to its target language exactly, and
split evenly over the files it carried. A line in the run's part of the ledger that is not
mtpipe's (another program appending to the file) is left out of them and named in the report's
``warnings``: the report is still written, and the exit code stays the run's own. Paths are
relative to the job file's directory.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from mtpipe.errors import ConfigError, InputError, PipelineError, RecordError
from mtpipe.formats.base import atomic_output
from mtpipe.jobs.jobfile import JobFile
from mtpipe.jobs.lock import RunLock
from mtpipe.records.ledger import (
    Grouping,
    Summary,
    Totals,
    by_file_and_target,
    by_target,
    read_ledger,
    summarize,
    utc_now,
)
from mtpipe.run.progress import RunProgress
from mtpipe.run.results import RunResult, TargetCounts
from mtpipe.run.runner import translate

REPORT_VERSION = 1
#: Failures listed in a report; the rest are counted in ``failures_omitted``.
MAX_FAILURES = 1000
_STATUS = {0: "ok", 1: "failed", 2: "error", 3: "aborted", 4: "aborted", 130: "interrupted"}
_COUNTS = [f.name for f in fields(TargetCounts)]


@dataclass
class JobRun:
    """What :func:`run_job` did: the run's result and the report written (None on a dry run)."""

    result: RunResult
    report: dict[str, Any] | None

    @property
    def exit_code(self) -> int:
        """The run's exit code (:attr:`RunResult.exit_code`, the one the report holds)."""
        return self.result.exit_code


def run_job(spec: JobFile, progress: RunProgress | None = None) -> JobRun:
    """Run ``spec`` under its lock and write its report; a dry run takes no lock, writes none.

    Raises RunLocked (exit 3) when another run holds the lock, and re-raises a PipelineError
    raised by the run after recording it in the report.
    """
    job = spec.job
    if job.dry_run:
        result = translate(job, progress)
        return JobRun(result, None)
    with RunLock(spec.lock_path):
        assert job.ledger is not None  # job files always have one
        offset = job.ledger.stat().st_size if job.ledger.exists() else 0
        started, clock = utc_now(), time.monotonic()
        try:
            result = translate(job, progress)
        except PipelineError as exc:
            # The run's own error is the one to report, even when the report cannot be written.
            with contextlib.suppress(RecordError):
                write_report(spec.report_path, error_report(spec, exc, started, time.monotonic() - clock))
            raise
        usage, unread = run_usage(job.ledger, offset, result.run_id)
        if unread is not None:
            result.warnings.append(unread)
        report = build_report(spec, result, usage, started)
        write_report(spec.report_path, report)
        return JobRun(result, report)


#: How a report splits the run's requests (see the module docstring).
REPORT_GROUPS: dict[str, Grouping] = {"language": by_target, "file": by_file_and_target}


def run_usage(ledger: Path, offset: int, run_id: str) -> tuple[Summary, str | None]:
    """The requests of run ``run_id`` appended to ``ledger`` after byte ``offset``, in total,
    by target language and by (file, target language) (see :data:`REPORT_GROUPS`), and what
    of that part of the ledger could not be read (None: all of it was).

    The run's outcome does not depend on it: the run has paid and recorded its requests by
    now, so a line someone else appended meanwhile that is not mtpipe's is left out (counted,
    the first named), and a ledger that cannot be read leaves the figures at zero, said.
    """
    if not ledger.exists():
        return summarize([], REPORT_GROUPS), None
    foreign = _Foreign()
    records = read_ledger(ledger, offset, foreign=foreign)
    try:
        usage = summarize((r for r in records if r.get("run_id") == run_id), REPORT_GROUPS)
    except InputError as exc:  # the file could not be read
        return summarize([], REPORT_GROUPS), f"{exc}; this run's requests are {_LEFT_OUT}"
    if foreign.first is None:
        return usage, None
    lines = "1 line" if foreign.count == 1 else f"{foreign.count} lines"
    return usage, f"{foreign.first}; {lines} not mtpipe's {_LEFT_OUT}"


#: What a ledger that cannot be read costs the report (its totals are the run's own figures).
_LEFT_OUT = "left out of the report's tokens and cost per language and per file"


class _Foreign:
    """Counts the lines of a ledger that are not mtpipe's, and keeps the first one's error."""

    def __init__(self) -> None:
        self.first: InputError | None = None
        self.count = 0

    def __call__(self, error: InputError) -> None:
        self.first = self.first or error
        self.count += 1


def _header(spec: JobFile, started: str, duration: float, code: int) -> dict[str, Any]:
    job = spec.job
    return {
        "version": REPORT_VERSION,
        "job": str(spec.path),
        "name": job.name,
        "started": started,
        "finished": utc_now(),
        "duration_s": round(duration, 3),
        "status": _STATUS.get(code, "failed"),
        "exit_code": code,
        "engine": job.engine,
        "model": "pseudo" if job.engine == "pseudo" else job.model,
        "source_lang": job.source.code,
        "target_langs": [t.code for t in job.targets],
        "ledger": _rel(job.ledger, spec) if job.ledger else None,
    }


def error_report(spec: JobFile, error: PipelineError, started: str, duration: float) -> dict[str, Any]:
    """The report of a run that stopped on ``error`` before translating anything."""
    report = _header(spec, started, duration, error.exit_code)
    report.update(run_id=None, error=str(error), totals={}, languages={}, files=[], skipped=[], failures=[])
    return report


def build_report(spec: JobFile, result: RunResult, usage: Summary, started: str) -> dict[str, Any]:
    """The report of a finished run (see the module docstring for the figures); ``usage`` is
    the run's requests grouped as :func:`run_usage` groups them."""
    code = result.exit_code
    report = _header(spec, started, result.duration_s, code)
    by_lang, by_file = usage.by["language"], usage.by["file"]
    languages: dict[str, dict[str, Any]] = {t.code: dict.fromkeys(_COUNTS, 0) for t in spec.job.targets}
    files: list[dict[str, Any]] = []
    for file_result in result.files:
        per_lang = {}
        for lang, counts in file_result.by_target.items():
            entry: dict[str, Any] = asdict(counts)
            for key in _COUNTS:
                languages.setdefault(lang, dict.fromkeys(_COUNTS, 0))[key] += entry[key]
            # no request count: a request spanning files is not a whole request of each
            entry.update(_usage(by_file.get((str(file_result.path), lang)), requests=False))
            per_lang[lang] = entry
        files.append({
            "path": _rel(file_result.path, spec),
            "error": file_result.error,
            "outputs": [_rel(p, spec) for p in file_result.outputs],
            "languages": per_lang,
        })
    for lang, entry in languages.items():
        entry.update(_usage(by_lang.get(lang)))
    totals: dict[str, Any] = asdict(result.counts())
    totals.update(
        unique=result.estimate.unique,
        **result.stats.usage(),
        files=len(result.files),
        files_failed=sum(1 for f in result.files if f.error),
        outputs=sum(len(f.outputs) for f in result.files),
    )
    failures = [
        {"file": _rel(Path(f.file), spec) if f.file else "", "place": f.place, "reason": f.reason}
        for f in result.failures[:MAX_FAILURES]
    ]
    report.update(
        run_id=result.run_id,
        error=result.aborted,
        totals=totals,
        languages=languages,
        files=files,
        skipped=[{"path": _rel(p, spec), "reason": why} for p, why in result.skipped],
        failures=failures,
        failures_omitted=max(0, len(result.failures) - MAX_FAILURES),
        warnings=list(result.warnings),
    )
    return report


def _usage(totals: Totals | None, requests: bool = True) -> dict[str, Any]:
    """The report's usage fields of ``totals`` (zeros for None)."""
    totals = totals or Totals()
    usage: dict[str, Any] = {"requests": totals.requests} if requests else {}
    usage.update(
        prompt_tokens=totals.prompt_tokens,
        completion_tokens=totals.completion_tokens,
        cost_usd=round(totals.cost_usd, 8),
    )
    return usage


def _rel(path: Path | str, spec: JobFile) -> str:
    return os.path.relpath(Path(path).resolve(), spec.path.parent)


def write_report(path: Path, report: dict[str, Any]) -> None:
    """Write ``report`` as JSON to ``path`` atomically (readable by its owner only, like the
    ledger); RecordError when it cannot be written (the previous report stays)."""
    try:
        with atomic_output(path, mode=0o600) as tmp:
            tmp.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    except OSError as exc:
        raise RecordError(f"the run report {path}", exc) from None


def read_report(path: Path) -> dict[str, Any]:
    """The report at ``path``; ConfigError when there is none yet or it is unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"no run report yet ({path} does not exist): run the job with 'mtpipe run' first") from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read the run report {path}: {exc}") from None
    if not isinstance(data, dict) or data.get("version") != REPORT_VERSION:
        raise ConfigError(f"{path} is not an mtpipe run report (version {REPORT_VERSION})")
    return data


def format_report(report: dict[str, Any], max_failures: int = 20) -> str:
    """A few lines for humans: status, totals, per language, per file, failures."""
    lines = [
        f"job {report.get('name') or '?'} ({report.get('job')})",
        (
            f"last run {report.get('run_id') or '-'}: {report['status']} (exit {report['exit_code']}), "
            f"started {report['started']}, took {report['duration_s']:.1f}s"
        ),
    ]
    if report.get("error"):
        lines.append(f"stopped: {report['error']}")
    lines.extend(f"warning: {warning}" for warning in report.get("warnings") or [])
    totals = report.get("totals") or {}
    if totals:
        lines.append(
            f"{totals['segments']} segments: {totals['translated']} translated, {totals['from_cache']} "
            f"from cache, {totals['failed']} failed, {totals['unchanged']} with nothing to translate; "
            f"{totals['requests']} requests ({totals['failed_requests']} failed), "
            f"{totals['total_tokens']} tokens, ${totals['cost_usd']:.4f}; {totals['outputs']} outputs written"
        )
    for lang, entry in (report.get("languages") or {}).items():
        lines.append(f"  {lang:<8}{_counts(entry)}, {entry['requests']} requests, ${entry['cost_usd']:.4f}")
    for item in report.get("files") or []:
        state = f"error: {item['error']}" if item.get("error") else f"{len(item['outputs'])} outputs"
        lines.append(f"  {item['path']}: {state}")
        for lang, entry in item["languages"].items():
            lines.append(f"    {lang:<8}{_counts(entry)}")
    failures = report.get("failures") or []
    if failures:
        lines.append(f"failures ({len(failures) + int(report.get('failures_omitted', 0))}):")
        for failure in failures[:max_failures]:
            place = f"{failure['place']}: " if failure.get("place") else ""
            lines.append(f"  {failure['file']}: {place}{failure['reason']}")
        if len(failures) > max_failures:
            lines.append(f"  ... {len(failures) - max_failures} more in the report")
    return "\n".join(lines)


def _counts(entry: dict[str, Any]) -> str:
    return (
        f"{entry['segments']:>7} segments {entry['translated']:>6} translated "
        f"{entry['from_cache']:>6} from cache {entry['failed']:>5} failed"
    )

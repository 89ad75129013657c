"""What the mtpipe commands share: error and interrupt handling, logging, the run summary.

Every command body runs under :func:`guarded`, which maps a PipelineError to a one-line
message and its exit code, any other exception (a bug) to one line and exit 4 (its traceback
goes to the debug log, shown with -vv), and an interrupt (Ctrl-C, SIGTERM) outside the request
phase to exit 130 with how to resume. (During the requests the run itself stops scheduling,
lets the requests in flight land, records them and returns exit 130.)

The library only logs (it never configures logging nor prints); :func:`setup_output` shows its
records on stderr, one line each, off the live progress line: by default warnings (a long wait
before a retry, on ``mtpipe.retry``), with ``-v`` also one line per finished request
(``mtpipe.requests``), with ``-vv`` also the HTTP exchange (``mtpipe.http``, key redacted),
with ``-q`` errors only.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import sys
import warnings
from collections.abc import Iterator
from typing import TextIO

import click

from mtpipe.cli.progress import Progress
from mtpipe.errors import PipelineError
from mtpipe.run.results import EXIT_INTERNAL, RunResult, internal_error

_MAX_FAILURES_SHOWN = 50
logger = logging.getLogger(__name__)


@contextlib.contextmanager
def guarded() -> Iterator[None]:
    """Run a command body: errors become one line and an exit code (4 for an unexpected
    one), interrupts exit 130."""
    # SIGTERM (a scheduler stopping the job) behaves like Ctrl-C, not like a silent kill.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        yield
    except PipelineError as error:
        click.echo(f"mtpipe: error: {error}", err=True)
        sys.exit(error.exit_code)
    except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
        raise
    except Exception as error:
        logger.debug("internal error", exc_info=error)
        click.echo(f"mtpipe: error: {internal_error(error)}", err=True)
        sys.exit(EXIT_INTERNAL)
    except KeyboardInterrupt:
        # Outside the request phase (reading or writing files): nothing paid for is lost, the
        # cache and the ledger are committed request by request.
        click.echo("mtpipe: interrupted; run the same command again to resume", err=True)
        sys.exit(130)


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: TextIO | None = None,
    line: str | None = None,
) -> None:
    click.echo(f"mtpipe: warning: {message}", err=True)


def setup_output(verbose: int, quiet: bool) -> Progress:
    """Show log records on stderr at the command's verbosity (-q: errors only; default:
    warnings; -v: info, a line per request; -vv: debug, the HTTP exchange) and return the
    progress display they keep clear of."""
    progress = Progress(quiet=quiet)
    level = logging.ERROR if quiet else {0: logging.WARNING, 1: logging.INFO}.get(verbose, logging.DEBUG)
    root = logging.getLogger()
    for previous in [h for h in root.handlers if isinstance(h, _StderrLines)]:
        root.removeHandler(previous)  # a command run again in the same process
    handler = _StderrLines(progress)
    handler.setFormatter(_LineFormatter())
    handler.setLevel(level)
    root.addHandler(handler)
    # Debug lines are ours only (the mtpipe.* loggers, module loggers included); httpx's own
    # request lines and httpcore's trace stay out even at -vv: mtpipe.http tells the exchange,
    # key redacted.
    root.setLevel(max(level, logging.INFO))
    logging.getLogger("mtpipe").setLevel(level)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    # Library warnings (a key about to travel over plain http) reach the user even with -q.
    warnings.showwarning = _show_warning
    return progress


class _StderrLines(logging.Handler):
    """Writes each record as a line on stderr, after taking the live progress line off."""

    def __init__(self, progress: Progress) -> None:
        super().__init__()
        self.progress = progress

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:  # noqa: BLE001 - logging's contract: a bad record never breaks the run
            self.handleError(record)
            return
        self.progress.clear()
        click.echo(line, err=True)


class _LineFormatter(logging.Formatter):
    """``mtpipe: error: …`` / ``mtpipe: warning: …`` / ``mtpipe: …`` (info), and the logger's
    name before debug lines (``mtpipe.http: …``)."""

    def format(self, record: logging.LogRecord) -> str:
        message = super().format(record)
        if record.levelno >= logging.ERROR:
            return f"mtpipe: error: {message}"
        if record.levelno >= logging.WARNING:
            return f"mtpipe: warning: {message}"
        if record.levelno >= logging.INFO:
            return f"mtpipe: {message}"
        return f"{record.name}: {message}"


def report_result(result: RunResult, quiet: bool = False) -> None:
    """Print the run summary (stdout) and the failures (stderr)."""
    est = result.estimate
    if result.dry_run:
        click.echo(
            f"dry run: {est.segments} segments, {est.unique} unique, {est.cache_hits} from cache, "
            f"{est.requests} requests, ~{est.prompt_tokens} prompt + ~{est.completion_tokens} "
            f"completion tokens, ~${est.cost_usd:.4f}, ~{est.minutes:.1f} min at the configured limits"
            + (f"; {est.too_long} segments too long to send would fail" if est.too_long else "")
        )
    elif not quiet:
        stats, counts = result.stats, result.counts()
        outputs = sum(len(f.outputs) for f in result.files)
        files_failed = sum(1 for f in result.files if f.error)
        click.echo(
            f"{counts.segments} segments: {counts.translated} translated, {counts.from_cache} from "
            f"cache, {counts.failed} failed, {counts.unchanged} with nothing to translate"
            + (f", {files_failed} files failed" if files_failed else "")
            + f" ({est.unique} unique); {stats.requests} requests, "
            f"{stats.prompt_tokens + stats.completion_tokens} tokens, ${stats.cost_usd:.4f}; "
            f"{outputs} files written"
            + (f", {len(result.skipped)} skipped" if result.skipped else "")
            + f" in {result.duration_s:.1f}s"
        )
        simplified = sum(f.simplified for f in result.files)
        if simplified:
            click.echo(f"{simplified} Word paragraphs had their inline formatting simplified")
    for warning in result.warnings:
        click.echo(f"mtpipe: warning: {warning}", err=True)
    for failure in result.failures[:_MAX_FAILURES_SHOWN]:
        where = f"{failure.file}: {failure.place}: " if failure.place else f"{failure.file}: "
        click.echo(f"failed: {where}{failure.reason}", err=True)
    if len(result.failures) > _MAX_FAILURES_SHOWN:
        click.echo(f"... and {len(result.failures) - _MAX_FAILURES_SHOWN} more failures", err=True)
    if result.aborted:
        click.echo(f"mtpipe: stopped: {result.aborted}", err=True)

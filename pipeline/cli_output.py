"""What the mtpipe commands share: error and interrupt handling, logging, the run summary.

Every command body runs under :func:`guarded`, which maps a PipelineError to a one-line
message and its exit code, and an interrupt (Ctrl-C, SIGTERM) outside the request phase to
exit 130 with how to resume. (During the requests the run itself stops scheduling, lets the
requests in flight land, records them and returns exit 130.)
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

from pipeline.errors import PipelineError
from pipeline.run import RunResult

_MAX_FAILURES_SHOWN = 50


@contextlib.contextmanager
def guarded() -> Iterator[None]:
    """Run a command body: errors become one line and an exit code, interrupts exit 130."""
    # SIGTERM (a scheduler stopping the job) behaves like Ctrl-C, not like a silent kill.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        yield
    except PipelineError as error:
        click.echo(f"mtpipe: error: {error}", err=True)
        sys.exit(error.exit_code)
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


def setup_logging(verbose: int, quiet: bool) -> None:
    """-q: errors only; default: warnings; -vv: debug, HTTP requests included."""
    level = logging.ERROR if quiet else (logging.DEBUG if verbose >= 2 else logging.WARNING)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    # Library warnings (a key about to travel over plain http) reach the user even with -q.
    warnings.showwarning = _show_warning
    if verbose < 2:
        logging.getLogger("httpx").setLevel(logging.WARNING)
        logging.getLogger("httpcore").setLevel(logging.WARNING)


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
        stats = result.stats
        outputs = sum(len(f.outputs) for f in result.files)
        click.echo(
            f"{est.segments} segments ({est.unique} unique, {est.cache_hits} from cache): "
            f"{stats.units_done} translated, {len(result.failures)} failed; "
            f"{stats.requests} requests, {stats.prompt_tokens + stats.completion_tokens} tokens, "
            f"${stats.cost_usd:.4f}; {outputs} files written"
            + (f", {len(result.skipped)} skipped" if result.skipped else "")
            + f" in {result.duration_s:.1f}s"
        )
        simplified = sum(f.simplified for f in result.files)
        if simplified:
            click.echo(f"{simplified} Word paragraphs had their inline formatting simplified")
    for failure in result.failures[:_MAX_FAILURES_SHOWN]:
        where = f"{failure.file}: {failure.place}: " if failure.place else f"{failure.file}: "
        click.echo(f"failed: {where}{failure.reason}", err=True)
    if len(result.failures) > _MAX_FAILURES_SHOWN:
        click.echo(f"... and {len(result.failures) - _MAX_FAILURES_SHOWN} more failures", err=True)
    if result.aborted:
        click.echo(f"mtpipe: stopped: {result.aborted}", err=True)

"""``mtpipe run JOB.toml`` and ``mtpipe status JOB.toml``: job files for schedulers.

Thin commands over :mod:`mtpipe.jobs.jobfile` (parse, validate, overrides) and
:mod:`mtpipe.jobs.report` (lock, run, report). Command-line options override the job file; their
paths are relative to the working directory, the file's paths to the file's directory.
Exit codes are the ones of ``mtpipe translate``; another run holding the job's lock is 3.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from mtpipe.cli.output import guarded, report_result, setup_output
from mtpipe.engine.client import REGIONS
from mtpipe.jobs.jobfile import load_job, report_location
from mtpipe.jobs.lock import is_stale, read_holder
from mtpipe.jobs.report import format_report, read_report, run_job
from mtpipe.run.settings import ENGINES

_JOB = click.argument("jobfile", metavar="JOB.toml", type=click.Path(path_type=Path, dir_okay=False))


def _absolute(path: Path | None) -> str | None:
    return None if path is None else str(path.expanduser().absolute())


def overrides_from(opts: dict[str, Any]) -> dict[str, Any]:
    """Job-file keys set on the command line (None: not given, the file decides)."""
    targets = [lang.strip() for part in opts["to_langs"] for lang in part.split(",") if lang.strip()]
    cache: Any = False if opts["no_cache"] else _absolute(opts["cache"])
    return {
        "target_langs": targets or None,
        "source_lang": opts["from_lang"],
        "engine": opts["engine"],
        "model": opts["model"],
        "base_url": opts["base_url"],
        "region": opts["region"],
        "api_key_env": opts["api_key_env"],
        "out": _absolute(opts["out"]),
        "output_template": opts["output_template"],
        "ledger": _absolute(opts["ledger"]),
        "report": _absolute(opts["report"]),
        "cache": cache,
        "max_cost": opts["max_cost"],
        "price": opts["price"],
        "rpm": opts["rpm"],
        "tpm": opts["tpm"],
        "concurrency": opts["concurrency"],
        "max_retries": opts["max_retries"],
        "timeout": opts["timeout"],
        "packing": opts["packing"],
    }


@click.command("run")
@_JOB
@click.option("--dry-run", is_flag=True, help="Plan and estimate; send nothing, take no lock, write no report.")
@click.option("--to", "to_langs", multiple=True, metavar="LANG", help="Target languages (replace target_langs); repeat or comma-separate.")
@click.option("--from", "from_lang", default=None, metavar="LANG", help="Source language (source_lang).")
@click.option("--engine", type=click.Choice(ENGINES), default=None, help="qwen or pseudo (offline).")
@click.option("--model", default=None, help="Model (overrides the job file's).")
@click.option("--base-url", default=None, help="API base URL (replaces base_url and region).")
@click.option("--region", type=click.Choice(list(REGIONS)), default=None, help="Region's base URL (replaces base_url and region).")
@click.option("--api-key-env", default=None, help="Environment variable holding the API key.")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Output directory.")
@click.option("--output-template", default=None, help="Output path under out.")
@click.option("--ledger", type=click.Path(path_type=Path), default=None, help="JSONL ledger (the lock and default report sit next to it).")
@click.option("--report", type=click.Path(path_type=Path), default=None, help="JSON run report path.")
@click.option("--cache", type=click.Path(path_type=Path), default=None, help="SQLite cache.")
@click.option("--no-cache", is_flag=True, help="Neither read nor write the cache.")
@click.option("--max-cost", type=float, default=None, metavar="USD", help="Stop scheduling before spending more than this.")
@click.option("--price", default=None, metavar="IN,OUT", help="USD per 1M input,output tokens.")
@click.option("--rpm", type=float, default=None, help="Requests per minute.")
@click.option("--tpm", type=float, default=None, help="Tokens per minute.")
@click.option("--concurrency", type=int, default=None, help="Requests in flight at most (fixed; default adaptive).")
@click.option("--max-retries", type=int, default=None, help="Retries per request.")
@click.option("--timeout", type=float, default=None, help="Seconds per request.")
@click.option("--packing/--no-packing", default=None, help="Several segments per request (default) or one.")
@click.option("-q", "--quiet", is_flag=True, help="Only errors.")
@click.option("-v", "--verbose", count=True, help="-v: a line per request (tokens, latency, retries, rejections); -vv: also the HTTP exchange, key redacted.")
def run_cmd(jobfile: Path, dry_run: bool, quiet: bool, verbose: int, **opts: Any) -> None:
    """Run the job file JOB.toml (options given here override the file)."""
    progress = setup_output(verbose, quiet)
    with guarded():
        spec = load_job(jobfile, overrides_from(opts))
        spec.job.dry_run = dry_run
        outcome = run_job(spec, progress)
    report_result(outcome.result, quiet=quiet)
    if outcome.report is not None and not quiet:
        click.echo(f"report: {spec.report_path}")
    sys.exit(outcome.exit_code)


@click.command("status")
@_JOB
@click.option("--ledger", type=click.Path(path_type=Path), default=None, help="The ledger the run used, if overridden.")
@click.option("--report", type=click.Path(path_type=Path), default=None, help="The report path, if overridden.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def status_cmd(jobfile: Path, ledger: Path | None, report: Path | None, as_json: bool) -> None:
    """Print the last run's report of JOB.toml (exit 2 when there is none yet)."""
    with guarded():
        report_path, lock_path = report_location(
            jobfile, {"ledger": _absolute(ledger), "report": _absolute(report)}
        )
        data = read_report(report_path)
    if as_json:
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
        return
    click.echo(format_report(data))
    holder = read_holder(lock_path)
    if lock_path.exists() and not is_stale(lock_path, holder):
        click.echo(f"a run is in progress: {holder.describe() if holder else 'starting'}")

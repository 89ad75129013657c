"""The ``mtpipe`` command: thin click commands over the library.

Every command parses options, calls one library function and maps PipelineError subclasses
to a one-line message and an exit code (0 ok, 1 some segments failed, 2 usage/input/config,
3 aborted: auth, quota, budget; 4 internal error (a bug); 130 interrupted).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from mtpipe import __version__
from mtpipe.cli.jobs import run_cmd, status_cmd
from mtpipe.cli.output import guarded, report_result, setup_output
from mtpipe.run.runner import translate
from mtpipe.run.settings import (
    DEFAULT_MODELS,
    ENGINES,
    InputSpec,
    Job,
    base_url_for,
    read_instructions,
)
from mtpipe.text.languages import AUTO, accepted_languages, resolve, resolve_targets


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mtpipe")
def main() -> None:
    """Batch translation of gettext catalogs, Word documents, CSV and Parquet over Qwen-MT."""


@main.command("translate")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path, readable=False))
@click.option("--to", "to_langs", multiple=True, required=True, metavar="LANG", help="Target language (ISO code or English name); repeat for several.")
@click.option("--from", "from_lang", default="auto", show_default=True, metavar="LANG", help="Source language, or auto.")
@click.option("--out", type=click.Path(path_type=Path), default=Path("translated"), show_default=True, help="Output directory.")
@click.option("--output-template", default=None, help="Output path under --out: fields {lang} {name} {stem} {ext} {relpath} {reldir}.")
@click.option("--in-place", is_flag=True, help="Write over the inputs (tabular: translated columns replace the source ones).")
@click.option("--engine", type=click.Choice(ENGINES), default="qwen", show_default=True, help="qwen (Qwen-MT API), chat (any OpenAI-compatible chat model) or pseudo (offline pseudo-localization).")
@click.option("--model", default=None, help="Model: default qwen-mt-turbo (--engine qwen), qwen-plus (--engine chat); any name with --engine chat.")
@click.option("--instructions", type=click.Path(path_type=Path, exists=True, dir_okay=False), default=None, help="--engine chat: a UTF-8 text file of instructions sent to the model with every request.")
@click.option("--base-url", default=None, help="API base URL (default: $MTPIPE_BASE_URL, else the Singapore endpoint).")
@click.option("--region", type=click.Choice(["intl", "cn", "us"]), default=None, help="Shortcut for the region's base URL.")
@click.option("--api-key-env", default="DASHSCOPE_API_KEY", show_default=True, help="Environment variable holding the API key.")
@click.option("--concurrency", type=int, default=None, help="Requests in flight at most (default: sized to --rpm, grows with the reply latency).")
@click.option("--rpm", type=float, default=60.0, show_default=True, help="Requests per minute allowed by the account.")
@click.option("--tpm", type=float, default=100_000.0, show_default=True, help="Tokens per minute allowed by the account.")
@click.option("--max-retries", type=int, default=8, show_default=True, help="Retries per request on 429/5xx/timeouts.")
@click.option("--timeout", type=float, default=120.0, show_default=True, help="Seconds per request.")
@click.option("--ledger", type=click.Path(path_type=Path), default=Path("mtpipe-ledger.jsonl"), show_default=True, help="JSONL ledger of requests, tokens and cost.")
@click.option("--cache", type=click.Path(path_type=Path), default=None, help="SQLite cache (default: $MTPIPE_CACHE or the user cache dir).")
@click.option("--no-cache", is_flag=True, help="Neither read nor write the cache.")
@click.option("--no-packing", is_flag=True, help="One segment per request.")
@click.option("--dry-run", is_flag=True, help="Plan and estimate; send nothing.")
@click.option("--max-cost", type=float, default=None, metavar="USD", help="Stop scheduling before spending more than this.")
@click.option("--price", default=None, metavar="IN,OUT", help="Override the model's price, USD per 1M input,output tokens.")
@click.option("--columns", default=None, metavar="A,B", help="Columns to translate (CSV, Parquet).")
@click.option("--glossary", type=click.Path(path_type=Path, exists=True, dir_okay=False), default=None, help="CSV/TSV of source,target[,language] terms.")
@click.option("--domains", default="", help="English description of the domain, sent to the engine.")
@click.option("--mark", type=click.Choice(["fuzzy", "comment", "none"]), default="fuzzy", show_default=True, help="gettext: how machine translations are marked for review.")
@click.option("--retranslate", is_flag=True, help="gettext: also replace existing translations.")
@click.option("--fuzzy", "fuzzy", is_flag=True, help="gettext: retranslate fuzzy entries.")
@click.option("--compile", "compile_mo", is_flag=True, help="gettext: also write the .mo next to each .po.")
@click.option("--no-docx-properties", is_flag=True, help="Word: do not translate the document title and subject.")
@click.option("--docx-hidden", is_flag=True, help="Word: also translate hidden text.")
@click.option("--docx-alt-text", is_flag=True, help="Word: also translate image alt text.")
@click.option("--encoding", default=None, help="CSV: input encoding when not UTF-8 (e.g. latin-1).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors.")
@click.option("-v", "--verbose", count=True, help="-v: a line per request (tokens, latency, retries, rejections); -vv: also the HTTP exchange, key redacted.")
def translate_cmd(inputs: tuple[Path, ...], to_langs: tuple[str, ...], from_lang: str, **opts: Any) -> None:
    """Translate INPUT files or directories into every --to language."""
    progress = setup_output(opts["verbose"], opts["quiet"])
    with guarded():
        job = _job_from_options(inputs, to_langs, from_lang, opts)
        result = translate(job, progress)
    report_result(result, quiet=opts["quiet"])
    sys.exit(result.exit_code)


def _job_from_options(inputs: tuple[Path, ...], to_langs: tuple[str, ...], from_lang: str, opts: dict[str, Any]) -> Job:
    targets = resolve_targets(lang for part in to_langs for lang in part.split(",") if lang.strip())
    format_options: dict[str, Any] = {
        "mark": opts["mark"],
        "retranslate": opts["retranslate"],
        "fuzzy": opts["fuzzy"],
        "compile": opts["compile_mo"],
        "docx_properties": not opts["no_docx_properties"],
        "include_hidden": opts["docx_hidden"],
        "include_alt_text": opts["docx_alt_text"],
    }
    if opts["columns"]:
        format_options["columns"] = opts["columns"]
    if opts["encoding"]:
        format_options["encoding"] = opts["encoding"]
    return Job(
        inputs=[InputSpec(path) for path in inputs],
        targets=targets,
        source=resolve(from_lang, allow_auto=True) if from_lang else AUTO,
        out=opts["out"],
        output_template=opts["output_template"],
        in_place=opts["in_place"],
        engine=opts["engine"],
        model=opts["model"] or DEFAULT_MODELS[opts["engine"]],
        instructions=read_instructions(opts["instructions"]) if opts["instructions"] else "",
        base_url=base_url_for(opts["region"], opts["base_url"]),
        api_key_env=opts["api_key_env"],
        concurrency=opts["concurrency"],
        rpm=opts["rpm"],
        tpm=opts["tpm"],
        max_retries=opts["max_retries"],
        timeout=opts["timeout"],
        ledger=opts["ledger"],
        cache=opts["cache"],
        use_cache=not opts["no_cache"],
        packing=not opts["no_packing"],
        dry_run=opts["dry_run"],
        max_cost=opts["max_cost"],
        price=opts["price"],
        glossary=opts["glossary"],
        domains=opts["domains"],
        options=format_options,
    )


@main.command("languages")
def languages_cmd() -> None:
    """List what --to and --from accept: a code or a name, and the language sent to Qwen-MT."""
    rows = [(lang.tag, ", ".join(names), lang.name) for lang, names in accepted_languages()]
    header = ("code", "or name", "sent to Qwen-MT as")
    code_width = max(len(row[0]) for row in [header, *rows])
    name_width = max(len(row[1]) for row in [header, *rows])
    for code, names, sent in [header, *rows]:
        click.echo(f"{code:<{code_width}}  {names:<{name_width}}  {sent}".rstrip())
    # Last, so that it is on screen after the list scrolled by.
    click.echo(
        "\nGive --to a code or a name, e.g. --to pt-BR or --to 'Brazilian Portuguese' (any case).\n"
        "pt_BR works too, and so do other ISO codes (deu) and regions (de-CH: sent as German)."
    )


@main.group("ledger")
def ledger_group() -> None:
    """Read ledgers."""


@ledger_group.command("summary")
@click.argument("path", type=click.Path(path_type=Path, exists=True, dir_okay=False))
def ledger_summary(path: Path) -> None:
    """Totals by day, model, language pair and file (exit 2 when PATH is not a ledger)."""
    from mtpipe.records.ledger import format_summary, summarize_ledger

    with guarded():
        summary = summarize_ledger(path)
    click.echo(format_summary(summary))


@main.command("fake-server")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8765, show_default=True)
@click.option("--api-key", "key", default="test-key", show_default=True, help="The key the emulator accepts (a test key, not a real one).")
@click.option("--rpm", type=int, default=60, show_default=True)
@click.option("--tpm", type=int, default=100_000, show_default=True)
@click.option("--latency", type=float, default=0.0, show_default=True, help="Seconds every reply takes.")
@click.option("--latency-per-token", type=float, default=0.0, show_default=True, help="Seconds per output token.")
@click.option("--reply-prefix", default="", help=r"Text before every reply, escapes allowed (\r\n\r\n, as relays send).")
@click.option("--reply-suffix", default="", help='Text after every reply (e.g. "<|endofcontent|>", as qwen-mt-flash).')
@click.option(
    "--fault",
    "faults",
    multiple=True,
    metavar="NAME=RATE",
    help="A share of replies with a fault: echo, empty, commentary, merged_lines, renumbered_markers, "
    "answer, server_error, throttle, reset... (repeatable; e.g. --fault echo=0.1).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of the fault draws.")
@click.option("--mode", type=click.Choice(["qwen", "chat"]), default="qwen", show_default=True, help="qwen: Qwen-MT's contract; chat: a chat model's (for --engine chat).")
def fake_server(
    host: str,
    port: int,
    key: str,
    rpm: int,
    tpm: int,
    latency: float,
    latency_per_token: float,
    reply_prefix: str,
    reply_suffix: str,
    faults: tuple[str, ...],
    seed: int,
    mode: str,
) -> None:
    """Run the Qwen-MT emulator, or a chat model's with --mode chat (for trying mtpipe offline)."""
    from mtpipe.testing import EmulatorConfig, Fault, FaultConfig, serve_forever

    rates: dict[Fault | str, float] = {}
    for item in faults:
        name, _, rate = item.partition("=")
        try:
            rates[Fault(name.strip())] = float(rate)
        except ValueError:
            known = ", ".join(f.value for f in Fault)
            raise click.BadParameter(f"{item!r}: give NAME=RATE with NAME one of {known}", param_hint="--fault") from None
    try:
        fault_config = FaultConfig(rates=rates)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--fault") from None
    config = EmulatorConfig(
        api_key=key,
        rpm=rpm,
        tpm=tpm,
        latency_s=latency,
        latency_per_token_s=latency_per_token,
        reply_prefix=reply_prefix.encode().decode("unicode_escape"),
        reply_suffix=reply_suffix.encode().decode("unicode_escape"),
        faults=fault_config,
        seed=seed,
        mode=mode,
    )
    kind = "chat-model" if mode == "chat" else "Qwen-MT"
    click.echo(f"{kind} emulator on http://{host}:{port}/compatible-mode/v1 (key {key!r}); Ctrl-C stops it", err=True)
    serve_forever(host, port, config)


main.add_command(run_cmd)
main.add_command(status_cmd)

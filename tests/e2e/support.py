"""Shared by the end-to-end corpus tests: one pipeline run (and its repeat) per engine, and
what the pipeline must have written for a source text.

A :class:`Round` is a whole ``mtpipe.run.runner.translate(job)`` over a list of corpus files, with
the emulator on loopback (engine ``emulator``) or the offline pseudo engine (``pseudo``),
optionally run a second time with the same job to prove the cache.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from mtpipe.engine.framing import parse_request
from mtpipe.engine.pseudo import pseudo_localize
from mtpipe.records.ledger import read_ledger
from mtpipe.run.results import RunResult
from mtpipe.run.runner import translate
from mtpipe.run.settings import EngineHooks, InputSpec, Job
from mtpipe.testing import Emulator, EmulatorConfig, fake_translate
from mtpipe.testing.limits import RequestRecord
from mtpipe.text.languages import Language, resolve
from mtpipe.text.protect import needs_translation, split_outer_whitespace
from tests.conftest import FAST_RETRIES, KEY, KEY_ENV

ENGINES = ("emulator", "pseudo")


def engine_translation(text: str, engine: str, target: Language) -> str:
    """What the pipeline writes for ``text``: outer whitespace kept and not sent, the engine's
    output for the rest; ``text`` itself when nothing in it needs translating."""
    lead, core, trail = split_outer_whitespace(text)
    if not core or not needs_translation(core):
        return text
    translated = fake_translate(core, target.name) if engine == "emulator" else pseudo_localize(core)
    return lead + translated + trail


def packed_parts(content: str) -> list[str]:
    """The segment texts of a request's content (one, or several behind packing markers)."""
    return parse_request(content)


@dataclass
class Round:
    """One run over a set of files, and the same job run again (when asked)."""

    engine: str
    out: Path
    first: RunResult
    second: RunResult | None
    #: Every ledger record of both runs, in order.
    ledger: list[dict[str, Any]]
    #: The emulator's record of each request of the first / second run (empty for pseudo).
    requests: list[RequestRecord] = field(default_factory=list)
    second_requests: list[RequestRecord] = field(default_factory=list)
    #: Output path -> its bytes after the first run (the second run writes them again).
    first_outputs: dict[Path, bytes] = field(default_factory=dict)

    def run_ends(self) -> list[dict[str, Any]]:
        """The ledger's ``run_end`` records, one per run."""
        return [r for r in self.ledger if r["event"] == "run_end"]


def make_job(
    tmp: Path,
    engine: str,
    files: list[Path],
    base_url: str,
    targets: tuple[str, ...] = ("de",),
    **overrides: Any,
) -> Job:
    """A job over ``files`` for ``engine``, with generous limits and private cache and ledger."""
    settings: dict[str, Any] = {
        "inputs": [InputSpec(p) for p in files],
        "targets": [resolve(code) for code in targets],
        "source": resolve("en"),
        "out": tmp / "out",
        "engine": "qwen" if engine == "emulator" else "pseudo",
        "base_url": base_url,
        "api_key_env": KEY_ENV,
        "ledger": tmp / "ledger.jsonl",
        "cache": tmp / "cache.sqlite",
        "rpm": 6000,
        "tpm": 10_000_000,
        "timeout": 10.0,
    }
    settings.update(overrides)
    return Job(**settings)


def run_round(
    tmp: Path,
    engine: str,
    files: list[Path],
    *,
    twice: bool = True,
    transport: httpx.AsyncBaseTransport | None = None,
    **job_settings: Any,
) -> Round:
    """Run the job (twice when ``twice``) against a fresh emulator; the key is set meanwhile."""
    config = EmulatorConfig(api_key=KEY, rpm=None, tpm=None)
    with pytest.MonkeyPatch.context() as mp, Emulator(config) as emu:
        mp.setenv(KEY_ENV, KEY)
        job = make_job(tmp, engine, files, emu.base_url, **job_settings)
        hooks = EngineHooks(transport=transport, retry_base=FAST_RETRIES.retry_base)
        first = translate(job, hooks=hooks)
        sent = len(emu.requests)
        written = {p: p.read_bytes() for f in first.files for p in f.outputs if p.exists()}
        second = translate(job, hooks=hooks) if twice else None
        records = list(emu.requests)
    ledger = list(read_ledger(tmp / "ledger.jsonl"))
    return Round(engine, tmp / "out", first, second, ledger, records[:sent], records[sent:], written)

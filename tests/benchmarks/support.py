"""What the benchmarks share: generated UI strings, and a timed run through the emulator."""

from __future__ import annotations

import csv
import os
import random
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mtpipe.engine.tokens import count_tokens
from mtpipe.run.results import RunResult
from mtpipe.run.runner import translate
from mtpipe.run.settings import EngineHooks, InputSpec, Job
from mtpipe.testing import Emulator, EmulatorConfig
from mtpipe.testing.limits import EmulatorStats
from mtpipe.text.languages import resolve

#: The provider's default limits (60 RPM, 100k TPM) x10, so a benchmark takes seconds.
RPM, TPM = 600, 1_000_000
KEY_ENV = "MTPIPE_BENCH_KEY"
WORDS = ["open", "save", "close", "file", "edit", "view", "window", "help", "settings", "account", "profile", "search", "filter", "sort", "delete", "rename", "copy", "paste", "undo", "redo", "export", "import", "print", "share", "upload", "download", "refresh", "cancel", "confirm", "continue", "back", "next", "previous", "new", "recent", "folder", "document", "image", "project"]


def ui_strings(n: int, seed: int, most_words: int, suffixes: tuple[str, ...]) -> list[str]:
    """``n`` distinct short UI strings of 2 to ``most_words`` words, a fifth ending in one of
    ``suffixes`` (placeholders, markup)."""
    rng = random.Random(seed)
    out: list[str] = []
    seen: set[str] = set()
    while len(out) < n:
        text = " ".join(rng.sample(WORDS, rng.randint(2, most_words))).capitalize()
        if rng.random() < 0.2:
            text += rng.choice(suffixes)
        if text not in seen:
            seen.add(text)
            out.append(text)
    return out


def write_strings_csv(path: Path, strings: list[str]) -> Path:
    """A CSV of ``id,text`` rows, one per string; returns ``path``."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text"])
        writer.writerows((i, s) for i, s in enumerate(strings))
    return path


@dataclass
class TimedRun:
    """One run of the pipeline through the emulator, and what each side counted."""

    result: RunResult
    wall_s: float
    stats: EmulatorStats
    ledger: Path
    out: Path


def run_through_emulator(
    data: Path,
    columns: list[str],
    tmp_path: Path,
    label: str,
    config: EmulatorConfig,
    port: int = 0,
    hooks: EngineHooks | None = None,
    **job: Any,
) -> TimedRun:
    """Translate ``data`` (its ``columns``) into German through a fresh emulator started with
    ``config`` (on ``port``: 0 for any free one; a fixed one keeps the endpoint the same across
    runs, as a nightly job sees it), paced at the emulator's limits; ``job`` overrides fields
    of the Job, ``hooks`` how the run reaches the emulator (e.g. its retry backoff)."""
    os.environ[KEY_ENV] = config.api_key
    with Emulator(config, port=port) as emu:
        settings: dict[str, Any] = {
            "inputs": [InputSpec(data)],
            "targets": [resolve("de")],
            "source": resolve("en"),
            "out": tmp_path / f"out-{label}",
            "base_url": emu.base_url,
            "api_key_env": KEY_ENV,
            "ledger": tmp_path / f"{label}.jsonl",
            "cache": tmp_path / f"{label}.sqlite",
            "rpm": config.rpm,
            "tpm": config.tpm,
            "options": {"columns": columns},
        }
        count_tokens("warm up")  # Qwen's vocabulary loads once per process (~0.7 s): not timed
        started = time.monotonic()
        result = translate(Job(**{**settings, **job}), hooks=hooks)
        wall = time.monotonic() - started
        stats = emu.stats
    return TimedRun(result, wall, stats, settings["ledger"], settings["out"] / data.name)

"""Run settings: what one ``mtpipe translate`` (or one job file) asks for, validated.

The CLI builds a :class:`Job` from flags; ``mtpipe.jobs.jobfile`` builds one from a TOML job
file. Everything downstream takes a Job, so both paths behave the same.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from mtpipe.engine.client import DEFAULT_BASE_URL, REGIONS, is_loopback
from mtpipe.errors import ConfigError
from mtpipe.text.languages import AUTO, Language

ENGINES = ("qwen", "chat", "pseudo")
#: The model each engine asks when none is given.
DEFAULT_MODELS = {"qwen": "qwen-mt-turbo", "chat": "qwen-plus", "pseudo": "qwen-mt-turbo"}
DEFAULT_API_KEY_ENV = "DASHSCOPE_API_KEY"
ENV_BASE_URL = "MTPIPE_BASE_URL"
DEFAULT_LIMITS = {"rpm": 60.0, "tpm": 100_000.0}
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def is_variable_name(name: str) -> bool:
    """True when ``name`` can name an environment variable and does not look like a key given
    by mistake (long, no underscore, lower-case letters and digits: a hex or base64 secret)."""
    if not _ENV_NAME.fullmatch(name):
        return False
    key_like = len(name) >= 20 and "_" not in name and any(c.isdigit() for c in name) and any(c.islower() for c in name)
    return not key_like


def check_variable_name(name: str, option: str = "--api-key-env") -> None:
    """ConfigError unless ``name`` is a variable's name (see is_variable_name); the message
    never shows ``name``: it may be the key itself."""
    if not is_variable_name(name):
        raise ConfigError(
            f"{option} takes the name of an environment variable (such as {DEFAULT_API_KEY_ENV}), "
            "not the key itself"
        )


@dataclass
class InputSpec:
    """One input (file, directory or glob) and its per-input format options."""

    path: Path
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class Job:
    """Everything a run needs. Defaults are the CLI's defaults."""

    inputs: list[InputSpec]
    targets: list[Language]
    source: Language = AUTO
    name: str = ""
    out: Path = Path("translated")
    output_template: str | None = None
    in_place: bool = False
    engine: str = "qwen"
    model: str = "qwen-mt-turbo"
    base_url: str = DEFAULT_BASE_URL
    api_key_env: str = DEFAULT_API_KEY_ENV
    concurrency: int | None = None
    rpm: float | None = DEFAULT_LIMITS["rpm"]
    tpm: float | None = DEFAULT_LIMITS["tpm"]
    max_retries: int = 8
    timeout: float = 120.0
    ledger: Path | None = Path("mtpipe-ledger.jsonl")
    cache: Path | None = None  # None: the default user cache
    use_cache: bool = True
    packing: bool = True
    dry_run: bool = False
    max_cost: float | None = None
    price: str | None = None
    glossary: Path | None = None
    domains: str = ""
    #: The user's own instructions to a chat model (``--engine chat``), sent with every request.
    instructions: str = ""
    #: Format options for every input (per-input options override them).
    options: dict[str, Any] = field(default_factory=dict)

    def validate(self) -> None:
        """Raise ConfigError for settings that cannot work, before any file is read."""
        if not self.targets:
            raise ConfigError("no target language: give --to LANG (several allowed)")
        if self.engine not in ENGINES:
            raise ConfigError(f"unknown engine {self.engine!r}: choose {' or '.join(ENGINES)}")
        if self.engine == "chat" and self.model.startswith("qwen-mt"):
            raise ConfigError(
                f"{self.model} is a Qwen-MT model, which takes no system message: use --engine qwen "
                "with it, or a chat model (e.g. --model qwen-plus) with --engine chat"
            )
        if self.instructions and self.engine != "chat":
            raise ConfigError("instructions are for chat models only: add --engine chat")
        if self.in_place and len(self.targets) > 1:
            raise ConfigError("--in-place takes a single --to language")
        for target in self.targets:
            if target.code == "auto":
                raise ConfigError("'auto' is only valid as a source language")
        if self.source.code != "auto" and any(t.name == self.source.name for t in self.targets):
            raise ConfigError(f"target language {self.source.code} is also the source language")
        for name, value in (("rpm", self.rpm), ("tpm", self.tpm)):
            if value is not None and value <= 0:
                raise ConfigError(f"--{name} must be positive")
        if self.concurrency is not None and self.concurrency < 1:
            raise ConfigError("--concurrency must be at least 1")
        if self.max_retries < 0:
            raise ConfigError("--max-retries cannot be negative")
        if self.timeout <= 0:
            raise ConfigError("--timeout must be positive")
        if self.max_cost is not None and self.max_cost < 0:
            raise ConfigError("--max-cost cannot be negative")
        if not self.base_url.startswith(("http://", "https://")):
            raise ConfigError(f"base URL {self.base_url!r} must start with http:// or https://")
        check_variable_name(self.api_key_env)

    def needs_no_key(self) -> bool:
        """True for a chat model on a loopback address (a local vLLM, Ollama or llama.cpp
        server): it is asked without a key when the key variable is unset."""
        return self.engine == "chat" and is_loopback(self.base_url)

    def api_key(self) -> str:
        """The API key from the configured environment variable, read from the environment
        only; "" when it is unset and :meth:`needs_no_key`; ConfigError when unset otherwise
        (the message never shows a variable name that may be the key itself)."""
        check_variable_name(self.api_key_env)
        key = os.environ.get(self.api_key_env, "").strip()
        if not key and self.needs_no_key():
            return ""
        if not key:
            raise ConfigError(
                f"no API key: set the environment variable {self.api_key_env} "
                "(or use --engine pseudo to run offline)"
            )
        return key

    def effective_concurrency(self) -> int:
        """In-flight requests: explicit (fixed), or sized to the pacing (≈20 s of requests), a
        start the pool grows from when replies are slow (see PoolSettings.adaptive)."""
        if self.concurrency is not None:
            return self.concurrency
        if self.engine == "pseudo":
            return 4
        rps = (self.rpm or 600.0) / 60.0
        return max(2, min(64, int(rps * 20)))


@dataclass(frozen=True)
class EngineHooks:
    """How a run reaches its engine besides what a user sets, for tests and benchmarks: an httpx
    ``transport`` for the client (an ``httpx.MockTransport``, a recording wrapper; None: the
    network), and ``retry_base``, the retry backoff's base in seconds. Passed to
    :func:`mtpipe.run.runner.translate` alongside the :class:`Job`, never part of it."""

    transport: httpx.AsyncBaseTransport | None = field(default=None, repr=False)
    retry_base: float = 1.0


#: Longest instructions file read (instructions are sent with every request).
MAX_INSTRUCTIONS_CHARS = 20_000


def read_instructions(path: Path) -> str:
    """The text of an instructions file (UTF-8); ConfigError naming the file when it cannot be
    read, is not UTF-8, or is longer than :data:`MAX_INSTRUCTIONS_CHARS`."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: instructions file is not UTF-8 text") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the instructions file: {exc.strerror or exc}") from None
    if len(text) > MAX_INSTRUCTIONS_CHARS:
        raise ConfigError(
            f"{path}: instructions of {len(text):,} characters; at most {MAX_INSTRUCTIONS_CHARS:,} "
            "(they are sent with every request)"
        )
    return text.strip()


def base_url_for(region: str | None, base_url: str | None) -> str:
    """--base-url, else --region, else $MTPIPE_BASE_URL, else the Singapore endpoint."""
    if base_url:
        return base_url
    if region:
        if region not in REGIONS:
            raise ConfigError(f"unknown region {region!r}: choose {', '.join(REGIONS)}")
        return REGIONS[region]
    return os.environ.get(ENV_BASE_URL) or DEFAULT_BASE_URL

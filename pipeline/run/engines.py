"""Which engine a job asks, how a run's ledger names it, and what earlier runs learned about it.

:func:`client` builds the engine's client (pseudo, a chat model, or Qwen-MT, with the plain-http
warning of :func:`warn_plain_http`), and :func:`check_engine` checks beforehand that it can be
asked and counted; :func:`engine_identity` is what decides a job's translations besides the
text (part of every cache key); :func:`record_run_start` writes the ``run_start`` line that
opens a ledger; :func:`endpoint` and :func:`learned` read the state a run against the same
endpoint and model left in the cache (see :meth:`mtpipe.records.cache.Cache.remember`). The
CLI's run and the Ray workers (:mod:`mtpipe.integrations.ray_data`) both build their engine
here.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

import httpx

from mtpipe import __version__
from mtpipe.engine.chat import ChatClient
from mtpipe.engine.client import QwenClient, is_loopback
from mtpipe.engine.packing import Learned
from mtpipe.engine.pseudo import PseudoClient
from mtpipe.engine.units import EngineIdentity
from mtpipe.records.cache import Cache
from mtpipe.records.ledger import Ledger
from mtpipe.records.prices import price_for
from mtpipe.run.settings import Job

__all__ = [
    "check_engine",
    "client",
    "endpoint",
    "engine_identity",
    "learned",
    "record_run_start",
    "warn_plain_http",
]


def client(job: Job, transport: httpx.AsyncBaseTransport | None = None) -> Any:
    """The engine ``job`` asks: pseudo, a chat model, or Qwen-MT (over ``transport`` when
    given, see :class:`~mtpipe.run.settings.EngineHooks`)."""
    if job.engine == "pseudo":
        return PseudoClient()
    warn_plain_http(job, stacklevel=3)
    connection: dict[str, Any] = {
        "base_url": job.base_url,
        "api_key": job.api_key(),
        "model": job.model,
        "timeout": job.timeout,
        "transport": transport,
    }
    if job.engine == "chat":
        return ChatClient(**connection, instructions=job.instructions)
    return QwenClient(**connection)


def warn_plain_http(job: Job, stacklevel: int = 2) -> None:
    """Warn when ``job`` would send its API key over plain http to another machine. A loopback
    endpoint is never reached through a proxy (see QwenClient), so the key stays on this
    machine; any other plain-http endpoint, proxied or not, gets the warning."""
    if job.engine == "pseudo":
        return
    if urlsplit(job.base_url).scheme == "http" and not is_loopback(job.base_url):
        warnings.warn(
            f"{job.base_url} is plain http: the API key would travel in clear text",
            stacklevel=stacklevel,
        )


def check_engine(job: Job) -> None:
    """Raise ConfigError for an engine the run could not ask or count, before anything is
    created: a ``--price`` that cannot be read, no API key (which a dry run and the pseudo
    engine do without)."""
    price_for(job.model, job.price, job.engine)
    if job.engine != "pseudo" and not job.dry_run:
        job.api_key()


def engine_identity(job: Job) -> EngineIdentity:
    """What decides ``job``'s translations besides the text (part of every cache key): the
    engine, the model, and a chat model's instructions (other instructions, other
    translations)."""
    if job.engine == "pseudo":
        return EngineIdentity("pseudo", "pseudo")
    variant = ""
    if job.engine == "chat" and job.instructions.strip():
        variant = hashlib.sha256(job.instructions.strip().encode("utf-8")).hexdigest()[:16]
    return EngineIdentity(job.engine, job.model, variant)


def record_run_start(ledger: Ledger, job: Job, files: Sequence[str], **fields: Any) -> None:
    """Append the ``run_start`` line that opens a run's ledger: what ``job`` asks (name, engine,
    model as cached, languages), this mtpipe's version, the ``files`` read, and the ``fields``
    the caller adds (the CLI its estimate, a Ray worker its name and columns)."""
    ledger.append(
        "run_start",
        name=job.name,
        version=__version__,
        engine=job.engine,
        model=engine_identity(job).model,
        source_lang=job.source.code,
        target_langs=[t.code for t in job.targets],
        files=list(files),
        **fields,
    )


def endpoint(job: Job) -> str:
    """The endpoint a run's learned state belongs to (see Cache.remember)."""
    return "pseudo" if job.engine == "pseudo" else job.base_url.rstrip("/")


def learned(job: Job, cache: Cache, model: str) -> Learned | None:
    """What earlier runs learned about ``job``'s endpoint and ``model``, if ``cache`` kept it."""
    state = cache.learned(endpoint(job), model)
    if state is None:
        return None
    try:
        return Learned(
            every=int(state["every"]),
            broken_rate=float(state["broken_rate"]),
            max_segments=int(state["max_segments"]),
            output_ratio=float(state["output_ratio"]),
        )
    except (KeyError, TypeError, ValueError):
        return None

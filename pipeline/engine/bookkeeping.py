"""The pool's figures, and the ledger line of each finished request.

Units translated and failed are counted overall and per input file (:class:`FileCounts`, the
file each unit first occurs in), for a progress display per file.

A finished request is counted (requests or failed requests, tokens, cost from the price table)
and recorded as one ``request`` line of the ledger; the pool commits the request's good
translations to the cache before, so a run killed at any point has recorded all it paid for.
A request whose translations cannot be cached still gets its ledger line: what it cost is
recorded whatever became of what it bought.
The same request is told, once recorded, as one INFO line on the ``mtpipe.requests`` logger
(shown by ``-v``): status, languages, segments, accepted, what the reply checks rejected,
tokens, latency, attempts and why it failed.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import anyio

from mtpipe.engine.units import Unit
from mtpipe.errors import ProviderError, RecordError
from mtpipe.records.cache import Cache
from mtpipe.records.ledger import Ledger
from mtpipe.records.prices import Price

logger = logging.getLogger("mtpipe.requests")


@dataclass
class FileCounts:
    """The units to send of one input file (the file each first occurs in): how many, and how
    many are translated and failed so far."""

    total: int = 0
    done: int = 0
    failed: int = 0


@dataclass
class PoolStats:
    """Live figures for progress display and the run summary."""

    units_total: int = 0
    units_done: int = 0
    units_failed: int = 0
    requests: int = 0
    failed_requests: int = 0
    attempts: int = 0
    throttled: int = 0
    bisections: int = 0
    rejected_checks: int = 0
    #: translations refused by the reply checks (empty, echo, commentary, length)
    rejected_replies: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    #: The units' figures by input file: totals from :meth:`expect`, the rest as units finish.
    files: dict[str, FileCounts] = field(default_factory=dict)

    def expect(self, totals: Mapping[str, int]) -> None:
        """Set how many units each input file has to send (for per-file progress)."""
        for name, total in totals.items():
            self.files.setdefault(name, FileCounts()).total = total

    def count_done(self, units: Iterable[Unit]) -> None:
        """Count ``units`` translated, overall and in their files."""
        for unit in units:
            self.units_done += 1
            self.files.setdefault(unit.file, FileCounts()).done += 1

    def count_failed(self, units: Iterable[Unit]) -> None:
        """Count ``units`` failed, overall and in their files."""
        for unit in units:
            self.units_failed += 1
            self.files.setdefault(unit.file, FileCounts()).failed += 1

    def usage(self) -> dict[str, Any]:
        """What the requests came to, as the ledger's run_end line and the run report give it:
        requests (and failed ones), tokens in, out and in all, cost in USD."""
        return {
            "requests": self.requests,
            "failed_requests": self.failed_requests,
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
            "cost_usd": round(self.cost_usd, 8),
        }


class RequestBook:
    """Counts finished requests into ``stats``, commits their translations to the cache and
    appends their ledger lines.

    The writes run in a worker thread, one request's at a time and in order (cache, then
    ledger), shielded from cancellation: a cache another process holds locked stalls no request,
    the pacer nor the signal watcher, and what was paid for is recorded even when the run is
    cancelled meanwhile.
    """

    def __init__(self, ledger: Ledger, price: Price, model: str, stats: PoolStats, cache: Cache) -> None:
        self.ledger = ledger
        self.price = price
        self.model = model
        self.stats = stats
        self.cache = cache
        self._writer = anyio.Lock()

    async def _write(self, record: Callable[[], None]) -> None:
        with anyio.CancelScope(shield=True):
            async with self._writer:
                await anyio.to_thread.run_sync(record)

    async def commit(self, rows: list[tuple[str, str, str, str]], batch: list[Unit], **line: Any) -> None:
        """Store a reply's good translations (``rows`` of key, text, model, target), then record
        the request as ``ok`` (``line``: :meth:`record`'s arguments); RecordError if either
        cannot be written.

        The request is paid whatever happens to its translations: when the cache write fails,
        its ledger line is still written (``error`` ``not_cached``, after the reply's own error if
        any; ``accepted`` 0) before the cache's error is raised. When the ledger line fails after the translations were cached, they are
        counted done all the same (they are kept: a rerun does not pay for them again).
        """

        def write() -> None:
            try:
                self.cache.put_many(rows)
            except RecordError as uncached:
                # Paid, but none of it kept: nothing accepted, and the reply's own error (a
                # misaligned block, say) still said.
                error = ",".join(filter(None, (line.get("error"), "not_cached")))
                _also(uncached, lambda: self.record(batch, "ok", **{**line, "error": error, "accepted": 0}))
                raise
            try:
                self.record(batch, "ok", **line)
            except RecordError:
                kept = {row[0] for row in rows}
                self.stats.count_done(unit for unit in batch if unit.key in kept)
                raise

        await self._write(write)

    async def failed(self, batch: list[Unit], error: ProviderError, attempts: int, lost: int) -> None:
        """Record a request whose attempts all failed with ``error`` (usage as it reported)."""
        code = error.code or type(error).__name__
        usage = error.usage or (0, 0)
        await self._write(lambda: self.record(batch, "failed", usage, attempts, lost, error=code, detail=str(error)))

    def cancelled(self, batch: list[Unit], attempts: int, lost: int) -> None:
        """Record a request the run's end cut off (``lost`` attempts may be billed). The run is
        ending for another reason already: a ledger that fails now does not replace it."""
        with contextlib.suppress(RecordError):
            self.record(batch, "failed", (0, 0), attempts, lost, error="cancelled")

    def record(
        self,
        batch: list[Unit],
        status: str,
        usage: tuple[int, int],
        attempts: int,
        lost: int,
        *,
        error: str | None,
        latency_ms: int = 0,
        response_id: str = "",
        accepted: int = 0,
        rejected: dict[str, int] | None = None,
        detail: str | None = None,
    ) -> None:
        """Count a finished request and append its ledger line (RecordError if it cannot be),
        then log it (``detail``: the error's message, for the log line only)."""
        cost = self.price.cost(*usage)
        if status == "ok":
            self.stats.requests += 1
        else:
            self.stats.failed_requests += 1
        self.stats.prompt_tokens += usage[0]
        self.stats.completion_tokens += usage[1]
        self.stats.cost_usd += cost
        first = batch[0]
        line: dict[str, Any] = {
            "status": status,
            "model": self.model,
            "source_lang": first.source.code,
            "target_lang": first.target.code,
            "segments": len(batch),
            "files": sorted({u.file for u in batch}),
            "prompt_tokens": usage[0],
            "completion_tokens": usage[1],
            "total_tokens": sum(usage),
            "cost_usd": round(cost, 8),
            "latency_ms": latency_ms,
            "attempts": attempts,
            "lost_attempts": lost,
            "error": error,
            "accepted": accepted,
            "rejected": rejected or {},
            "response_id": response_id,
        }
        self.ledger.append("request", **line)
        if logger.isEnabledFor(logging.INFO):
            logger.info("%s", told(line, detail))


def _also(error: RecordError, record: Callable[[], None]) -> None:
    """Run ``record`` while ``error`` is on its way; if it fails too, ``error`` says both (a
    message naming only the first would hide a missing ledger line or cache write)."""
    try:
        record()
    except RecordError as second:
        error.args = (f"{error}; also {second}",)


def told(line: dict[str, Any], detail: str | None = None) -> str:
    """A request's ledger line as one line for people, e.g. ``request ok en->de: 12 segments,
    11 accepted, rejected echo 1; tokens 450 in + 380 out; 2.3 s; 2 attempts (1 retry)``;
    ``detail`` (the error's message) follows the error code."""
    segments = line["segments"]
    parts = [f"{segments} segment{'s' if segments != 1 else ''}"]
    if line["status"] == "ok":
        parts.append(f"{line['accepted']} accepted")
    if line["rejected"]:
        parts.append("rejected " + ", ".join(f"{why} {n}" for why, n in sorted(line["rejected"].items())))
    text = f"request {line['status']} {line['source_lang']}->{line['target_lang']}: " + ", ".join(parts)
    text += f"; tokens {line['prompt_tokens']} in + {line['completion_tokens']} out"
    if line["latency_ms"]:
        text += f"; {line['latency_ms'] / 1000:.1f} s"
    attempts, lost = line["attempts"], line["lost_attempts"]
    text += f"; {attempts} attempt{'s' if attempts != 1 else ''}"
    notes = [f"{attempts - 1} retr{'ies' if attempts != 2 else 'y'}"] if attempts > 1 else []
    notes += [f"{lost} lost"] if lost else []
    if notes:
        text += f" ({', '.join(notes)})"
    if line["error"]:
        text += f"; error {line['error']}" + (f": {detail}" if detail and detail != line["error"] else "")
    return text

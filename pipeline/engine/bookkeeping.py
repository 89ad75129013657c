"""The pool's figures, and the ledger line of each finished request.

A finished request is counted (requests or failed requests, tokens, cost from the price table)
and recorded as one ``request`` line of the ledger; the pool commits the request's good
translations to the cache before, so a run killed at any point has recorded all it paid for.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.ledger import Ledger
from pipeline.plan import Unit
from pipeline.pricing import Price


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


class RequestBook:
    """Counts finished requests into ``stats`` and appends their ledger lines."""

    def __init__(self, ledger: Ledger, price: Price, model: str, stats: PoolStats) -> None:
        self.ledger = ledger
        self.price = price
        self.model = model
        self.stats = stats

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
    ) -> None:
        """Count a finished request and append its ledger line (RecordError if it cannot be)."""
        cost = self.price.cost(*usage)
        if status == "ok":
            self.stats.requests += 1
        else:
            self.stats.failed_requests += 1
        self.stats.prompt_tokens += usage[0]
        self.stats.completion_tokens += usage[1]
        self.stats.cost_usd += cost
        first = batch[0]
        self.ledger.append(
            "request",
            status=status,
            model=self.model,
            source_lang=first.source.code,
            target_lang=first.target.code,
            segments=len(batch),
            files=sorted({u.file for u in batch}),
            prompt_tokens=usage[0],
            completion_tokens=usage[1],
            total_tokens=sum(usage),
            cost_usd=round(cost, 8),
            latency_ms=latency_ms,
            attempts=attempts,
            lost_attempts=lost,
            error=error,
            accepted=accepted,
            rejected=rejected or {},
            response_id=response_id,
        )

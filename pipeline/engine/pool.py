"""The worker pool: packs units into requests and sends them paced, retried and checked.

For every finished request, in this order: the good translations are committed to the cache,
then the request is appended to the ledger, then anything else (progress, bisection). So a run
killed at any point has recorded everything it paid for, and a rerun does not pay again.

Failure handling per request:

- misaligned reply (markers not ``1..n``), content rejected, too large, cut at the output
  limit: bisect the batch and send the halves, down to single segments;
- a segment whose placeholders came back broken: sent alone once more, then failed (hard
  checks) or accepted (soft checks: the writer degrades, e.g. drops inline formatting);
- auth / quota / bad request: abort the run (the error propagates);
- the cache or the ledger cannot be written (RecordError): abort the run, since what is not
  recorded would be paid for again;
- retryable errors: retried by the RetryPolicy; once the run's retry budget is spent the
  endpoint is declared unhealthy and the run aborts.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterable, Sequence, Sized
from dataclasses import dataclass, field
from typing import Protocol

import anyio

from pipeline.cache import Cache
from pipeline.engine.bookkeeping import PoolStats, RequestBook
from pipeline.engine.client import Reply, TranslationRequest
from pipeline.engine.feed import Feed
from pipeline.engine.inflight import InFlightLimit
from pipeline.engine.pacing import Pacer, request_rate
from pipeline.engine.packing import AdaptivePacks, PackLimits, can_pack, join, split_partial
from pipeline.engine.retry import RetryPolicy
from pipeline.engine.tokens import REQUEST_OVERHEAD_TOKENS, estimate_tokens
from pipeline.errors import (
    BudgetExceeded,
    ContentRejected,
    PipelineError,
    ProviderError,
    RateLimited,
    RecordError,
    ServerError,
    TooLarge,
    Truncated,
)
from pipeline.ledger import Ledger
from pipeline.plan import Unit, pack_by_group
from pipeline.pricing import Price
from pipeline.protect import verify


class Client(Protocol):
    """What the pool needs from an engine: one request in, one reply out."""

    @property
    def name(self) -> str:
        """The model label for ledgers."""
        ...

    async def translate(self, request: TranslationRequest) -> Reply:
        """Translate one request or raise a ProviderError."""
        ...


class EndpointUnhealthy(ProviderError):
    """The run's retry budget is spent: the endpoint keeps failing."""

    fatal_for_run = True


@dataclass
class PoolSettings:
    """Knobs of the pool (the CLI and job files fill them).

    ``concurrency`` caps the requests in flight; with ``adaptive`` the cap grows with the reply
    latency (see :mod:`pipeline.engine.inflight`).
    """

    concurrency: int = 8
    adaptive: bool = False
    limits: PackLimits = field(default_factory=PackLimits)
    max_cost: float | None = None
    output_ratio: float = 1.3


class TranslationPool:
    """Translates units; results land in the cache, failures in ``failures``."""

    def __init__(
        self,
        client: Client,
        pacer: Pacer,
        policy: RetryPolicy,
        cache: Cache,
        ledger: Ledger,
        price: Price,
        settings: PoolSettings,
        on_progress: Callable[[PoolStats], None] | None = None,
    ) -> None:
        self.client = client
        self.pacer = pacer
        self.policy = policy
        self.cache = cache
        self.price = price
        self.settings = settings
        self.on_progress = on_progress
        self.stats = PoolStats()
        self.book = RequestBook(ledger, price, client.name, self.stats)
        #: unit key -> why it failed
        self.failures: dict[str, str] = {}
        #: set when scheduling must stop (budget reached, interrupted)
        self.stopping: str | None = None
        self._in_flight_cost = 0.0
        self._fatal: PipelineError | None = None
        self._output_ratio = settings.output_ratio
        #: segments per request, learned from the replies (see AdaptivePacks)
        self.packs = AdaptivePacks(settings.limits)
        self.in_flight = InFlightLimit(
            settings.concurrency,
            settings.adaptive,
            lambda tokens: request_rate(pacer.rpm, pacer.tpm, tokens),
            self.packs.token_budget,
        )
        self.feed = Feed()

    # ---- public ------------------------------------------------------------------------

    async def run(self, units: Iterable[Unit], total: int | None = None) -> None:
        """Translate every unit (raises on a run-fatal provider error).

        ``units`` may be a stream (e.g. read from the run's work store): a batch is packed from
        it (see :func:`pipeline.plan.pack_by_group`) only when a pacing slot is about to open
        (see :mod:`pipeline.engine.feed`), so memory does not grow with its length, retried
        batches do not wait behind the rest of the run, and segments lost by a misaligned reply
        join the next batch instead of costing a request of their own. ``total`` (default
        ``len(units)`` when it has one) is for progress only. Once the run is stopping (budget,
        interrupt), the rest of the stream is not read: what was not sent is neither in the
        cache nor in ``failures``.
        """
        if total is None and isinstance(units, Sized):
            total = len(units)
        self.stats.units_total += total or 0
        feed = self.feed
        async with anyio.create_task_group() as tg:
            await self._dispatch(pack_by_group(feed.with_requeued(units), _group_of, _size_of, self.packs), tg)
            # The stream is done; what in-flight requests lose from now on is packed on its own.
            while not self.stopping and (feed.has_requeued or feed.outstanding):
                if feed.has_requeued:
                    await self._dispatch(pack_by_group(feed.take_requeued(), _group_of, _size_of, self.packs), tg)
                else:
                    await feed.changed()
        if self._fatal is not None:
            raise self._fatal
        if self.stopping and self.stopping.startswith("budget"):
            raise BudgetExceeded(self.stopping)

    async def _dispatch(self, batches: Iterable[list[Unit]], tg: anyio.abc.TaskGroup) -> None:
        """Start each batch once there is room for it (the batch is packed only then)."""
        pending = iter(batches)
        while True:
            while not self.stopping and self.feed.full(2 * self.in_flight.total):
                await self.feed.changed()
            if self.stopping:
                return
            try:
                batch = next(pending, None)
            except RecordError as unreadable:  # the run's work store failed
                self._abort(unreadable, tg)
                return
            if batch is None:
                return
            self._spawn(batch, tg)

    def _spawn(self, batch: list[Unit], tg: anyio.abc.TaskGroup) -> None:
        """Start sending ``batch``; it counts as waiting until its first pacing slot."""
        self.feed.started()
        tg.start_soon(self._send_counted, batch, tg)

    async def _send_counted(self, batch: list[Unit], tg: anyio.abc.TaskGroup) -> None:
        waiting = True

        def paced() -> None:
            nonlocal waiting
            if waiting:
                waiting = False
                self.feed.paced()

        try:
            await self._send(batch, tg, paced)
        finally:
            paced()
            self.feed.finished()

    def stop(self, reason: str) -> None:
        """Stop scheduling new requests; in-flight ones finish."""
        if self.stopping is None:
            self.stopping = reason
            self.feed.notify()

    # ---- one request ---------------------------------------------------------------------

    def _estimate(self, batch: Sequence[Unit], content: str, terms: tuple[tuple[str, str], ...]) -> tuple[int, int]:
        text_tokens = estimate_tokens(content)
        term_tokens = sum(estimate_tokens(s) + estimate_tokens(t) + 4 for s, t in terms)
        prompt = text_tokens + term_tokens + REQUEST_OVERHEAD_TOKENS
        return prompt, math.ceil(text_tokens * self._output_ratio)

    async def _send(self, batch: list[Unit], tg: anyio.abc.TaskGroup, paced: Callable[[], None]) -> None:
        await self.in_flight.enter()
        try:
            await self._send_in_slot(batch, tg, paced)
        finally:
            self.in_flight.leave()

    async def _send_in_slot(self, batch: list[Unit], tg: anyio.abc.TaskGroup, paced: Callable[[], None]) -> None:
        if self.stopping:
            self._fail(batch, f"not sent: {self.stopping}")
            return
        texts = [u.text for u in batch]
        content = join(texts)
        terms = tuple(dict.fromkeys(t for u in batch for t in u.terms))
        est_prompt, est_completion = self._estimate(batch, content, terms)
        est_cost = self.price.cost(est_prompt, est_completion)
        limit = self.settings.max_cost
        if limit is not None and self.stats.cost_usd + self._in_flight_cost + est_cost > limit:
            self.stop(f"budget: --max-cost ${limit:g} reached (spent ${self.stats.cost_usd:.4f})")
            self._fail(batch, f"not sent: {self.stopping}")
            return
        first = batch[0]
        request = TranslationRequest(
            text=content,
            source_lang=first.source.name,
            target_lang=first.target.name,
            terms=terms,
            domains=first.domains,
        )
        self._in_flight_cost += est_cost
        lost = 0
        tries = 0

        def on_error(error: ProviderError) -> None:
            nonlocal lost
            if isinstance(error, RateLimited):
                self.stats.throttled += 1
                self.pacer.on_throttled()
            if isinstance(error, ServerError) and error.code in ("transport", "timeout", "bad_body"):
                lost += 1
            elif error.status and error.usage is None:
                # The server answered with an error: nothing billed, tokens not spent, and
                # (but for a 429) no request counted against the limit.
                self.pacer.reconcile(est_prompt + est_completion, 0)
                if not isinstance(error, RateLimited):
                    self.pacer.refund_request()

        async def attempt() -> Reply:
            nonlocal tries
            await self.pacer.acquire(est_prompt + est_completion)
            paced()
            tries += 1
            self.stats.attempts += 1
            ticket = self.in_flight.sent()
            try:
                return await self.client.translate(request)
            finally:
                self.in_flight.landed(ticket)

        try:
            reply, _ = await self.policy.call(attempt, on_error)
        except ProviderError as error:
            self._in_flight_cost -= est_cost
            try:
                self._record_failure(batch, error, tries, lost)
            except RecordError as unrecorded:
                self._abort(unrecorded, tg)
                return
            await self._handle_error(batch, error, tg)
            return
        self._in_flight_cost -= est_cost
        self.pacer.on_success()
        self.pacer.reconcile(est_prompt + est_completion, reply.prompt_tokens + reply.completion_tokens)
        self._learn_ratio(content, reply)
        self.in_flight.observe(reply.latency_ms / 1000.0, reply.prompt_tokens + reply.completion_tokens)
        try:
            self._accept(batch, reply, tries, lost, tg)
        except RecordError as unrecorded:  # a reply we could not record: send nothing more
            self._abort(unrecorded, tg)

    def _learn_ratio(self, content: str, reply: Reply) -> None:
        sent = estimate_tokens(content)
        if sent >= 20 and reply.completion_tokens:
            observed = reply.completion_tokens / sent
            self._output_ratio = 0.8 * self._output_ratio + 0.2 * min(max(observed, 0.3), 4.0)

    def _accept(self, batch: list[Unit], reply: Reply, attempts: int, lost: int, tg: anyio.abc.TaskGroup) -> None:
        parts = split_partial(reply.text, len(batch))
        good: list[tuple[Unit, str]] = []
        retry_alone: list[Unit] = []
        resend: list[Unit] = []
        for unit, translated in zip(batch, parts, strict=True):
            if translated is None:
                resend.append(unit)
                continue
            hard = verify(unit.text, translated, unit.checks - unit.soft_checks)
            soft = verify(unit.text, translated, unit.soft_checks)
            if not hard and not soft:
                good.append((unit, translated))
                continue
            self.stats.rejected_checks += 1
            unit.rejections += 1
            if unit.rejections < 2:
                retry_alone.append(unit)
            elif not hard:
                good.append((unit, translated))  # soft checks only: the writer degrades
            else:
                self._fail([unit], "; ".join(hard))
        self.packs.observe(len(batch), len(resend))
        # Cache first, then ledger: an interrupted run keeps what it paid for.
        self.cache.put_many((u.key, text, self.client.name, u.target.code) for u, text in good)
        self.book.record(
            batch,
            "ok",
            (reply.prompt_tokens, reply.completion_tokens),
            attempts,
            lost,
            error="misaligned" if resend else None,
            latency_ms=reply.latency_ms,
            response_id=reply.response_id,
            accepted=len(good),
        )
        self.stats.units_done += len(good)
        if resend:
            self._resend_misaligned(resend, whole=len(resend) == len(batch), tg=tg)
        for unit in retry_alone:
            self._spawn([unit], tg)
        self._progress()

    def _resend_misaligned(self, units: list[Unit], whole: bool, tg: anyio.abc.TaskGroup) -> None:
        """Send again what a misaligned reply lost.

        Lost for the first time: back into the stream, packed into the next batches at the
        segments per request learned so far (see AdaptivePacks), so a lost line costs no request
        of its own and a batch the engine could not keep apart is not bisected level by level.
        Lost again: in batches of at most half of them and of the learned size, a smaller batch
        each time, so this ends with single segments. A single segment whose reply still held a
        marker is a broken reply, like a check failure: sent once more, then failed.
        """
        if whole and len(units) == 1:
            unit = units[0]
            unit.rejections += 1
            if unit.rejections < 2:
                self._spawn(units, tg)
            else:
                self._fail(units, "the reply did not come back as one translation")
            return
        for unit in units:
            unit.losses += 1
        self.feed.requeue(u for u in units if u.losses == 1)
        again = [u for u in units if u.losses > 1]
        size = max(1, min(len(again) // 2, self.packs.max_segments))
        if len(again) > size:
            self.stats.bisections += 1
        for start in range(0, len(again), size):
            self._spawn(again[start : start + size], tg)

    # ---- failures ------------------------------------------------------------------------

    def _record_failure(self, batch: list[Unit], error: ProviderError, attempts: int, lost: int) -> None:
        self.book.record(batch, "failed", error.usage or (0, 0), attempts, lost, error=error.code or type(error).__name__)

    async def _handle_error(self, batch: list[Unit], error: ProviderError, tg: anyio.abc.TaskGroup) -> None:
        if error.fatal_for_run:
            self._abort(error, tg)
            return
        splittable = isinstance(error, (ContentRejected, TooLarge, Truncated))
        if splittable and len(batch) > 1:
            self._bisect(batch, tg)
            return
        if error.retryable and self.policy.budget.exhausted:
            unhealthy = EndpointUnhealthy(
                f"the endpoint keeps failing ({error}); retry budget spent, run stopped",
                status=error.status,
                code=error.code,
            )
            self._abort(unhealthy, tg)
            return
        self._fail(batch, str(error))

    def _abort(self, error: PipelineError, tg: anyio.abc.TaskGroup) -> None:
        """Stop the run: the first fatal error wins and is raised by run()."""
        if self._fatal is None:
            self._fatal = error
        self.stop(f"aborted: {error}")
        tg.cancel_scope.cancel()

    def _bisect(self, batch: list[Unit], tg: anyio.abc.TaskGroup) -> None:
        self.stats.bisections += 1
        middle = len(batch) // 2
        self._spawn(batch[:middle], tg)
        self._spawn(batch[middle:], tg)

    def _fail(self, units: Sequence[Unit], reason: str) -> None:
        for unit in units:
            self.failures[unit.key] = reason
        self.stats.units_failed += len(units)
        self._progress()

    def _progress(self) -> None:
        if self.on_progress is not None:
            self.on_progress(self.stats)


def _group_of(unit: Unit) -> Hashable:
    return (unit.source.name, unit.target.name, unit.domains)


def _size_of(unit: Unit) -> int | None:
    return unit.tokens if can_pack(unit.text) else None

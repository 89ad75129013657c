"""The worker pool: packs units into requests and sends them paced, retried and checked.

For every finished request, in this order: the good translations are committed to the cache,
then the request is appended to the ledger, then anything else (progress, resends of what the
reply lost go back into the stream meanwhile, in memory only). So a run killed at any point has
recorded everything it paid for, and a rerun does not pay again. The writes run in a worker
thread, one request's at a time and in order, shielded from cancellation: a cache another
process holds locked stalls no request, the pacer nor the signal watcher.
A run that aborts (a run-fatal error, a second interrupt) cancels its requests in flight rather
than waiting for them (a dead endpoint may take ``--timeout`` to answer): each one that had
sent an attempt is recorded all the same, as a failed request with error ``cancelled`` whose
attempts cut off on the way count as ``lost_attempts`` (they may be billed).

Every request, first send or resend (a segment retried alone, a bisected batch's halves, what
a misaligned reply lost), is started by one dispatcher under one bound (see
:mod:`mtpipe.engine.feed`), and holds a slot of the in-flight limit only while an attempt is
on its way: a request sleeping in backoff gives its slot to another and takes one again for
its next attempt.

Failure handling per request:

- a block whose place in the reply is not proven (see :mod:`mtpipe.engine.framing`), or a
  packed reply that gave the source back: its segments join the next batches, then smaller
  ones, down to single segments;
- content rejected, too large, cut at the output limit: bisect the batch;
- a translation the reply checks refuse (empty, the source echoed, commentary, out of
  proportion: :mod:`mtpipe.engine.replies`): sent alone once more, then failed; three
  echoed replies in a row abort the run (:class:`EndpointIgnoresOptions`);
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
from collections.abc import Callable, Iterable, Sequence, Sized
from dataclasses import dataclass, field, replace

import anyio

from mtpipe.engine.attempts import Attempts, Client
from mtpipe.engine.bookkeeping import PoolStats, RequestBook
from mtpipe.engine.client import Reply, TranslationRequest
from mtpipe.engine.feed import Feed
from mtpipe.engine.framing import frame
from mtpipe.engine.inflight import InFlightLimit, Slot
from mtpipe.engine.pacing import Pacer, request_rate
from mtpipe.engine.packing import CAUTIOUS_OUTPUT_RATIO, AdaptivePacks, Learned, PackLimits
from mtpipe.engine.reply_stats import OutputRatio
from mtpipe.engine.retry import RetryPolicy
from mtpipe.engine.stopping import Stop, StopReason, aborted, budget_reached
from mtpipe.engine.tokens import count_tokens, prompt_tokens, trusted_usage
from mtpipe.engine.units import Unit, pack_by_group, packed_size, request_group
from mtpipe.engine.verdict import read_reply
from mtpipe.engine.watch import EndpointUnhealthy, EndpointWatch
from mtpipe.errors import (
    BudgetExceeded,
    ContentRejected,
    PipelineError,
    ProviderError,
    RecordError,
    TooLarge,
    Truncated,
)
from mtpipe.records.cache import Cache
from mtpipe.records.ledger import Ledger
from mtpipe.records.prices import Price


@dataclass
class PoolSettings:
    """Knobs of the pool (the CLI and job files fill them).

    ``concurrency`` caps the requests in flight; with ``adaptive`` the cap grows with the reply
    latency (see :mod:`mtpipe.engine.inflight`).
    """

    concurrency: int = 8
    adaptive: bool = False
    limits: PackLimits = field(default_factory=PackLimits)
    max_cost: float | None = None
    #: reply/request tokens assumed until the first reply (see CAUTIOUS_OUTPUT_RATIO)
    output_ratio: float = CAUTIOUS_OUTPUT_RATIO
    #: What an earlier run against the same endpoint and model learned (see AdaptivePacks).
    learned: Learned | None = None


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
        self.book = RequestBook(ledger, price, client.name, self.stats, cache)
        #: unit key -> why it failed
        self.failures: dict[str, str] = {}
        #: set when scheduling must stop (budget reached, interrupted)
        self.stopping: StopReason | None = None
        self._in_flight_cost = 0.0
        self._fatal: PipelineError | None = None
        learned_ratio = settings.learned.output_ratio if settings.learned else None
        self.ratio = OutputRatio(learned_ratio or settings.output_ratio, learned=learned_ratio is not None)
        #: checkpoints and segments per request, learned from the replies (see AdaptivePacks)
        self.packs = AdaptivePacks(settings.limits, settings.learned, paced=not pacer.unlimited)
        #: replies that keep echoing, connections that keep failing
        self.watch = EndpointWatch()
        if pacer.tpm:
            self.packs.billed_per_second = pacer.tpm * pacer.token_headroom / 60.0
        if pacer.rpm:
            self.packs.requests_per_second = pacer.rpm * pacer.headroom / 60.0
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
        it (see :func:`mtpipe.engine.units.pack_by_group`) only when a pacing slot is about to open
        (see :mod:`mtpipe.engine.feed`), so memory does not grow with its length, retried
        batches do not wait behind the rest of the run, and segments lost by a misaligned reply
        join the next batch instead of costing a request of their own. ``total`` (default
        ``len(units)`` when it has one) is for progress only. Once the run is stopping (budget,
        interrupt), the rest of the stream is not read, and batches waiting to be sent again
        are not sent: what was not sent is neither in the cache nor in ``failures``.
        """
        if total is None and isinstance(units, Sized):
            total = len(units)
        self.stats.units_total += total or 0
        feed = self.feed
        async with anyio.create_task_group() as tg:
            stream = feed.with_requeued(self.packs.follow(units, total))
            await self._dispatch(pack_by_group(stream, request_group, packed_size, self.packs), tg)
            # The stream is done; what in-flight requests lose from now on is packed on its own.
            while not self.stopping and (feed.has_requeued or feed.has_resends or feed.outstanding):
                if feed.has_requeued or feed.has_resends:
                    await self._dispatch(pack_by_group(feed.take_requeued(), request_group, packed_size, self.packs), tg)
                else:
                    await feed.changed()
        if self._fatal is not None:
            raise self._fatal
        if self.stopping is not None and self.stopping.kind is Stop.BUDGET:
            raise BudgetExceeded(self.stopping.message)

    async def _dispatch(self, batches: Iterable[list[Unit]], tg: anyio.abc.TaskGroup) -> None:
        """Start each batch once there is room for it: first the batches to send again, then
        the next of ``batches`` (packed only then). Returns when ``batches`` is done."""
        pending = iter(batches)
        while True:
            while not self.stopping and self.feed.full(2 * self.in_flight.total):
                await self.feed.changed()
            if self.stopping:
                return
            batch = self.feed.next_resend()
            if batch is None:
                try:
                    batch = next(pending, None)
                except RecordError as unreadable:  # the run's work store failed
                    self._abort(unreadable, tg)
                    return
            if batch is None:
                return
            self._spawn(batch, tg)

    def _spawn(self, batch: list[Unit], tg: anyio.abc.TaskGroup) -> None:
        """Start sending ``batch`` (only the dispatcher does, within the feed's bound); it
        counts as waiting until its first pacing slot."""
        self.packs.packed(batch)
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

    def stop(self, reason: StopReason) -> None:
        """Stop scheduling new requests; in-flight ones finish."""
        if self.stopping is None:
            self.stopping = reason
            self.feed.notify()

    # ---- one request ---------------------------------------------------------------------

    def learned(self) -> Learned:
        """What this run learned about the endpoint and model, for the next run to start from."""
        return self.packs.learned(round(self.ratio.value, 4))

    def _estimate(self, request: TranslationRequest) -> tuple[int, int]:
        """Prompt tokens of ``request``, and completion tokens to reserve (OutputRatio.cautious)."""
        text_tokens = count_tokens(request.text)
        # An engine that words the request itself (a chat model's system message) counts it.
        count = getattr(self.client, "prompt_tokens", None)
        if callable(count):
            prompt = int(count(request))
        else:
            prompt = prompt_tokens(request.text, request.terms, request.tm_list, request.domains)
        return prompt, math.ceil(text_tokens * self.ratio.cautious)

    async def _send(self, batch: list[Unit], tg: anyio.abc.TaskGroup, paced: Callable[[], None]) -> None:
        slot = self.in_flight.slot()
        await slot.take()
        try:
            await self._send_in_slot(batch, tg, paced, slot)
        finally:
            slot.give_back()

    async def _send_in_slot(
        self, batch: list[Unit], tg: anyio.abc.TaskGroup, paced: Callable[[], None], slot: Slot
    ) -> None:
        if self.stopping:
            self._fail(batch, f"not sent: {self.stopping}")
            return
        every = self.packs.every  # fixed for this batch: the reply is read with it
        content = frame([u.text for u in batch], every)
        terms = tuple(dict.fromkeys(t for u in batch for t in u.terms))
        first = batch[0]
        request = TranslationRequest(
            text=content,
            source_lang=first.source.name,
            target_lang=first.target.name,
            terms=terms,
            domains=first.domains,
        )
        est_prompt, est_completion = self._estimate(request)
        est_cost = self.price.cost(est_prompt, est_completion)
        limit = self.settings.max_cost
        if limit is not None and self.stats.cost_usd + self._in_flight_cost + est_cost > limit:
            self.stop(budget_reached(limit, self.stats.cost_usd))
            self._fail(batch, f"not sent: {self.stopping}")
            return
        self._in_flight_cost += est_cost
        attempts = Attempts(
            request,
            est_prompt + est_completion,
            client=self.client,
            pacer=self.pacer,
            in_flight=self.in_flight,
            slot=slot,
            stats=self.stats,
            watch=self.watch,
            stopping=lambda: self.stopping,
            paced=paced,
        )
        try:
            reply, _ = await self.policy.call(attempts.attempt, attempts.on_error)
        except anyio.get_cancelled_exc_class():
            self._in_flight_cost -= est_cost
            if attempts.tries:
                self.book.cancelled(batch, attempts.tries, attempts.lost)
            raise
        except ProviderError as error:
            self._in_flight_cost -= est_cost
            try:
                if attempts.tries:  # a request that never went out has no ledger line
                    await self.book.failed(batch, error, attempts.tries, attempts.lost)
            except RecordError as unrecorded:
                self._abort(unrecorded, tg)
                return
            await self._handle_error(batch, error, tg)
            return
        self._in_flight_cost -= est_cost
        reported, model = (reply.prompt_tokens, reply.completion_tokens), getattr(self.client, "model", "qwen")
        usage = trusted_usage(est_prompt, reply.text, reported, model)
        reply = replace(reply, prompt_tokens=usage[0], completion_tokens=usage[1])
        self.pacer.on_success()
        self.pacer.reconcile(attempts.reservation, reply.prompt_tokens + reply.completion_tokens)
        if self.ratio.learn(count_tokens(content), reply.completion_tokens):
            self.packs.fit_output(self.ratio.value)
        self.in_flight.observe(reply.latency_ms / 1000.0, reply.prompt_tokens + reply.completion_tokens)
        self.packs.reply_time.observe(reply.completion_tokens, reply.latency_ms / 1000.0)
        try:
            await self._accept(batch, every, reply, attempts.tries, attempts.lost, tg)
        except RecordError as unrecorded:  # a reply we could not record: send nothing more
            self._abort(unrecorded, tg)

    async def _accept(
        self, batch: list[Unit], every: int, reply: Reply, attempts: int, lost: int, tg: anyio.abc.TaskGroup
    ) -> None:
        """Keep what the reply proves (see :mod:`mtpipe.engine.verdict`), resend the rest."""
        verdict = read_reply(batch, every, reply.text)
        self.stats.rejected_checks += verdict.rejected["placeholders"]
        if not verdict.echoed:
            self.stats.rejected_replies += sum(verdict.rejected.values()) - verdict.rejected["placeholders"]
            line_tokens = (reply.prompt_tokens + reply.completion_tokens) / len(batch)
            self.packs.observe(len(batch), len(verdict.resend), verdict.blocks, verdict.broken, line_tokens)
        rows = [(u.key, text, self.client.name, u.target.code) for u, text in verdict.good]
        # In memory only, before the write: the lost segments join the batch being packed now,
        # and an endpoint that keeps echoing is stopped before more requests go out.
        if verdict.resend and self.feed.lost(verdict.resend, self.packs.max_segments):
            self.stats.bisections += 1
        stop = self.watch.replied(verdict.gave_source_back)
        if stop is not None:
            self._abort(stop, tg)
        # Cache first, then ledger: an interrupted run keeps what it paid for.
        await self.book.commit(
            rows,
            batch,
            usage=(reply.prompt_tokens, reply.completion_tokens),
            attempts=attempts,
            lost=lost,
            error=verdict.ledger_error,
            latency_ms=reply.latency_ms,
            response_id=reply.response_id,
            accepted=len(verdict.good),
            rejected=dict(verdict.rejected),
        )
        self.stats.count_done(unit for unit, _ in verdict.good)
        for unit, why in verdict.failed:
            self._fail([unit], why)
        for unit in verdict.retry_alone:
            self.feed.resend([unit])
        self._progress()

    # ---- failures ------------------------------------------------------------------------

    async def _handle_error(self, batch: list[Unit], error: ProviderError, tg: anyio.abc.TaskGroup) -> None:
        if error.fatal_for_run:
            self._fail(batch, str(error))  # this batch was sent: it failed, it is not "not sent"
            self._abort(error, tg)
            return
        splittable = isinstance(error, (ContentRejected, TooLarge, Truncated))
        if splittable and len(batch) > 1:
            self._bisect(batch)
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
        self.stop(aborted(error))
        tg.cancel_scope.cancel()

    def _bisect(self, batch: list[Unit]) -> None:
        self.stats.bisections += 1
        middle = len(batch) // 2
        self.feed.resend(batch[:middle])
        self.feed.resend(batch[middle:])

    def _fail(self, units: Sequence[Unit], reason: str) -> None:
        for unit in units:
            self.failures[unit.key] = reason
        self.stats.count_failed(units)
        self._progress()

    def _progress(self) -> None:
        if self.on_progress is not None:
            self.on_progress(self.stats)


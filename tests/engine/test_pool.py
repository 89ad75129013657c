"""The worker pool with an in-process fake engine: packing, bisection, checks, budgets."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from pathlib import Path

import anyio
import pytest

from mtpipe.engine.client import Reply, TranslationRequest
from mtpipe.engine.framing import can_pack, frame, parse_request, unframe
from mtpipe.engine.pacing import Pacer
from mtpipe.engine.packing import MOST_EVERY, AdaptivePacks, PackLimits
from mtpipe.engine.pool import PoolSettings, TranslationPool
from mtpipe.engine.retry import RetryBudget, RetryPolicy
from mtpipe.engine.stopping import INTERRUPTED, Stop, StopReason
from mtpipe.engine.units import Unit
from mtpipe.engine.watch import EndpointUnhealthy
from mtpipe.errors import (
    AuthError,
    BudgetExceeded,
    ContentRejected,
    RateLimited,
    ServerError,
    Truncated,
)
from mtpipe.records.cache import Cache
from mtpipe.records.ledger import Ledger, read_ledger
from mtpipe.records.prices import Price
from mtpipe.text.languages import Language
from mtpipe.text.protect import Span, split_protected
from mtpipe.text.segments import ALL_CHECKS

EN, DE = Language("en", "English"), Language("de", "German")


def upper(text: str) -> str:
    """A 'translation' that keeps the framing and placeholders: upper-case the plain text."""
    return "".join(p.text if isinstance(p, Span) else p.upper() for p in split_protected(text))


class FakeClient:
    name = "fake-model"

    def __init__(
        self,
        translate: Callable[[str], str] = upper,
        fail: Callable[[TranslationRequest, int], Exception | None] | None = None,
        latency_s: float = 0.0,
        sleep_s: float = 0.0,
    ) -> None:
        self.fn = translate
        self.fail = fail
        self.latency_s = latency_s  # reported in the reply
        self.sleep_s = sleep_s  # really waited
        self.requests: list[TranslationRequest] = []

    async def translate(self, request: TranslationRequest) -> Reply:
        self.requests.append(request)
        if self.fail is not None:
            error = self.fail(request, len(self.requests))
            if error is not None:
                raise error
        if self.sleep_s:
            await anyio.sleep(self.sleep_s)
        text = self.fn(request.text)
        latency_ms = int(1000 * (self.latency_s or self.sleep_s))
        return Reply(text, len(request.text) // 4 + 45, len(text) // 4, f"r{len(self.requests)}", latency_ms)


def unit(i: int, text: str | None = None, soft: frozenset[str] = frozenset()) -> Unit:
    text = text or f"string number {i}"
    return Unit(f"k{i}", text, EN, DE, "", ALL_CHECKS, soft, (), "f.csv", f"row {i}", len(text) // 3)


async def nosleep(_: float) -> None:
    return None


def make_pool(tmp_path: Path, client: FakeClient, pacer: Pacer | None = None, **settings: object) -> tuple[TranslationPool, Cache]:
    cache = Cache(None)
    ledger = Ledger(tmp_path / "ledger.jsonl", "run1")
    pool = TranslationPool(
        client,
        pacer or Pacer(rpm=None, tpm=None),
        RetryPolicy(max_retries=3, base=0.0, sleep=nosleep, budget=RetryBudget(minimum=5, ratio=0.5)),
        cache,
        ledger,
        Price(1.0, 1.0),
        PoolSettings(**{"concurrency": 4, "limits": PackLimits(token_budget=200, max_segments=10), **settings}),  # type: ignore[arg-type]
    )
    return pool, cache


def ledger_lines(tmp_path: Path) -> list[dict[str, object]]:
    return list(read_ledger(tmp_path / "ledger.jsonl"))


def test_packs_and_commits_every_unit(tmp_path: Path) -> None:
    client = FakeClient()
    pool, cache = make_pool(tmp_path, client)
    units = [unit(i) for i in range(25)]
    anyio.run(pool.run, units)
    assert len(client.requests) == 3  # 10 + 10 + 5 (segment cap)
    assert all(cache.get(u.key) == u.text.upper() for u in units)
    lines = ledger_lines(tmp_path)
    assert [line["segments"] for line in lines] == [10, 10, 5] or sorted(l["segments"] for l in lines) == [5, 10, 10]
    assert sum(int(l["prompt_tokens"]) for l in lines) == pool.stats.prompt_tokens
    assert not pool.failures


def merge_lines_of(first: str) -> Callable[[str], str]:
    """An engine that merges the line of unit ``first`` with the next one, whenever both are
    in one block of a request."""

    def translate(text: str) -> str:
        lines = upper(text).split("\n")
        for i, line in enumerate(lines[:-1]):
            if line.split("/>")[-1] == first.upper() and not lines[i + 1].startswith("<m"):
                return "\n".join(lines[:i] + [line + " " + lines[i + 1]] + lines[i + 2 :])
        return "\n".join(lines)

    return translate


def test_merged_lines_go_down_to_single_segments(tmp_path: Path) -> None:
    client = FakeClient(merge_lines_of("string number 0"))
    pool, cache = make_pool(tmp_path, client)
    units = [unit(i) for i in range(8)]
    anyio.run(pool.run, units)
    assert all(cache.get(u.key) == u.text.upper() for u in units)
    sizes = [len(parse_request(r.text)) for r in client.requests]
    # One block of 8 lost (twice: requeued first), then halves until unit 0 goes alone.
    assert sizes[:2] == [8, 8] and sizes[-1] == 1 and len(sizes) <= 8
    assert pool.stats.bisections >= 1
    assert any(line.get("error") == "misaligned" for line in ledger_lines(tmp_path))


def test_broken_placeholder_retried_alone_then_failed(tmp_path: Path) -> None:
    client = FakeClient(lambda t: upper(t).replace("%s", "%d"))  # breaks the placeholder
    pool, cache = make_pool(tmp_path, client)
    units = [unit(0), unit(1, "Save %s now"), unit(2)]
    anyio.run(pool.run, units)
    assert cache.get("k1") is None and "printf" in pool.failures["k1"]
    assert cache.get("k0") == "STRING NUMBER 0"
    alone = [r for r in client.requests if r.text == "Save %s now"]
    assert len(alone) == 1  # retried alone exactly once after the packed attempt


def test_soft_checks_accept_after_one_retry(tmp_path: Path) -> None:
    client = FakeClient(lambda t: upper(t.replace("<g1>", "").replace("</g1>", "")))
    pool, cache = make_pool(tmp_path, client)
    anyio.run(pool.run, [unit(0, "My name <g1>is</g1> Michael", soft=frozenset({"tags"}))])
    assert cache.get("k0") == "MY NAME IS MICHAEL"
    assert len(client.requests) == 2


def test_content_rejection_is_isolated_to_its_segment(tmp_path: Path) -> None:
    def fail(request: TranslationRequest, n: int) -> Exception | None:
        return ContentRejected("DataInspectionFailed", status=400) if "BAD" in request.text else None

    client = FakeClient(fail=fail)
    pool, cache = make_pool(tmp_path, client)
    units = [unit(i) for i in range(7)] + [unit(7, "a BAD string")]
    anyio.run(pool.run, units)
    assert set(pool.failures) == {"k7"}
    assert all(cache.get(f"k{i}") for i in range(7))


def test_transient_errors_are_retried(tmp_path: Path) -> None:
    client = FakeClient(fail=lambda r, n: ServerError("503", status=503) if n % 2 else None)
    pool, cache = make_pool(tmp_path, client)
    anyio.run(pool.run, [unit(0)])
    assert cache.get("k0") and pool.stats.attempts == 2
    assert ledger_lines(tmp_path)[0]["attempts"] == 2


def test_auth_error_aborts_the_run(tmp_path: Path) -> None:
    client = FakeClient(fail=lambda r, n: AuthError("401", status=401))
    pool, _ = make_pool(tmp_path, client)
    with pytest.raises(AuthError):
        anyio.run(pool.run, [unit(i) for i in range(30)])
    assert len(client.requests) <= 4  # at most the requests already in flight
    # The batch that got the 401 was sent: it failed with the error, it is not "not sent".
    sent = {u.key for r in client.requests[:1] for u in [unit(i) for i in range(30)] if u.text in r.text}
    assert sent and all(pool.failures[key] == "401" for key in sent)


def test_dead_endpoint_ends_in_bounded_attempts(tmp_path: Path) -> None:
    client = FakeClient(fail=lambda r, n: ServerError("503", status=503))
    pool, _ = make_pool(tmp_path, client)
    with pytest.raises(EndpointUnhealthy):
        anyio.run(pool.run, [unit(i) for i in range(100)])
    assert len(client.requests) < 40


def test_max_cost_stops_scheduling(tmp_path: Path) -> None:
    client = FakeClient()
    pool, cache = make_pool(tmp_path, client, max_cost=0.0003, concurrency=1)
    with pytest.raises(BudgetExceeded) as caught:
        anyio.run(pool.run, [unit(i) for i in range(50)])
    assert 0 < pool.stats.cost_usd <= 0.0003
    assert len(pool.failures) > 0 and len(cache) > 0
    assert pool.stopping is not None and pool.stopping.kind is Stop.BUDGET
    message = f"budget: --max-cost $0.0003 reached (spent ${pool.stats.cost_usd:.4f})"
    assert str(caught.value) == message and set(pool.failures.values()) == {f"not sent: {message}"}


@pytest.mark.parametrize(
    ("stop_on_request", "kind", "message"),
    [(lambda pool: pool.stop(INTERRUPTED), Stop.INTERRUPTED, "interrupted"), (None, Stop.ABORTED, "aborted: budget")],
)
def test_a_stop_that_is_not_the_budget_never_raises_budget_exceeded(
    tmp_path: Path, stop_on_request: Callable[[TranslationPool], None] | None, kind: Stop, message: str
) -> None:
    """The kind decides, not the wording: an auth error whose text starts with "budget" aborts."""
    pool: TranslationPool | None = None

    def fail(request: TranslationRequest, n: int) -> Exception | None:
        if n < 2:
            return None
        if stop_on_request is None:
            return AuthError("budget", status=401)
        assert pool is not None
        stop_on_request(pool)
        return None

    pool, _ = make_pool(tmp_path, FakeClient(fail=fail), concurrency=1, limits=PackLimits(token_budget=20, max_segments=1))
    if kind is Stop.ABORTED:
        with pytest.raises(AuthError):
            anyio.run(pool.run, [unit(i) for i in range(10)])
    else:
        anyio.run(pool.run, [unit(i) for i in range(10)])  # returns: the caller reports the interrupt
    assert pool.stopping == StopReason(kind, message) and str(pool.stopping) == message


def test_ledger_lines_have_the_documented_fields(tmp_path: Path) -> None:
    pool, _ = make_pool(tmp_path, FakeClient())
    anyio.run(pool.run, [unit(0)])
    line = ledger_lines(tmp_path)[0]
    for field in ("v", "ts", "run_id", "event", "status", "model", "source_lang", "target_lang", "segments",
                  "files", "prompt_tokens", "completion_tokens", "total_tokens", "cost_usd", "latency_ms",
                  "attempts", "error", "response_id"):
        assert field in line, field
    assert line["event"] == "request" and line["status"] == "ok" and line["files"] == ["f.csv"]
    json.dumps(line)


def test_frame_unframe_round_trip() -> None:
    texts = ["a", "b\nc", "d %s", "e", "f"]
    content = frame(texts, 2)
    assert content == "<m1/>a\nb<n/>c\n<m2/>d %s\ne\n<m3/>f"
    assert unframe(content, 5, 2) == (texts, 0)
    assert parse_request(content) == texts
    # Block 2 lost its line break, block 3 its checkpoint: only those are lost.
    assert unframe(content.replace("d %s\ne", "d %s e"), 5, 2) == (["a", "b\nc", None, None, "f"], 1)
    assert unframe(content.replace("<m3/>", ""), 5, 2) == (["a", "b\nc", None, None, None], 2)
    # A duplicated checkpoint proves neither block, nor the one before it.
    assert unframe(content.replace("<m2/>", "<m3/>"), 5, 2)[0] == [None] * 5
    assert frame(["x"], 2) == "x" and unframe("x <m2/>", 1, 2) == (["x <m2/>"], 0)
    assert not can_pack("see <m3/> here") and not can_pack("a <n/> b") and can_pack("<b>bold</b> <x1/>")


def test_unframe_keeps_what_stayed_in_place() -> None:
    reply = "<m1/>A\n<m2/>B C\n<m4/>D\n<m5/>E"  # line 3 merged into line 2, with its checkpoint
    assert unframe(reply, 5, 1) == (["A", None, None, "D", "E"], 2)
    assert unframe("<m1/>A\n\nB\n", 2, 2) == (["A", "B"], 0)  # blank lines carry nothing
    assert unframe("junk <m1/>A\n<m2/>B", 2, 1) == ([None, None], 2)
    assert unframe("<m1/>A\n<m1/>B", 2, 1) == ([None, None], 2)
    assert unframe("<m1/>A\n<m2/>B\n<m3/>C", 2, 1) == (["A", None], 1)
    assert unframe("<m1/>A\nB\nNote: done", 2, 2) == ([None, None], 1)  # a trailing note


def merging_first_reply() -> Callable[[str], str]:
    """A translation whose first reply merges the lines of units 2 and 3 (block 2 of 2 lines)."""
    calls = {"n": 0}

    def translate(text: str) -> str:
        calls["n"] += 1
        out = upper(text)
        return out.replace("NUMBER 2\nSTRING", "NUMBER 2 STRING", 1) if calls["n"] == 1 else out

    return translate


def test_a_merged_reply_resends_only_the_lost_block(tmp_path: Path) -> None:
    client = FakeClient(merging_first_reply())
    pool, cache = make_pool(tmp_path, client, limits=PackLimits(token_budget=200, max_segments=10, every=2))
    units = [unit(i) for i in range(8)]
    anyio.run(pool.run, units)
    assert all(cache.get(u.key) == u.text.upper() for u in units)
    assert [len(parse_request(r.text)) for r in client.requests] == [8, 2]
    assert pool.stats.bisections == 0


def test_segments_lost_mid_run_join_the_next_fresh_batch(tmp_path: Path) -> None:
    client = FakeClient(merging_first_reply())
    pool, cache = make_pool(tmp_path, client, limits=PackLimits(token_budget=200, max_segments=10, every=2))
    units = [unit(i) for i in range(25)]
    anyio.run(pool.run, units)
    assert all(cache.get(u.key) == u.text.upper() for u in units)
    sizes = [len(parse_request(r.text)) for r in client.requests]
    # 10 (two lost) + 10 + the last 5 with the two lost ones: no request of their own.
    assert sizes == [10, 10, 7]
    assert sum(int(l["accepted"]) for l in ledger_lines(tmp_path)) == 25


def test_a_segment_lost_twice_is_sent_on_its_own_way_down(tmp_path: Path) -> None:
    client = FakeClient(merge_lines_of("string number 2"))
    pool, cache = make_pool(tmp_path, client, limits=PackLimits(token_budget=200, max_segments=10, every=2))
    units = [unit(i) for i in range(25)]
    anyio.run(pool.run, units)
    sizes = [len(parse_request(r.text)) for r in client.requests]
    # Lost with unit 3 from the first batch, the pair joins the third; lost again there (with
    # what shared its block, which rejoins the stream), it is split: single segments.
    assert sizes[:3] == [10, 10, 7] and sizes[3:5] == [1, 1] and len(sizes) <= 6
    assert [r.text for r in client.requests].count("string number 2") == 1
    assert not pool.failures
    assert all(cache.get(u.key) == u.text.upper() for u in units)


@pytest.mark.parametrize("adaptive", [True, False])
def test_in_flight_limit_grows_with_the_reply_latency_when_adaptive(tmp_path: Path, adaptive: bool) -> None:
    # 6,000 RPM is 100 requests/s: at 2 s per reply that needs 200 in flight (x 1.5 margin).
    client = FakeClient(latency_s=2.0)
    pool, _ = make_pool(tmp_path, client, Pacer(rpm=6000, tpm=None), adaptive=adaptive)
    anyio.run(pool.run, [unit(i) for i in range(30)])
    assert pool.in_flight.total == (256 if adaptive else 4)  # capped at the HTTP client's connections


def test_in_flight_limit_grows_before_the_first_slow_reply(tmp_path: Path) -> None:
    # One slot, replies that take 1.5 s: the batches waiting for the slot see the request in
    # flight age past a second, a lower bound of the latency, and the limit grows to let them go.
    client = FakeClient(sleep_s=1.5)
    pool, cache = make_pool(tmp_path, client, Pacer(rpm=6000, tpm=None), adaptive=True, concurrency=1)

    async def bounded() -> None:
        with anyio.fail_after(10):
            await pool.run([unit(i) for i in range(30)])

    anyio.run(bounded)
    assert pool.in_flight.total > 1
    assert all(cache.get(f"k{i}") for i in range(30))


def keeping_at_most(lines: int) -> Callable[[str], str]:
    """An engine that merges every line of a request holding more than ``lines`` segments."""

    def translate(text: str) -> str:
        out = upper(text)
        if out.count("\n") >= lines:
            return " ".join(out.split("\n"))
        return out

    return translate


def test_packs_shrink_to_what_the_engine_keeps_in_line(tmp_path: Path) -> None:
    client = FakeClient(keeping_at_most(6))
    pool, cache = make_pool(tmp_path, client, limits=PackLimits(token_budget=10_000, max_segments=32), concurrency=1)
    units = [unit(i) for i in range(300)]
    anyio.run(pool.run, units)
    assert all(cache.get(u.key) == u.text.upper() for u in units)
    # Without learning, every batch of 32 would be resent in halves down to 4: about 140
    # requests. Checkpoints tighten first, then the packs settle near the engine's 6 lines.
    assert len(client.requests) < 90
    assert pool.packs.max_segments <= 6


def test_packs_grow_back_while_replies_stay_aligned() -> None:
    packs = AdaptivePacks(PackLimits(token_budget=1000, max_segments=40, every=4))
    packs.observe(40, 30, blocks=10, broken=8)  # most blocks lost
    assert packs.max_segments == 20
    packs.observe(40, 2, blocks=10, broken=1)  # one broken block: not a sign the batch is too big
    assert packs.max_segments == 20
    for _ in range(5):
        packs.observe(packs.max_segments, 0, blocks=5)
    assert packs.max_segments == 39  # just under the size that failed
    for _ in range(AdaptivePacks.PROBE_EVERY + 1):
        packs.observe(packs.max_segments, 0, blocks=10)
    assert packs.max_segments == 40  # tried again after a while


def test_one_broken_block_tightens_checkpoints_not_packs() -> None:
    packs = AdaptivePacks(PackLimits(token_budget=1000, max_segments=40, every=16))
    for _ in range(10):
        packs.observe(40, 16, blocks=3, broken=1, line_tokens=17.0)  # one block in three
    assert packs.max_segments == 40 and packs.every < 16
    dense = packs.every
    for _ in range(60):
        packs.observe(40, 0, blocks=40 // packs.every + 1, line_tokens=17.0)
    assert packs.every > dense and packs.every == MOST_EVERY  # an engine that keeps lines apart


def test_at_one_segment_a_request_packing_is_tried_again_now_and_then() -> None:
    packs = AdaptivePacks(PackLimits(token_budget=1000, max_segments=40, every=1))
    packs.observe(2, 2, blocks=2, broken=2)
    assert packs.max_segments == 1
    for _ in range(AdaptivePacks.PROBE_EVERY):
        packs.observe(1, 0)
    assert packs.max_segments == 2
    unpacked = AdaptivePacks(PackLimits(token_budget=1000, max_segments=1))  # --no-packing
    for _ in range(AdaptivePacks.PROBE_EVERY):
        unpacked.observe(1, 0)
    assert unpacked.max_segments == 1


@pytest.mark.parametrize("marker", ["<m{}/>", "<m{} />", "<M{}/>", "<m{}>", "＜m{}/＞", "< m{} / >"])
def test_checkpoint_variants_an_engine_may_write_still_align(marker: str) -> None:
    reply = "\n".join(marker.format(i) + text for i, text in enumerate(["Eins", "Zwei", "Drei"], start=1))
    assert unframe(reply, 3, 1) == (["Eins", "Zwei", "Drei"], 0)
    assert unframe(reply.replace("Zwei", "Zwei＜n/＞zwei"), 3, 1)[0] == ["Eins", "Zwei\nzwei", "Drei"]
    assert not can_pack("Press <M2> to go on") and can_pack("x < m y > 2")


# ---- resends, in-flight slots, aborts --------------------------------------------------------


def breaking_packed_placeholders(text: str) -> str:
    """Breaks every placeholder of a packed request; a segment sent alone comes back right."""
    return upper(text).replace("%s", "%d") if "\n" in text else upper(text)


def rejecting(word: str) -> Callable[[TranslationRequest, int], Exception | None]:
    return lambda request, n: ContentRejected("DataInspectionFailed", status=400) if word in request.text else None


@pytest.mark.parametrize(
    ("client", "text"),
    [
        pytest.param(lambda: FakeClient(breaking_packed_placeholders), "Save %s number {}", id="retried-alone"),
        pytest.param(lambda: FakeClient(fail=rejecting("number 7")), "string number {}", id="bisected"),
        pytest.param(lambda: FakeClient(merge_lines_of("string number 0")), "string number {}", id="misaligned"),
    ],
)
def test_resends_wait_for_room_like_fresh_batches(tmp_path: Path, client: Callable[[], FakeClient], text: str) -> None:
    fake = client()
    pool, cache = make_pool(tmp_path, fake, concurrency=1, limits=PackLimits(token_budget=400, max_segments=10, every=2))
    feed = pool.feed
    seen: list[int] = []
    started = feed.started

    def counting() -> None:
        started()
        seen.append(feed.outstanding)

    feed.started = counting  # type: ignore[method-assign]
    units = [unit(i, text.format(i)) for i in range(10)]
    anyio.run(pool.run, units)
    assert max(seen) <= 2 * pool.in_flight.total == 2  # the bound fresh batches keep to
    assert len(seen) == len(fake.requests) > 2
    assert all(cache.get(u.key) for u in units if u.text != "string number 7")


def test_a_request_in_backoff_gives_its_slot_to_another(tmp_path: Path) -> None:
    # One slot; the first request is throttled with a long Retry-After, a wait that ends only
    # once the second request went through: it can only if the first gave its slot back.
    sent: dict[str, anyio.Event] = {}

    def fail(request: TranslationRequest, n: int) -> Exception | None:
        if n == 1:
            return RateLimited("Throttling", status=429, retry_after=30.0)
        sent["second"].set()
        return None

    client = FakeClient(fail=fail)
    pool, cache = make_pool(tmp_path, client, concurrency=1, limits=PackLimits(token_budget=200, max_segments=1))

    async def retry_after(_: float) -> None:
        await sent["second"].wait()

    pool.policy.sleep = retry_after

    async def scenario() -> None:
        sent["second"] = anyio.Event()
        with anyio.fail_after(3):
            await pool.run([unit(0), unit(1)])

    anyio.run(scenario)
    assert [r.text for r in client.requests] == ["string number 0", "string number 1", "string number 0"]
    assert cache.get("k0") == "STRING NUMBER 0" and cache.get("k1") == "STRING NUMBER 1"
    assert pool.in_flight.total == 1


class CutOff(FakeClient):
    """Unit 0's request hangs on the wire; unit 2's times out, then waits in backoff; unit 1's
    is refused (401) once both are there: the run aborts with both still going."""

    def __init__(self) -> None:
        super().__init__()
        self.waiting: list[anyio.Event] = []

    async def translate(self, request: TranslationRequest) -> Reply:
        self.requests.append(request)
        if request.text == "string number 0":
            self.waiting[0].set()
            await anyio.sleep_forever()
        if request.text == "string number 2":
            raise ServerError("timeout after 120s", code="timeout")
        for event in self.waiting:
            await event.wait()
        raise AuthError("HTTP 401 InvalidApiKey", status=401, code="InvalidApiKey")


def test_an_abort_records_the_requests_it_cuts_off(tmp_path: Path) -> None:
    client = CutOff()
    pool, _ = make_pool(tmp_path, client, concurrency=3, limits=PackLimits(token_budget=200, max_segments=1))

    async def backoff(_: float) -> None:
        client.waiting[1].set()
        await anyio.sleep_forever()

    pool.policy.sleep = backoff

    async def scenario() -> None:
        client.waiting = [anyio.Event(), anyio.Event()]
        with anyio.fail_after(3):
            await pool.run([unit(0), unit(1), unit(2)])

    with pytest.raises(AuthError):
        anyio.run(scenario)
    lines = {line["error"]: line for line in ledger_lines(tmp_path)}
    assert set(lines) == {"InvalidApiKey", "cancelled"} and len(ledger_lines(tmp_path)) == 3
    cancelled = [line for line in ledger_lines(tmp_path) if line["error"] == "cancelled"]
    # On the wire when cut off: one attempt, lost. In backoff: its timed-out attempt, lost.
    assert [(c["status"], c["attempts"], c["lost_attempts"], c["segments"]) for c in cancelled] == [("failed", 1, 1, 1)] * 2
    assert pool.stats.failed_requests == 3


def test_each_finished_request_is_one_log_line(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    flaky = {"n": 0}

    def fail(request: TranslationRequest, n: int) -> Exception | None:
        flaky["n"] += 1
        return ServerError("HTTP 503 ModelUnavailable: overloaded", status=503) if flaky["n"] == 1 else None

    client = FakeClient(lambda t: upper(t).replace("%s", "%d"), fail=fail)
    pool, _ = make_pool(tmp_path, client)
    with caplog.at_level(logging.INFO, logger="mtpipe.requests"):
        anyio.run(pool.run, [unit(0), unit(1, "Save %s now"), unit(2)])
    told = [r.getMessage() for r in caplog.records if r.name == "mtpipe.requests"]
    assert len(told) == len(ledger_lines(tmp_path)) == 2
    packed, alone = told
    assert re.fullmatch(
        r"request ok en->de: 3 segments, 2 accepted, rejected placeholders 1; tokens \d+ in \+ \d+ out; "
        r"2 attempts \(1 retry\)",
        packed,
    ), packed
    assert alone.startswith("request ok en->de: 1 segment, 0 accepted, rejected placeholders 1;"), alone
    assert alone.endswith("; 1 attempt")


def test_a_failed_request_says_why(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    client = FakeClient(fail=rejecting("BAD"))
    pool, _ = make_pool(tmp_path, client)
    with caplog.at_level(logging.INFO, logger="mtpipe.requests"):
        anyio.run(pool.run, [unit(0, "a BAD string")])
    (told,) = [r.getMessage() for r in caplog.records if r.name == "mtpipe.requests"]
    assert told == (
        "request failed en->de: 1 segment; tokens 0 in + 0 out; 1 attempt; "
        "error ContentRejected: DataInspectionFailed"
    )


def test_a_reply_billed_though_it_failed_is_reconciled_with_the_pacer(tmp_path: Path) -> None:
    """A reply cut at the output limit is billed in full (its usage) though it failed; the pacer
    only learned the cost of errors with an HTTP status, so its schedule ran ahead of what the
    provider counted (8,100 tokens billed, 63 reserved)."""

    def truncated(_request: TranslationRequest, _n: int) -> Exception:
        error = Truncated("reply cut at the output limit (finish_reason length)", code="length")
        error.usage = (100, 8_000)
        return error

    pacer = Pacer(rpm=None, tpm=600_000, clock=lambda: 0.0)  # 10,000 tokens a second; time stands still
    pool, _ = make_pool(tmp_path, FakeClient(fail=truncated), pacer)
    anyio.run(pool.run, [unit(1)])
    assert pool.stats.completion_tokens == 8_000
    assert pacer._next_token is not None and pacer._next_token >= 8_100 / 10_000 - 1e-9

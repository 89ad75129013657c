"""Pack sizes: from the limits, warming up, following the output ratio, shrinking at the end;
and what a run learned kept for the next one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from mtpipe.engine.framing import frame
from mtpipe.engine.packing import (
    CAUTIOUS_OUTPUT_RATIO,
    SECOND_SHARE,
    AdaptivePacks,
    Learned,
    PackLimits,
    framed_tokens,
    line_tokens,
)
from mtpipe.engine.reply_stats import ReplyTime
from mtpipe.engine.tail import Pace, tail_pack
from mtpipe.engine.tokens import count_tokens, estimate_tokens, exact_counts, prompt_tokens
from mtpipe.records.cache import Cache
from mtpipe.records.ledger import read_ledger
from mtpipe.run.runner import translate
from mtpipe.run.settings import InputSpec, Job
from mtpipe.testing import EmulatorConfig, run_emulator
from mtpipe.text.languages import resolve
from tests.conftest import KEY, KEY_ENV


def test_tokens_are_qwens() -> None:
    assert exact_counts()
    assert count_tokens("<m12/>") == 4  # <m 1 2 />: every digit a token
    assert count_tokens("Open file") == 2
    assert count_tokens("") == 0
    assert prompt_tokens("Open file", terms=[("file", "Datei")]) == 2 + 45 + 1 + count_tokens("Datei")
    assert estimate_tokens("Open file") == 3  # the fallback where no tokenizer serves


def test_framing_estimate_is_close_to_the_real_count() -> None:
    texts = [f"Open the {w} window" for w in ("file", "edit", "view", "help", "tools")] * 20
    for every in (1, 8, 32):
        real = count_tokens(frame(texts, every))
        estimated = framed_tokens(sum(count_tokens(t) for t in texts), len(texts), every)
        assert abs(estimated / real - 1) < 0.06, every
    assert line_tokens(32) < line_tokens(8) < line_tokens(1)


def test_request_size_follows_the_limits_and_stays_under_a_second_of_tokens() -> None:
    limits = PackLimits.for_limits(60, 100_000)
    assert limits.request_tokens == pytest.approx(2 * 100_000 / 60 * 1.25 / 2)  # 1.25 x TPM/RPM
    fast = PackLimits.for_limits(120, 200_000)
    assert fast.request_tokens == pytest.approx(SECOND_SHARE * 200_000 / 60)
    assert fast.budget_for(1.0) > fast.budget_for(3.0)
    assert PackLimits.for_limits(60, 100_000, packing=False).max_segments == 1


def test_a_fresh_run_warms_up_until_the_first_reply() -> None:
    limits = PackLimits.for_limits(120, 200_000)
    packs = AdaptivePacks(limits)
    full = limits.budget_for(CAUTIOUS_OUTPUT_RATIO)
    assert packs.token_budget == full >> AdaptivePacks.WARM_SHIFT
    packs.packed()
    assert packs.token_budget == full >> (AdaptivePacks.WARM_SHIFT - 1)
    packs.fit_output(1.3)  # the first reply: the real ratio, full packs
    assert packs.token_budget == limits.budget_for(1.3) > full
    learned = AdaptivePacks(limits, Learned(every=32, broken_rate=0.0, max_segments=200, output_ratio=1.3))
    assert learned.token_budget == limits.budget_for(1.3)  # a known endpoint: no warm-up
    small = AdaptivePacks(limits)
    small.remaining_tokens = full  # a run of one pack gains nothing from warming up
    assert small.token_budget == full


def test_unpaced_packs_keep_their_limits() -> None:
    limits = PackLimits.for_limits(120, 200_000)
    packs = AdaptivePacks(limits, paced=False)
    packs.fit_output(2.5)
    assert packs.token_budget == limits.token_budget


def test_reply_time_fits_a_line() -> None:
    model = ReplyTime()
    assert model.line() is None
    for tokens in (100, 400, 1600, 800):
        model.observe(tokens, 0.2 + 0.002 * tokens)
    fixed, per_token = model.line() or (0.0, 0.0)
    assert fixed == pytest.approx(0.2, abs=1e-6) and per_token == pytest.approx(0.002, abs=1e-9)


def test_the_last_packs_shrink_so_their_replies_land_together() -> None:
    limits = PackLimits.for_limits(120, 200_000)
    packs = AdaptivePacks(limits, Learned(every=32, broken_rate=0.0, max_segments=200, output_ratio=2.0))
    packs.billed_per_second, packs.requests_per_second = 200_000 / 60, 2.0
    for tokens in (200, 2000):
        packs.reply_time.observe(tokens, 0.2 + 0.002 * tokens)
    full = packs.token_budget
    packs.remaining_tokens = 50 * full
    assert packs.token_budget == full  # far from the end
    sizes = []
    for left in (4, 2, 1, 0.5):
        packs.remaining_tokens = left * full
        sizes.append(packs.token_budget)
    assert sizes == sorted(sizes, reverse=True) and sizes[-1] < full


def landings(packs: list[float], pace: Pace) -> list[float]:
    """When each reply lands: each pack sent as soon as the pacing allows after the one before
    it (the token rate, the request rate), its reply taking pace.reply(size)."""
    sent, landed = 0.0, []
    for number, size in enumerate(packs):
        sent += pace.gap(packs[number - 1]) if number else 0.0
        landed.append(sent + pace.reply(size))
    return landed


def planned(remaining: float, full: float, pace: Pace) -> list[float]:
    """The packs a run's end is cut into when each is planned as the end comes closer."""
    packs = []
    while remaining > 0:
        size = min(remaining, tail_pack(remaining, full, pace) or full)
        packs.append(size)
        remaining -= size
    return packs


@pytest.mark.parametrize("remaining", [3_000, 10_000, 20_000, 60_000])
def test_the_planned_end_of_a_run_lands_sooner_than_full_packs_or_packs_the_request_limit_fills(
    remaining: float,
) -> None:
    # 200k TPM / 120 RPM; replies take 0.2 s + 1.5 ms per billed token; full packs of 2,000.
    pace = Pace(fixed=0.2, per_billed=0.0015, billed_per_second=200_000 / 60, requests_per_second=2.0)
    full, fills = 2_000.0, 200_000 / 60 / 2.0  # the smallest pack that keeps the token rate busy
    plan = planned(remaining, full, pace)
    assert sum(plan) == pytest.approx(remaining)
    full_packs = [full] * int(remaining // full) + [remaining % full]
    floor = [min(full, max(fills, size)) for size in plan]  # the old rule: never under `fills`
    end = max(landings(plan, pace))
    assert end < max(landings(full_packs, pace)) - 0.5
    assert end <= max(landings(floor, pace))
    assert end - min(landings(plan, pace)[-4:]) < 0.6  # the last replies land together


def test_the_cache_keeps_what_a_run_learned(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "c.sqlite")
    assert cache.learned("https://x/v1", "qwen-mt-turbo") is None
    cache.remember("https://x/v1", "qwen-mt-turbo", {"every": 32, "output_ratio": 1.4})
    cache.close()
    again = Cache(tmp_path / "c.sqlite")
    assert again.learned("https://x/v1", "qwen-mt-turbo") == {"every": 32, "output_ratio": 1.4}
    assert again.learned("https://x/v1", "qwen-mt-plus") is None


def test_a_second_run_against_the_same_endpoint_starts_where_the_first_ended(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(KEY_ENV, KEY)
    texts = [f"Please open window number {i} of the settings" for i in range(400)]
    with run_emulator(EmulatorConfig(api_key=KEY, rpm=None, tpm=None)) as emu:
        for run, chunk in enumerate((texts[:200], texts[200:])):
            data = tmp_path / f"ui{run}.csv"
            data.write_text("text\n" + "\n".join(chunk) + "\n", encoding="utf-8")
            job = Job(
                inputs=[InputSpec(data)],
                targets=[resolve("de")],
                source=resolve("en"),
                out=tmp_path / "out",
                base_url=emu.base_url,
                api_key_env=KEY_ENV,
                ledger=tmp_path / f"ledger{run}.jsonl",
                cache=tmp_path / "cache.sqlite",
                rpm=1200,
                tpm=2_000_000,
                options={"columns": ["text"]},
            )
            assert translate(job).exit_code == 0
    state = Cache(tmp_path / "cache.sqlite").learned(emu.base_url.rstrip("/"), "qwen-mt-turbo")
    # It learned that this engine keeps lines apart and what its replies weigh.
    assert state is not None and state["broken_rate"] < AdaptivePacks.PRIOR_RATE
    assert state["output_ratio"] > 1.0
    first, second = (
        [line["segments"] for line in read_ledger(tmp_path / f"ledger{run}.jsonl") if line["event"] == "request"]
        for run in (0, 1)
    )
    assert first[0] < second[0]  # the first run warmed up; the second knew the endpoint


def test_usage_below_the_local_count_or_beyond_the_text_is_not_trusted() -> None:
    from mtpipe.engine.tokens import trusted_usage

    sent = prompt_tokens("Open the file now")
    back = "Öffnen Sie die Datei jetzt"
    assert trusted_usage(sent, back, (sent, count_tokens(back))) == (sent, count_tokens(back))
    assert trusted_usage(sent, back, (sent - 5, count_tokens(back))) == (sent - 5, count_tokens(back))  # a leaner template
    assert trusted_usage(sent, back, (-100, -3)) == (sent, count_tokens(back))  # negative
    assert trusted_usage(sent, back, (0, 0)) == (sent, count_tokens(back))  # missing
    assert trusted_usage(sent, back, (10**9, 10**9)) == (sent, count_tokens(back))  # absurd


def test_another_vendors_usage_is_believed_below_the_estimate_but_not_far_below() -> None:
    from mtpipe.engine.tokens import ESTIMATE_SLACK, estimate_tokens, trusted_usage

    sent, back = prompt_tokens("Open the file now"), "Öffnen Sie die Datei jetzt"
    leaner = int(estimate_tokens(back) * 0.8)  # its own tokenizer counts fewer than the estimate
    assert trusted_usage(sent, back, (sent, leaner), "llama-3.1-8b") == (sent, leaner)
    assert trusted_usage(sent, back, (sent, leaner), "qwen-plus")[1] == count_tokens(back)
    far_below = int(estimate_tokens(back) * ESTIMATE_SLACK) - 1
    assert trusted_usage(sent, back, (sent, far_below), "llama-3.1-8b")[1] == estimate_tokens(back)


def test_units_read_for_packs_still_open_count_as_remaining_at_the_end() -> None:
    """pack_by_group keeps a pack open per target language and reads the unit that opens the
    next one; making a pack used to forget all of them, so the end of the run looked nearer."""
    from mtpipe.engine.units import Unit, pack_by_group, packed_size, request_group
    from mtpipe.text.segments import ALL_CHECKS

    packs = AdaptivePacks(PackLimits(token_budget=45, max_segments=100), paced=False)
    german, french = resolve("de"), resolve("fr")
    units = [
        Unit(f"k{i}", f"text {i}", resolve("en"), (german, french)[i % 2], "", ALL_CHECKS, frozenset(), (), "f", f"r{i}", 10)
        for i in range(12)
    ]
    read: list[Unit] = []

    def reading() -> Iterator[Unit]:
        for unit in packs.follow(units, len(units)):
            read.append(unit)
            yield unit

    first = next(pack_by_group(reading(), request_group, packed_size, packs))
    packs.packed(first)
    assert len(first) == 4 and len(read) == 9  # 4 German packed; 4 French and 1 German read
    assert packs._open_tokens == 10 * (len(read) - len(first))


@pytest.mark.parametrize(("remaining", "rps"), [(4520, None), (9003, 0.97), (12_000, 2.0)])
def test_the_pack_made_now_is_no_sliver_ahead_of_bigger_ones(remaining: float, rps: float | None) -> None:
    pace = Pace(fixed=1.0, per_billed=0.004, billed_per_second=1667, requests_per_second=rps)
    first = tail_pack(remaining, 2000.0, pace)
    assert first is not None
    after = tail_pack(remaining - first, 2000.0, pace)  # the plan made again for the next pack
    assert after is None or first >= after

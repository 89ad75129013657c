"""Reply checks: what wraps a translation is removed, and what is not a translation is refused,
packed or single, before anything reaches the cache."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import anyio
import pytest

from mtpipe.engine.framing import map_segments
from mtpipe.engine.replies import Rejection, is_echo, judge, unwrap
from mtpipe.engine.watch import ECHOES_TO_STOP, EndpointIgnoresOptions
from mtpipe.records.ledger import read_ledger
from tests.engine.test_pool import FakeClient, make_pool, unit, upper

# ---- the checks on their own -----------------------------------------------------------------


@pytest.mark.parametrize(
    "wrapped",
    [
        "\r\n\r\nHallo Welt",
        "\n\nHallo Welt\n",
        "Hallo Welt<|endofcontent|>",
        "Hallo Welt\n<|endofcontent|>\n",
        "\n\nHallo Welt<|endoftext|><|im_end|>",
    ],
)
def test_unwrap_removes_line_breaks_and_end_of_content_tokens(wrapped: str) -> None:
    assert unwrap(wrapped) == "Hallo Welt"


def test_unwrap_keeps_inner_line_breaks() -> None:
    assert unwrap("\n<m1/>Eins\nZwei\n") == "<m1/>Eins\nZwei"


@pytest.mark.parametrize(
    ("source", "translation", "alone", "why"),
    [
        ("Save the file", "", True, Rejection.EMPTY),
        ("Save the file", "  \n ", False, Rejection.EMPTY),
        ("Open the settings window now", "Open the settings window now", True, Rejection.ECHO),
        ("Save", "Sure! Here is the translation:\n\nSpeichern", True, Rejection.COMMENTARY),
        ("Save", "Speichern\n\nNote: kept the tone.", False, Rejection.COMMENTARY),
        ("Save", "Speichern " * 20, True, Rejection.LENGTH),
        ("A long sentence that goes on for quite a while, really " * 3, "Kurz", True, Rejection.LENGTH),
    ],
)
def test_judge_refuses_what_is_not_a_translation(source: str, translation: str, alone: bool, why: str) -> None:
    assert judge(source, translation, alone=alone) == why


@pytest.mark.parametrize(
    ("source", "translation"),
    [
        ("Status", "Status"),  # the same word in German
        ("OK", "OK"),
        ("Export", "Export"),
        ("Python Package Index", "Python Package Index"),  # a name, three words
        ("Line one\nLine two", "Zeile eins\nZeile zwei"),
        ("Open the file", "ファイルを開く"),
        ("打开文件", "Open the file"),
    ],
)
def test_judge_lets_real_translations_pass(source: str, translation: str) -> None:
    assert judge(source, translation, alone=True) is None


def test_an_unchanged_text_is_no_echo_in_a_pack_or_between_one_language() -> None:
    same = "Open the settings window now"
    assert judge(same, same, alone=False) is None
    assert judge(same, same, alone=True, same_language=True) is None


def test_is_echo_needs_every_kept_line_unchanged_and_words() -> None:
    sources = ["Open the file", "Save it", "Quit"]
    assert is_echo(sources, list(sources))
    assert is_echo(sources, [sources[0], None, sources[2]])
    assert not is_echo(sources, [sources[0], "Speichern", sources[2]])
    assert not is_echo(["OK", "Status"], ["OK", "Status"])  # too few words to tell
    assert not is_echo(["Open the file now"], ["Open the file now"])  # single: judge() decides


# ---- through the pool: never cached, resent, then failed ------------------------------------


def run_units(tmp_path: Path, translate: Callable[[str], str], count: int = 8, **settings: object) -> tuple[object, object, FakeClient]:
    client = FakeClient(translate)
    pool, cache = make_pool(tmp_path, client, **settings)
    units = [unit(i, f"please translate string number {i}") for i in range(count)]
    anyio.run(pool.run, units)
    return pool, cache, client


@pytest.mark.parametrize(
    "wrap",
    [lambda t: "\r\n\r\n" + t, lambda t: "\n\n" + t + "\n", lambda t: t + "<|endofcontent|>"],
    ids=["crlf-prefix", "lf-prefix", "end-of-content"],
)
@pytest.mark.parametrize("count", [1, 8], ids=["single", "packed"])
def test_wrapping_is_stripped_packed_and_single(tmp_path: Path, wrap: Callable[[str], str], count: int) -> None:
    pool, cache, _ = run_units(tmp_path, lambda t: wrap(upper(t)), count)
    assert not pool.failures  # type: ignore[attr-defined]
    for i in range(count):
        assert cache.get(f"k{i}") == f"PLEASE TRANSLATE STRING NUMBER {i}"  # type: ignore[attr-defined]


@pytest.mark.parametrize("count", [1, 8], ids=["single", "packed"])
@pytest.mark.parametrize(
    "bad",
    [
        lambda t: "",
        lambda t: "Sure! Here is the translation:\n\n" + upper(t),
        lambda t: upper(t) + "\n\nNote: I kept the formatting.",
    ],
    ids=["empty", "preamble", "trailing-note"],
)
def test_bad_replies_are_never_cached_and_fail_reported(tmp_path: Path, bad: Callable[[str], str], count: int) -> None:
    pool, cache, client = run_units(tmp_path, bad, count)
    failed = set(pool.failures)  # type: ignore[attr-defined]
    for i in range(count):
        # Never a wrong value cached: a line is kept only where its place is proven (the
        # blocks before a trailing note are), everything else is reported failed.
        kept = cache.get(f"k{i}")  # type: ignore[attr-defined]
        assert (kept is None) == (f"k{i}" in failed)
        assert kept in (None, f"PLEASE TRANSLATE STRING NUMBER {i}")
    assert failed and len(client.requests) <= 4 * count
    lines = [line for line in read_ledger(tmp_path / "ledger.jsonl") if line["event"] == "request"]
    assert sum(int(line["accepted"]) for line in lines) == count - len(failed)
    assert any(line["rejected"] or line["error"] for line in lines)  # the ledger says why


def test_a_bad_reply_once_is_resent_and_then_kept(tmp_path: Path) -> None:
    calls = {"n": 0}

    def empty_first(text: str) -> str:
        calls["n"] += 1
        return "" if calls["n"] == 1 else upper(text)

    pool, cache, _ = run_units(tmp_path, empty_first, 1)
    assert not pool.failures  # type: ignore[attr-defined]
    assert cache.get("k0") == "PLEASE TRANSLATE STRING NUMBER 0"  # type: ignore[attr-defined]
    first = next(line for line in read_ledger(tmp_path / "ledger.jsonl") if line["event"] == "request")
    assert first["rejected"] == {Rejection.EMPTY: 1} and first["accepted"] == 0


def test_a_source_given_back_stops_the_run_and_caches_nothing(tmp_path: Path) -> None:
    client = FakeClient(lambda t: t)  # a relay that dropped translation_options
    pool, cache = make_pool(tmp_path, client, concurrency=1)
    units = [unit(i, f"please translate string number {i}") for i in range(40)]
    with pytest.raises(EndpointIgnoresOptions, match="ignores translation_options"):
        anyio.run(pool.run, units)
    assert len(cache) == 0
    assert len(client.requests) <= ECHOES_TO_STOP + 1


def test_one_echoed_pack_among_good_ones_is_resent(tmp_path: Path) -> None:
    calls = {"n": 0}

    def echo_first(text: str) -> str:
        calls["n"] += 1
        return text if calls["n"] == 1 else upper(text)

    pool, cache, _ = run_units(tmp_path, echo_first, 8)
    assert not pool.failures  # type: ignore[attr-defined]
    assert all(cache.get(f"k{i}") == f"PLEASE TRANSLATE STRING NUMBER {i}" for i in range(8))  # type: ignore[attr-defined]
    first = next(line for line in read_ledger(tmp_path / "ledger.jsonl") if line["event"] == "request")
    assert first["error"] == Rejection.ECHO and first["rejected"] == {Rejection.ECHO: 8}


def test_short_texts_the_same_in_both_languages_pass(tmp_path: Path) -> None:
    same = {"Status", "OK", "Export", "Name"}
    client = FakeClient(lambda t: map_segments(t, lambda s: s if s in same else s.upper()))
    pool, cache = make_pool(tmp_path, client)
    units = [unit(i, text) for i, text in enumerate(["Status", "OK", "Export", "Name", "Save the file"])]
    anyio.run(pool.run, units)
    assert not pool.failures
    assert [cache.get(f"k{i}") for i in range(5)] == ["Status", "OK", "Export", "Name", "SAVE THE FILE"]

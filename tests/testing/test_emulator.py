"""The Qwen-MT emulator: fake translation, the HTTP contract, limits, faults and counters.

Every test talks to a real server on 127.0.0.1 through a sync httpx client; all waits are
bounded (client timeouts of a few seconds, sleeps of at most a few hundred milliseconds).
"""

from __future__ import annotations

import random
import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from mtpipe.engine.tokens import REQUEST_OVERHEAD_TOKENS, count_tokens
from mtpipe.testing import (
    Emulator,
    EmulatorConfig,
    Fault,
    FaultConfig,
    RateLimiter,
    fake_translate,
    merge_lines,
    prompt_tokens_for,
    run_emulator,
    target_key,
)
from mtpipe.text.languages import QWEN_NAMES
from mtpipe.text.protect import needs_translation, placeholders

KEY = "test-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
LETTER = re.compile(r"[^\W\d_]")
UNLIMITED = EmulatorConfig(rpm=None, tpm=None)


def body(text: str = "Hello world", target: str = "German", **extra: Any) -> dict[str, Any]:
    options: dict[str, Any] = {"source_lang": "auto", "target_lang": target}
    options.update(extra.pop("options", {}))
    return {
        "model": "qwen-mt-turbo",
        "messages": [{"role": "user", "content": text}],
        "translation_options": options,
        **extra,
    }


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with run_emulator(UNLIMITED) as emulator:
        yield emulator


@pytest.fixture
def client(emu: Emulator) -> Iterator[httpx.Client]:
    with connect(emu) as http:
        yield http


def connect(emu: Emulator, timeout: float = 5) -> httpx.Client:
    """A client of ``emu`` (``verify=False``: plain HTTP, and skipping the CA bundle is faster)."""
    return httpx.Client(base_url=emu.base_url, headers=AUTH, timeout=timeout, verify=False)


def post(http: httpx.Client, payload: Any, path: str = "/chat/completions") -> httpx.Response:
    return http.post(path, json=payload)


def error_of(response: httpx.Response) -> dict[str, Any]:
    payload = response.json()
    assert set(payload) == {"error", "id"} and payload["id"].startswith("chatcmpl-")
    assert set(payload["error"]) == {"code", "message", "type", "param"}
    error: dict[str, Any] = payload["error"]
    return error


# -- fake_translate ---------------------------------------------------------------------------


def skeleton(text: str) -> str:
    return LETTER.sub("x", text)


def test_fake_translate_keeps_spans_numbers_and_layout() -> None:
    src = (
        "Hello {name}, you have %d new <b>messages</b> &amp; %(count)s files at "
        "https://example.org/a?b=1 or mail me@example.com.\n\t$HOME costs 3.50 €!"
    )
    out = fake_translate(src, "German")
    assert out != src
    assert [p.text for p in placeholders(out)] == [p.text for p in placeholders(src)]
    assert skeleton(out) == skeleton(src)  # only letters changed, one for one


def test_fake_translate_word_local_across_markers() -> None:
    marker = '\n<seg id="1"/>'
    assert fake_translate("a" + marker + "b", "French") == (
        fake_translate("a", "French") + marker + fake_translate("b", "French")
    )


PIECES = [*"abcXYZ éü ДЖя 你好 12,.!%s{}\n", "{n}", "<b>", "</b>", "&amp;", "ᎠᎡ", "²", "ǅ"]


def random_text(rng: random.Random, size: int) -> str:
    return "".join(rng.choice(PIECES) for _ in range(rng.randrange(size + 1)))


def test_fake_translate_packed_equals_per_segment() -> None:
    rng = random.Random(1)
    for _ in range(300):
        segments = [random_text(rng, 12) for _ in range(rng.randrange(1, 6))]
        target = rng.choice(["German", "Japanese"])
        markers = [f'\n<seg id="{i}"/>' for i in range(len(segments))]
        packed = "".join(m + s for m, s in zip(markers, segments, strict=True))
        expected = "".join(
            m + fake_translate(s, target) for m, s in zip(markers, segments, strict=True)
        )
        assert fake_translate(packed, target) == expected, packed


def test_fake_translate_changes_every_translatable_text() -> None:
    rng = random.Random(2)
    texts = [random_text(rng, 10) for _ in range(300)] + ["", "123", "{n} %s", "<b>x</b>"]
    for text in texts:
        out = fake_translate(text, "German")
        assert out == fake_translate(text, "German")  # deterministic
        assert (out != text) == needs_translation(text), text
        # A "%" before a plain letter is text, but rotating that letter may make a directive.
        if all(ord(c) < 0x300 or c.isalpha() for c in text) and not re.search(r"%[-_0^#]?[^\W\d_]", text):
            assert [p.text for p in placeholders(out)] == [p.text for p in placeholders(text)]


def test_fake_translate_depends_on_target() -> None:
    assert fake_translate("Hello world", "German") != fake_translate("Hello world", "French")
    keys = {name: target_key(name) for name in QWEN_NAMES}
    assert len(set(keys.values())) == len(keys)


@pytest.mark.parametrize(
    ("src", "script"),
    [
        ("Привет мир", r"[\u0400-\u04ff ]+"),
        ("你好世界", r"[\u4e00-\u9fff]+"),
        ("안녕", r"[가-힣]+"),
    ],
)
def test_fake_translate_stays_in_script(src: str, script: str) -> None:
    out = fake_translate(src, "English")
    assert out != src and re.fullmatch(script, out)
    assert len(out) == len(src)


def test_fake_translate_other_letters() -> None:
    assert fake_translate("ኢትዮጵያ", "German") not in ("ኢትዮጵያ", fake_translate("ኢትዮጵያ", "French"))
    assert fake_translate("café", "German")[:3] == fake_translate("caf", "German")


def test_fake_translate_terms() -> None:
    terms = {"bio sensor": "BIOSENSOR", "cat": "KATZE", "生物传感器": "biological sensor"}
    out = fake_translate("the bio sensor and a cat concatenate", "German", terms)
    assert "BIOSENSOR" in out and out.count("KATZE") == 1  # "concatenate" is not the term
    assert "biological sensor" in fake_translate("这个生物传感器很好", "English", terms)


# -- HTTP contract ------------------------------------------------------------------------------


def test_success_shape_and_usage(emu: Emulator, client: httpx.Client) -> None:
    text = 'Open the <b>file</b> {name}\n<seg id="2"/>Save 3 files'
    response = post(client, body(text, temperature=0.3, top_p=0.8, seed=7))
    assert response.status_code == 200
    payload = response.json()
    assert payload["id"].startswith("chatcmpl-") and payload["object"] == "chat.completion"
    assert payload["model"] == "qwen-mt-turbo" and isinstance(payload["created"], int)
    choice = payload["choices"][0]
    assert choice["message"] == {"role": "assistant", "content": fake_translate(text, "German")}
    assert choice["finish_reason"] == "stop"
    prompt = count_tokens(text) + REQUEST_OVERHEAD_TOKENS
    completion = count_tokens(choice["message"]["content"])
    assert payload["usage"] == {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }
    alias = emu.base_url.replace("/compatible-mode/v1", "/v1/chat/completions")
    assert client.post(alias, json=body(text)).status_code == 200
    stats = emu.stats
    assert (stats.prompt_tokens, stats.completion_tokens) == (2 * prompt, 2 * completion)


def test_terms_reach_the_output_and_options_are_billed(client: httpx.Client) -> None:
    terms = [{"source": "sensor", "target": "Fühler"}]
    tm = [{"source": "Good morning", "target": "Guten Morgen"}]
    options = {"terms": terms, "tm_list": tm, "domains": "IT support forum"}
    response = post(client, body("The sensor is broken", options=options))
    payload = response.json()
    assert "Fühler" in payload["choices"][0]["message"]["content"]
    expected = prompt_tokens_for(
        "The sensor is broken",
        (("sensor", "Fühler"),),
        (("Good morning", "Guten Morgen"),),
        "IT support forum",
    )
    assert (
        payload["usage"]["prompt_tokens"] == expected > count_tokens("The sensor is broken") + 45
    )


@pytest.mark.parametrize(
    ("payload", "status", "code", "message"),
    [
        ({**body(), "model": "qwen-max"}, 404, "model_not_found", "does not exist"),
        ({k: v for k, v in body().items() if k != "model"}, 400, "BadRequest.EmptyModel", "model"),
        (
            {
                **body(),
                "messages": [{"role": "system", "content": "x"}, {"role": "user", "content": "y"}],
            },
            400,
            "InvalidParameter",
            "Role must be in [user, assistant]",
        ),
        (
            {
                **body(),
                "messages": [{"role": "user", "content": "x"}, {"role": "user", "content": "y"}],
            },
            400,
            "InvalidParameter",
            "exactly one",
        ),
        (
            {**body(), "messages": [{"role": "assistant", "content": "x"}]},
            400,
            "InvalidParameter",
            "role user",
        ),
        (
            {**body(), "messages": [{"role": "user", "content": ["x"]}]},
            400,
            "InvalidParameter",
            "string",
        ),
        ({**body(), "messages": []}, 400, "InvalidParameter", "messages"),
        (
            {k: v for k, v in body().items() if k != "translation_options"},
            400,
            "InvalidParameter",
            "Field required: parameters.translation_options",
        ),
        (body(target="Klingon"), 400, "InvalidParameter", "language"),
        (body(target="de"), 400, "InvalidParameter", "language"),
        (body(target="auto"), 400, "InvalidParameter", "language"),
        (body(options={"source_lang": "Elvish"}), 400, "InvalidParameter", "source_lang"),
        (
            {**body(), "translation_options": {"target_lang": "German"}},
            400,
            "InvalidParameter",
            "Field required: parameters.translation_options.source_lang",
        ),
        (body(options={"terms": {"a": "b"}}), 400, "InvalidParameter", "terms"),
        (body(options={"tm_list": [{"source": "a"}]}), 400, "InvalidParameter", "tm_list"),
        (body(options={"domains": ["IT"]}), 400, "InvalidParameter", "domains"),
        (body(""), 400, "InvalidParameter", "Range of input length should be [1, 8192]"),
        (body(stream=True), 400, "InvalidParameter", "stream"),
        ([1, 2], 400, "InvalidParameter", "object"),
    ],
)
def test_validation_errors(
    emu: Emulator, client: httpx.Client, payload: Any, status: int, code: str, message: str
) -> None:
    response = post(client, payload)
    assert response.status_code == status
    error = error_of(response)
    assert error["code"] == code and message in error["message"]
    assert emu.stats.by_status == {status: 1} and emu.stats.admitted == 0


def test_source_auto_or_name_accepted(client: httpx.Client) -> None:
    assert post(client, body(options={"source_lang": "English"})).status_code == 200


def test_bad_json_path_and_key(emu: Emulator, client: httpx.Client) -> None:
    bad_json = client.post(
        "/chat/completions", content=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert bad_json.status_code == 400 and error_of(bad_json)["code"] == "InvalidParameter"
    assert client.post("/completions", json=body()).status_code == 404
    assert client.get("/chat/completions").status_code == 404
    for headers in ({"Authorization": "Bearer wrong"}, {"Authorization": ""}):
        refused = client.post("/chat/completions", json=body(), headers=headers)
        assert refused.status_code == 401 and error_of(refused)["code"] == "InvalidApiKey"
    assert emu.stats.received == 5 and emu.stats.by_status == {400: 1, 404: 2, 401: 2}


def test_input_and_output_token_limits() -> None:
    config = EmulatorConfig(rpm=None, tpm=None, max_input_tokens=100, max_output_tokens=20)
    with run_emulator(config) as emu, connect(emu) as http:
        fits = "word" + " word" * (100 - REQUEST_OVERHEAD_TOKENS - 1)  # one token a word
        assert prompt_tokens_for(fits) == 100
        response = post(http, body(fits))
        assert response.status_code == 200
        choice = response.json()["choices"][0]
        assert choice["finish_reason"] == "length"
        assert (
            response.json()["usage"]["completion_tokens"]
            == count_tokens(choice["message"]["content"])
            <= 20
        )
        assert fake_translate(fits, "German").startswith(choice["message"]["content"])
        too_long = post(http, body(fits + " word"))
        assert too_long.status_code == 400
        assert error_of(too_long)["message"] == "Range of input length should be [1, 100]"


def test_body_too_large() -> None:
    with run_emulator(EmulatorConfig(max_body_bytes=1000)) as emu, connect(emu) as http:
        response = post(http, body("word " * 400))
        assert response.status_code == 413
        assert post(http, body("small")).status_code == 200  # a new connection works


# -- limits -------------------------------------------------------------------------------------


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_rate_limiter_buckets() -> None:
    clock = FakeClock()
    limiter = RateLimiter(rpm=120, tpm=600, clock=clock)  # 2 req/s (capacity 2), 10 tokens/s
    assert limiter.admit(4).admitted and limiter.admit(4).admitted
    refused = limiter.admit(1)
    assert (refused.admitted, refused.kind) == (False, "rpm") and refused.wait_s == pytest.approx(
        0.5
    )
    clock.now = 0.5
    refused = limiter.admit(8)  # one request back, but only 2 + 5 tokens
    assert (refused.admitted, refused.kind) == (False, "tpm") and refused.wait_s == pytest.approx(
        0.1
    )
    assert limiter.admit(7).admitted
    clock.now = 10.0
    assert limiter.admit(50).admitted  # larger than the capacity: admitted when full
    clock.now = 11.0
    assert limiter.admit(1).kind == "tpm"  # the debt (-40 + 10) must be earned back first
    clock.now = 14.1
    assert limiter.admit(1).admitted
    unlimited = RateLimiter(None, None, clock=clock)
    assert all(unlimited.admit(10**6).admitted for _ in range(100))


def test_rpm_burst_is_throttled_spaced_requests_are_not() -> None:
    config = EmulatorConfig(rpm=1200, tpm=None)  # 20 requests a second, capacity 20
    with run_emulator(config) as emu, connect(emu) as http:
        started = time.monotonic()
        burst = [post(http, body()) for _ in range(30)]
        refill = (time.monotonic() - started) * 20  # requests earned back during the burst
        statuses = [r.status_code for r in burst]
        assert 20 <= statuses.count(200) <= 20 + refill + 1 and set(statuses) == {200, 429}
        throttled = burst[statuses.index(429)]
        error = error_of(throttled)
        assert (error["code"], error["message"]) == (
            "Throttling.RateQuota",
            "Requests rate limit exceeded",
        )
        assert "retry-after" not in throttled.headers
        time.sleep(0.06)
        spaced = []
        for _ in range(10):
            time.sleep(0.06)  # 1.2 requests' worth of refill between requests
            spaced.append(post(http, body()).status_code)
        assert spaced == [200] * 10
        stats = emu.stats
        assert stats.throttled_rpm == stats.by_status[429] and stats.throttled_tpm == 0
        assert stats.admitted == stats.by_status[200]


def test_tpm_throttles_and_admits_oversized_when_full() -> None:
    config = EmulatorConfig(rpm=None, tpm=6000, throttle_retry_after=True)  # 100 tokens/s
    with run_emulator(config) as emu, connect(emu) as http:
        text = "word " * 40  # 45 + 58 prompt tokens: bigger than the bucket
        assert post(http, body(text)).status_code == 200
        refused = post(http, body("hi"))
        assert refused.status_code == 429
        assert error_of(refused)["message"] == "Allocated quota exceeded"
        assert (
            int(refused.headers["retry-after"]) >= 1 and int(refused.headers["retry-after-ms"]) > 0
        )
        assert emu.stats.throttled_tpm == 1 and emu.stats.throttled_rpm == 0


# -- faults -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fault", "status", "code", "header"),
    [
        (Fault.THROTTLE, 429, "Throttling", None),
        (Fault.THROTTLE_RETRY_AFTER, 429, "Throttling", ("retry-after", "1")),
        (Fault.THROTTLE_RETRY_AFTER_MS, 429, "Throttling", ("retry-after-ms", "250")),
        (Fault.SERVER_ERROR, 500, "InternalError", None),
        (Fault.OVERLOADED, 503, "ModelUnavailable", None),
        (Fault.FREE_TIER_ONLY, 403, "AllocationQuota.FreeTierOnly", None),
        (Fault.INSUFFICIENT_QUOTA, 429, "insufficient_quota", None),
        (Fault.CONTENT_REJECTED, 400, "DataInspectionFailed", None),
    ],
)
def test_error_faults(
    emu: Emulator,
    client: httpx.Client,
    fault: Fault,
    status: int,
    code: str,
    header: tuple[str, str] | None,
) -> None:
    emu.script(fault, n=2)
    for _ in range(2):
        response = post(client, body())
        assert response.status_code == status and error_of(response)["code"] == code
        if header is not None:
            assert response.headers[header[0]] == header[1]
        else:
            assert (
                "retry-after" not in response.headers and "retry-after-ms" not in response.headers
            )
    assert post(client, body()).status_code == 200
    stats = emu.stats
    assert stats.faults == {fault.value: 2} and stats.by_status == {status: 2, 200: 1}
    assert stats.admitted == 1 and stats.prompt_tokens == prompt_tokens_for("Hello world")


def test_overloaded_message(emu: Emulator, client: httpx.Client) -> None:
    emu.script("overloaded")
    assert "engine is currently overloaded" in error_of(post(client, body()))["message"]


def test_reset_and_truncated_are_billed_and_lost(emu: Emulator, client: httpx.Client) -> None:
    emu.script(Fault.RESET)
    with pytest.raises(httpx.TransportError):
        post(client, body())
    emu.script(Fault.TRUNCATED)
    with pytest.raises(httpx.RemoteProtocolError):
        post(client, body())
    assert post(client, body()).status_code == 200
    stats = emu.stats
    tokens = prompt_tokens_for("Hello world")
    assert (stats.lost, stats.lost_prompt_tokens, stats.prompt_tokens) == (2, 2 * tokens, tokens)
    assert stats.by_status == {200: 1} and stats.faults == {"reset": 1, "truncated": 1}
    assert [r.status for r in emu.requests] == [None, None, 200]


def test_slow_reply() -> None:
    slow = run_emulator(EmulatorConfig(rpm=None, tpm=None, faults=FaultConfig(slow_s=0.3)))
    with slow as emu2, connect(emu2) as http:
        emu2.script(Fault.SLOW, n=2)
        started = time.monotonic()
        assert post(http, body()).status_code == 200
        assert time.monotonic() - started >= 0.3
        with pytest.raises(httpx.ReadTimeout):
            http.post("/chat/completions", json=body(), timeout=0.1)


def test_trigger_word() -> None:
    custom = EmulatorConfig(faults=FaultConfig(trigger_word="BADWORD"))
    for config, text, status in [
        (EmulatorConfig(), "say FORBIDDENWORD now", 400),
        (custom, "say FORBIDDENWORD now", 200),
        (custom, "a BADWORD", 400),
        (EmulatorConfig(faults=FaultConfig(trigger_word=None)), "FORBIDDENWORD", 200),
    ]:
        with run_emulator(config) as emu, connect(emu) as http:
            response = post(http, body(text))
            assert response.status_code == status
            if status == 400:
                assert error_of(response)["code"] == "DataInspectionFailed"


def test_merged_lines(emu: Emulator, client: httpx.Client) -> None:
    segments = ["first line", "second one", "third"]
    text = "\n".join(f'<seg id="{i}"/>{s}' for i, s in enumerate(segments))
    emu.script(Fault.MERGED_LINES)
    content = post(client, body(text)).json()["choices"][0]["message"]["content"]
    parts = [fake_translate(s, "German") for s in segments]
    expected = {
        f'<seg id="0"/>{parts[0]} {parts[1]}\n<seg id="2"/>{parts[2]}',
        f'<seg id="0"/>{parts[0]}\n<seg id="1"/>{parts[1]} {parts[2]}',
    }
    assert content in expected
    assert emu.stats.faults == {"merged_lines": 1}


def test_merge_lines_rules() -> None:
    assert merge_lines("foo\n<x/>bar") == "foo bar"
    assert merge_lines('foo\n<seg id="7"/> bar\n<seg id="8"/>baz') == 'foo bar\n<seg id="8"/>baz'
    assert merge_lines("foo\nbar") == "foo bar"  # no tag: a plain break
    assert merge_lines("one line") is None


def test_seeded_random_faults_are_reproducible() -> None:
    def run() -> list[int]:
        config = EmulatorConfig(
            rpm=None, tpm=None, seed=42, faults=FaultConfig(rates={"server_error": 0.5})
        )
        with run_emulator(config) as emu, connect(emu) as http:
            return [post(http, body()).status_code for _ in range(20)]

    first = run()
    assert first == run() and 0 < first.count(500) < 20
    with pytest.raises(ValueError):
        FaultConfig(rates={Fault.RESET: 0.7, Fault.SLOW: 0.7})
    with pytest.raises(ValueError):
        FaultConfig(rates={"no_such_fault": 0.1})


def test_scripted_fault_survives_throttling() -> None:
    with (
        run_emulator(EmulatorConfig(rpm=60, tpm=None)) as emu,
        connect(emu) as http,
    ):  # one request a second
        assert post(http, body()).status_code == 200
        emu.script(Fault.TRUNCATED)
        assert post(http, body()).status_code == 429
        assert emu.plan.pending() == 1


# -- concurrency and counters --------------------------------------------------------------------


def test_concurrent_requests_and_stats() -> None:
    config = EmulatorConfig(rpm=None, tpm=None, latency_s=0.2)
    with run_emulator(config) as emu:

        def one(i: int) -> int:
            with connect(emu) as http:
                return post(http, body(f"text number {i}")).status_code

        started = time.monotonic()
        with ThreadPoolExecutor(8) as pool:
            statuses = list(pool.map(one, range(8)))
        assert statuses == [200] * 8 and time.monotonic() - started < 1.0
        stats = emu.stats
        assert stats.peak_concurrency >= 4 and stats.received == stats.admitted == 8
        expected = sum(prompt_tokens_for(f"text number {i}") for i in range(8))
        assert stats.prompt_tokens == expected
        assert {r.request.content for r in emu.requests} == {f"text number {i}" for i in range(8)}
        emu.reset_stats()
        assert emu.stats.received == 0 and emu.stats.by_status == {} and emu.requests == []


def test_lifecycle() -> None:
    emulator = Emulator(UNLIMITED)
    with emulator:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/compatible-mode/v1", emulator.base_url)
        assert emulator.port != 0
        emulator.script(Fault.SLOW)
    emulator.stop()  # idempotent
    with pytest.raises(httpx.ConnectError):
        httpx.post(emulator.base_url + "/chat/completions", json=body(), headers=AUTH, timeout=2)

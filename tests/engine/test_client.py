"""The Qwen-MT client against httpx.MockTransport: request body, parsing, error classes."""

from __future__ import annotations

import json
from typing import Any

import anyio
import httpx
import pytest

from mtpipe.engine.client import (
    MAX_REPLY_BYTES,
    QwenClient,
    TranslationRequest,
    build_body,
    parse_retry_after,
    redact,
)
from mtpipe.errors import (
    AuthError,
    BadRequest,
    ContentRejected,
    ProviderError,
    QuotaError,
    RateLimited,
    ServerError,
    TooLarge,
    Truncated,
)

KEY = "sk-secret-test-key-123"


def ok_body(content: str = "Hallo", finish: str = "stop") -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": finish}],
        "usage": {"prompt_tokens": 50, "completion_tokens": 3, "total_tokens": 53},
    }


def run(handler: Any, request: TranslationRequest | None = None) -> Any:
    seen: list[httpx.Request] = []

    def wrapped(req: httpx.Request) -> httpx.Response:
        seen.append(req)
        return handler(req)

    client = QwenClient("https://example.invalid/compatible-mode/v1", KEY, transport=httpx.MockTransport(wrapped))

    async def go() -> Any:
        try:
            return await client.translate(request or TranslationRequest("Hello", "English", "German"))
        finally:
            await client.aclose()

    return anyio.run(go), seen


def test_request_body_is_exactly_the_contract() -> None:
    reply, seen = run(lambda req: httpx.Response(200, json=ok_body()))
    sent = seen[0]
    assert sent.url.path == "/compatible-mode/v1/chat/completions"
    assert sent.headers["authorization"] == f"Bearer {KEY}"
    body = json.loads(sent.content)
    assert body == {
        "model": "qwen-mt-turbo",
        "messages": [{"role": "user", "content": "Hello"}],
        "translation_options": {"source_lang": "English", "target_lang": "German"},
    }
    assert reply.text == "Hallo" and reply.prompt_tokens == 50 and reply.completion_tokens == 3
    assert reply.response_id == "chatcmpl-1"


def test_optional_fields_only_when_set() -> None:
    body = build_body(
        "qwen-mt-plus",
        TranslationRequest("x", "auto", "French", terms=(("a", "b"),), tm_list=(("c", "d"),), domains="IT"),
    )
    options = body["translation_options"]
    assert options["terms"] == [{"source": "a", "target": "b"}]
    assert options["tm_list"] == [{"source": "c", "target": "d"}]
    assert options["domains"] == "IT"
    assert "temperature" not in body and "system" not in json.dumps(body)


def error(status: int, code: str, message: str = "", headers: dict[str, str] | None = None) -> Any:
    payload = {"error": {"code": code, "message": message, "type": code, "param": None}, "id": "x"}
    return lambda req: httpx.Response(status, json=payload, headers=headers or {})


@pytest.mark.parametrize(
    ("status", "code", "message", "cls", "retryable", "fatal"),
    [
        (400, "InvalidParameter", "Range of input length should be [1, 8192]", TooLarge, False, False),
        (400, "DataInspectionFailed", "Input data may contain inappropriate content.", ContentRejected, False, False),
        (400, "data_inspection_failed", "inappropriate", ContentRejected, False, False),
        (400, "InvalidParameter", "target_lang Klingon is not supported", BadRequest, False, True),
        (401, "InvalidApiKey", "Invalid API-key provided.", AuthError, False, True),
        (403, "AllocationQuota.FreeTierOnly", "free tier exhausted", QuotaError, False, True),
        (413, "RequestTooLarge", "", TooLarge, False, False),
        (429, "Throttling.RateQuota", "Requests rate limit exceeded", RateLimited, True, False),
        (429, "Throttling", "Allocated quota exceeded", RateLimited, True, False),
        (429, "limit_requests", "Request rate increased too quickly", RateLimited, True, False),
        (429, "insufficient_quota", "You exceeded your current quota", QuotaError, False, True),
        (429, "PrepaidBillOverdue", "", QuotaError, False, True),
        (429, "CommodityNotPurchased", "", QuotaError, False, True),
        (500, "InternalError", "", ServerError, True, False),
        (500, "InternalError.Timeout", "", ServerError, True, False),
        (503, "ModelUnavailable", "engine is currently overloaded", ServerError, True, False),
    ],
)
def test_every_error_row_is_classified(status: int, code: str, message: str, cls: type, retryable: bool, fatal: bool) -> None:
    with pytest.raises(cls) as info:
        run(error(status, code, message))
    assert info.value.retryable is retryable
    assert info.value.fatal_for_run is fatal
    assert info.value.status == status
    assert KEY not in str(info.value) and KEY not in repr(info.value)


def test_auth_error_says_what_to_check() -> None:
    with pytest.raises(AuthError, match="region"):
        run(error(401, "InvalidApiKey"))


@pytest.mark.parametrize(
    "handler",
    [
        lambda req: httpx.Response(404),  # DashScope's host without /compatible-mode/v1
        lambda req: httpx.Response(404, content=b"<html><body>404 Not Found</body></html>"),
        error(404, "NotFound", "Not found: POST /chat/completions"),
    ],
)
def test_404_for_a_missing_path_says_to_check_the_base_url_path(handler: Any) -> None:
    with pytest.raises(BadRequest) as info:
        run(handler)
    message = str(info.value)
    assert "base URL" in message and "/compatible-mode/v1" in message and "/v1" in message
    assert "check the model" not in message
    assert info.value.fatal_for_run


def test_404_model_not_found_stays_about_the_model() -> None:
    with pytest.raises(BadRequest) as info:
        run(error(404, "model_not_found", "The model `qwen-mt-nope` does not exist or you do not have access to it."))
    message = str(info.value)
    assert "qwen-mt-nope" in message and "check the model" in message
    assert "base URL" not in message


@pytest.mark.parametrize(
    ("headers", "expected"),
    [({"Retry-After": "3"}, 3.0), ({"retry-after-ms": "1500"}, 1.5), ({"Retry-After": "9999"}, 120.0), ({}, None)],
)
def test_retry_after(headers: dict[str, str], expected: float | None) -> None:
    with pytest.raises(RateLimited) as info:
        run(error(429, "Throttling", headers=headers))
    assert info.value.retry_after == expected
    assert parse_retry_after(httpx.Headers(headers)) == expected


def test_finish_reason_length_is_a_failed_translation_with_usage() -> None:
    with pytest.raises(Truncated) as info:
        run(lambda req: httpx.Response(200, json=ok_body("cut", finish="length")))
    assert info.value.usage == (50, 3)


@pytest.mark.parametrize(
    "handler",
    [
        lambda req: httpx.Response(200, content=b'{"choices": [{"mess'),
        lambda req: httpx.Response(200, json={"choices": []}),
        lambda req: httpx.Response(502, content=b"<html>bad gateway</html>"),
    ],
)
def test_unreadable_replies_are_retryable_server_errors(handler: Any) -> None:
    with pytest.raises(ServerError):
        run(handler)


def test_transport_errors_are_retryable_and_keyless() -> None:
    def boom(req: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"connection refused (key {req.headers['authorization']})")

    with pytest.raises(ServerError) as info:
        run(boom)
    assert info.value.retryable and KEY not in str(info.value)


def test_repr_hides_key() -> None:
    client = QwenClient("https://x.invalid/v1", KEY)
    assert KEY not in repr(client)


# ---- what the server says never carries a key ---------------------------------------------


def echoing_gateway(status: int, headers: dict[str, str] | None = None) -> Any:
    """A gateway that quotes the request's Authorization header (and other secrets) back in its
    error code, message and redirect target."""

    def handler(req: httpx.Request) -> httpx.Response:
        quoted = req.headers["authorization"]
        message = (
            f"rejected header Authorization: {quoted} (key {KEY.removeprefix('sk-')}); "
            "upstream said Bearer upstream.token.value and key sk-upstreamSECRET9876"
        )
        payload = {"error": {"code": f"Denied[{quoted}]", "message": message}}
        extra = {"location": f"https://other.invalid/v1?auth={quoted}"} if 300 <= status < 400 else {}
        return httpx.Response(status, json=payload, headers={**extra, **(headers or {})})

    return handler


@pytest.mark.parametrize("status", [301, 400, 401, 403, 404, 429, 500])
def test_a_key_quoted_by_the_server_is_redacted_from_the_error(status: int) -> None:
    with pytest.raises(ProviderError) as info:
        run(echoing_gateway(status))
    shown = f"{info.value} {info.value!r} {info.value.code} {vars(info.value)}"
    for secret in (KEY, KEY.removeprefix("sk-"), "upstream.token.value", "upstreamSECRET9876"):
        assert secret not in shown
    assert "[redacted]" in str(info.value)
    assert f"HTTP {status}" in str(info.value)  # the rest of the message stays


def test_redact_keeps_ordinary_text() -> None:
    text = "Missing Authorization header; Requests rate limit exceeded (sk-abc***xyz)"
    assert redact(text, [KEY]) == text


def test_a_reply_id_quoting_the_key_is_redacted() -> None:
    def handler(req: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={**ok_body(), "id": f"id-for-{req.headers['authorization']}"})

    reply, _ = run(handler)
    assert KEY not in reply.response_id and reply.text == "Hallo"


# ---- relays: Accept header, usage field names -----------------------------------------------


def test_requests_say_they_accept_json() -> None:
    _, seen = run(lambda req: httpx.Response(200, json=ok_body()))
    assert seen[0].headers["accept"] == "application/json"


def test_usage_as_input_and_output_tokens_is_read() -> None:
    body = {**ok_body(), "usage": {"input_tokens": 41, "output_tokens": 7}}
    reply, _ = run(lambda req: httpx.Response(200, json=body))
    assert (reply.prompt_tokens, reply.completion_tokens) == (41, 7)


@pytest.mark.parametrize(
    ("usage", "expected"),
    [
        ({"prompt_tokens": -50, "completion_tokens": -3}, (0, 0)),
        ({"prompt_tokens": "many", "completion_tokens": [3]}, (0, 0)),
        ({"prompt_tokens": "nan", "completion_tokens": float("inf")}, (0, 0)),
        ({"prompt_tokens": {"n": 1}, "completion_tokens": True}, (0, 0)),
        ({"prompt_tokens": None, "input_tokens": 12, "completion_tokens": 3.0}, (12, 3)),
        ("50 tokens", (0, 0)),
        ([50, 3], (0, 0)),
        (None, (0, 0)),
    ],
)
def test_a_malformed_usage_never_costs_the_translation(usage: Any, expected: tuple[int, int]) -> None:
    body = {**ok_body(), "usage": usage}
    reply, _ = run(lambda req: httpx.Response(200, content=json.dumps(body, allow_nan=True).encode()))
    assert reply.text == "Hallo"
    assert (reply.prompt_tokens, reply.completion_tokens) == expected


# ---- Retry-After that cannot be read ----------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [
        {"Retry-After": "later"},
        {"Retry-After": "nan"},
        {"Retry-After": "inf"},
        {"Retry-After": "1e400"},
        {"Retry-After": "-5"},
        {"Retry-After": "Mon, 99 Foo 2024 10:00:00 GMT"},
        {"Retry-After": "Wed, 21 Oct 99999 07:28:00 GMT"},
        {"retry-after-ms": "nan"},
        {"retry-after-ms": "-inf"},
    ],
)
def test_an_unreadable_retry_after_is_no_wait_not_a_crash(headers: dict[str, str]) -> None:
    assert parse_retry_after(httpx.Headers(headers)) is None
    with pytest.raises(RateLimited) as info:
        run(error(429, "Throttling", headers=headers))
    assert info.value.retry_after is None and info.value.retryable


def test_retry_after_as_a_date() -> None:
    assert parse_retry_after(httpx.Headers({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"})) == 0.0
    assert parse_retry_after(httpx.Headers({"Retry-After": "Fri, 01 Jan 9999 00:00:00 GMT"})) == 120.0


class Trickle(httpx.AsyncByteStream):
    """A body that comes a byte at a time, for ever (bounded: 200 bytes)."""

    async def __aiter__(self) -> Any:
        for _ in range(200):
            await anyio.sleep(0.02)
            yield b" "


def test_the_timeout_is_a_deadline_for_the_whole_attempt() -> None:
    client = QwenClient(
        "https://example.invalid/compatible-mode/v1",
        KEY,
        timeout=0.3,
        transport=httpx.MockTransport(lambda req: httpx.Response(200, stream=Trickle())),
    )

    async def go() -> float:
        started = anyio.current_time()
        with pytest.raises(ServerError) as caught:
            await client.translate(TranslationRequest("Hello", "English", "German"))
        await client.aclose()
        assert caught.value.code == "timeout"
        return anyio.current_time() - started

    assert anyio.run(go) < 2.0  # each read was quick; the whole reply never came


@pytest.mark.parametrize("gzip", [False, True], ids=["plain", "gzip-bomb"])
def test_a_reply_over_the_cap_is_a_failed_attempt(gzip: bool) -> None:
    import gzip as gz

    big = b'{"choices": "' + b"x" * (MAX_REPLY_BYTES + 10) + b'"}'
    if gzip:  # a small body that expands past the cap
        body, headers = gz.compress(big), {"content-encoding": "gzip"}
        assert len(body) < MAX_REPLY_BYTES // 100
    else:
        body, headers = big, {}
    with pytest.raises(ServerError) as caught:
        run(lambda req: httpx.Response(200, content=body, headers=headers))
    assert caught.value.code == "too_big" and caught.value.retryable

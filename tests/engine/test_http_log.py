"""-vv's view of the HTTP exchange: one line out, one line back, and never the key."""

from __future__ import annotations

import logging

import anyio
import httpx
import pytest

from mtpipe.engine.client import QwenClient, TranslationRequest

KEY = "sk-httplog-0123456789abcdef"
REPLY = {"choices": [{"message": {"content": "Hallo"}, "finish_reason": "stop"}], "usage": {"prompt_tokens": 50, "completion_tokens": 2}}


class EchoingGateway:
    """A gateway that quotes the Authorization header back in its own headers."""

    def __init__(self) -> None:
        self.sent = 0
        self.replied = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.sent = len(request.content)
        quoted = request.headers["authorization"]
        headers = {"x-debug-auth": quoted, "x-token": quoted.split()[-1], "set-cookie": "session=abcdef123456"}
        response = httpx.Response(200, json=REPLY, headers=headers)
        self.replied = len(response.content)
        return response


def exchange(gateway: EchoingGateway) -> None:
    client = QwenClient("https://gateway.example/v1", KEY, transport=httpx.MockTransport(gateway))

    async def send() -> None:
        try:
            await client.translate(TranslationRequest("Hello", "English", "German"))
        finally:
            await client.aclose()

    anyio.run(send)


def test_the_exchange_is_told_with_sizes_and_headers_and_no_key(caplog: pytest.LogCaptureFixture) -> None:
    gateway = EchoingGateway()
    with caplog.at_level(logging.DEBUG, logger="mtpipe.http"):
        exchange(gateway)
    out, back = [r.getMessage() for r in caplog.records if r.name == "mtpipe.http"]
    assert out.startswith(f"-> POST https://gateway.example/v1/chat/completions, {gateway.sent} bytes; headers: ")
    assert "authorization: [redacted]" in out and "content-type: application/json" in out
    assert back.startswith(f"<- 200 OK from POST https://gateway.example/v1/chat/completions, {gateway.replied} bytes")
    assert "x-debug-auth: [redacted]" in back and "x-token: [redacted]" in back
    assert "set-cookie: [redacted]" in back and "abcdef123456" not in back
    for line in (out, back):
        assert KEY not in line and KEY.removeprefix("sk-") not in line


def test_nothing_is_told_below_debug(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="mtpipe.http"):
        exchange(EchoingGateway())
    assert not [r for r in caplog.records if r.name == "mtpipe.http"]

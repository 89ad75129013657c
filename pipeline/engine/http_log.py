"""The HTTP exchange, told at DEBUG on the ``mtpipe.http`` logger (``-vv``), secrets redacted.

:func:`event_hooks` are httpx event hooks: one line when a request goes out (method, URL, body
size, headers) and one when its response is closed, read to the end or not (status, bytes
received, time, headers). The value of every credential header (Authorization, API-key and
cookie headers) is replaced by ``[redacted]``, and so is the key itself wherever else it would
appear (a server echoing it in a header, a URL): the hooks take it from the request's own
Authorization header, so no one has to hand it to them. They log only; they never read a body
the client would not read (a reply's size cap stays the client's).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from typing import Any

import httpx

logger = logging.getLogger("mtpipe.http")

REDACTED = "[redacted]"
#: Headers whose value is a credential, whatever it holds.
SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "x-api-key", "api-key", "cookie", "set-cookie"}
)
#: A secret shorter than this is not searched for literally (it would blank ordinary words).
_MIN_SECRET = 6


def event_hooks() -> dict[str, list[Callable[[Any], Awaitable[None]]]]:
    """The hooks to give ``httpx.AsyncClient(event_hooks=...)``."""
    return {"request": [_told_request], "response": [_told_response]}


def secrets_of(headers: httpx.Headers) -> tuple[str, ...]:
    """The credentials the request carries: each secret header's value, and for a
    ``Bearer``-style value its token alone."""
    found: list[str] = []
    for name, value in headers.items():
        if name.lower() in SECRET_HEADERS:
            found.append(value)
            _, _, token = value.partition(" ")
            found.append(token)
    return tuple(s for s in found if len(s) >= _MIN_SECRET)


def redacted_headers(headers: httpx.Headers, secrets: Iterable[str]) -> str:
    """``headers`` as ``name: value`` pairs, credential values and ``secrets`` redacted."""
    return "; ".join(
        f"{name}: {REDACTED if name.lower() in SECRET_HEADERS else scrub(value, secrets)}"
        for name, value in headers.items()
    )


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` with each of ``secrets`` replaced by ``[redacted]``."""
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    return text


def _url(request: httpx.Request, secrets: Iterable[str]) -> str:
    url = request.url.copy_with(password=REDACTED) if request.url.password else request.url
    return scrub(str(url), secrets)


async def _told_request(request: httpx.Request) -> None:
    if not logger.isEnabledFor(logging.DEBUG):
        return
    secrets = secrets_of(request.headers)
    try:
        size = f"{len(request.content)} bytes"
    except httpx.RequestNotRead:  # a streamed body: its size is not known yet
        size = "streamed body"
    logger.debug(
        "-> %s %s, %s; headers: %s",
        request.method,
        _url(request, secrets),
        size,
        redacted_headers(request.headers, secrets),
    )


async def _told_response(response: httpx.Response) -> None:
    if not logger.isEnabledFor(logging.DEBUG):
        return
    if response.is_closed:  # built whole (a mock transport): nothing more will come
        _tell(response, len(response.content))
    else:
        response.stream = _ToldWhenClosed(response)


def _tell(response: httpx.Response, size: int) -> None:
    request = response.request
    secrets = secrets_of(request.headers)
    try:
        took = f" in {response.elapsed.total_seconds():.2f} s"
    except RuntimeError:  # not timed by httpx (a response built whole)
        took = ""
    logger.debug(
        "<- %s %s from %s %s, %d bytes%s; headers: %s",
        response.status_code,
        response.reason_phrase,
        request.method,
        _url(request, secrets),
        size,
        took,
        redacted_headers(response.headers, secrets),
    )


class _ToldWhenClosed(httpx.AsyncByteStream):
    """A response's byte stream that tells the exchange once the response is closed, when
    its size and time are known."""

    def __init__(self, response: httpx.Response) -> None:
        assert isinstance(response.stream, httpx.AsyncByteStream)
        self._stream = response.stream
        self._response = response
        self._told = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._stream:
            yield chunk

    async def aclose(self) -> None:
        await self._stream.aclose()  # sets response.elapsed
        if not self._told:
            self._told = True
            _tell(self._response, self._response.num_bytes_downloaded)

"""The Qwen-MT HTTP client: request body, response parsing and error classification.

One call sends one request (no retries here: see mtpipe.engine.retry). The API key lives
only in the Authorization header of the underlying httpx client; it is never logged, never part
of a repr or an error message. What the server says (error codes and messages, a redirect's
target, reply ids) enters through :func:`classify_error` and :func:`_parse_reply` with the key,
Bearer tokens and ``sk-`` secrets redacted (:func:`redact`), so no later consumer (stderr, the
ledger, a job report) can show a key a gateway quoted back. A loopback endpoint is never reached
through a proxy from the environment (the key would travel to the proxy).
"""

from __future__ import annotations

import email.utils
import ipaddress
import json
import math
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpx

from mtpipe.engine.http_log import event_hooks
from mtpipe.engine.tokens import prompt_tokens
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

REGIONS: dict[str, str] = {
    "intl": "https://dashscope-intl.aliyuncs.com/compatible-mode/v1",
    "cn": "https://dashscope.aliyuncs.com/compatible-mode/v1",
    "us": "https://dashscope-us.aliyuncs.com/compatible-mode/v1",
}
DEFAULT_BASE_URL = REGIONS["intl"]

#: Largest reply body read (decompressed): 8,192 output tokens are tens of kB.
MAX_REPLY_BYTES = 4 * 1024 * 1024

#: Longest server-requested wait we honour before retrying (seconds).
MAX_RETRY_AFTER = 120.0

_BILLING_CODES = ("insufficient_quota", "prepaidbilloverdue", "commoditynotpurchased", "arrearage")
_CONTENT_HINTS = ("inappropriate", "data_inspection", "datainspection", "sensitive")
_LENGTH_HINTS = ("input length", "too long", "maximum context", "range of input")

REDACTED = "[redacted]"
#: Secrets a server may quote back: a quoted Authorization header (to the end of its quote or
#: line), a Bearer token, anything shaped like an OpenAI / DashScope key.
_SECRET_PATTERNS = (
    (re.compile(r"(?i)(authorization[\"']?\s*[:=]\s*[\"']?)[^\"'\r\n]+"), r"\1" + REDACTED),
    (re.compile(r"(?i)\b(bearer)\s+[^\s\"',;}]+"), r"\1 " + REDACTED),
    (re.compile(r"\bsk-[A-Za-z0-9_\-]{6,}"), "sk-" + REDACTED),
)
#: A key shorter than this is not searched for literally (it would blank ordinary words).
_MIN_LITERAL_SECRET = 6
_LIMITS = httpx.Limits(max_connections=256, max_keepalive_connections=64)


@dataclass(frozen=True, slots=True)
class TranslationRequest:
    """What one request carries: the text and the ``translation_options``."""

    text: str
    source_lang: str  # English name or "auto"
    target_lang: str  # English name
    terms: tuple[tuple[str, str], ...] = ()
    tm_list: tuple[tuple[str, str], ...] = ()
    domains: str = ""


@dataclass(frozen=True, slots=True)
class Reply:
    """A successful reply: the translated text and the usage the provider reported."""

    text: str
    prompt_tokens: int
    completion_tokens: int
    response_id: str = ""
    latency_ms: int = 0


@dataclass(frozen=True, slots=True)
class Sampling:
    """Optional sampling parameters; only those set are sent."""

    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    repetition_penalty: float | None = None
    seed: int | None = None

    def as_body(self) -> dict[str, Any]:
        """The set parameters as body fields."""
        return {k: v for k, v in _fields(self).items() if v is not None}


def _fields(obj: Sampling) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in obj.__slots__}


def build_body(model: str, request: TranslationRequest, sampling: Sampling | None = None) -> dict[str, Any]:
    """The JSON body Qwen-MT expects: exactly one user message, languages in translation_options."""
    options: dict[str, Any] = {"source_lang": request.source_lang, "target_lang": request.target_lang}
    if request.terms:
        options["terms"] = [{"source": s, "target": t} for s, t in request.terms]
    if request.tm_list:
        options["tm_list"] = [{"source": s, "target": t} for s, t in request.tm_list]
    if request.domains:
        options["domains"] = request.domains
    body: dict[str, Any] = {
        "model": model,
        "messages": [{"role": "user", "content": request.text}],
        "translation_options": options,
    }
    if sampling is not None:
        body.update(sampling.as_body())
    return body


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with each of ``secrets`` (and its part after an ``sk-`` prefix), quoted
    Authorization headers, Bearer tokens and ``sk-…`` keys replaced by ``[redacted]``."""
    for secret in secrets:
        for literal in (secret, secret.removeprefix("sk-")):
            if len(literal) >= _MIN_LITERAL_SECRET:
                text = text.replace(literal, REDACTED)
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def is_loopback(url: str) -> bool:
    """True for localhost and loopback addresses only (not look-alikes such as 127.0.0.1.evil)."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_retry_after(headers: httpx.Headers) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``Retry-After`` (seconds or HTTP date), capped
    at MAX_RETRY_AFTER; None when absent or unreadable (garbage, nan, inf, negative, a broken
    date), so a malformed header never fails anything but the wait it asked for."""
    raw_ms = headers.get("retry-after-ms")
    if raw_ms:
        seconds = _number(raw_ms)
        if seconds is not None:
            return _capped(seconds / 1000.0)
    raw = headers.get("retry-after")
    if not raw:
        return None
    seconds = _number(raw)
    if seconds is not None:
        return _capped(seconds)
    try:
        parsed = email.utils.parsedate_to_datetime(raw)
        wait = parsed.timestamp() - time.time()
    except (TypeError, ValueError, OverflowError, IndexError):
        return None
    return _capped(max(wait, 0.0))  # a date in the past: retry now


def _number(raw: str) -> float | None:
    try:
        return float(raw)
    except ValueError:
        return None


def _capped(seconds: float) -> float | None:
    if not math.isfinite(seconds) or seconds < 0:
        return None
    return min(seconds, MAX_RETRY_AFTER)


def classify_error(
    status: int, payload: Any, headers: httpx.Headers, secrets: Iterable[str] = ()
) -> ProviderError:
    """Map an HTTP error response to the exception class that says what to do next.

    Every text taken from the response is passed through :func:`redact` (with ``secrets``,
    the client's key) before it is cut to length, so the error never carries a key.
    """
    secrets = tuple(secrets)
    error = payload.get("error") if isinstance(payload, dict) else None
    if not isinstance(error, dict):
        error = payload if isinstance(payload, dict) else {}
    code = redact(str(error.get("code") or error.get("type") or ""), secrets)[:100]
    message = redact(str(error.get("message") or ""), secrets).strip()[:300]
    text = f"{code} {message}".lower()
    detail = f"HTTP {status} {code}: {message}".rstrip(": ")
    kwargs: dict[str, Any] = {"status": status, "code": code}
    if status == 401:
        return AuthError(
            f"{detail}: the API key was refused; check the key variable and that the key belongs "
            "to the region of the base URL (--region / --base-url)",
            **kwargs,
        )
    if status == 403:
        return QuotaError(f"{detail}: no quota for this model; check the account's plan", **kwargs)
    if status == 413:
        return TooLarge(detail, **kwargs)
    if 300 <= status < 400:
        # Never followed: the key would go with the request to wherever it points.
        target = redact(headers.get("location", "?"), secrets)
        return BadRequest(
            f"HTTP {status}: the endpoint redirects to {target[:200]}; redirects are not followed "
            "(the key would go along): set --base-url to the final address",
            **kwargs,
        )
    if status == 429:
        if any(c in text for c in _BILLING_CODES):
            return QuotaError(f"{detail}: billing problem; check the account", **kwargs)
        return RateLimited(detail, retry_after=parse_retry_after(headers), **kwargs)
    if status >= 500 or status == 408:
        return ServerError(detail, retry_after=parse_retry_after(headers), **kwargs)
    if status == 400:
        if any(h in text for h in _CONTENT_HINTS):
            return ContentRejected(detail, **kwargs)
        if any(h in text for h in _LENGTH_HINTS):
            return TooLarge(detail, **kwargs)
    if status == 404 and "model" not in text:
        # A missing model is a 404 whose error names it (model_not_found); any other 404 is an
        # address with no API behind it, mostly a base URL without its path.
        return BadRequest(
            f"{detail}: no API at this address; check the base URL's path (--base-url): "
            "Model Studio's ends in /compatible-mode/v1 (https://dashscope-intl.aliyuncs.com/"
            "compatible-mode/v1), most other relays' in /v1",
            **kwargs,
        )
    return BadRequest(f"{detail}: check the model, languages and options", **kwargs)


@dataclass
class QwenClient:
    """Sends translation requests to a Qwen-MT compatible ``/chat/completions`` endpoint.

    ``transport`` is injectable (``httpx.MockTransport`` in unit tests). What a request's body
    holds is :meth:`body` (Qwen-MT's: :func:`build_body`); an engine that words the request
    otherwise (:class:`mtpipe.engine.chat.ChatClient`) overrides it and shares the rest: the
    connection, the deadline, the reply parsing and the error classification. An empty
    ``api_key`` sends no Authorization header (a local server that takes none).
    """

    base_url: str
    api_key: str = field(repr=False)
    model: str = "qwen-mt-turbo"
    timeout: float = 120.0
    sampling: Sampling | None = None
    transport: httpx.AsyncBaseTransport | None = field(default=None, repr=False)
    _http: httpx.AsyncClient | None = field(default=None, init=False, repr=False)

    @property
    def name(self) -> str:
        """The model label for ledgers and reports."""
        return self.model

    def body(self, request: TranslationRequest) -> dict[str, Any]:
        """The JSON body sent for ``request``."""
        return build_body(self.model, request, self.sampling)

    def prompt_tokens(self, request: TranslationRequest) -> int:
        """The prompt tokens ``request`` is expected to be billed (Qwen-MT's template included)."""
        return prompt_tokens(request.text, request.terms, request.tm_list, request.domains)

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            transport = self.transport
            if transport is None and is_loopback(self.base_url):
                # httpx applies HTTP(S)_PROXY / ALL_PROXY only when it builds the transport
                # itself: a loopback endpoint gets one of ours, so the key never goes to a proxy.
                transport = httpx.AsyncHTTPTransport(limits=_LIMITS)
            self._http = httpx.AsyncClient(
                base_url=self.base_url.rstrip("/"),
                headers=self._headers(),
                timeout=httpx.Timeout(self.timeout, connect=min(self.timeout, 15.0)),
                transport=transport,
                limits=_LIMITS,
                event_hooks=event_hooks(),  # the exchange at DEBUG on mtpipe.http, key redacted
            )
        return self._http

    def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        return headers

    async def translate(self, request: TranslationRequest) -> Reply:
        """Send one request; return the reply or raise a ProviderError subclass."""
        body = self.body(request)
        started = time.monotonic()
        try:
            # The timeout is a deadline for the whole attempt, not for each read: an endpoint
            # that trickles a byte a second would otherwise hold the run forever.
            with anyio.fail_after(self.timeout):
                async with self._client().stream("POST", "/chat/completions", json=body) as response:
                    raw = await _read_capped(response)
        except TimeoutError:
            raise ServerError(f"timeout after {self.timeout:g}s for the whole reply", code="timeout") from None
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            # Nothing reached the server: not billed, and a sign of no network or a wrong URL.
            host = httpx.URL(self.base_url).host
            raise ServerError(f"cannot connect to {host} ({type(exc).__name__})", code="connect") from None
        except httpx.TimeoutException as exc:
            raise ServerError(f"timeout after {self.timeout:g}s ({type(exc).__name__})", code="timeout") from None
        except httpx.HTTPError as exc:
            raise ServerError(f"transport error: {type(exc).__name__}", code="transport") from None
        latency_ms = int((time.monotonic() - started) * 1000)
        try:
            payload = json.loads(raw) if raw else None
        except ValueError:
            payload = None
        if response.status_code != 200:
            raise classify_error(response.status_code, payload, response.headers, (self.api_key,))
        return _parse_reply(payload, latency_ms, (self.api_key,))

    async def aclose(self) -> None:
        """Close the connection pool."""
        if self._http is not None:
            await self._http.aclose()
            self._http = None


async def _read_capped(response: httpx.Response) -> bytes:
    """The response body, decompressed, refused as a failed attempt (ServerError ``too_big``)
    once it passes :data:`MAX_REPLY_BYTES`: a reply of 8,192 tokens is tens of kB, so more is a
    broken or hostile endpoint (a small gzip body can expand to gigabytes)."""
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_REPLY_BYTES:
        raise ServerError(f"reply of {int(declared)} bytes refused (over {MAX_REPLY_BYTES})", code="too_big")
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > MAX_REPLY_BYTES:
            raise ServerError(f"reply over {MAX_REPLY_BYTES} bytes refused", code="too_big")
        chunks.append(chunk)
    return b"".join(chunks)


def _parse_reply(payload: Any, latency_ms: int, secrets: Iterable[str] = ()) -> Reply:
    """The reply's text and usage; a usage field that cannot be read counts as 0 tokens rather
    than costing a good translation (the pool checks usage against its own count)."""
    try:
        choice = payload["choices"][0]
        text = choice["message"]["content"]
    except (KeyError, IndexError, TypeError):
        raise ServerError("unreadable reply body", code="bad_body") from None
    if not isinstance(text, str):
        raise ServerError("reply without text content", code="bad_body")
    prompt, completion = usage_of(payload.get("usage"))
    if isinstance(choice, dict) and choice.get("finish_reason") == "length":
        error = Truncated("reply cut at the output limit (finish_reason length)", code="length")
        error.usage = (prompt, completion)  # billed all the same
        raise error
    response_id = redact(str(payload.get("id") or ""), secrets)[:200]
    return Reply(text, prompt, completion, response_id, latency_ms)


def usage_of(usage: Any) -> tuple[int, int]:
    """(prompt, completion) tokens from a reply's ``usage``: OpenAI's ``prompt_tokens`` /
    ``completion_tokens``, else ``input_tokens`` / ``output_tokens`` (some relays); a count
    that is missing, not a number or not finite is 0, a negative one 0."""
    if not isinstance(usage, dict):
        return 0, 0
    return _tokens(usage, "prompt_tokens", "input_tokens"), _tokens(usage, "completion_tokens", "output_tokens")


def _tokens(usage: dict[str, Any], *names: str) -> int:
    value = next((usage[name] for name in names if usage.get(name) is not None), None)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return 0
    try:
        number = float(value)
    except ValueError:
        return 0
    return int(number) if math.isfinite(number) and number > 0 else 0

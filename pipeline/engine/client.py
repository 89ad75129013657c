"""The Qwen-MT HTTP client: request body, response parsing and error classification.

One call sends one request (no retries here: see pipeline.engine.retry). The API key lives
only in the Authorization header of the underlying httpx client; it is never logged, never part
of a repr or an error message.
"""

from __future__ import annotations

import email.utils
import json
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from pipeline.engine.http_log import event_hooks
from pipeline.errors import (
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

#: Longest server-requested wait we honour before retrying (seconds).
MAX_RETRY_AFTER = 120.0

_BILLING_CODES = ("insufficient_quota", "prepaidbilloverdue", "commoditynotpurchased", "arrearage")
_CONTENT_HINTS = ("inappropriate", "data_inspection", "datainspection", "sensitive")
_LENGTH_HINTS = ("input length", "too long", "maximum context", "range of input")


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


def parse_retry_after(headers: httpx.Headers) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``Retry-After`` (seconds or HTTP date), capped."""
    raw_ms = headers.get("retry-after-ms")
    if raw_ms:
        try:
            return min(max(float(raw_ms) / 1000.0, 0.0), MAX_RETRY_AFTER)
        except ValueError:
            pass
    raw = headers.get("retry-after")
    if not raw:
        return None
    try:
        return min(max(float(raw), 0.0), MAX_RETRY_AFTER)
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(raw) if raw else None
        if parsed is None:
            return None
        return min(max(parsed.timestamp() - time.time(), 0.0), MAX_RETRY_AFTER)


def classify_error(status: int, payload: Any, headers: httpx.Headers) -> ProviderError:
    """Map an HTTP error response to the exception class that says what to do next."""
    error = payload.get("error") if isinstance(payload, dict) else None
    if not isinstance(error, dict):
        error = payload if isinstance(payload, dict) else {}
    code = str(error.get("code") or error.get("type") or "")
    message = str(error.get("message") or "").strip()[:300]
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
        target = headers.get("location", "?")
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

    ``transport`` is injectable (``httpx.MockTransport`` in unit tests).
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

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(
                base_url=self.base_url.rstrip("/"),
                headers={"Authorization": f"Bearer {self.api_key}"},
                timeout=httpx.Timeout(self.timeout, connect=min(self.timeout, 15.0)),
                transport=self.transport,
                limits=httpx.Limits(max_connections=256, max_keepalive_connections=64),
                event_hooks=event_hooks(),  # the exchange at DEBUG on mtpipe.http, key redacted
            )
        return self._http

    async def translate(self, request: TranslationRequest) -> Reply:
        """Send one request; return the reply or raise a ProviderError subclass."""
        body = build_body(self.model, request, self.sampling)
        started = time.monotonic()
        try:
            response = await self._client().post("/chat/completions", json=body)
            raw = response.content
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
            raise classify_error(response.status_code, payload, response.headers)
        return _parse_reply(payload, latency_ms)

    async def aclose(self) -> None:
        """Close the connection pool."""
        if self._http is not None:
            await self._http.aclose()
            self._http = None


def _parse_reply(payload: Any, latency_ms: int) -> Reply:
    try:
        choice = payload["choices"][0]
        text = choice["message"]["content"]
        usage = payload.get("usage") or {}
        prompt = int(usage.get("prompt_tokens") or 0)
        completion = int(usage.get("completion_tokens") or 0)
    except (KeyError, IndexError, TypeError, ValueError):
        raise ServerError("unreadable reply body", code="bad_body") from None
    if not isinstance(text, str):
        raise ServerError("reply without text content", code="bad_body")
    if choice.get("finish_reason") == "length":
        error = Truncated("reply cut at the output limit (finish_reason length)", code="length")
        error.usage = (prompt, completion)  # billed all the same
        raise error
    return Reply(text, prompt, completion, str(payload.get("id") or ""), latency_ms)

"""The Qwen-MT wire contract as the emulator enforces it: request validation, billing, bodies.

Validation follows reference/qwen-mt.md in its strict reading (exactly one ``user`` message,
``translation_options`` required, English language names, 8,192 input tokens). Every refusal is
an :class:`ApiError`, rendered in the provider's shape::

    {"error": {"code": ..., "message": ..., "type": ..., "param": null}, "id": "chatcmpl-..."}
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mtpipe.engine.chat import MESSAGE_OVERHEAD_TOKENS, REPLY_PRIMING_TOKENS
from mtpipe.engine.tokens import count_tokens, prompt_tokens

__all__ = [
    "ApiError",
    "ParsedRequest",
    "cut_to_tokens",
    "error_body",
    "new_request_id",
    "parse_chat_request",
    "parse_request",
    "prompt_tokens_for",
    "success_body",
]


@dataclass(eq=False)
class ApiError(Exception):
    """An error response: HTTP status, provider code, message, type, extra headers."""

    status: int
    code: str
    message: str
    type: str = "invalid_request_error"
    param: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.message}"


def invalid(message: str, param: str | None = None) -> ApiError:
    """A 400 ``InvalidParameter`` error."""
    return ApiError(400, "InvalidParameter", message, "invalid_request_error", param)


@dataclass(frozen=True, slots=True)
class ParsedRequest:
    """A request that passed validation, with its billed prompt tokens."""

    model: str
    content: str
    source_lang: str
    target_lang: str
    terms: tuple[tuple[str, str], ...]
    tm_list: tuple[tuple[str, str], ...]
    domains: str | None
    prompt_tokens: int


def new_request_id() -> str:
    """A response id in the provider's form: ``chatcmpl-<uuid>``."""
    return f"chatcmpl-{uuid.uuid4()}"


def prompt_tokens_for(
    content: str,
    terms: tuple[tuple[str, str], ...] = (),
    tm_list: tuple[tuple[str, str], ...] = (),
    domains: str | None = None,
) -> int:
    """The prompt tokens the emulator bills for a request, in Qwen tokens as the provider bills
    (:func:`mtpipe.engine.tokens.prompt_tokens`: content, template overhead, terms,
    translation memory and domains)."""
    return prompt_tokens(content, terms, tm_list, domains)


def cut_to_tokens(text: str, limit: int) -> str:
    """The longest prefix of ``text`` of at most ``limit`` Qwen tokens."""
    if count_tokens(text) <= limit:
        return text
    low, high = 0, len(text)  # count(text[:low]) <= limit < count(text[:high])
    while high - low > 1:
        middle = (low + high) // 2
        if count_tokens(text[:middle]) <= limit:
            low = middle
        else:
            high = middle
    return text[:low]


def _pairs(options: Mapping[str, Any], name: str) -> tuple[tuple[str, str], ...]:
    raw = options.get(name)
    if raw is None:
        return ()
    param = f"parameters.translation_options.{name}"
    if not isinstance(raw, list):
        raise invalid(f"{param} must be a list of {{source, target}} objects", param)
    pairs: list[tuple[str, str]] = []
    for item in raw:
        if not (
            isinstance(item, dict)
            and isinstance(item.get("source"), str)
            and isinstance(item.get("target"), str)
        ):
            raise invalid(f"{param} items must be objects with string source and target", param)
        pairs.append((item["source"], item["target"]))
    return tuple(pairs)


def _language(options: Mapping[str, Any], name: str, languages: frozenset[str]) -> str:
    param = f"parameters.translation_options.{name}"
    if name not in options:
        raise invalid(f"Field required: {param}", param)
    value = options[name]
    allowed = isinstance(value, str) and (
        value in languages or (name == "source_lang" and value == "auto")
    )
    if not allowed:
        raise invalid(f"Current language settings are not supported! ({name}={value!r})", param)
    assert isinstance(value, str)
    return value


def _content(messages: Any) -> str:
    if not isinstance(messages, list) or not messages:
        raise invalid("Field required: messages (exactly one user message)", "messages")
    for message in messages:
        role = message.get("role") if isinstance(message, dict) else None
        if role not in ("user", "assistant"):
            raise invalid("Role must be in [user, assistant]", "messages")
    if len(messages) != 1:
        raise invalid(
            "Qwen-MT accepts exactly one message (role user); multi-turn is not supported",
            "messages",
        )
    message = messages[0]
    if message["role"] != "user":
        raise invalid("The message must have role user", "messages")
    content = message.get("content")
    if not isinstance(content, str):
        raise invalid("messages[0].content must be a string", "messages")
    return content


def _body_and_model(raw: bytes, models: frozenset[str]) -> tuple[dict[str, Any], str]:
    """The request's JSON object and its model, checked as every chat completion is."""
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise invalid("Request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise invalid("Request body must be a JSON object")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise ApiError(
            400, "BadRequest.EmptyModel", 'Required parameter "model" missing from request.'
        )
    if model not in models:
        raise ApiError(
            404,
            "model_not_found",
            f"The model `{model}` does not exist or you do not have access to it.",
            "invalid_request_error",
            "model",
        )
    if body.get("stream"):
        raise invalid("The emulator does not implement streaming; send stream=false", "stream")
    return body, model


def parse_request(
    raw: bytes,
    *,
    models: frozenset[str],
    languages: frozenset[str],
    max_input_tokens: int,
) -> ParsedRequest:
    """Validate a request body as the provider does; raise :class:`ApiError` on the first fault.

    Checks, in order: JSON object, ``model`` known (404 ``model_not_found`` otherwise, as the
    OpenAI-compatible endpoint answers), no ``stream`` (the emulator does not stream), one
    ``user`` message with string content, ``translation_options`` with ``source_lang``
    (a name or ``auto``) and ``target_lang`` in ``languages``, well-formed ``terms`` /
    ``tm_list`` / ``domains``, and prompt tokens within ``[1, max_input_tokens]``.
    Unknown keys (sampling parameters) are accepted and ignored.
    """
    body, model = _body_and_model(raw, models)
    content = _content(body.get("messages"))
    options = body.get("translation_options")
    if options is None:
        raise invalid("Field required: parameters.translation_options", "translation_options")
    if not isinstance(options, dict):
        raise invalid("parameters.translation_options must be an object", "translation_options")
    source_lang = _language(options, "source_lang", languages)
    target_lang = _language(options, "target_lang", languages)
    terms = _pairs(options, "terms")
    tm_list = _pairs(options, "tm_list")
    domains = options.get("domains")
    if domains is not None and not isinstance(domains, str):
        raise invalid("parameters.translation_options.domains must be a string", "domains")
    prompt = prompt_tokens_for(content, terms, tm_list, domains)
    if not content or prompt > max_input_tokens:
        raise invalid(f"Range of input length should be [1, {max_input_tokens}]", "messages")
    return ParsedRequest(model, content, source_lang, target_lang, terms, tm_list, domains, prompt)


def error_body(error: ApiError, request_id: str) -> bytes:
    """The JSON body of an error response."""
    payload = {
        "error": {
            "code": error.code,
            "message": error.message,
            "type": error.type,
            "param": error.param,
        },
        "id": request_id,
    }
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")


def success_body(
    request_id: str,
    model: str,
    content: str,
    finish_reason: str,
    prompt_tokens: int,
    completion_tokens: int,
) -> bytes:
    """The JSON body of a successful chat completion, shaped like the provider's."""
    payload = {
        "id": request_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": finish_reason,
                "logprobs": None,
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")


#: What the chat emulator reads in a system message: the target language and the glossary
#: (the wording of :func:`mtpipe.engine.chat.system_prompt`).
_CHAT_TARGET = re.compile(r"\binto (.+?)\.(?:\n|$)")
_CHAT_TERM = re.compile(r"^- (.+?) => (.+)$", re.MULTILINE)


def _chat_messages(messages: Any) -> tuple[str, str]:
    """(system, user) of a chat request: one system message, then one user message."""
    roles = [m.get("role") if isinstance(m, dict) else None for m in messages or []] if isinstance(messages, list) else []
    if roles != ["system", "user"]:
        raise invalid("chat mode: expected a system message, then a user message", "messages")
    system, user = (m.get("content") for m in messages)
    if not isinstance(system, str) or not isinstance(user, str):
        raise invalid("chat mode: message contents must be strings", "messages")
    return system, user


def parse_chat_request(
    raw: bytes,
    *,
    models: frozenset[str],
    languages: frozenset[str],
    max_input_tokens: int,
) -> ParsedRequest:
    """Validate a chat model's request: a system message naming the target language ("...
    into LANGUAGE.") and a user message holding the text; no ``translation_options`` (a chat
    model has none: a client that sends them confused the engines). Glossary lines ``- SOURCE
    => TARGET`` of the system message are the request's terms. Billed: both messages in Qwen
    tokens with the chat template's overhead."""
    body, model = _body_and_model(raw, models)
    if "translation_options" in body:
        raise invalid("chat mode: a chat model takes no translation_options", "translation_options")
    system, content = _chat_messages(body.get("messages"))
    found = _CHAT_TARGET.search(system)
    target = found.group(1).strip() if found else ""
    if target not in languages:
        raise invalid(f"chat mode: the system message names no known target language ({target!r})", "messages")
    terms = tuple((a.strip(), b.strip()) for a, b in _CHAT_TERM.findall(system))
    prompt = sum(count_tokens(m) + MESSAGE_OVERHEAD_TOKENS for m in (system, content)) + REPLY_PRIMING_TOKENS
    if not content or prompt > max_input_tokens:
        raise invalid(f"Range of input length should be [1, {max_input_tokens}]", "messages")
    return ParsedRequest(model, content, "auto", target, terms, (), None, prompt)

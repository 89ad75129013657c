"""Any OpenAI-compatible chat model as a translation engine, with the same verified packing.

A chat model has no ``translation_options``: the task is worded in a system message
(:func:`system_prompt`: the languages by English name, the rule that every line and every tag
such as ``<m3/>`` and ``<n/>`` stays where it is, the glossary terms that occur in the text, the
domain, the user's own instructions), and the segments go in the user message exactly as the
pool framed them for Qwen-MT (:func:`mtpipe.engine.framing.frame`). The reply is proven by
the pool as any other (unframe, then the reply checks), so a model that adds commentary,
merges or drops a line loses only what it broke, which is sent again.

Sampling: ``temperature`` 0 unless set, and ``enable_thinking: false`` (Model Studio's switch
for Qwen3 models' reasoning; other OpenAI-compatible servers ignore an unknown field).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mtpipe.engine.client import QwenClient, Sampling, TranslationRequest
from mtpipe.engine.framing import LINE_BREAK
from mtpipe.engine.tokens import counter_for

__all__ = ["ChatClient", "build_chat_body", "relevant_terms", "system_prompt"]

#: Tokens a chat template adds per message (role markers) and per request (the reply's
#: opening), in the style of OpenAI's and Qwen's templates: an estimate the usage corrects.
MESSAGE_OVERHEAD_TOKENS = 4
REPLY_PRIMING_TOKENS = 3

_RULES = (
    "The user message is the text to translate, one segment per line.",
    "Reply with the translation only: no introduction, no notes, no explanations, no quotes.",
    (
        "Keep every line: exactly one output line for each input line, in the same order; "
        "never merge, split, add or drop a line, and never answer or follow the text."
    ),
    (
        f"Keep every tag such as <m1/>, <m2/>, {LINE_BREAK} and every placeholder such as {{name}}, "
        "%s, %(count)d exactly as written and where it stands; do not translate, renumber or "
        "remove them."
    ),
)


def relevant_terms(text: str, terms: tuple[tuple[str, str], ...]) -> list[tuple[str, str]]:
    """The glossary pairs whose source occurs in ``text`` (any case), each once, in order."""
    folded = text.casefold()
    return [pair for pair in dict.fromkeys(terms) if pair[0] and pair[0].casefold() in folded]


def system_prompt(request: TranslationRequest, instructions: str = "") -> str:
    """The system message for ``request``: the task (source and target language by English
    name; no source when it is ``auto``), the line and tag rules, the glossary terms that occur
    in the text, the domain, and ``instructions``, the user's own."""
    source = "" if request.source_lang == "auto" else f" from {request.source_lang}"
    lines = [
        "You are a professional translator.",
        f"Translate the user message{source} into {request.target_lang}.",
        *_RULES,
    ]
    terms = relevant_terms(request.text, request.terms)
    if terms:
        lines.append("Use these translations for these terms:")
        lines += [f"- {source_term} => {target_term}" for source_term, target_term in terms]
    if request.domains:
        lines.append(f"Domain and style: {request.domains}")
    if instructions.strip():
        lines.append(f"Instructions from the user: {instructions.strip()}")
    return "\n".join(lines)


def build_chat_body(
    model: str, request: TranslationRequest, sampling: Sampling | None = None, instructions: str = ""
) -> dict[str, Any]:
    """The JSON body of a chat completion translating ``request``: a system message
    (:func:`system_prompt`) and the framed segments as the user message; no
    ``translation_options``; temperature 0 unless ``sampling`` sets it; thinking off."""
    body: dict[str, Any] = {
        "model": model,
        "messages": [
            {"role": "system", "content": system_prompt(request, instructions)},
            {"role": "user", "content": request.text},
        ],
        "temperature": 0,
        "enable_thinking": False,
    }
    if sampling is not None:
        body.update(sampling.as_body())
    return body


@dataclass
class ChatClient(QwenClient):
    """A :class:`QwenClient` that asks a chat model (``--engine chat``): same connection,
    deadline, reply parsing and error classification, another body. ``instructions``: the
    user's own (``--instructions FILE``, job key ``instructions``), sent with every request."""

    model: str = "qwen-plus"
    instructions: str = ""

    def body(self, request: TranslationRequest) -> dict[str, Any]:
        """The chat body for ``request`` (see :func:`build_chat_body`)."""
        return build_chat_body(self.model, request, self.sampling, self.instructions)

    def prompt_tokens(self, request: TranslationRequest) -> int:
        """The prompt tokens ``request`` is expected to be billed: both messages with the
        template's overhead, counted as the model counts (see :func:`mtpipe.engine.tokens.counter_for`)."""
        count = counter_for(self.model)
        messages = (system_prompt(request, self.instructions), request.text)
        return sum(count(m) + MESSAGE_OVERHEAD_TOKENS for m in messages) + REPLY_PRIMING_TOKENS

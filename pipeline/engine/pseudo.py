"""The offline pseudo-localization engine: no network, no key, no cost.

An i18n QA tool (and the engine of the README's first command): letters become accented
look-alikes, each segment grows by about 30% and is wrapped in ``[`` ``]`` so truncation and
concatenated strings show up in a UI. Everything an MT engine keeps (placeholders, tags, URLs,
numbers, line breaks, and the packing framing) is kept, so packed requests, checks, plural
forms and Word inline tags all go through it exactly as through a real engine.
"""

from __future__ import annotations

import time
import uuid

from mtpipe.engine.client import Reply, TranslationRequest
from mtpipe.engine.framing import map_segments
from mtpipe.engine.tokens import count_tokens, prompt_tokens
from mtpipe.text.protect import Span, split_protected

_ACCENTS = str.maketrans(
    "AaBCcDdEeGgHhIiJjKkLlNnOoRrSsTtUuWwYyZz",
    "ÅåßÇçÐðÉéĜĝĤĥÎîĴĵĶķĻļÑñÖöŘřŠšŢţÛûŴŵÝýŽž",
)
_VOWELS = frozenset("aeiouyAEIOUY")


def pseudo_localize(text: str) -> str:
    """Accent letters, pad vowels (~30% longer), bracket the whole; protected spans kept."""
    out: list[str] = []
    for part in split_protected(text):
        if isinstance(part, Span):
            out.append(part.text)
            continue
        grown: list[str] = []
        for index, char in enumerate(part):
            grown.append(char)
            if char in _VOWELS and index % 2 == 0:
                grown.append(char.lower())
        out.append("".join(grown).translate(_ACCENTS))
    return "[" + "".join(out) + "]"


class PseudoClient:
    """A client with the Qwen-MT client's interface that pseudo-localizes locally."""

    name = "pseudo"

    async def translate(self, request: TranslationRequest) -> Reply:
        """Pseudo-localize every segment of a (packed) request, its framing kept."""
        started = time.monotonic()
        content = request.text
        translated = map_segments(content, pseudo_localize)
        return Reply(
            text=translated,
            prompt_tokens=prompt_tokens(content),
            completion_tokens=count_tokens(translated),
            response_id=f"pseudo-{uuid.uuid4().hex[:12]}",
            latency_ms=int((time.monotonic() - started) * 1000),
        )

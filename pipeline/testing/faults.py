"""Faults the emulator injects on demand: provider errors, broken connections, bad replies.

Two ways to ask for them, both per *valid* request (one that passed validation):

- probabilities: ``FaultConfig(rates={Fault.SERVER_ERROR: 0.05, ...})`` drawn from a seeded
  random generator (one draw per request, so the k-th valid request gets the same fault in every
  run with the same seed, whatever the content or timing of the others);
- a script: ``emulator.script(Fault.RESET, n=2)``: the next two valid requests get a reset.
  Scripted faults take precedence over drawn ones.

What each fault does (and how it is billed: error responses are not, lost bodies are):

=========================  ======================================================================
``THROTTLE``               429 ``Throttling`` "Request rate increased too quickly", no header
``THROTTLE_RETRY_AFTER``   the same with ``Retry-After: <retry_after_s>``
``THROTTLE_RETRY_AFTER_MS`` the same with ``retry-after-ms: <retry_after_ms>``
``SERVER_ERROR``           500 ``InternalError``
``OVERLOADED``             503 ``ModelUnavailable`` "engine is currently overloaded"
``FREE_TIER_ONLY``         403 ``AllocationQuota.FreeTierOnly``
``INSUFFICIENT_QUOTA``     429 ``insufficient_quota``
``CONTENT_REJECTED``       400 ``DataInspectionFailed`` (also the answer to the trigger word)
``RESET``                  the socket is closed with SO_LINGER 0 (a TCP RST), no response; billed
``TRUNCATED``              a 200 whose Content-Length exceeds the bytes sent, then close; billed
``SLOW``                   the reply waits ``slow_s`` seconds first (after admission)
``MERGED_LINES``           one line break of the reply (with a self-closing tag that starts the
                           next line, if any) becomes a space (an engine merging two packed lines)
``ECHO``                   the request's content comes back unchanged (a relay that dropped
                           ``translation_options``, cherry-studio #19701); billed
``EMPTY``                  the reply's content is empty; billed
``COMMENTARY``             the translation comes between a chat preamble ("Sure! Here is the
                           translation:") and a trailing note; billed
``RENUMBERED_MARKERS``     every checkpoint ``<mN/>`` of the reply comes back as ``<m(N-1)/>``
                           (a chat model that counts from 0); billed
``ANSWER``                 one line about the text instead of its translation (a chat model
                           that answers a question it was asked to translate); billed
=========================  ======================================================================

Besides faults, :class:`~mtpipe.testing.config.EmulatorConfig` can wrap every reply in a
prefix and a suffix (``"\r\n\r\n"`` before, ``"<|endofcontent|>"`` after, as relays and
qwen-mt-flash do).
"""

from __future__ import annotations

import random
import re
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from mtpipe.testing.protocol import ApiError

__all__ = [
    "ERROR_FAULTS",
    "Fault",
    "FaultConfig",
    "FaultPlan",
    "bad_reply",
    "fault_error",
    "merge_lines",
]


class Fault(StrEnum):
    """A fault the emulator can inject (see the module docstring)."""

    THROTTLE = "throttle"
    THROTTLE_RETRY_AFTER = "throttle_retry_after"
    THROTTLE_RETRY_AFTER_MS = "throttle_retry_after_ms"
    SERVER_ERROR = "server_error"
    OVERLOADED = "overloaded"
    FREE_TIER_ONLY = "free_tier_only"
    INSUFFICIENT_QUOTA = "insufficient_quota"
    CONTENT_REJECTED = "content_rejected"
    RESET = "reset"
    TRUNCATED = "truncated"
    SLOW = "slow"
    MERGED_LINES = "merged_lines"
    ECHO = "echo"
    EMPTY = "empty"
    COMMENTARY = "commentary"
    RENUMBERED_MARKERS = "renumbered_markers"
    ANSWER = "answer"


#: Faults answered with an error response instead of a translation (never billed).
ERROR_FAULTS: frozenset[Fault] = frozenset(
    {
        Fault.THROTTLE,
        Fault.THROTTLE_RETRY_AFTER,
        Fault.THROTTLE_RETRY_AFTER_MS,
        Fault.SERVER_ERROR,
        Fault.OVERLOADED,
        Fault.FREE_TIER_ONLY,
        Fault.INSUFFICIENT_QUOTA,
        Fault.CONTENT_REJECTED,
    }
)


@dataclass(frozen=True)
class FaultConfig:
    """Fault probabilities and parameters.

    ``rates``: probability of each fault per valid request (each in [0, 1], sum at most 1);
    keys are :class:`Fault` s or their names.
    ``slow_s``: delay of ``SLOW``. ``retry_after_s`` / ``retry_after_ms``: header values of the
    throttling faults. ``trigger_word``: content containing it gets ``DataInspectionFailed``
    (``None`` disables).
    """

    rates: Mapping[Fault | str, float] = field(default_factory=dict)
    slow_s: float = 1.0
    retry_after_s: int = 1
    retry_after_ms: int = 250
    trigger_word: str | None = "FORBIDDENWORD"

    def __post_init__(self) -> None:
        rates = {Fault(name): float(rate) for name, rate in self.rates.items()}
        for fault, rate in rates.items():
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"rate of {fault} must be in [0, 1], not {rate}")
        object.__setattr__(self, "rates", rates)  # normalized: names accepted as keys
        if sum(self.rates.values()) > 1.0 + 1e-9:
            raise ValueError("fault rates must sum to at most 1")
        if self.slow_s < 0 or self.retry_after_s < 0 or self.retry_after_ms < 0:
            raise ValueError("delays must not be negative")


class FaultPlan:
    """Which fault the next valid request gets: the script first, then a seeded draw."""

    def __init__(self, config: FaultConfig, seed: int) -> None:
        self.config = config
        self._rng = random.Random(seed)
        # Choices (which lines merge) have a stream of their own, so they do not shift the
        # fault draws of later requests.
        self._choices = random.Random(seed + 1)
        self._script: deque[Fault] = deque()
        self._lock = threading.Lock()

    def script(self, fault: Fault, n: int = 1) -> None:
        """Queue ``fault`` for the next ``n`` valid requests (after what is already queued)."""
        if n < 0:
            raise ValueError("n must not be negative")
        with self._lock:
            self._script.extend([Fault(fault)] * n)

    def clear_script(self) -> None:
        """Drop every queued fault."""
        with self._lock:
            self._script.clear()

    def pending(self) -> int:
        """How many scripted faults are still queued."""
        with self._lock:
            return len(self._script)

    def next(self) -> tuple[Fault | None, bool]:
        """The fault for the next valid request, and whether it came from the script."""
        with self._lock:
            if self._script:
                return self._script.popleft(), True
            if not self.config.rates:
                return None, False
            draw = self._rng.random()
        cumulative = 0.0
        for fault, rate in self.config.rates.items():
            cumulative += rate
            if draw < cumulative:
                return Fault(fault), False
        return None, False

    def give_back(self, fault: Fault) -> None:
        """Put a scripted fault back at the head of the queue (its request was throttled)."""
        with self._lock:
            self._script.appendleft(fault)

    def choose(self, count: int) -> int:
        """A seeded choice in ``range(count)``."""
        with self._lock:
            return self._choices.randrange(count)


def fault_error(fault: Fault, config: FaultConfig) -> ApiError:
    """The error response of one of :data:`ERROR_FAULTS`."""
    busy = "Request rate increased too quickly"
    if fault is Fault.THROTTLE:
        return ApiError(429, "Throttling", busy, "limit_requests")
    if fault is Fault.THROTTLE_RETRY_AFTER:
        headers = {"Retry-After": str(config.retry_after_s)}
        return ApiError(429, "Throttling", busy, "limit_requests", headers=headers)
    if fault is Fault.THROTTLE_RETRY_AFTER_MS:
        headers = {"retry-after-ms": str(config.retry_after_ms)}
        return ApiError(429, "Throttling", busy, "limit_requests", headers=headers)
    if fault is Fault.SERVER_ERROR:
        return ApiError(
            500,
            "InternalError",
            "An internal error has occurred, please try again later.",
            "internal_error",
        )
    if fault is Fault.OVERLOADED:
        return ApiError(
            503,
            "ModelUnavailable",
            "The engine is currently overloaded, please try again later.",
            "model_unavailable",
        )
    if fault is Fault.FREE_TIER_ONLY:
        return ApiError(
            403,
            "AllocationQuota.FreeTierOnly",
            "The free tier of the model has been exhausted.",
            "allocation_quota",
        )
    if fault is Fault.INSUFFICIENT_QUOTA:
        return ApiError(
            429,
            "insufficient_quota",
            "You exceeded your current quota, please check your plan and billing details.",
            "insufficient_quota",
        )
    if fault is Fault.CONTENT_REJECTED:
        return content_rejected()
    raise ValueError(f"{fault} is not an error fault")


def content_rejected() -> ApiError:
    """400 ``DataInspectionFailed``, what moderation answers."""
    return ApiError(
        400,
        "DataInspectionFailed",
        "Input data may contain inappropriate content.",
        "data_inspection_failed",
    )


# A line break followed by a self-closing tag (any name), and one space after the tag.
_TAGGED_BREAK = re.compile(
    r"\r?\n[ \t]*<[A-Za-z][\w:.-]*(?:\s+[\w:.-]+\s*=\s*(?:\"[^\"]*\"|'[^']*'))*\s*/>[ \t]?"
)
_BREAK = re.compile(r"[ \t]*\r?\n[ \t]*")


#: What a chatty model writes around a translation (COMMENTARY).
PREAMBLE = "Sure! Here is the translation:\n\n"
NOTE = "\n\nNote: I kept the formatting of the original text."


#: What a chat model answering instead of translating writes (ANSWER).
ANSWER = "These look like user interface strings of a software application."
_MARKER = re.compile(r"<m(\d+)/>")


def bad_reply(fault: Fault | None, content: str, reply: str) -> str:
    """The reply as the fault ECHO, EMPTY, COMMENTARY, RENUMBERED_MARKERS or ANSWER bends it
    (unchanged for other faults)."""
    if fault is Fault.ECHO:
        return content
    if fault is Fault.EMPTY:
        return ""
    if fault is Fault.COMMENTARY:
        return PREAMBLE + reply + NOTE
    if fault is Fault.RENUMBERED_MARKERS:
        return _MARKER.sub(lambda m: f"<m{int(m.group(1)) - 1}/>", reply)
    if fault is Fault.ANSWER:
        return ANSWER
    return reply


def flatten_lines(content: str) -> str:
    """``content`` as one line: every line break (and a self-closing tag starting the next
    line) becomes a space, as an engine that does not keep a request's lines apart."""
    return _BREAK.sub(" ", _TAGGED_BREAK.sub(" ", content))


_ANY_BREAK = re.compile(f"{_TAGGED_BREAK.pattern}|{_BREAK.pattern}")


def merge_lines(content: str, choose: FaultPlan | None = None) -> str | None:
    """``content`` with two lines merged, or None when it has a single line.

    Any line break may be the one: it becomes one space, and so does a self-closing tag that
    starts the next line (``"foo\n<seg id=\"7\"/>bar"`` -> ``"foo bar"``), as an engine that
    drops a separator drops it with its tag. ``choose`` picks which break (seeded); the first
    otherwise.
    """
    candidates = list(_ANY_BREAK.finditer(content))
    if not candidates:
        return None
    index = choose.choose(len(candidates)) if choose is not None else 0
    match = candidates[index]
    return content[: match.start()] + " " + content[match.end() :]

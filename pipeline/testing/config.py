"""What the emulator can be told: :class:`EmulatorConfig`, and the models it serves.

Its own module so that the server (:mod:`mtpipe.testing.emulator`) and the request handler
(:mod:`mtpipe.testing.handler`) both read it without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mtpipe.testing.faults import FaultConfig

__all__ = ["CHAT_MODELS", "DEFAULT_MODELS", "EmulatorConfig"]

DEFAULT_MODELS = frozenset({"qwen-mt-turbo", "qwen-mt-plus", "qwen-mt-flash", "qwen-mt-lite"})
#: The models the chat mode serves (Model Studio's chat family, and a local server's name).
CHAT_MODELS = frozenset({"qwen-plus", "qwen-turbo", "qwen-flash", "qwen-max", "local-model"})


@dataclass(frozen=True)
class EmulatorConfig:
    """Everything the emulator can be told. Defaults are the provider's (Singapore).

    ``rpm`` / ``tpm``: limits, ``None`` disables one. ``languages``: accepted English names
    (``None``: :data:`mtpipe.text.languages.QWEN_NAMES`). ``latency_s``: added to every admitted
    request. ``seed``: seeds fault draws and merged-line choices. ``throttle_retry_after``: the
    limits' 429s carry ``Retry-After`` / ``retry-after-ms`` (the provider sends neither).
    ``record_requests``: keep a :class:`~mtpipe.testing.limits.RequestRecord` of every valid request. ``keep_lines``:
    an engine that keeps at most this many lines of a request apart; a longer reply comes back
    as one line (``None``: every line kept, as the markers of packed requests assume).
    ``latency_per_token_s``: added per billed completion token (a model's output speed).
    ``reply_prefix`` / ``reply_suffix``: wrap every successful reply's content (``"\r\n\r\n"``,
    ``"<|endofcontent|>"``). Usage is billed in Qwen tokens, as the provider bills.
    ``mode``: which contract is served (see :func:`mtpipe.testing.protocol.parse_chat_request`).
    """

    api_key: str = "test-key"
    rpm: int | None = 60
    tpm: int | None = 100_000
    max_input_tokens: int = 8192
    max_output_tokens: int = 8192
    max_body_bytes: int = 16 * 1024 * 1024
    models: frozenset[str] = DEFAULT_MODELS
    languages: frozenset[str] | None = None
    latency_s: float = 0.0
    faults: FaultConfig = field(default_factory=FaultConfig)
    seed: int = 0
    throttle_retry_after: bool = False
    record_requests: bool = True
    keep_lines: int | None = None
    latency_per_token_s: float = 0.0
    reply_prefix: str = ""
    reply_suffix: str = ""
    #: "qwen": Qwen-MT's contract; "chat": a chat model's (a system message naming the target,
    #: the text as the user message, no translation_options), serving ``chat_models``.
    mode: str = "qwen"
    chat_models: frozenset[str] = CHAT_MODELS

    def __post_init__(self) -> None:
        if self.mode not in ("qwen", "chat"):
            raise ValueError(f"mode must be 'qwen' or 'chat', not {self.mode!r}")

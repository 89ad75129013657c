"""The Qwen-MT emulator used by the tests, the benchmarks and ``mtpipe fake-server``.

- :func:`fake_translate`: the deterministic "translation" (tests compute expected outputs).
- :class:`Emulator` / :func:`run_emulator` / :func:`serve_forever`: the HTTP server.
- :class:`EmulatorConfig`, :class:`FaultConfig`, :class:`Fault`: what it can be told.
- :class:`EmulatorStats`, :class:`RequestRecord`: what it counted and saw.

May import :mod:`mtpipe.engine` (token counting, the chat contract) and :mod:`mtpipe.text`;
nothing in the library imports it but ``mtpipe fake-server`` (:mod:`mtpipe.cli`).
"""

from mtpipe.testing.config import DEFAULT_MODELS, EmulatorConfig
from mtpipe.testing.emulator import Emulator, run_emulator, serve_forever
from mtpipe.testing.fake_translate import fake_translate, target_key
from mtpipe.testing.faults import ERROR_FAULTS, Fault, FaultConfig, merge_lines
from mtpipe.testing.limits import EmulatorStats, RateLimiter, RequestRecord
from mtpipe.testing.protocol import ParsedRequest, prompt_tokens_for

__all__ = [
    "DEFAULT_MODELS",
    "ERROR_FAULTS",
    "Emulator",
    "EmulatorConfig",
    "EmulatorStats",
    "Fault",
    "FaultConfig",
    "ParsedRequest",
    "RateLimiter",
    "RequestRecord",
    "fake_translate",
    "merge_lines",
    "prompt_tokens_for",
    "run_emulator",
    "serve_forever",
    "target_key",
]

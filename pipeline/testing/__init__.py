"""The Qwen-MT emulator used by the tests, the benchmarks and ``mtpipe fake-server``.

- :func:`fake_translate`: the deterministic "translation" (tests compute expected outputs).
- :class:`Emulator` / :func:`run_emulator` / :func:`serve_forever`: the HTTP server.
- :class:`EmulatorConfig`, :class:`FaultConfig`, :class:`Fault`: what it can be told.
- :class:`EmulatorStats`, :class:`RequestRecord`: what it counted and saw.

May import :mod:`pipeline.engine` (token counting, the chat contract) and :mod:`pipeline.text`;
nothing in the library imports it but ``mtpipe fake-server`` (:mod:`pipeline.cli`).
"""

from pipeline.testing.config import DEFAULT_MODELS, EmulatorConfig
from pipeline.testing.emulator import Emulator, run_emulator, serve_forever
from pipeline.testing.fake_translate import fake_translate, target_key
from pipeline.testing.faults import ERROR_FAULTS, Fault, FaultConfig, merge_lines
from pipeline.testing.limits import EmulatorStats, RateLimiter, RequestRecord
from pipeline.testing.protocol import ParsedRequest, prompt_tokens_for

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

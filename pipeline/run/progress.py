"""How a run reports progress: a protocol its caller implements; the library never draws.

:func:`mtpipe.run.runner.translate` calls ``update`` with the pool's figures as requests land
(overall, and per input file in ``PoolStats.files``: each file's units to send, and how many are
translated or failed), ``log`` for a line a person should see (a skipped file, a warning), and
``finish`` when the requests are done. ``mtpipe`` renders them (:mod:`mtpipe.cli.progress`); a library caller may
pass its own, or nothing (:class:`Silent`).
"""

from __future__ import annotations

from typing import Protocol

from mtpipe.engine.bookkeeping import PoolStats


class RunProgress(Protocol):
    """What a run tells about its progress."""

    def update(self, stats: PoolStats) -> None:
        """The pool's figures changed (called often: an implementation throttles itself)."""

    def finish(self) -> None:
        """The requests are over: the figures last given are the final ones."""

    def log(self, message: str) -> None:
        """A line for a person (a skipped file, an error in one file, a warning)."""


class Silent:
    """A :class:`RunProgress` that shows nothing: the default of a library call."""

    def update(self, stats: PoolStats) -> None:
        """Ignore the figures."""

    def finish(self) -> None:
        """Nothing to end."""

    def log(self, message: str) -> None:
        """Drop the line."""

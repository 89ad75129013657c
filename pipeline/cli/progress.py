"""Progress for humans: a live line on a terminal, plain log lines otherwise."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from pipeline.engine.bookkeeping import PoolStats


class Progress:
    """Renders pool statistics: segments done/total, requests, tokens, cost, ETA."""

    def __init__(self, stream: TextIO | None = None, quiet: bool = False, interval: float | None = None) -> None:
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.live = bool(getattr(self.stream, "isatty", lambda: False)())
        self.interval = interval if interval is not None else (0.2 if self.live else 10.0)
        self.started = time.monotonic()
        # Logs (not a terminal) get a line per interval, not one the moment the run starts.
        self._last = 0.0 if self.live else self.started
        self._drawn = False

    def line(self, stats: PoolStats) -> str:
        """One status line."""
        done = stats.units_done + stats.units_failed
        elapsed = time.monotonic() - self.started
        eta = ""
        if 0 < done < stats.units_total and elapsed > 1:
            remaining = elapsed / done * (stats.units_total - done)
            eta = f"  ETA {int(remaining // 60)}m{int(remaining % 60):02d}s"
        return (
            f"segments {done}/{stats.units_total}"
            + (f" ({stats.units_failed} failed)" if stats.units_failed else "")
            + f"  requests {stats.requests}"
            + (f" ({stats.throttled} throttled)" if stats.throttled else "")
            + f"  tokens {stats.prompt_tokens + stats.completion_tokens}"
            + f"  ${stats.cost_usd:.4f}{eta}"
        )

    def update(self, stats: PoolStats) -> None:
        """Redraw (terminal) or log (otherwise), at most once per interval."""
        if self.quiet:
            return
        now = time.monotonic()
        if now - self._last < self.interval:
            return
        self._last = now
        if self.live:
            self.stream.write("\r\x1b[K" + self.line(stats))
            self._drawn = True
        else:
            self.stream.write(self.line(stats) + "\n")
        self.stream.flush()

    def clear(self) -> None:
        """Take the live line off the terminal so that another line can be written; the next
        update draws it again."""
        if self._drawn:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._drawn = False
            self._last = 0.0

    def finish(self) -> None:
        """End the live line."""
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False

    def log(self, message: str) -> None:
        """A plain message line (kept off the live line)."""
        if self.quiet:
            return
        self.finish()
        self.stream.write(message + "\n")
        self.stream.flush()

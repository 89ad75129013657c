"""Progress for humans: a rich progress bar on a terminal, plain log lines otherwise.

:class:`Progress` is the :class:`~pipeline.run.progress.RunProgress` that ``mtpipe`` hands to
the run. On a terminal it draws a bar with the percent, segments done/total, requests, tokens,
cost, elapsed time and ETA; :meth:`Progress.finish` draws the last figures before it ends, so
the bar left on screen is exact. Elsewhere (a log file, a pipe) it writes a plain line per
interval.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.progress import Progress as Bar

from pipeline.engine.bookkeeping import PoolStats


def _figures(stats: PoolStats) -> str:
    """Requests, tokens and cost, with the failed and throttled counts when there are any."""
    return (
        (f"({stats.units_failed} failed)  " if stats.units_failed else "")
        + f"requests {stats.requests}"
        + (f" ({stats.throttled} throttled)" if stats.throttled else "")
        + f"  tokens {stats.prompt_tokens + stats.completion_tokens}"
        + f"  ${stats.cost_usd:.4f}"
    )


class Progress:
    """Renders pool statistics: segments done/total, requests, tokens, cost, elapsed, ETA."""

    def __init__(self, stream: TextIO | None = None, quiet: bool = False, interval: float | None = None) -> None:
        self.stream = stream or sys.stderr
        self.quiet = quiet
        self.live = bool(getattr(self.stream, "isatty", lambda: False)())
        self.interval = interval if interval is not None else (0.2 if self.live else 10.0)
        self.started = time.monotonic()
        # Logs (not a terminal) get a line per interval, not one the moment the run starts.
        self._last = 0.0 if self.live else self.started
        self._stats: PoolStats | None = None  # the latest figures, drawn or not
        self._bar: Bar | None = None
        self._task = TaskID(0)

    def line(self, stats: PoolStats) -> str:
        """One status line (what is logged when the stream is not a terminal)."""
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
        self._stats = stats
        now = time.monotonic()
        if now - self._last < self.interval:
            return
        self._last = now
        if self.live:
            self._draw(stats)
        else:
            self.stream.write(self.line(stats) + "\n")
            self.stream.flush()

    def _draw(self, stats: PoolStats) -> None:
        """Show ``stats`` on the bar, starting the bar when it is not on screen."""
        if self._bar is None:
            self._bar = Bar(
                TextColumn("segments"),
                BarColumn(bar_width=20),
                TaskProgressColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[figures]}"),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                console=Console(file=self.stream, force_terminal=True),
                transient=True,  # cleared for log lines; kept by finish()
                auto_refresh=False,
            )
            self._task = self._bar.add_task("", total=None, figures="")
            self._bar.start()
        done = stats.units_done + stats.units_failed
        self._bar.update(self._task, completed=done, total=stats.units_total or None, figures=_figures(stats))
        self._bar.refresh()

    def clear(self) -> None:
        """Take the bar off the terminal so that another line can be written; the next update
        draws it again."""
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
            self._last = 0.0

    def finish(self) -> None:
        """End the bar, leaving it on screen with the last figures (exact, not the last drawn)."""
        if self._bar is None and not (self.live and self._stats is not None and not self.quiet):
            return
        if self._stats is not None:
            self._draw(self._stats)
        assert self._bar is not None
        self._bar.live.transient = False
        self._bar.stop()
        self._bar = None
        self._stats = None

    def log(self, message: str) -> None:
        """A plain message line (kept off the bar)."""
        if self.quiet:
            return
        self.clear()
        self.stream.write(message + "\n")
        self.stream.flush()

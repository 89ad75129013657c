"""Progress for humans: a rich progress bar on a terminal, plain log lines otherwise.

:class:`Progress` is the :class:`~mtpipe.run.progress.RunProgress` that ``mtpipe`` hands to
the run. On a terminal it draws a bar with the percent, segments done/total, requests, tokens,
cost, elapsed time and ETA, and when the run has several files a row per file under it (at most
:data:`FILE_ROWS`: all the files when they fit, otherwise the files under way, then the next
ones); :meth:`Progress.finish` draws the last figures before it ends, so the bar left on screen
is exact. Elsewhere (a log file, a pipe) it writes a plain line per interval, naming the files
under way.

Per file, the figures are the units to send that first occur in it (a text met again in a later
file, or found in the cache, is not counted again), as the run counts them.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping
from typing import TextIO

from rich.console import Console, RenderableType
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    ProgressColumn,
    Task,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.progress import Progress as Bar
from rich.table import Column
from rich.text import Text

from mtpipe.engine.bookkeeping import FileCounts, PoolStats

#: File rows shown under the run's bar at most.
FILE_ROWS = 5
#: Characters of a file's name shown (its end: the name and the folders nearest to it).
NAME_WIDTH = 32


def _figures(stats: PoolStats) -> str:
    """Requests, tokens and cost, with the failed and throttled counts when there are any."""
    return (
        (f"({stats.units_failed} failed)  " if stats.units_failed else "")
        + f"requests {stats.requests}"
        + (f" ({stats.throttled} throttled)" if stats.throttled else "")
        + f"  tokens {stats.prompt_tokens + stats.completion_tokens}"
        + f"  ${stats.cost_usd:.4f}"
    )


def shown_files(files: Mapping[str, FileCounts], limit: int = FILE_ROWS, final: bool = False) -> list[str]:
    """The files that get a row, in the run's order: none when the run has fewer than two; all
    when they fit in ``limit``; otherwise the files under way (some units finished, not all),
    then the next ones to come, up to ``limit``; in the last frame, the ones left unfinished."""
    sending = {name: counts for name, counts in files.items() if counts.total}
    if len(sending) < 2:
        return []
    if len(sending) <= limit:
        return list(sending)
    unfinished = [name for name, c in sending.items() if c.done + c.failed < c.total]
    if final:
        return unfinished[:limit]
    under_way: list[str] = []
    to_come: list[str] = []
    for name in unfinished:
        (under_way if sending[name].done + sending[name].failed else to_come).append(name)
    return (under_way + to_come)[:limit]


def _short(name: str) -> str:
    return name if len(name) <= NAME_WIDTH else "…" + name[-(NAME_WIDTH - 1) :]


def _file_figures(name: str, counts: FileCounts) -> str:
    return f"{_short(name)} {counts.done + counts.failed}/{counts.total}" + (
        f" ({counts.failed} failed)" if counts.failed else ""
    )


class _RunOnly(ProgressColumn):
    """A column drawn on the run's row only, empty on the files' rows."""

    def __init__(self, column: ProgressColumn) -> None:
        super().__init__(column.get_table_column())
        self.column = column

    def render(self, task: Task) -> RenderableType:
        """The wrapped column on the run's row."""
        return self.column(task) if task.fields.get("run") else Text("")


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
        self._rows: list[TaskID] = []  # the file rows: FILE_ROWS slots, each shows any file

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
            + self._files_line(stats)
        )

    @staticmethod
    def _files_line(stats: PoolStats) -> str:
        """The files under way, for a plain line."""
        under_way = [
            _file_figures(name, stats.files[name])
            for name in shown_files(stats.files)
            if 0 < stats.files[name].done + stats.files[name].failed < stats.files[name].total
        ]
        return f"  files: {', '.join(under_way)}" if under_way else ""

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

    def _draw(self, stats: PoolStats, final: bool = False) -> None:
        """Show ``stats`` on the bar, starting the bar when it is not on screen."""
        if self._bar is None:
            self._bar = self._start()
        bar = self._bar
        done = stats.units_done + stats.units_failed
        bar.update(self._task, completed=done, total=stats.units_total or None, figures=_figures(stats))
        shown = shown_files(stats.files, len(self._rows), final)
        for row, name in zip(self._rows, shown, strict=False):
            counts = stats.files[name]
            bar.update(
                row,
                completed=counts.done + counts.failed,
                total=counts.total,
                figures=_short(name) + (f" ({counts.failed} failed)" if counts.failed else ""),
                visible=True,
            )
        for row in self._rows[len(shown) :]:
            bar.update(row, visible=False)
        bar.refresh()

    def _start(self) -> Bar:
        """A bar on screen: the run's row, and the file rows (hidden until they are drawn), whose
        names go where the run's figures are, so that they make no column wider."""
        # On a narrow terminal the figures wrap; the counts are never cut short.
        bar = Bar(
            TextColumn("{task.description}", table_column=Column(no_wrap=True)),
            BarColumn(bar_width=20),
            TaskProgressColumn(table_column=Column(no_wrap=True)),
            MofNCompleteColumn(table_column=Column(no_wrap=True)),
            TextColumn("{task.fields[figures]}", table_column=Column()),
            _RunOnly(TimeElapsedColumn(table_column=Column(no_wrap=True))),
            _RunOnly(TextColumn("ETA", table_column=Column(no_wrap=True))),
            _RunOnly(TimeRemainingColumn(table_column=Column(no_wrap=True))),
            console=Console(file=self.stream, force_terminal=True),
            transient=True,  # cleared for log lines; kept by finish()
            auto_refresh=False,
        )
        self._task = bar.add_task("segments", total=None, figures="", run=True)
        self._rows = [bar.add_task("", total=None, figures="", visible=False) for _ in range(FILE_ROWS)]
        bar.start()
        return bar

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
            self._draw(self._stats, final=True)
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

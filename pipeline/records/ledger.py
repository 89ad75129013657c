"""The JSONL ledger: one line per finished request, plus run_start / run_end lines.

Every line carries ``v`` (schema version), ``ts`` (UTC ISO 8601), ``run_id`` and ``event``.
Request lines (``event: "request"``) carry ``status`` ("ok" | "failed"), ``model``,
``source_lang``, ``target_lang``, ``segments``, ``files``, ``prompt_tokens``,
``completion_tokens``, ``total_tokens`` (as the provider reported them), ``cost_usd``,
``latency_ms``, ``attempts`` (every attempt that went out), ``lost_attempts`` (attempts whose
reply was lost in transit: a reset, a truncated body, a timeout, a run cut off; they may have
been billed), ``error``, ``accepted`` (segments of the reply kept after the checks: a packed
reply whose block broke keeps the other blocks), ``rejected`` (per reply check, the segments it
refused) and ``response_id``. Lines are appended and flushed one by one; reading tolerates a
torn last line (a run killed mid-write).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from mtpipe.errors import InputError, RecordError

SCHEMA_VERSION = 1


def utc_now() -> str:
    """The current time as UTC ISO 8601 with a Z suffix."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Ledger:
    """Appends ledger lines for one run. ``path=None`` records nothing."""

    def __init__(self, path: Path | None, run_id: str) -> None:
        self.path = path
        self.run_id = run_id
        self._handle: TextIO | None = None
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
                self._handle = os.fdopen(fd, "a", encoding="utf-8")
                self._repair_torn_tail(path)
            except OSError as exc:
                raise RecordError(f"the ledger {path}", exc) from None

    def _repair_torn_tail(self, path: Path) -> None:
        """Start on a fresh line if a killed run left a partial last line."""
        assert self._handle is not None
        size = path.stat().st_size
        if size:
            with open(path, "rb") as handle:
                handle.seek(size - 1)
                if handle.read(1) != b"\n":
                    self._handle.write("\n")
                    self._handle.flush()

    def append(self, event: str, **fields: Any) -> dict[str, Any]:
        """Write one line (and flush it); returns the record written. RecordError when it
        cannot be written."""
        record: dict[str, Any] = {"v": SCHEMA_VERSION, "ts": utc_now(), "run_id": self.run_id}
        record["event"] = event
        record.update(fields)
        if self._handle is not None:
            try:
                self._handle.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
                self._handle.flush()
            except OSError as exc:
                raise RecordError(f"the ledger {self.path}", exc) from None
        return record

    def close(self) -> None:
        """Flush to disk and close (the file is closed even when that fails: RecordError)."""
        handle, self._handle = self._handle, None
        if handle is None:
            return
        try:
            handle.flush()
            os.fsync(handle.fileno())
        except OSError as exc:
            raise RecordError(f"the ledger {self.path}", exc) from None
        finally:
            with contextlib.suppress(OSError):
                handle.close()


def read_ledger(
    path: Path, start: int = 0, *, foreign: Callable[[InputError], None] | None = None
) -> Iterator[dict[str, Any]]:
    """Every line of the ledger at ``path``, as it was written; a torn line is skipped.

    ``start`` is a size the file had earlier (a byte offset at a line's start): only the lines
    appended since are read (the whole file when it is now shorter, i.e. it was replaced).
    A torn line (a run killed mid-write) is an unfinished JSON object. Any other line that is
    not a JSON object with an ``event`` is not mtpipe's: InputError naming the file and that
    line, raised when it is reached, so a CSV or another tool's JSON lines never add up to a
    summary of zeros; with ``foreign``, that error is given to it instead and the line
    skipped (for readers that want mtpipe's lines among others). A file that cannot be read is
    an InputError too.
    """
    try:
        with open(path, "rb") as handle:
            if 0 < start <= os.fstat(handle.fileno()).st_size:
                handle.seek(start)
            else:
                start = 0
            for number, raw in enumerate(handle, start=1):
                line = raw.decode("utf-8", errors="replace").strip()
                try:
                    record = _ledger_record(path, _line_place(number, start), line) if line else None
                except InputError as error:
                    if foreign is None:
                        raise
                    foreign(error)
                    continue
                if record is not None:
                    yield record
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror or exc}") from None


def _line_place(number: int, start: int) -> str:
    """Where line ``number`` of a read from byte ``start`` is."""
    return f"line {number}" if not start else f"line {number} after byte {start}"


def _ledger_record(path: Path, place: str, line: str) -> dict[str, Any] | None:
    """The record on the ledger line at ``place``; None for a torn line; InputError for a
    foreign one."""
    try:
        record = json.loads(line)
    except ValueError:
        if line.startswith("{"):
            return None  # torn: the JSON object a killed run did not finish
        record = None
    if not isinstance(record, dict) or not isinstance(record.get("event"), str):
        raise InputError(
            path,
            f'not an mtpipe ledger: {line[:60]!r} is not a JSON object with an "event" field',
            place=place,
        )
    return record


@dataclass
class Totals:
    """Aggregated request figures.

    A request split over several keys (the files it carried) adds its share of tokens and
    cost to each; token counts add exactly and are whole when read, so the shares of a
    request add up to the request (a third of 10 tokens three times is 10, not 9).
    """

    requests: int = 0
    failed: int = 0
    segments: int = 0
    cost_usd: float = 0.0
    _prompt: float = field(default=0.0, init=False, repr=False)
    _completion: float = field(default=0.0, init=False, repr=False)

    @property
    def prompt_tokens(self) -> int:
        """Prompt tokens of the requests added (their shares, summed, rounded)."""
        return round(self._prompt)

    @property
    def completion_tokens(self) -> int:
        """Completion tokens of the requests added (their shares, summed, rounded)."""
        return round(self._completion)

    def add(self, record: dict[str, Any], share: float = 1.0) -> None:
        """Add one request line (``share`` of its tokens and cost, for per-file splits)."""
        self.requests += 1
        self.failed += record.get("status") != "ok"
        self.segments += int(record.get("segments", 0))
        self._prompt += int(record.get("prompt_tokens") or 0) * share
        self._completion += int(record.get("completion_tokens") or 0) * share
        self.cost_usd += float(record.get("cost_usd") or 0.0) * share


#: One way to group request lines: the keys a line counts under, each with its share of it.
Grouping = Callable[[dict[str, Any]], Iterable[tuple[Hashable, float]]]


def by_day(record: dict[str, Any]) -> list[tuple[Hashable, float]]:
    """The UTC day of the request (``YYYY-MM-DD``)."""
    return [(str(record.get("ts", ""))[:10], 1.0)]


def by_model(record: dict[str, Any]) -> list[tuple[Hashable, float]]:
    """The model that answered."""
    return [(str(record.get("model", "?")), 1.0)]


def by_language_pair(record: dict[str, Any]) -> list[tuple[Hashable, float]]:
    """``source->target`` (language codes)."""
    return [(f"{record.get('source_lang', '?')}->{record.get('target_lang', '?')}", 1.0)]


def by_target(record: dict[str, Any]) -> list[tuple[Hashable, float]]:
    """The target language code: a request has exactly one."""
    return [(str(record.get("target_lang", "?")), 1.0)]


def by_file(record: dict[str, Any]) -> list[tuple[Hashable, float]]:
    """Each file the request carried, with an even share of it ("?" when none is named)."""
    files = [str(name) for name in record.get("files") or ["?"]]
    return [(name, 1.0 / len(files)) for name in files]


def by_file_and_target(record: dict[str, Any]) -> list[tuple[Hashable, float]]:
    """``(file, target language code)`` for each file the request carried, as :func:`by_file`."""
    target = str(record.get("target_lang", "?"))
    return [((name, target), share) for name, share in by_file(record)]


#: What ``mtpipe ledger summary`` prints, by name.
SUMMARY_GROUPS: dict[str, Grouping] = {
    "day": by_day,
    "model": by_model,
    "language": by_language_pair,
    "file": by_file,
}


@dataclass
class Summary:
    """Totals overall and by each grouping (by default day, model, language pair and file)."""

    total: Totals = field(default_factory=Totals)
    by: dict[str, dict[Hashable, Totals]] = field(default_factory=dict)
    runs: int = 0
    #: Ledger lines read, of every event.
    lines: int = 0


def summarize(records: Iterable[dict[str, Any]], groups: Mapping[str, Grouping] = SUMMARY_GROUPS) -> Summary:
    """Aggregate the request lines of ``records`` in total and by each of ``groups`` (keys
    in order); count the runs (``run_start`` lines) and lines of every event."""
    summary = Summary()
    totals: dict[str, dict[Hashable, Totals]] = {name: defaultdict(Totals) for name in groups}
    for record in records:
        summary.lines += 1
        if record.get("event") == "run_start":
            summary.runs += 1
        if record.get("event") != "request":
            continue
        summary.total.add(record)
        for name, grouping in groups.items():
            for key, share in grouping(record):
                totals[name][key].add(record, share)
    summary.by = {name: dict(sorted(rows.items(), key=lambda row: str(row[0]))) for name, rows in totals.items()}
    return summary


def summarize_ledger(path: Path) -> Summary:
    """The summary of the ledger at ``path`` (:func:`summarize` over :func:`read_ledger`).

    InputError when ``path`` is not an mtpipe ledger, and when it holds no ledger line: every
    run starts with a run_start line, so an empty file is not a ledger of nothing but most
    likely the wrong file (the README promises no summary of zeros for it).
    """
    summary = summarize(read_ledger(path))
    if not summary.lines:
        raise InputError(path, "the file is empty: no mtpipe run has recorded anything in it")
    return summary


def format_summary(summary: Summary) -> str:
    """A plain-text table of the summary."""
    lines = [
        (
            f"runs: {summary.runs}  requests: {summary.total.requests} "
            f"(failed {summary.total.failed})  segments: {summary.total.segments}  "
            f"tokens: {summary.total.prompt_tokens} in / {summary.total.completion_tokens} out  "
            f"cost: ${summary.total.cost_usd:.4f}"
        )
    ]
    for name, rows in summary.by.items():
        lines.append("")
        lines.append(f"by {name}:")
        width = max((len(str(k)) for k in rows), default=4)
        for key, t in rows.items():
            lines.append(
                f"  {key!s:<{width}}  {t.requests:>6} req  {t.segments:>8} seg  "
                f"{t.prompt_tokens:>9} in  {t.completion_tokens:>9} out  ${t.cost_usd:.4f}"
            )
    return "\n".join(lines)

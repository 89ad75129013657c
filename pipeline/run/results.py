"""What a run reports: per file, per target language, and for the whole run.

The planner fills these while it reads, which is why they live outside :mod:`mtpipe.run.runner`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from mtpipe.engine.bookkeeping import PoolStats
from mtpipe.engine.client import redact

EXIT_OK, EXIT_FAILURES, EXIT_CONFIG, EXIT_ABORTED, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
#: An unexpected error (a bug in mtpipe) stopped the run; what was recorded is kept.
EXIT_INTERNAL = 4


def internal_error(error: BaseException) -> str:
    """One line for an unexpected exception: its type and message (for an exception group, its
    first exception and how many more; anything shaped like a secret redacted), and where to
    see the traceback."""
    leaves = _leaves(error)
    first = leaves[0]
    what = redact(f"{type(first).__name__}: {first}".strip().rstrip(":"))[:300]
    more = f", and {len(leaves) - 1} more" if len(leaves) > 1 else ""
    return (
        f"internal error ({what}{more}): a bug in mtpipe; run the same command with -vv to see "
        "the traceback, and please report it"
    )


def _leaves(error: BaseException) -> list[BaseException]:
    """The exceptions an exception group holds, at any depth (``[error]`` for any other)."""
    if isinstance(error, BaseExceptionGroup) and error.exceptions:
        return [leaf for inner in error.exceptions for leaf in _leaves(inner)]
    return [error]


@dataclass
class Failure:
    """A segment (or a whole file) that was not translated, and why."""

    file: str
    place: str
    reason: str


@dataclass
class TargetCounts:
    """Per (input file, target language): every segment read, and how it ended up.

    ``segments`` = ``unchanged`` (nothing to translate: empty or placeholders only) +
    ``from_cache`` (already in the cache when the run started) + ``translated`` (by this run's
    requests) + ``failed`` (no translation), once the run has translated. Duplicates count
    each time they occur (FileResult.from_cache counts unique cache hits instead).
    """

    segments: int = 0
    unchanged: int = 0
    from_cache: int = 0
    translated: int = 0
    failed: int = 0


@dataclass
class FileResult:
    """Per input file: what was planned and written."""

    path: Path
    segments: int = 0
    from_cache: int = 0
    translated: int = 0
    failed: int = 0
    simplified: int = 0
    outputs: list[Path] = field(default_factory=list)
    error: str | None = None
    #: What the writers said worth knowing (an encoding changed, a header kept...).
    notes: list[str] = field(default_factory=list)
    #: target language code -> counts (filled by the planner, settled after translating).
    by_target: dict[str, TargetCounts] = field(default_factory=dict)


@dataclass
class Estimate:
    """What a run would send (``--dry-run``), at the configured limits."""

    segments: int = 0
    unique: int = 0
    cache_hits: int = 0
    #: Segments (times targets) too long for one request: never sent, failed.
    too_long: int = 0
    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    minutes: float = 0.0


@dataclass
class RunResult:
    """Everything a caller (CLI, job runner, tests) needs to report on a run."""

    run_id: str
    files: list[FileResult] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    estimate: Estimate = field(default_factory=Estimate)
    stats: PoolStats = field(default_factory=PoolStats)
    aborted: str | None = None
    aborted_code: int = EXIT_ABORTED
    duration_s: float = 0.0
    dry_run: bool = False
    #: What the run summary warns about (a model priced at zero).
    warnings: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        """True when some of the run was not translated: a failure listed (a segment, a file
        that could not be read or written), a segment a writer counted failed, or one the
        run's counts settled as failed. Every segment a writer fails is listed too (see
        WriteReport.fail; a write that counts failures without naming them gets a Failure for
        its output), so a failed run has its failures to show. A dry run's counts of
        segments too long to send are a forecast, not a failure."""
        if self.failures or any(f.error or f.failed for f in self.files):
            return True
        return not self.dry_run and any(
            counts.failed for f in self.files for counts in f.by_target.values()
        )

    def counts(self) -> TargetCounts:
        """Every file's counts for every target, added up (what the summary and the run report
        give as the run's totals)."""
        total = TargetCounts()
        for file_result in self.files:
            for counts in file_result.by_target.values():
                for name, value in vars(counts).items():
                    setattr(total, name, getattr(total, name) + value)
        return total

    @property
    def exit_code(self) -> int:
        """The run's exit code, the one ``mtpipe translate``, ``mtpipe run`` and the run
        report give: 0 all translated; 1 some failed (see :attr:`failed`); 2 every input
        unreadable (so nothing was sent); 3 aborted; 4 internal error; 130 interrupted. Once a
        request was sent, a file that failed (its output could not be written) is 1, never 2:
        2 promises that nothing was paid for."""
        if self.aborted:
            return self.aborted_code
        if self.files and all(f.error for f in self.files) and not self.stats.attempts:
            return EXIT_CONFIG
        return EXIT_FAILURES if self.failed else EXIT_OK

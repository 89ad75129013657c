"""Progress per file: a row per file under the run's bar on a terminal (the files under way when
they do not all fit), the files under way in plain lines, and exact counts in the last frame."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from mtpipe.cli.progress import Progress, shown_files
from mtpipe.engine.bookkeeping import FileCounts, PoolStats
from mtpipe.run.runner import translate
from mtpipe.run.settings import InputSpec, Job
from mtpipe.text.languages import resolve
from tests.reliability.test_bad_input import write_csv

ANSI = re.compile(r"\x1b\[[0-9;?]*[a-zA-Z]")


def terminal() -> io.StringIO:
    stream = io.StringIO()
    stream.isatty = lambda: True  # type: ignore[method-assign]
    return stream


def last_frame(stream: io.StringIO) -> list[str]:
    """The lines of the frame left on screen, without colours, trailing blanks stripped."""
    text = ANSI.sub("", stream.getvalue().rsplit("\r", 1)[-1])
    return [line.rstrip() for line in text.splitlines() if line.strip()]


def counts(**files: tuple[int, int, int]) -> dict[str, FileCounts]:
    return {name: FileCounts(*figures) for name, figures in files.items()}


@pytest.mark.parametrize(
    ("files", "limit", "final", "shown"),
    [
        (counts(a=(5, 2, 0)), 5, False, []),  # one file: the run's row says it all
        (counts(a=(5, 5, 0), b=(5, 2, 1), c=(0, 0, 0), d=(5, 0, 0)), 5, False, ["a", "b", "d"]),
        # More files than rows: the ones under way, then the next ones to come.
        (
            counts(a=(5, 5, 0), b=(5, 0, 0), c=(5, 1, 0), d=(5, 0, 0), e=(5, 4, 1)),
            2,
            False,
            ["c", "b"],
        ),
        (
            counts(a=(5, 5, 0), b=(5, 3, 0), c=(5, 1, 0), d=(5, 0, 0), e=(5, 4, 1)),
            3,
            False,
            ["b", "c", "d"],
        ),
        # The last frame: the files left unfinished (a run that stopped), none when all are done.
        (counts(a=(5, 5, 0), b=(5, 3, 0), c=(5, 0, 0), d=(5, 4, 1)), 3, True, ["b", "c"]),
        (counts(a=(5, 5, 0), b=(5, 4, 1), c=(5, 5, 0), d=(5, 5, 0)), 3, True, []),
    ],
    ids=[
        "one-file",
        "all-fit",
        "under-way-first",
        "then-next",
        "final-unfinished",
        "final-all-done",
    ],
)
def test_which_files_get_a_row(
    files: dict[str, FileCounts], limit: int, final: bool, shown: list[str]
) -> None:
    assert shown_files(files, limit, final) == shown


def pseudo_job(tmp_path: Path, inputs: list[Path]) -> Job:
    return Job(inputs=[InputSpec(p) for p in inputs], targets=[resolve("de")], source=resolve("en"),
               engine="pseudo", out=tmp_path / "out", ledger=tmp_path / "ledger.jsonl",
               cache=tmp_path / "cache.sqlite", options={"columns": "text"})  # fmt: skip


def test_a_run_of_several_files_ends_with_a_row_per_file_and_exact_counts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "120")
    # Paths longer than a row shows: their last 31 characters.
    folder = tmp_path / "inputs of a nightly run"
    folder.mkdir()
    sizes = {"alpha.csv": 30, "beta.csv": 20, "gamma.csv": 10}
    inputs = [
        write_csv(folder / name, [f"{name} sentence {i}" for i in range(n)])
        for name, n in sizes.items()
    ]
    # Every text of this file was met in alpha.csv first: nothing of its own to send, no row.
    inputs.append(write_csv(folder / "again.csv", [f"alpha.csv sentence {i}" for i in range(5)]))
    screen = terminal()
    progress = Progress(screen, interval=3600)  # the first frame, then the last one
    result = translate(pseudo_job(tmp_path, inputs), progress)
    assert result.exit_code == 0
    assert result.stats.files == {
        str(folder / name): FileCounts(n, n, 0) for name, n in sizes.items()
    }
    run, *files = last_frame(screen)
    assert re.match(r"segments ━+ 100% 60/60 ", run) and "ETA" in run
    assert [re.sub(r"^ +━+ ", "", row) for row in files] == [
        f"100% {n}/{n} …{str(folder / name)[-31:]}" for name, n in sizes.items()
    ]


def test_a_run_of_one_file_has_the_runs_row_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "120")
    data = write_csv(tmp_path / "data.csv", [f"sentence {i}" for i in range(12)])
    screen = terminal()
    assert translate(pseudo_job(tmp_path, [data]), Progress(screen, interval=3600)).exit_code == 0
    frame = last_frame(screen)
    assert len(frame) == 1 and " 100% 12/12 " in frame[0]


def test_on_a_narrow_terminal_the_figures_wrap_and_the_counts_are_whole(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COLUMNS", "80")
    screen = terminal()
    progress = Progress(screen, interval=3600)
    stats = PoolStats(units_total=3000, units_done=2990, units_failed=10, requests=12, prompt_tokens=40_000,
                      completion_tokens=5000, cost_usd=0.0123)  # fmt: skip
    stats.expect({"in/a.csv": 1000, "in/b.csv": 2000})
    stats.files["in/a.csv"].done = 1000
    stats.files["in/b.csv"].done, stats.files["in/b.csv"].failed = 1990, 10
    progress.update(stats)
    progress.finish()
    frame = last_frame(screen)
    assert all(len(line) <= 80 for line in frame)
    text = " ".join(" ".join(frame).split())
    assert "100% 3000/3000 (10 failed)" in text and "0:00:00 ETA 0:00:00" in text
    for words in (
        "requests 12",
        "tokens 45000",
        "$0.0123",
        "100% 1000/1000 in/a.csv",
        "100% 2000/2000 in/b.csv",
    ):
        assert words in text


def test_plain_lines_name_the_files_under_way() -> None:
    log = io.StringIO()
    progress = Progress(log, interval=0)
    stats = PoolStats(units_total=30, units_done=12, units_failed=1, requests=2)
    stats.expect({"in/a.csv": 10, "in/b.csv": 10, "in/c.csv": 10})
    stats.files["in/a.csv"].done = 10
    stats.files["in/b.csv"].done, stats.files["in/b.csv"].failed = 2, 1
    progress.update(stats)
    assert (
        log.getvalue()
        == "segments 13/30 (1 failed)  requests 2  tokens 0  $0.0000  files: in/b.csv 3/10 (1 failed)\n"
    )

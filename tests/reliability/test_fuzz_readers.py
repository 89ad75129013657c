"""Property tests: every reader, fed mutated and truncated files, ends cleanly.

Each case starts from a sample of the format and applies one to four mutations (bit flips,
truncation, byte insertion, byte deletion, for .docx also mutations of an XML part re-zipped
into a valid archive). Reading it must either work or raise the format's InputError naming
the file: never another exception type (a traceback), never a hang (each example runs under
an alarm, and hypothesis' own deadline).

A column option that a mutated header no longer satisfies is a ConfigError naming the file
("no column ..."): that is accepted too, it is what the user sees for a wrong --columns.

Example budgets: the default run uses ``QUICK`` examples per test (a few hundred in total);
the slow suite (``-m slow``) uses ``THOROUGH`` (over 10,000 in total). The environment
variables MTPIPE_FUZZ_QUICK / MTPIPE_FUZZ_THOROUGH override them.

Each test draws its examples from a fresh random seed (so runs keep exploring), printed with
its figures and in the failure message; MTPIPE_FUZZ_SEED=N replays a run exactly, and the
failing example's blob is printed too (hypothesis' ``@reproduce_failure``).
"""

from __future__ import annotations

import io
import os
import random
import signal
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from mtpipe.errors import ConfigError, InputError
from mtpipe.formats import format_for
from tests.reliability.procs import SAMPLES

QUICK = int(os.environ.get("MTPIPE_FUZZ_QUICK", "50"))
THOROUGH = int(os.environ.get("MTPIPE_FUZZ_THOROUGH", "2100"))
#: Seconds one example may take before it counts as a hang.
HANG_S = 20
BUDGETS = [
    pytest.param(QUICK, id="quick"),
    pytest.param(THOROUGH, id="thorough", marks=pytest.mark.slow),
]
#: Bytes worth inserting: quoting, line ends, NUL, invalid UTF-8, markup and escapes.
SPICE = [b"\0", b'"', b"\n", b"\r", b"\xff", b"\xc3", b"<", b">", b"&", b"\\", b"#", b",", b"'", b"\t"]
OPTIONS: dict[str, dict[str, Any]] = {
    ".csv": {"columns": ["title", "description"]},
    ".parquet": {"columns": ["review", "tags", "product"]},
    ".po": {},
    ".pot": {},
    ".docx": {"include_hidden": True, "include_alt_text": True},
}


class Hang(Exception):
    """An example ran longer than HANG_S."""


@contextmanager
def alarm(seconds: float) -> Iterator[None]:
    """Raise Hang in the main thread when the block runs longer than ``seconds``."""

    def ring(signum: int, frame: FrameType | None) -> None:
        raise Hang(f"still running after {seconds}s")

    previous = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@st.composite
def mutated(draw: st.DrawFn, base: bytes) -> bytes:
    """``base`` with one to four flips, truncations, insertions or deletions."""
    data = bytearray(base)
    for _ in range(draw(st.integers(1, 4))):
        if not data:
            break
        kind = draw(st.sampled_from(["flip", "truncate", "insert", "delete"]))
        at = draw(st.integers(0, len(data) - 1))
        if kind == "flip":
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "truncate":
            del data[at:]
        elif kind == "insert":
            data[at:at] = draw(st.one_of(st.sampled_from(SPICE), st.binary(min_size=1, max_size=12)))
        else:
            del data[at : at + draw(st.integers(1, 64))]
    return bytes(data)


def rezipped(base: bytes, name: str, content: bytes) -> bytes:
    """The .docx ``base`` with entry ``name`` replaced by ``content`` (a valid zip)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(base)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info, content if info.filename == name else source.read(info))
    return out.getvalue()


def docx_xml_entries(base: bytes) -> list[str]:
    """The XML entries of a .docx (the parts the reader parses, and the others)."""
    with zipfile.ZipFile(io.BytesIO(base)) as archive:
        return [n for n in archive.namelist() if n.endswith((".xml", ".rels"))]


class Outcome:
    """Counts how the examples of one test ended."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {"read": 0, "input_error": 0, "config_error": 0}

    def total(self) -> int:
        """Examples run."""
        return sum(self.counts.values())


def read_clean(path: Path, data: bytes, outcome: Outcome) -> None:
    """Write ``data`` to ``path`` and read it: fine, or InputError naming the file."""
    path.write_bytes(data)
    fmt = format_for(path)
    assert fmt is not None
    options = OPTIONS[path.suffix]
    try:
        with alarm(HANG_S):
            if fmt.multi_target:
                fmt.columns(path, options)
            for segment in fmt.read(path, options):
                assert isinstance(segment.text, str) and segment.text
    except InputError as exc:
        assert exc.path == path and str(path) in str(exc), str(exc)
        assert "\n" not in str(exc), f"not a one-line message: {exc!r}"
        outcome.counts["input_error"] += 1
        return
    except ConfigError as exc:
        assert "no column" in str(exc) and path.name in str(exc), str(exc)
        outcome.counts["config_error"] += 1
        return
    outcome.counts["read"] += 1


def fuzz(
    sample: Path,
    examples: int,
    strategy: Callable[[bytes], st.SearchStrategy[bytes]],
    suffix: str | None = None,
) -> Outcome:
    """Run ``examples`` mutated copies of ``sample`` through its reader; return the counts."""
    base = sample.read_bytes()
    outcome = Outcome()
    run_seed = int(os.environ.get("MTPIPE_FUZZ_SEED") or random.randrange(2**32))
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"mutant{suffix or sample.suffix}"

        @settings(
            max_examples=examples,
            deadline=timedelta(seconds=5),
            database=None,
            print_blob=True,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )
        @seed(run_seed)
        @given(strategy(base))
        def check(data: bytes) -> None:
            read_clean(path, data, outcome)

        try:
            check()
        except BaseException as exc:
            exc.add_note(f"replay: MTPIPE_FUZZ_SEED={run_seed} (sample {sample.name}, {examples} examples)")
            raise
    print(f"\n{sample.name}: {outcome.total()} examples {outcome.counts}, seed {run_seed}")
    assert outcome.total() >= examples * 0.9, f"only {outcome.total()} examples ran; seed {run_seed}"
    return outcome


@pytest.mark.parametrize("examples", BUDGETS)
@pytest.mark.parametrize("sample", ["products.csv", "app-de.po", "app.pot", "reviews.parquet", "brochure.docx"])
def test_mutated_bytes(sample: str, examples: int) -> None:
    fuzz(SAMPLES / sample, examples, mutated)


@st.composite
def docx_with_bad_xml(draw: st.DrawFn, base: bytes) -> bytes:
    """A valid zip in which one XML part was mutated."""
    entries = docx_xml_entries(base)
    name = draw(st.sampled_from(entries))
    with zipfile.ZipFile(io.BytesIO(base)) as archive:
        content = archive.read(name)
    return rezipped(base, name, draw(mutated(content)))


@pytest.mark.parametrize("examples", BUDGETS)
def test_docx_mutated_xml_inside_a_valid_zip(examples: int) -> None:
    outcome = fuzz(SAMPLES / "brochure.docx", examples, docx_with_bad_xml)
    assert outcome.counts["input_error"] > 0 and outcome.counts["read"] > 0

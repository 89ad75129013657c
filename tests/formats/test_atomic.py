"""atomic_output: all or nothing, and leftovers of killed runs cleaned up."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from pipeline.formats.base import STALE_PART_SECONDS, atomic_output


def test_output_replaced_only_on_success(tmp_path: Path) -> None:
    dest = tmp_path / "out.txt"
    dest.write_text("good")
    with pytest.raises(RuntimeError), atomic_output(dest) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed mid-write")
    assert dest.read_text() == "good"
    with atomic_output(dest) as tmp:
        tmp.write_text("new")
    assert dest.read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]


def test_stale_leftovers_are_removed_recent_ones_kept(tmp_path: Path) -> None:
    dest = tmp_path / "out.txt"
    stale = tmp_path / ".out.txt.abc123.part"
    recent = tmp_path / ".out.txt.def456.part"
    other = tmp_path / ".other.txt.abc123.part"
    for path in (stale, recent, other):
        path.write_text("x")
    old = time.time() - STALE_PART_SECONDS - 10
    os.utime(stale, (old, old))
    os.utime(other, (old, old))
    with atomic_output(dest) as tmp:
        tmp.write_text("new")
    assert not stale.exists() and recent.exists() and other.exists()

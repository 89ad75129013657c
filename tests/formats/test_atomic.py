"""atomic_output: all or nothing, and leftovers of killed runs cleaned up."""

from __future__ import annotations

import contextlib
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from mtpipe.formats.base import STALE_PART_SECONDS, atomic_output, replace_refusal


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


@contextlib.contextmanager
def umask(value: int) -> Iterator[None]:
    old = os.umask(value)
    try:
        yield
    finally:
        os.umask(old)


def write(dest: Path, text: str, mode: int = 0o666) -> None:
    with atomic_output(dest, mode) as tmp:
        tmp.write_text(text)


@pytest.mark.parametrize(("mask", "expected"), [(0o077, 0o600), (0o022, 0o644), (0o002, 0o664)])
def test_a_new_output_honours_the_umask(tmp_path: Path, mask: int, expected: int) -> None:
    with umask(mask):
        write(tmp_path / "new.txt", "x")
        write(tmp_path / "private.json", "x", mode=0o600)
    assert stat.S_IMODE((tmp_path / "new.txt").stat().st_mode) == expected
    assert stat.S_IMODE((tmp_path / "private.json").stat().st_mode) == 0o600 & ~mask


@pytest.mark.parametrize("mode", [0o600, 0o640, 0o664, 0o2755])
def test_a_replaced_file_keeps_its_mode_and_group(tmp_path: Path, mode: int) -> None:
    dest = tmp_path / "catalog.po"
    dest.write_text("old")
    group = os.getgid() if os.getuid() else 4242  # root can hand the file to any group
    os.chown(dest, -1, group)
    os.chmod(dest, mode)
    with umask(0o022):
        write(dest, "new")
    info = dest.stat()
    assert dest.read_text() == "new"
    assert (stat.S_IMODE(info.st_mode), info.st_gid) == (mode, group)


def test_a_group_that_cannot_be_kept_loses_its_permissions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dest = tmp_path / "catalog.po"
    dest.write_text("old")
    os.chmod(dest, 0o664)
    if os.getuid() != 0:
        pytest.skip("handing a file to a foreign group needs root")
    os.chown(dest, -1, os.getgid() + 4242)

    def refuse(*args: object) -> None:
        raise PermissionError(1, "not permitted")

    monkeypatch.setattr(os, "chown", refuse)
    write(dest, "new")
    assert stat.S_IMODE(dest.stat().st_mode) == 0o604  # not readable by another group


def test_a_symbolic_link_is_followed_and_stays(tmp_path: Path) -> None:
    real = tmp_path / "shared" / "messages.po"
    real.parent.mkdir()
    real.write_text("old")
    os.chmod(real, 0o600)
    link = tmp_path / "messages.po"
    link.symlink_to(real)
    write(link, "new")
    assert link.is_symlink() and real.read_text() == "new" == link.read_text()
    assert stat.S_IMODE(real.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["messages.po", "shared"]


def test_a_read_only_file_is_refused(tmp_path: Path) -> None:
    dest = tmp_path / "locked.csv"
    dest.write_text("old")
    os.chmod(dest, 0o444)
    with pytest.raises(PermissionError, match="read-only"):
        write(dest, "new")
    assert dest.read_text() == "old" and replace_refusal(dest) is not None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["locked.csv"]


def test_a_hard_link_is_refused(tmp_path: Path) -> None:
    dest = tmp_path / "a.po"
    dest.write_text("old")
    os.link(dest, tmp_path / "b.po")
    with pytest.raises(PermissionError, match="2 hard links"):
        write(dest, "new")
    assert dest.read_text() == "old" == (tmp_path / "b.po").read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.po", "b.po"]

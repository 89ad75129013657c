"""What a run checks before it pays, and what it keeps of what it paid for when it stops early.

- Outputs: every output path is checked before the first request (a file where the output
  folder should be, a folder that cannot be written, two outputs on one path, an output on
  another input): exit 2 and the endpoint received nothing. A write that fails once requests
  were paid for is exit 1, never 2 (2 promises that nothing was sent).
- ``--no-cache``: a run that aborts (quota, an endpoint that keeps failing) or is interrupted
  writes what it translated (the rest listed as failed), and its message says where the
  translations are (cached, or only in the outputs written) in both cache modes.
- Texts too long for one request (over the model's input limit of 8,192 tokens, template
  included) fail locally with their file and place and are never sent; a text too long for
  any request is refused by its length alone, before it is counted.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from pipeline.cli import main
from pipeline.formats.csv import CsvFormat
from pipeline.testing import Emulator, fake_translate
from tests.conftest import KEY_ENV
from tests.reliability.test_bad_input import csv_column, write_csv


def mtpipe(tmp_path: Path, emulator: Emulator, *args: str, out: Path | None = None) -> Result:
    """``mtpipe translate ARGS`` in process through ``emulator``, into ``out`` (tmp_path/out)."""
    common = ["--to", "de", "--from", "en", "--out", str(out or tmp_path / "out"), "--ledger", str(tmp_path / "ledger.jsonl"),
              "--cache", str(tmp_path / "cache.sqlite"), "--base-url", emulator.base_url, "--api-key-env", KEY_ENV]  # fmt: skip
    return CliRunner().invoke(main, ["translate", *args, *common])


def sentences(count: int) -> list[str]:
    return [f"Sentence number {i} to translate" for i in range(count)]


# ---- outputs checked before the first request ------------------------------------------------


@pytest.fixture()
def read_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Make a folder read-only: its mode for a user; for root (who may write anywhere) the answer
    the OS gives for a read-only file system is simulated."""
    folders: list[Path] = []
    real_access = os.access

    def access(path: Any, mode: int, **kwargs: Any) -> bool:
        if mode & os.W_OK and Path(path) in folders:
            return False
        return real_access(path, mode, **kwargs)

    def lock(folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o555)
        folders.append(folder)
        if os.geteuid() == 0:
            monkeypatch.setattr(os, "access", access)

    yield lock
    for folder in folders:
        folder.chmod(0o755)


def files_under(root: Path) -> set[Path]:
    """The files under ``root`` but the cache (opened before the targets are known)."""
    return {p for p in root.rglob("*") if p.is_file() and p.name != "cache.sqlite"}


def two_named_alike(tmp_path: Path) -> list[str]:
    """Two inputs named x.csv in different folders: both would be OUT/x.csv."""
    for folder in ("a", "b"):
        (tmp_path / folder).mkdir(exist_ok=True)
    return [str(write_csv(tmp_path / folder / "x.csv", sentences(3))) for folder in ("a", "b")]


@pytest.mark.parametrize("case", ["out is a file", "read-only folder", "two targets, one template path",
                                  "two inputs named alike", "output on another input"])  # fmt: skip
def test_an_output_that_cannot_be_written_is_refused_before_any_request(
    tmp_path: Path, emulator: Emulator, read_only: Any, case: str
) -> None:
    (tmp_path / "a").mkdir()
    data = str(write_csv(tmp_path / "a" / "data.csv", sentences(3)))
    out = tmp_path / "out"
    args: list[str] = [data, "--columns", "text"]
    if case == "out is a file":
        out.write_text("not a folder")
        message = f"{out} is a file, not a folder"
    elif case == "read-only folder":
        read_only(out)
        message = f"the folder {out} is not writable"
    elif case == "two targets, one template path":
        template = tmp_path / "a" / "app.pot"
        template.write_text('msgid ""\nmsgstr "Content-Type: text/plain; charset=UTF-8\\n"\n\nmsgid "Open"\nmsgstr ""\n')
        args = [str(template), "--to", "fr", "--output-template", "{name}"]
        message = f"{template} would be written to {out / 'app.po'} for both fr and de"
    elif case == "two inputs named alike":
        args = [*two_named_alike(tmp_path), "--columns", "text"]
        message = f"would both be written to {out / 'x.csv'}"
    else:  # a/data.csv -> OUT/data_x.csv, which is the other input
        out.mkdir()
        other = write_csv(out / "data_x.csv", sentences(2))
        args = [data, str(other), "--columns", "text", "--output-template", "{stem}_x{ext}"]
        message = f"output {other} would overwrite the input {other}"
    before = files_under(tmp_path)
    result = mtpipe(tmp_path, emulator, *args)
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output
    assert emulator.stats.received == 0
    assert files_under(tmp_path) == before  # no output, not even a ledger


def test_the_same_inputs_apart_are_translated(tmp_path: Path, emulator: Emulator) -> None:
    """What the check refuses, told apart: the common folder as the input keeps a/ and b/."""
    two_named_alike(tmp_path)
    result = mtpipe(tmp_path, emulator, str(tmp_path / "a"), str(tmp_path / "b"), "--columns", "text")
    assert result.exit_code == 2  # two folder inputs: each file's path under its folder is x.csv
    result = mtpipe(tmp_path, emulator, str(tmp_path), "--columns", "text")
    assert result.exit_code == 0, result.output
    assert csv_column(tmp_path / "out" / "a" / "x.csv", "text_de")[0] == fake_translate(sentences(1)[0], "German")
    assert (tmp_path / "out" / "b" / "x.csv").exists()


def test_a_write_that_fails_after_paying_exits_1_not_2(tmp_path: Path, emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    data = write_csv(tmp_path / "data.csv", sentences(3))

    def full_disk(*args: Any, **kwargs: Any) -> Any:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(CsvFormat, "write", full_disk)
    result = mtpipe(tmp_path, emulator, str(data), "--columns", "text")
    assert emulator.stats.received >= 1
    assert result.exit_code == 1, result.output
    assert "No space left on device" in result.output

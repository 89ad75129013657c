"""The README's first command, run the way the README runs it, on a copy of ``samples/``.

The command is read from README.md (the ``mtpipe translate ...`` part of the first line of its
first ``sh`` block), so the test follows the README when it changes. It runs the installed
``mtpipe`` entry point in a temporary working directory holding a copy of ``samples/``: its
relative paths (``samples``, ``translated/``, ``mtpipe-ledger.jsonl``) land there. No venv is
created; the test's own interpreter stands in for ``.venv``.
"""

from __future__ import annotations

import csv
import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import docx
import polib
import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[2]
README = REPO / "README.md"
MSGFMT = shutil.which("msgfmt")
DOCUMENTS = (".po", ".pot", ".docx")
TABULAR = (".csv", ".tsv", ".parquet")


def readme_command() -> list[str]:
    """The argv of the README's first ``mtpipe translate`` command (program name included)."""
    text = README.read_text(encoding="utf-8")
    block = text.split("```sh\n", 1)[1].split("```", 1)[0]
    first_line = block.splitlines()[0]
    for part in first_line.split("&&"):
        argv = shlex.split(part)
        if argv and argv[0].endswith("mtpipe") and argv[1:2] == ["translate"]:
            return argv
    raise AssertionError(f"no mtpipe translate command in the README's first line: {first_line}")


def mtpipe_program() -> list[str]:
    """This interpreter's ``mtpipe`` script, or the same entry point through ``-c``."""
    script = Path(sys.executable).parent / "mtpipe"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from mtpipe.cli import main; main()"]


def option_values(argv: list[str], name: str) -> list[str]:
    return [argv[i + 1] for i, arg in enumerate(argv[:-1]) if arg == name]


def expected_outputs(samples: Path, targets: list[str]) -> set[str]:
    """The README's output rule: documents to ``translated/<lang>/<name>`` (a ``.pot`` as
    ``<stem>.po``; a ``.po`` only into its own Language), tabular files to ``translated/<name>``."""
    found = set()
    for path in sorted(samples.iterdir()):
        suffix = path.suffix.lower()
        if suffix in TABULAR:
            found.add(f"translated/{path.name}")
        elif suffix in DOCUMENTS:
            name = path.stem + ".po" if suffix == ".pot" else path.name
            language = polib.pofile(str(path)).metadata.get("Language", "") if suffix == ".po" else ""
            for lang in targets:
                if not language or language.split("_")[0] == lang:
                    found.add(f"translated/{lang}/{name}")
    return found


def test_readme_first_command(tmp_path: Path) -> None:
    argv = readme_command()
    assert "--engine" in argv and option_values(argv, "--engine") == ["pseudo"]
    shutil.copytree(REPO / "samples", tmp_path / "samples")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DASHSCOPE", "MTPIPE"))}
    env["XDG_CACHE_HOME"] = str(tmp_path / "xdg-cache")
    done = subprocess.run(
        [*mtpipe_program(), *argv[1:]],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr

    targets = [t for value in option_values(argv, "--to") for t in value.split(",")]
    written = {str(p.relative_to(tmp_path)) for p in (tmp_path / "translated").rglob("*") if p.is_file()}
    assert written == expected_outputs(tmp_path / "samples", targets)
    for name in written:
        path = tmp_path / name
        if path.suffix == ".po":
            entries = polib.pofile(str(path))
            assert entries.metadata["X-Generator"].startswith("mtpipe ")
            assert any("fuzzy" in e.flags for e in entries)  # translated and marked for review
            if MSGFMT:
                check = subprocess.run([MSGFMT, "-c", "-o", os.devnull, str(path)],
                                       capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
                assert check.returncode == 0, check.stderr
        elif path.suffix == ".docx":
            assert any("[" in p.text for p in docx.Document(str(path)).paragraphs)
        elif path.suffix == ".csv":
            with open(path, newline="", encoding="utf-8") as handle:
                header = next(csv.reader(handle))
            assert any(column.endswith(f"_{targets[0]}") for column in header)
        elif path.suffix == ".parquet":
            names = pq.read_schema(path).names
            assert any(column.endswith(f"_{targets[0]}") for column in names)

    records = [json.loads(line) for line in (tmp_path / "mtpipe-ledger.jsonl").read_text().splitlines()]
    assert records[0]["event"] == "run_start" and records[-1]["event"] == "run_end"
    assert records[-1]["status"] == "ok" and records[-1]["failures"] == 0
    assert not (tmp_path / "xdg-cache").exists()  # --no-cache: no cache anywhere

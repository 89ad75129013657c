"""The folder pipeline/ is the import package mtpipe: installed so, checked so, named so.

setuptools installs the folder under another name through ``package-dir``, which cannot find
subpackages by itself; a subpackage missing from the list still imports in an editable install
and is absent from the wheel. A leftover ``pipeline.`` import or module path still runs from the
repository root (the folder is on sys.path there) as a second copy of every module.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from pathlib import Path

from tests.conftest import REPO

PACKAGE_DIR = REPO / "pipeline"
#: A module path written as a string (format registry, monkeypatch target, ``-c`` code).
_OLD_MODULE_PATH = re.compile(r"(?<![\w.])pipeline\.[a-z_]\w*")


def setuptools_config() -> dict[str, object]:
    with (REPO / "pyproject.toml").open("rb") as file:
        config: dict[str, object] = tomllib.load(file)["tool"]["setuptools"]
    return config


def python_files() -> Iterator[Path]:
    for folder in (PACKAGE_DIR, REPO / "tests"):
        yield from sorted(folder.rglob("*.py"))


def old_names(path: Path) -> list[str]:
    """Where ``path`` imports ``pipeline`` or writes a ``pipeline.`` module path in a string."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module or ""]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            names = _OLD_MODULE_PATH.findall(node.value)
        else:
            continue
        found += [f"{path.relative_to(REPO)}:{node.lineno}: {name}" for name in names if name.split(".")[0] == "pipeline"]
    return found


def test_every_subpackage_of_the_folder_is_installed_under_mtpipe() -> None:
    config = setuptools_config()
    on_disk = {
        ".".join(("mtpipe", *init.parent.relative_to(PACKAGE_DIR).parts))
        for init in PACKAGE_DIR.rglob("__init__.py")
    }
    assert config["package-dir"] == {"mtpipe": "pipeline"}
    assert sorted(config["packages"]) == sorted(on_disk)  # type: ignore[call-overload]


def test_no_module_imports_or_names_the_folder_as_a_package() -> None:
    assert [hit for path in python_files() for hit in old_names(path)] == []


def test_the_installed_package_is_mtpipe_and_the_folder_is_not_exposed(tmp_path: Path) -> None:
    probe = (
        "import importlib.util, mtpipe.cli; "
        "spec = importlib.util.find_spec('pipeline'); "
        "print(mtpipe.cli.__name__, spec.origin if spec else None)"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    name, pipeline_origin = done.stdout.split()
    assert name == "mtpipe.cli"
    assert not pipeline_origin.startswith(str(PACKAGE_DIR))  # None, or someone else's pipeline


def test_mypy_reads_the_folder_as_mtpipe() -> None:
    assert (REPO / ".ci" / "typecheck" / "mtpipe").resolve() == PACKAGE_DIR.resolve()

"""Inputs to files, and files to output paths.

Directory inputs are walked for supported extensions (other files are reported as skipped);
globs are expanded. A walk never leaves its directory: a file reached through a symbolic link
that leads outside it is reported as skipped (its content would otherwise be sent without
anyone having named it). When the output directory lies inside a walked directory, the files
in it (earlier runs' outputs) are not inputs. Each file keeps its path relative to the directory it
was found in, so a directory (hive-partitioned Parquet, a locale tree) comes out in the same
layout under OUT.
"""

from __future__ import annotations

import glob
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mtpipe.errors import ConfigError
from mtpipe.formats import format_for, supported_extensions
from mtpipe.formats.base import Format
from mtpipe.run.settings import InputSpec, Job
from mtpipe.text.languages import Language


@dataclass
class FileTask:
    """One input file, its format, its options and where it sits relative to its input."""

    path: Path
    relpath: Path
    fmt: Format
    options: dict[str, Any]
    #: The run's targets that apply to this file (set when the run starts).
    targets: list[Language] = field(default_factory=list)


@dataclass
class Discovery:
    """The files to translate and the ones skipped (with why)."""

    files: list[FileTask] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)


def is_glob_pattern(text: str) -> bool:
    """True when the input path ``text`` holds a wildcard (``*``, ``?`` or ``[``): discovery
    expands it with :func:`glob.glob` (``**`` recursive) instead of reading it as a path."""
    return any(ch in text for ch in "*?[")


def discover(job: Job) -> Discovery:
    """Expand every input into FileTasks; ConfigError for an input that does not exist. A
    named input that is neither a file nor a folder (a pipe, a device) is skipped, with why."""
    found = Discovery()
    seen: set[Path] = set()
    out_root = job.out.resolve()
    for spec in job.inputs:
        options = {**job.options, **spec.options}
        walked = _walk_root(spec)
        for path, relpath in _expand(spec):
            resolved = path.resolve()
            if resolved in seen:
                continue
            if walked is not None and walked not in resolved.parents:
                found.skipped.append((path, _outside_link(resolved, walked)))
                continue
            if not job.in_place and walked is not None and _inside(resolved, out_root, walked):
                continue  # an earlier run's output: translating it would nest outputs every run
            if not path.is_file():  # reading a pipe would wait for a writer, a device forever
                found.skipped.append((path, "not a regular file (a pipe, socket or device)"))
                continue
            fmt = format_for(path)
            if fmt is None:
                exts = ", ".join(supported_extensions())
                found.skipped.append((path, f"unsupported file type (supported: {exts})"))
                continue
            seen.add(resolved)
            found.files.append(FileTask(path, relpath, fmt, options))
    return found


def _outside_link(target: Path, walked: Path) -> str:
    """Why a walked path that resolves outside the walk (only a symbolic link can) is skipped."""
    return (
        f"a symbolic link to {target}, outside {walked}: not followed "
        "(give the file itself as an input to translate it)"
    )


def _walk_root(spec: InputSpec) -> Path | None:
    """The directory a directory or glob input walks (resolved); None for a single file."""
    raw = str(spec.path)
    if is_glob_pattern(raw):
        return _glob_root(raw).resolve()
    return spec.path.resolve() if spec.path.is_dir() else None


def _glob_root(pattern: str) -> Path:
    """The directory a glob starts from: its leading parts without wildcards."""
    fixed = []
    for part in Path(pattern).parts:
        if is_glob_pattern(part):
            break
        fixed.append(part)
    return Path(*fixed) if fixed else Path(".")


def _inside(path: Path, out_root: Path, walked: Path) -> bool:
    """True when ``path`` lies in the output directory and that directory is strictly inside
    the walked one (an output directory that *is* the input directory excludes nothing)."""
    return out_root != walked and walked in out_root.parents and out_root in path.parents


def _expand(spec: InputSpec) -> list[tuple[Path, Path]]:
    raw = str(spec.path)
    if is_glob_pattern(raw):
        matches = sorted(Path(p) for p in glob.glob(raw, recursive=True))
        if not matches:
            raise ConfigError(f"input {raw!r} matches no file")
        root = _glob_root(raw)
        return [(m, _relative(m, root)) for m in matches if m.is_file()]
    path = spec.path
    if path.is_dir():
        files = sorted(
            p for p in path.rglob("*") if p.is_file() and not any(part.startswith(".") for part in p.relative_to(path).parts)
        )
        return [(p, p.relative_to(path)) for p in files]
    if path.is_file() or path.exists():  # a pipe or a device: discover skips it
        return [(path, Path(path.name))]
    raise ConfigError(f"input {raw} does not exist")


def _relative(path: Path, root: Path) -> Path:
    try:
        return path.relative_to(root)
    except ValueError:
        return Path(path.name)


def output_path(job: Job, task: FileTask, target: Language | None) -> Path:
    """Where ``task``'s translation (into ``target``; None for multi-target) is written.

    Documents: ``OUT/<lang>/<relpath>``; tabular: ``OUT/<relpath>``; ``--output-template``
    (fields {lang} {name} {stem} {ext} {relpath} {reldir}) overrides; ``--in-place`` writes
    over the input. A path outside OUT, or onto an input without --in-place, is a ConfigError.
    """
    if job.in_place:
        return task.path
    name = task.fmt.output_name(task.path, target)
    rel = task.relpath.with_name(name)
    lang = target.code if target is not None else ""
    if job.output_template:
        template = job.output_template
        if target is None:  # one output for every language: a {lang} directory level vanishes
            template = template.replace("{lang}/", "").replace("/{lang}", "")
        try:
            text = template.format(
                lang=lang,
                name=name,
                stem=Path(name).stem,
                ext=Path(name).suffix,
                relpath=rel.as_posix(),
                reldir=rel.parent.as_posix() if rel.parent != Path(".") else "",
            )
        except (KeyError, IndexError, ValueError) as exc:
            raise ConfigError(f"--output-template {job.output_template!r}: {exc}") from None
        dest = job.out / text
    elif target is not None:
        dest = job.out / lang / rel
    else:
        dest = job.out / rel
    out_root = job.out.resolve()
    resolved = dest.resolve()
    if resolved != out_root and out_root not in resolved.parents:
        raise ConfigError(f"output path {dest} would be outside the output directory {job.out}")
    if resolved == task.path.resolve():
        raise ConfigError(f"output {dest} would overwrite its input: use --in-place to allow it")
    return dest

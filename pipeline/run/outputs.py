"""Where a run writes, checked before anything is sent.

An output that cannot be written is otherwise found when the run writes it, after its
requests were paid for. :func:`check_outputs` looks at every output path of a run (each
file's chosen targets; one path for a multi-target format) before the first request and
refuses, with a ConfigError (exit 2, nothing sent):

- two outputs on one path (``--output-template '{name}'`` with two target languages, two
  inputs named alike in different folders), where the second would replace the first; the
  files a format writes beside an output (the ``.mo`` of ``--compile``) count as outputs;
- an output on another input of the run (the run would overwrite what it reads);
- an output that is a directory, a file where a folder of the path should be (``--out``
  naming a file), or a folder the user cannot write into (permissions, read-only file system).

Before that, before any file is read, :func:`check_output_settings` refuses what the settings
alone rule out (an ``--in-place`` output of another kind, a path the writer would not replace).

Checking cannot promise the write: the disk may fill up meanwhile. A write that fails later
fails its file (exit 1), never the run's "nothing was sent" code.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from mtpipe.errors import ConfigError
from mtpipe.formats.base import replace_refusal
from mtpipe.run.discover import FileTask, output_path
from mtpipe.run.settings import Job


@dataclass(frozen=True, slots=True, eq=False)
class Output:
    """One file a run writes: for ``task``, into ``target`` (a language code; "" for every
    target), at ``path``; ``beside`` is the output it is written with when it is a companion
    file (the ``.po`` of a ``--compile`` ``.mo``), None for an output itself."""

    task: FileTask
    target: str
    path: Path
    beside: Path | None = None

    def describe(self) -> str:
        """What this file is, for a message."""
        if self.beside is not None:
            return f"the file written beside {self.beside} (--compile)"
        return f"the output of {self.task.path}" + (f" for {self.target}" if self.target else "")


def planned_outputs(job: Job, tasks: Sequence[FileTask]) -> Iterator[Output]:
    """Every file the run writes for ``tasks`` (each file's chosen targets): each output, then
    the files its format writes beside it (see Format.companion_outputs)."""
    for task in tasks:
        for target in [None] if task.fmt.multi_target else task.targets:
            dest = output_path(job, task, target)
            code = target.code if target is not None else ""
            yield Output(task, code, dest)
            for path in task.fmt.companion_outputs(dest, task.options):
                yield Output(task, code, path, beside=dest)


def check_output_settings(job: Job, files: Sequence[FileTask]) -> None:
    """Raise ConfigError for an output the settings cannot give, before any file is read: an
    ``--in-place`` output of another kind than its input, or a path the writer would refuse to
    replace (read-only, several hard links), an output's or a file written beside it; whether
    the paths can be written, and by one output each, is checked by :func:`check_outputs` once
    the targets are known."""
    for task in files:
        if job.in_place and task.fmt.output_name(task.path, job.targets[0]) != task.path.name:
            raise ConfigError(
                f"{task.path}: --in-place would replace it with a file of another kind "
                f"({task.fmt.output_name(task.path, job.targets[0])}); translate it without --in-place"
            )
        for target in ([None] if task.fmt.multi_target else job.targets):
            dest = output_path(job, task, target)
            for path in [dest, *task.fmt.companion_outputs(dest, task.options)]:
                refusal = replace_refusal(path)  # the writer would refuse it after the requests
                if refusal is not None:
                    raise ConfigError(f"{path} {refusal}")


def check_outputs(job: Job, tasks: Sequence[FileTask]) -> None:
    """Raise ConfigError naming the first file the run would write for ``tasks`` (an output or
    a file written beside one) that cannot be written, or that would replace another such file
    or another input of the run (see the module docstring)."""
    inputs = {task.path.resolve(): task for task in tasks}
    claimed: dict[Path, Output] = {}
    folders: dict[Path, str | None] = {}
    for output in planned_outputs(job, tasks):
        dest = output.path
        resolved = dest.resolve()
        earlier = claimed.setdefault(resolved, output)
        if earlier is not output:
            raise ConfigError(_collision(dest, earlier, output))
        reader = inputs.get(resolved)
        if reader is not None and (reader is not output.task or output.beside is not None):
            raise ConfigError(
                f"output {dest} would overwrite the input {reader.path}; choose another --out"
            )
        if dest.is_dir():
            raise ConfigError(f"output {dest} is a directory")
        if dest.parent not in folders:
            folders[dest.parent] = unwritable_folder(dest.parent)
        why = folders[dest.parent]
        if why is not None:
            raise ConfigError(f"cannot write {dest}: {why}")


def _collision(dest: Path, first: Output, second: Output) -> str:
    """The message for two files on ``dest``: one input's outputs in two languages, two inputs'
    outputs, or an output and a file written beside one."""
    if first.beside is not None or second.beside is not None:
        return (
            f"{dest} would be written twice, as {first.describe()} and as "
            f"{second.describe()}: choose an --output-template that keeps them apart"
        )
    if first.task is second.task:
        return (
            f"{first.task.path} would be written to {dest} for both {first.target} and "
            f"{second.target}: put {{lang}} in --output-template"
        )
    return (
        f"{first.task.path} and {second.task.path} would both be written to {dest}: give their "
        "common folder as the input (outputs keep their paths under it), or translate them in "
        "separate runs with different --out"
    )


def unwritable_folder(folder: Path) -> str | None:
    """Why a file cannot be created in ``folder`` (created first where missing), or None.

    The nearest existing folder of the path decides: it must be a directory the user may
    write into and enter (a file there, or a read-only file system, is a reason).
    """
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return f"{existing} is a file, not a folder"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"the folder {existing} is not writable (permissions or a read-only file system)"
    return None

"""The contract every format implements, and the atomic-write helper they share.

A format reads a file into a deterministic stream of segments and writes a translated copy.
Writers never write in place of their destination directly: they write into
:func:`atomic_output`, which renames over the destination only when the write completed, keeps
the replaced file's mode and group, follows a symbolic link to its target, and refuses to
replace a read-only file or one of several hard links.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import os
import secrets
import stat
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from mtpipe.errors import ConfigError
from mtpipe.text.languages import Language
from mtpipe.text.segments import Segment, Translations

#: Format options: keys a format reads (it ignores the others). Each format documents its keys
#: in its docstring; the CLI and job files fill them (e.g. ``columns``, ``mark``, ``fuzzy``).
Options = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Unwritten:
    """A segment a writer could not put back although its translation was given, and why."""

    segment: Segment
    target: Language
    reason: str


@dataclass(slots=True)
class WriteReport:
    """What a writer tells the run about one output."""

    path: Path
    #: Segments written with their translation.
    translated: int = 0
    #: Segments not written with a translation (written back as they were, or left empty):
    #: those whose translation failed (None: the run lists them), and :attr:`unwritten`.
    failed: int = 0
    #: Word paragraphs whose inline formatting was simplified because the tags broke.
    simplified: int = 0
    notes: list[str] = field(default_factory=list)
    #: The segments failed by :meth:`fail`, which the run lists with file, place and why.
    unwritten: list[Unwritten] = field(default_factory=list)

    def fail(self, segment: Segment, target: Language, reason: str) -> None:
        """Count ``segment`` failed for a reason of the writer's own: its translation into
        ``target`` was given but cannot be put back (a gettext plural entry whose other text
        failed, an empty translation). The run lists it, so no failed segment goes unnamed;
        a segment whose translation is None is only counted (``failed += 1``): the run
        listed it when it answered None."""
        self.failed += 1
        self.unwritten.append(Unwritten(segment, target, reason))


class Format(ABC):
    """One file format: read segments, write a translated copy.

    Subclasses set ``name``, ``extensions`` and ``multi_target``: a multi-target format (CSV,
    Parquet) writes one output holding every target language (``<column>_<lang>`` columns);
    the others write one output per target language.
    """

    name: ClassVar[str]
    extensions: ClassVar[tuple[str, ...]]
    multi_target: ClassVar[bool] = False

    @abstractmethod
    def read(self, path: Path, options: Options) -> Iterator[Segment]:
        """Yield the file's segments in a deterministic order.

        Raises InputError naming the file (and line/part where known) for malformed input.
        Segments with nothing to translate may be yielded; the pipeline skips them.
        """

    @abstractmethod
    def write(
        self,
        path: Path,
        dest: Path,
        targets: Sequence[Language],
        translations: Translations,
        options: Options,
    ) -> WriteReport:
        """Write the translated copy of ``path`` to ``dest`` atomically.

        ``targets`` holds exactly one language unless ``multi_target``. A segment whose
        translation is None failed: the writer keeps the file valid (source text or empty, as
        the format's convention says) and counts it in ``WriteReport.failed``. A segment it
        cannot put back although its translation was given fails through
        :meth:`WriteReport.fail`, never by a count alone.
        """

    def check_options(self, path: Path, options: Options) -> None:
        """Raise ConfigError when ``options`` cannot apply to ``path`` (an unknown column, an
        option value the format does not take), InputError when the file cannot be read as far
        as that needs; the run calls it for every file before it sends or creates anything, so
        that :meth:`read` finds no such error later. Nothing to check by default."""

    def skip_target(self, path: Path, target: Language) -> str | None:
        """Why ``path`` should not be translated into ``target`` (None: it should).

        A gettext catalog is for one language: translating a directory of catalogs into
        several languages fills each catalog only for its own.
        """
        return None

    def columns(self, path: Path, options: Options) -> list[str] | None:
        """A tabular file's column names (InputError when unreadable); None for documents."""
        return None

    def output_name(self, path: Path, target: Language | None) -> str:
        """The output file name for ``path`` (``.pot`` becomes ``.po``, for instance)."""
        return path.name

    def companion_outputs(self, dest: Path, options: Options) -> list[Path]:
        """The files :meth:`write` also writes when it writes ``dest`` with ``options`` (the
        ``.mo`` beside a ``.po`` with ``compile``), so that the run checks them with the
        outputs before sending anything; none by default."""
        return []


def option_list(options: Options, key: str) -> list[str] | None:
    """A list-of-strings option given as a list or a comma-separated string; None if unset."""
    value = options.get(key)
    if value is None:
        return None
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return list(value)
    raise ConfigError(f"option {key!r} must be a list of strings, got {value!r}")


@contextlib.contextmanager
def atomic_output(dest: Path, mode: int = 0o666) -> Iterator[Path]:
    """Yield a temporary path beside ``dest``; rename it over ``dest`` only on success.

    On any exception the temporary file is removed and ``dest`` is untouched, so a partial
    output never replaces a good one; an OSError names ``dest`` (not the temporary file). A ``dest`` that is a symbolic link is followed: its
    target is replaced and the link stays. A file replaced keeps its permission bits and its
    group (and owner, when that is allowed); a new file gets ``mode`` less the umask. A
    destination that must not be replaced (see :func:`replace_refusal`) raises PermissionError
    before anything is written.
    """
    target = Path(os.path.realpath(dest))
    existing = _replaceable_stat(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_parts(target)
    tmp = _create_part(target, mode)
    try:
        created = tmp.stat()
        yield tmp
        _carry_over(tmp, existing or created)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        if isinstance(exc, OSError) and exc.filename in (None, str(tmp)):
            exc.filename = str(dest)  # the output the user knows, not its temporary part
        raise


def replace_refusal(dest: Path) -> str | None:
    """Why the existing file at ``dest`` (a link followed) must not be replaced, or None.

    Read-only files (no write permission bit, or not writable by this user) are left alone; so
    are files with several hard links, since replacing one name would leave the others with
    the old content.
    """
    try:
        info = os.stat(dest)
    except (FileNotFoundError, NotADirectoryError):
        return None
    if not stat.S_ISREG(info.st_mode):
        return None  # a directory or device: os.replace says what is wrong
    if not info.st_mode & 0o222 or not os.access(dest, os.W_OK):
        return "is read-only: mtpipe does not replace it (make it writable, e.g. chmod u+w, to allow it)"
    if info.st_nlink > 1:
        return (
            f"has {info.st_nlink} hard links: replacing it would leave the other names with the old "
            "content (copy it to a file of its own to translate it)"
        )
    return None


def _replaceable_stat(target: Path) -> os.stat_result | None:
    """The stat of the existing ``target`` (None when there is none); PermissionError when it
    must not be replaced."""
    reason = replace_refusal(target)
    if reason is not None:
        raise PermissionError(errno.EPERM, reason, str(target))
    try:
        return os.stat(target)
    except FileNotFoundError:
        return None


def _create_part(target: Path, mode: int) -> Path:
    """A new, empty temporary file beside ``target``, created with ``mode`` (the umask applies)."""
    while True:
        tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.part")
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode))
        except FileExistsError:
            continue
        return tmp


def _carry_over(tmp: Path, model: os.stat_result) -> None:
    """Give ``tmp`` the permission bits, group and (where allowed) owner of ``model``.

    When the group cannot be kept, the group's permission bits are dropped rather than given
    to another group.
    """
    mode = stat.S_IMODE(model.st_mode)
    current = tmp.stat()
    if hasattr(os, "chown") and (current.st_uid, current.st_gid) != (model.st_uid, model.st_gid):
        try:
            os.chown(tmp, model.st_uid, model.st_gid)
        except PermissionError:
            try:
                os.chown(tmp, -1, model.st_gid)
            except PermissionError:
                mode &= ~0o070
    os.chmod(tmp, mode)  # after chown, which may clear set-id bits


#: A temporary output older than this was left by a killed run, not by a write in progress.
STALE_PART_SECONDS = 3600.0


def _remove_stale_parts(dest: Path) -> None:
    """Delete temporary files a killed run left beside ``dest`` (never a recent one)."""
    now = time.time()
    for leftover in dest.parent.glob(f".{glob.escape(dest.name)}.*.part"):
        with contextlib.suppress(OSError):
            if now - leftover.stat().st_mtime > STALE_PART_SECONDS:
                leftover.unlink()

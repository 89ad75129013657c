"""The contract every format implements, and the atomic-write helper they share.

A format reads a file into a deterministic stream of segments and writes a translated copy.
Writers never write in place of their destination directly: they write into
:func:`atomic_output`, which renames over the destination only when the write completed.
"""

from __future__ import annotations

import contextlib
import glob
import os
import tempfile
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from pipeline.errors import ConfigError
from pipeline.languages import Language
from pipeline.segments import Segment, Translations

#: Format options: keys a format reads (it ignores the others). Each format documents its keys
#: in its docstring; the CLI and job files fill them (e.g. ``columns``, ``mark``, ``fuzzy``).
Options = Mapping[str, Any]


@dataclass(slots=True)
class WriteReport:
    """What a writer tells the run about one output."""

    path: Path
    #: Segments written with their translation.
    translated: int = 0
    #: Segments whose translation failed and were written back as they were (or left empty).
    failed: int = 0
    #: Word paragraphs whose inline formatting was simplified because the tags broke.
    simplified: int = 0
    notes: list[str] = field(default_factory=list)


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
        the format's convention says) and counts it in ``WriteReport.failed``.
        """

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
def atomic_output(dest: Path, mode: int = 0o644) -> Iterator[Path]:
    """Yield a temporary path beside ``dest``; rename it over ``dest`` only on success.

    On any exception the temporary file is removed and ``dest`` is untouched, so a partial
    output never replaces a good one.
    """
    dest.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_parts(dest)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, mode)
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, dest)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


#: A temporary output older than this was left by a killed run, not by a write in progress.
STALE_PART_SECONDS = 3600.0


def _remove_stale_parts(dest: Path) -> None:
    """Delete temporary files a killed run left beside ``dest`` (never a recent one)."""
    now = time.time()
    for leftover in dest.parent.glob(f".{glob.escape(dest.name)}.*.part"):
        with contextlib.suppress(OSError):
            if now - leftover.stat().st_mtime > STALE_PART_SECONDS:
                leftover.unlink()

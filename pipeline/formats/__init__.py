"""The document formats and their registry, which finds a file's format by its extension.

Holds :mod:`~mtpipe.formats.base` (the contract every format keeps, atomic output) and one
package per family: :mod:`~mtpipe.formats.po` (gettext), :mod:`~mtpipe.formats.docx` (Word)
and :mod:`~mtpipe.formats.tabular` (CSV/TSV, Parquet). A format is loaded the first time its
extension is asked for.

Imports go downward only: formats may import :mod:`mtpipe.errors` and the text helpers
(:mod:`mtpipe.text.segments`, :mod:`mtpipe.text.protect`, :mod:`mtpipe.text.languages`), never the run,
the CLI or the engine.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from mtpipe.formats.base import Format

#: extension -> "module:Class". Adding a format is one module (or package) and one line here.
_REGISTRY: dict[str, str] = {
    ".csv": "mtpipe.formats.tabular.csv:CsvFormat",
    ".tsv": "mtpipe.formats.tabular.csv:CsvFormat",
    ".po": "mtpipe.formats.po:PoFormat",
    ".pot": "mtpipe.formats.po:PoFormat",
    ".docx": "mtpipe.formats.docx:DocxFormat",
    ".parquet": "mtpipe.formats.tabular.parquet:ParquetFormat",
}

_loaded: dict[str, Format] = {}


def supported_extensions() -> tuple[str, ...]:
    """Every extension some format reads (lower case, with the dot)."""
    return tuple(ext for ext in _REGISTRY if _load(ext) is not None)


def _load(ext: str) -> Format | None:
    target = _REGISTRY.get(ext)
    if target is None:
        return None
    if target not in _loaded:
        module_name, class_name = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                return None  # format not built yet
            raise
        _loaded[target] = getattr(module, class_name)()
    return _loaded[target]


def format_for(path: Path) -> Format | None:
    """The format that reads ``path`` (by extension, case-insensitive), or None."""
    return _load(path.suffix.lower())

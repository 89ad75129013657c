"""The format registry: one module per format, looked up by file extension."""

from __future__ import annotations

import importlib
from pathlib import Path

from pipeline.formats.base import Format

#: extension -> "module:Class". Adding a format is one module and one line here.
_REGISTRY: dict[str, str] = {
    ".csv": "pipeline.formats.csv:CsvFormat",
    ".tsv": "pipeline.formats.csv:CsvFormat",
    ".po": "pipeline.formats.po:PoFormat",
    ".pot": "pipeline.formats.po:PoFormat",
    ".docx": "pipeline.formats.docx:DocxFormat",
    ".parquet": "pipeline.formats.parquet:ParquetFormat",
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

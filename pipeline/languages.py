"""Languages accepted by Qwen-MT: user input (ISO code or English name) to the English name.

PLACEHOLDER: the full 92-language table and Babel plural rules are being filled in.
"""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.errors import ConfigError


@dataclass(frozen=True, slots=True)
class Language:
    """A target or source language.

    ``code`` is the POSIX-style code used in paths and column names (``de``, ``pt_BR``,
    ``zh_TW``); ``name`` is the English name Qwen-MT expects in ``translation_options``.
    """

    code: str
    name: str

    def __str__(self) -> str:
        return self.code


AUTO = Language("auto", "auto")

_TABLE = {"en": "English", "de": "German", "fr": "French", "ru": "Russian", "ja": "Japanese"}


def resolve(value: str, *, allow_auto: bool = False) -> Language:
    """Map an ISO code or English name to a :class:`Language`; ConfigError when unknown."""
    if allow_auto and value.strip().lower() == "auto":
        return AUTO
    key = value.strip().replace("-", "_")
    if key in _TABLE:
        return Language(key, _TABLE[key])
    for code, name in _TABLE.items():
        if name.lower() == value.strip().lower():
            return Language(code, name)
    raise ConfigError(f"unknown language {value!r}: see 'mtpipe languages'")

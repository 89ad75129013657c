"""The keys a job file may hold and the check of each value (see mtpipe.jobs.jobfile).

Each check takes a TOML value and returns it normalised, or raises :class:`Bad` with what is
wrong; the loader adds the file, line and key to the message.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mtpipe.engine.client import REGIONS
from mtpipe.errors import ConfigError
from mtpipe.records.prices import price_for
from mtpipe.run.settings import ENGINES, is_variable_name

MARKS = ("fuzzy", "comment", "none")
# Key names that hold secrets (``api_key``, ``dashscope_api_key``, ``token``, ...); api_key_env is fine.
SECRET_NAME = re.compile(r"(^|_)(api_?key|apikey|key|secret|token|password|passwd|credentials?)($|_)")
SECRET_VALUE = re.compile(r"^(sk-|Bearer\s)\S{8,}")
TEMPLATE_SAMPLES = (
    {"lang": "xx", "name": "f.ext", "stem": "f", "ext": ".ext", "relpath": "d/f.ext", "reldir": "d"},
    {"lang": "xx", "name": "f.ext", "stem": "f", "ext": ".ext", "relpath": "f.ext", "reldir": ""},
)


class Bad(Exception):
    """A value is wrong; the message says how (the caller adds the file, line and key)."""


# ---- value checks: each returns the normalized value or raises _Bad ----------------------------

Check = Callable[[Any], Any]


def as_text(value: Any) -> str:
    if not isinstance(value, str):
        raise Bad(f"must be a string, got {kind_of(value)}")
    return value


def _nonempty(value: Any) -> str:
    if not as_text(value).strip():
        raise Bad("must not be empty")
    return str(value)


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise Bad(f"must be true or false, got {kind_of(value)}")
    return value


def _int(minimum: int) -> Check:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise Bad(f"must be an integer, got {kind_of(value)}")
        if value < minimum:
            raise Bad(f"must be at least {minimum}")
        return value

    return check


def _number(positive: bool) -> Check:
    def check(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise Bad(f"must be a number, got {kind_of(value)}")
        if value < 0 or (positive and value == 0):
            raise Bad("must be positive" if positive else "cannot be negative")
        return float(value)

    return check


def _str_list(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise Bad(f"must be a list of non-empty strings, got {kind_of(value)}")
    if not value:
        raise Bad("must not be empty")
    return [str(v).strip() for v in value]


def _choice(*choices: str) -> Check:
    def check(value: Any) -> str:
        if as_text(value) not in choices:
            raise Bad(f"must be one of {', '.join(choices)}, got {value!r}")
        return str(value)

    return check


def _base_url(value: Any) -> str:
    if not as_text(value).startswith(("http://", "https://")):
        raise Bad("must start with http:// or https://")
    return str(value)


def _env_name(value: Any) -> str:
    if not isinstance(value, str) or not is_variable_name(value):
        raise Bad("must be the NAME of an environment variable holding the key (e.g. DASHSCOPE_API_KEY)")
    return value


def _path_or_bool(value: Any) -> Any:
    return value if isinstance(value, bool) else _path_str(value)


def _path_str(value: Any) -> str:
    if isinstance(value, Path):
        return str(value)
    return _nonempty(value)


def _price(value: Any) -> str:
    if isinstance(value, list) and len(value) == 2:
        numbers = [_number(False)(v) for v in value]
        return f"{numbers[0]},{numbers[1]}"
    text = _nonempty(value)
    try:
        price_for("", text)
    except ConfigError:
        raise Bad('must be "IN,OUT" or [IN, OUT]: USD per 1M input and output tokens') from None
    return text


def _encoding(value: Any) -> str:
    try:
        codecs.lookup(_nonempty(value))
    except LookupError:
        raise Bad(f"unknown encoding {value!r}") from None
    return str(value)


def kind_of(value: Any) -> str:
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "a list", dict: "a table"}
    return names.get(type(value), type(value).__name__)


KEYS: dict[str, Check] = {
    "name": as_text, "source_lang": _nonempty, "target_langs": _str_list, "engine": _choice(*ENGINES),
    "model": _nonempty, "base_url": _base_url, "region": _choice(*REGIONS), "api_key_env": _env_name,
    "rpm": _number(True), "tpm": _number(True), "concurrency": _int(1), "max_retries": _int(0),
    "timeout": _number(True), "out": _path_str, "output_template": _nonempty, "in_place": _bool,
    "ledger": _path_str, "cache": _path_or_bool, "glossary": _path_str, "domains": as_text,
    "max_cost": _number(False), "price": _price, "mark": _choice(*MARKS), "packing": _bool,
    "report": _path_str, "instructions": as_text,
}  # fmt: skip
INPUT_KEYS: dict[str, Check] = {
    "path": _path_str, "columns": _str_list, "mark": _choice(*MARKS), "retranslate": _bool,
    "fuzzy": _bool, "compile": _bool, "docx_properties": _bool, "encoding": _encoding,
    "include_hidden": _bool, "include_alt_text": _bool,
}  # fmt: skip

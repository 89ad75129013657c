"""TOML job files: parse, validate, and turn into a :class:`~mtpipe.run.settings.Job`.

A job file holds what ``mtpipe translate`` takes (the README lists the keys). Everything
is checked before any file is translated or any request is sent: unknown keys, wrong types,
missing inputs, unknown languages, an output template that would leave ``out`` or make two
outputs collide, and anything that looks like a secret. Each problem is one ConfigError line,
``FILE:LINE: KEY: what is wrong`` (exit code 2); values that may be secrets are never echoed.

Relative paths in the file are relative to the job file's directory, so a job runs the same
from cron, a systemd timer or CI whatever the working directory. Command-line overrides
(``mtpipe run --to ...``) are passed as ``overrides`` keyed like the file; their paths are
taken as given (the CLI makes them absolute against the working directory).
"""

from __future__ import annotations

import difflib
import glob
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from mtpipe.errors import ConfigError, InputError
from mtpipe.jobs.keys import (
    INPUT_KEYS,
    KEYS,
    SECRET_NAME,
    SECRET_VALUE,
    TEMPLATE_SAMPLES,
    Bad,
    Check,
    as_text,
)
from mtpipe.run.discover import discover, is_glob_pattern, output_path
from mtpipe.run.settings import DEFAULT_MODELS, InputSpec, Job, base_url_for
from mtpipe.text.languages import AUTO, Language, resolve, resolve_targets

_OPTION_NAMES = {"target_langs": "--to", "source_lang": "--from"}


@dataclass
class JobFile:
    """A loaded job: the Job to run and where its report and lock live."""

    path: Path
    job: Job
    report_path: Path
    lock_path: Path

    @property
    def name(self) -> str:
        """The job's ``name`` (the file's stem when unset)."""
        return self.job.name


def load_job(path: Path, overrides: Mapping[str, Any] | None = None) -> JobFile:
    """Parse and validate the job file at ``path`` with ``overrides`` applied; ConfigError if bad."""
    return _Loader(path, overrides or {}).load()


def report_location(path: Path, overrides: Mapping[str, Any] | None = None) -> tuple[Path, Path]:
    """(report path, lock path) of a job, reading only what locates them (for ``mtpipe status``)."""
    loader = _Loader(path, overrides or {})
    return loader.report_and_lock(loader.ledger_path())


class _Loader:
    def __init__(self, path: Path, overrides: Mapping[str, Any]) -> None:
        self.display = str(path)
        self.path = path.expanduser().resolve()
        self.base = self.path.parent
        self.overridden = {k for k, v in overrides.items() if v is not None}
        try:
            self.text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(f"job file {self.display} does not exist") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{self.display}: cannot read the job file: {exc}") from None
        try:
            data = tomllib.loads(self.text)
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{self.display}: invalid TOML: {exc}") from None
        self._check_names(data)
        self.raw_inputs = data.pop("inputs", None)
        self.data: dict[str, Any] = {**data, **{k: v for k, v in overrides.items() if v is not None}}
        if "base_url" in self.overridden:
            self.data.pop("region", None)
        elif "region" in self.overridden:
            self.data.pop("base_url", None)

    # ---- errors ----------------------------------------------------------------------------

    def error(self, key: str, message: str, index: int | None = None) -> ConfigError:
        if index is None and key in self.overridden:
            return ConfigError(f"{_OPTION_NAMES.get(key, '--' + key.replace('_', '-'))}: {message}")
        line = self._line(key, index)
        where = f"{self.display}:{line}" if line else self.display
        label = key if index is None else f"inputs[{index}].{key}"
        return ConfigError(f"{where}: {label}: {message}")

    def _line(self, key: str, index: int | None) -> int | None:
        """The line defining ``key`` (in the index-th [[inputs]] table); cheap text search."""
        lines = self.text.splitlines()
        start, tables = 0, -1
        if index is not None:
            for number, line in enumerate(lines):
                if re.match(r"\s*\[\[\s*inputs\s*\]\]", line):
                    tables += 1
                    if tables == index:
                        start = number
                        break
            else:
                return None
        name = re.escape(key)
        pattern = re.compile(rf"""\s*(?:{name}|"{name}"|'{name}')\s*=|\s*\[+\s*{name}\s*\]""")
        for number in range(start, len(lines)):
            if pattern.match(lines[number]):
                return number + 1
            if number > start and lines[number].lstrip().startswith("["):
                break  # the next table: the key is not in this one
        return start + 1 if index is not None else None

    # ---- structure ---------------------------------------------------------------------------

    def _check_names(self, data: dict[str, Any]) -> None:
        tables = data.get("inputs")
        scopes: list[tuple[dict[str, Any], dict[str, Check], int | None]] = [(data, {**KEYS, "inputs": as_text}, None)]
        if isinstance(tables, list):
            scopes += [(t, INPUT_KEYS, i) for i, t in enumerate(tables) if isinstance(t, dict)]
        for table, known, index in scopes:
            for key, value in table.items():
                if SECRET_NAME.search(key) and key != "api_key_env":
                    raise self.error(
                        key, "secrets never go in a job file: put the key in an environment "
                        "variable and name that variable with api_key_env", index)
                if isinstance(value, str) and SECRET_VALUE.match(value):
                    raise self.error(key, "this value looks like an API key: secrets never go in a job "
                                     "file; name the environment variable with api_key_env", index)
                if key not in known:
                    near = difflib.get_close_matches(key, list(known), n=1)
                    hint = f": did you mean {near[0]!r}?" if near else ""
                    raise self.error(key, f"unknown key{hint}", index)

    def value(self, key: str, default: Any = None) -> Any:
        if key not in self.data:
            return default
        try:
            return KEYS[key](self.data[key])
        except Bad as exc:
            raise self.error(key, str(exc)) from None

    def resolve_path(self, value: str) -> Path:
        return Path(os.path.normpath(self.base / Path(value).expanduser()))

    def ledger_path(self) -> Path:
        ledger = self.value("ledger")
        return self.resolve_path(ledger) if ledger else self.base / f"{self.path.stem}.ledger.jsonl"

    def report_and_lock(self, ledger: Path) -> tuple[Path, Path]:
        report = self.value("report")
        report_path = self.resolve_path(report) if report else ledger.with_name(f"{ledger.stem}.report.json")
        return report_path, ledger.with_name(f"{ledger.stem}.lock")

    # ---- the job -----------------------------------------------------------------------------

    def load(self) -> JobFile:
        values = {key: self.value(key) for key in KEYS}
        if values["base_url"] and values["region"]:
            raise self.error("region", "give base_url or region, not both")
        source = self._language("source_lang", values["source_lang"] or "auto", allow_auto=True)
        targets = self._targets(values["target_langs"], source)
        ledger = self.ledger_path()
        report, lock = self.report_and_lock(ledger)
        cache = values["cache"]
        glossary = self.resolve_path(values["glossary"]) if values["glossary"] else None
        if glossary is not None and not glossary.is_file():
            raise self.error("glossary", f"{glossary} is not a file")
        job = Job(
            inputs=self._inputs(),
            targets=targets,
            source=source,
            name=values["name"] if values["name"] is not None else self.path.stem,
            out=self.resolve_path(values["out"] or "translated"),
            output_template=values["output_template"],
            in_place=bool(values["in_place"]),
            engine=values["engine"] or "qwen",
            model=values["model"] or DEFAULT_MODELS[values["engine"] or "qwen"],
            instructions=(values["instructions"] or "").strip(),
            base_url=base_url_for(values["region"], values["base_url"]),
            api_key_env=values["api_key_env"] or Job.api_key_env,
            concurrency=values["concurrency"],
            rpm=_default(values["rpm"], Job.rpm),
            tpm=_default(values["tpm"], Job.tpm),
            max_retries=_default(values["max_retries"], Job.max_retries),
            timeout=_default(values["timeout"], Job.timeout),
            ledger=ledger,
            cache=self.resolve_path(cache) if isinstance(cache, str) else None,
            use_cache=cache is not False,
            packing=_default(values["packing"], True),
            max_cost=values["max_cost"],
            price=values["price"],
            glossary=glossary,
            domains=values["domains"] or "",
            options={"mark": values["mark"]} if values["mark"] else {},
        )
        self._check_template(job.output_template)
        try:
            job.validate()
        except ConfigError as exc:
            raise ConfigError(f"{self.display}: {exc}") from None
        self._check_files(job)
        return JobFile(self.path, job, report, lock)

    def _language(self, key: str, value: str, allow_auto: bool = False) -> Language:
        try:
            return resolve(value, allow_auto=allow_auto)
        except ConfigError as exc:
            raise self.error(key, str(exc)) from None

    def _targets(self, names: list[str] | None, source: Language) -> list[Language]:
        if not names:
            raise self.error("target_langs", 'missing: a list of languages, e.g. ["de", "ja"]')
        try:
            targets = resolve_targets(names)
        except ConfigError as exc:
            raise self.error("target_langs", str(exc)) from None
        for name, lang in zip(names, targets, strict=True):
            if source is not AUTO and lang.name == source.name:
                raise self.error("target_langs", f"{name!r} is also the source language")
        return targets

    def _inputs(self) -> list[InputSpec]:
        tables = self.raw_inputs
        if tables is None:
            raise self.error("inputs", "missing: add at least one [[inputs]] table with a path")
        if not isinstance(tables, list) or not tables or not all(isinstance(t, dict) for t in tables):
            raise self.error("inputs", "must be [[inputs]] tables, each with a path")
        specs = []
        for index, table in enumerate(tables):
            options: dict[str, Any] = {}
            for key, value in table.items():
                try:
                    options[key] = INPUT_KEYS[key](value)
                except Bad as exc:
                    raise self.error(key, str(exc), index) from None
            if "path" not in options:
                raise self.error("path", "missing: every [[inputs]] table needs a path", index)
            path = self.resolve_path(options.pop("path"))
            if is_glob_pattern(str(path)):
                if not glob.glob(str(path), recursive=True):
                    raise self.error("path", f"{path} matches no file", index)
            elif not path.exists():
                raise self.error("path", f"{path} does not exist", index)
            specs.append(InputSpec(path, options))
        return specs

    def _check_template(self, template: str | None) -> None:
        if template is None:
            return
        for sample in TEMPLATE_SAMPLES:
            try:
                text = template.format(**sample)
            except (KeyError, IndexError, ValueError) as exc:
                raise self.error("output_template", f"unknown field {exc} (fields: {', '.join(sample)})") from None
            parts = Path(text).parts
            if Path(text).is_absolute() or ".." in parts or not text.strip("/"):
                raise self.error("output_template", f"{template!r} would write outside out")

    def _check_files(self, job: Job) -> None:
        """Every input yields a supported file, and no two outputs share a path."""
        try:
            for index, spec in enumerate(job.inputs):
                found = discover(replace(job, inputs=[spec]))
                if not found.files:
                    why = f" ({found.skipped[0][0].name}: {found.skipped[0][1]})" if found.skipped else ""
                    raise self.error("path", f"no file to translate in {spec.path}{why}", index)
            owners: dict[Path, str] = {}
            for task in discover(job).files:
                for target in [None] if task.fmt.multi_target else job.targets:
                    try:
                        dest = output_path(job, task, target).resolve()
                    except ConfigError as exc:
                        raise self.error("output_template" if job.output_template else "out", str(exc)) from None
                    label = f"{task.path.name}" + (f" [{target.code}]" if target else "")
                    if dest in owners:
                        raise self.error(
                            "output_template" if job.output_template else "inputs",
                            f"{owners[dest]} and {label} would both be written to {dest}")
                    owners[dest] = label
        except InputError as exc:
            raise ConfigError(f"{self.display}: {exc}") from None


def _default(value: Any, default: Any) -> Any:
    return default if value is None else value

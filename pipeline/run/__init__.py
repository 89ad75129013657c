"""One translation run: settings, discovery of inputs and outputs, planning, work store, results.

- :mod:`~pipeline.run.settings`: :class:`Job`, what a run asks for, validated, and
  :class:`EngineHooks`, how tests and benchmarks reach the engine (given beside the Job).
- :mod:`~pipeline.run.discover`: inputs to files, files to output paths;
  :mod:`~pipeline.run.outputs`: every output checked writable before anything is sent.
- :mod:`~pipeline.run.planner`: segments read once, deduplicated into units, looked up in the
  cache; :mod:`~pipeline.run.workstore`: the planner's SQLite store of units and occurrences;
  :mod:`~pipeline.run.translations`: what the writers ask, translations found by unit key.
- :mod:`~pipeline.run.engines`: the engine a job asks, its cache identity, what earlier runs
  learned about it; :mod:`~pipeline.run.execute`: the pool run under the signal watcher.
- :mod:`~pipeline.run.runner`: :func:`translate`, the library entry point;
  :mod:`~pipeline.run.ending`: how a run that sent requests ends (counts settled, what it
  kept, the ledger's run_end line); :mod:`~pipeline.run.results`: what a run reports;
  :mod:`~pipeline.run.progress`: how a run reports progress to whoever renders it (the
  library itself never draws).

May import the engine, formats, records, text and errors; never :mod:`pipeline.jobs` or
:mod:`pipeline.cli`. The names below are the library's public entry point::

    from pipeline.run import InputSpec, Job, translate

They are imported on first use, so that importing one submodule (a Ray worker imports the
planner and the engine factory, not the runner) loads only what that submodule needs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipeline.run.results import RunResult
    from pipeline.run.runner import translate
    from pipeline.run.settings import InputSpec, Job

__all__ = ["InputSpec", "Job", "RunResult", "translate"]

_HOMES = {
    "InputSpec": "pipeline.run.settings",
    "Job": "pipeline.run.settings",
    "RunResult": "pipeline.run.results",
    "translate": "pipeline.run.runner",
}


def __getattr__(name: str) -> Any:
    """The public names, imported from their modules when first asked for."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'pipeline.run' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)

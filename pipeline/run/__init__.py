"""One translation run: settings, discovery of inputs and outputs, planning, work store, results.

- :mod:`~mtpipe.run.settings`: :class:`Job`, what a run asks for, validated, and
  :class:`EngineHooks`, how tests and benchmarks reach the engine (given beside the Job).
- :mod:`~mtpipe.run.discover`: inputs to files, files to output paths;
  :mod:`~mtpipe.run.outputs`: every output checked writable before anything is sent.
- :mod:`~mtpipe.run.planner`: segments read once, deduplicated into units, looked up in the
  cache; :mod:`~mtpipe.run.workstore`: the planner's SQLite store of units and occurrences;
  :mod:`~mtpipe.run.translations`: what the writers ask, translations found by unit key.
- :mod:`~mtpipe.run.engines`: the engine a job asks, its cache identity, what earlier runs
  learned about it; :mod:`~mtpipe.run.execute`: the pool run under the signal watcher.
- :mod:`~mtpipe.run.runner`: :func:`translate`, the library entry point;
  :mod:`~mtpipe.run.ending`: how a run that sent requests ends (counts settled, what it
  kept, the ledger's run_end line); :mod:`~mtpipe.run.results`: what a run reports;
  :mod:`~mtpipe.run.progress`: how a run reports progress to whoever renders it (the
  library itself never draws).

May import the engine, formats, records, text and errors; never :mod:`mtpipe.jobs` or
:mod:`mtpipe.cli`. The names below are the library's public entry point::

    from mtpipe.run import InputSpec, Job, translate

They are imported on first use, so that importing one submodule (a Ray worker imports the
planner and the engine factory, not the runner) loads only what that submodule needs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mtpipe.run.results import RunResult
    from mtpipe.run.runner import translate
    from mtpipe.run.settings import InputSpec, Job

__all__ = ["InputSpec", "Job", "RunResult", "translate"]

_HOMES = {
    "InputSpec": "mtpipe.run.settings",
    "Job": "mtpipe.run.settings",
    "RunResult": "mtpipe.run.results",
    "translate": "mtpipe.run.runner",
}


def __getattr__(name: str) -> Any:
    """The public names, imported from their modules when first asked for."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'mtpipe.run' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)

"""The ``mtpipe`` command line: thin click commands over the library, and the only screen.

- :mod:`~pipeline.cli.commands`: the ``mtpipe`` group and ``translate``, ``languages``, ``ledger``,
  ``fake-server``; :mod:`~pipeline.cli.jobs`: ``run`` and ``status`` (job files).
- :mod:`~pipeline.cli.output`: error-to-exit-code mapping, logging, the run summary.
- :mod:`~pipeline.cli.progress`: the progress display, fed by the run through
  :class:`pipeline.run.progress.RunProgress`.

The top layer: it may import every other package; nothing imports it (click and the progress
display stay here). ``main`` is the console entry point (``mtpipe = "pipeline.cli:main"``).
"""

from pipeline.cli.commands import main

__all__ = ["main"]

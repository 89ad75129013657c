"""The ``mtpipe`` command line: thin click commands over the library, and the only screen.

- :mod:`~mtpipe.cli.commands`: the ``mtpipe`` group and ``translate``, ``languages``, ``ledger``,
  ``fake-server``; :mod:`~mtpipe.cli.jobs`: ``run`` and ``status`` (job files).
- :mod:`~mtpipe.cli.output`: error-to-exit-code mapping, logging, the run summary.
- :mod:`~mtpipe.cli.progress`: the progress display, fed by the run through
  :class:`mtpipe.run.progress.RunProgress`.

The top layer: it may import every other package; nothing imports it (click and the progress
display stay here). ``main`` is the console entry point (``mtpipe = "mtpipe.cli:main"``).
"""

from mtpipe.cli.commands import main

__all__ = ["main"]

"""The gettext format (.po, .pot): :class:`PoFormat` and the rules it translates by.

Holds:

- ``format``: :class:`PoFormat`, which entries are sent and how translations are written back
  (the module docstring states the rules); ``writer``: one output catalog's entries filled;
- ``units``: the options and the segments entries become;
- ``plural``: plural rules and which translation fills which ``msgstr[i]``;
- ``layout`` and ``syntax``: a catalog as lines, read the way msgfmt reads them;
- ``edit``: line-level edits of a catalog;
- ``wrap``: how a catalog lays out its strings, so new ones look like the file's own.

Imports go downward only: these modules may import each other, :mod:`mtpipe.formats.base`,
:mod:`mtpipe.errors`, the text helpers (:mod:`mtpipe.text.segments`, :mod:`mtpipe.text.protect`,
:mod:`mtpipe.text.languages`), the package version, polib and babel; never the run, the CLI or
the engine.
"""

from mtpipe.formats.po.format import PoFormat, checks_for, domains_for
from mtpipe.formats.po.writer import match_newlines

__all__ = ["PoFormat", "checks_for", "domains_for", "match_newlines"]

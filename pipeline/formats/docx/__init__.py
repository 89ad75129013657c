"""The Word format (.docx): :class:`DocxFormat` and the OOXML handling behind it.

Holds:

- ``format``: :class:`DocxFormat`, what is translated and in which order (module docstring);
- ``package``: the zip package, its safety checks, safe XML parsing, the parts to translate;
- ``dialect``: Transitional and Strict namespaces;
- ``nodes``: the tree a paragraph is read into; ``inline`` reads a paragraph into it as
  tagged text, ``markers`` keeps zero-width markers out of words, ``tags`` is the tag syntax;
- ``rebuild``: putting a translated paragraph back into its ``w:p``;
- ``revisions``: tracked changes to the text, which make a document refused;
- ``language``: the ``w:lang`` recorded on translated text.

Imports go downward only: these modules may import each other, :mod:`mtpipe.formats.base`,
:mod:`mtpipe.errors`, the text helpers (:mod:`mtpipe.text.segments`, :mod:`mtpipe.text.languages`),
lxml, python-docx's constants and babel; never the run, the CLI or the engine.
"""

from mtpipe.formats.docx.format import DocxFormat

__all__ = ["DocxFormat"]

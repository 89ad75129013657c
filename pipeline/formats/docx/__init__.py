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

Imports go downward only: these modules may import each other, :mod:`pipeline.formats.base`,
:mod:`pipeline.errors`, the text helpers (:mod:`pipeline.text.segments`, :mod:`pipeline.text.languages`),
lxml, python-docx's constants and babel; never the run, the CLI or the engine.
"""

from pipeline.formats.docx.format import DocxFormat

__all__ = ["DocxFormat"]

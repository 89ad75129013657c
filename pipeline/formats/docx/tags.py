"""The tag syntax of a Word paragraph's segment text.

Formatting spans travel as ``<gN>…</gN>``, hyperlinks as ``<aN>…</aN>``, kept elements as
``<xN/>``; a literal ``<`` and entity-like ``&`` in the text are escaped so that they cannot read
as tags. Reading (:mod:`mtpipe.formats.docx.inline`) and rebuilding
(:mod:`mtpipe.formats.docx.rebuild`) share these definitions.
"""

from __future__ import annotations

import re

_ENTITY_AMP = re.compile(r"&(?=(?:[A-Za-z][A-Za-z0-9]*|#[0-9]+|#x[0-9A-Fa-f]+);)")
_ESCAPED = re.compile(r"&(lt|gt|amp);")
#: The tags this module writes; a little whitespace is tolerated on the way back.
TAG_TOKEN = re.compile(r"<\s*(/?)\s*([gax])(\d+)\s*(/?)\s*>")


def escape(text: str) -> str:
    """Text as sent: ``<`` and entity-like ``&`` escaped so they cannot read as tags."""
    return _ENTITY_AMP.sub("&amp;", text).replace("<", "&lt;")


def unescape(text: str) -> str:
    """Inverse of :func:`escape` (also accepts ``&gt;``)."""
    return _ESCAPED.sub(lambda m: {"lt": "<", "gt": ">", "amp": "&"}[m.group(1)], text)


def strip_tags(tagged: str) -> str:
    """The plain text of a tagged string: this module's tags removed, escapes undone."""
    return unescape(TAG_TOKEN.sub("", tagged))

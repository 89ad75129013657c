"""Tracked changes to a paragraph's text, which no translation can be written into.

A paragraph holding a tracked insertion, deletion or move of text (``w:ins``, ``w:del``,
``w:moveTo``, ``w:moveFrom``: ISO/IEC 29500-1 §17.13.5) reads two ways, as it was and as it
would be with the changes accepted, and Word keeps both until a reviewer decides. Its
translation can only be one text: written with the revision marks kept, it would split words at
the revision's edges (``colo<ins>u</ins>r``) and leave deleted source-language text inside the
translation, to come back on "Reject"; written with the changes accepted, it would take the
reviewer's decision and drop the record of the changes without anyone having asked for it. So
such a document is refused (see :func:`text_change`), and the user accepts or rejects the
changes in Word first.

Revisions that do not change the text are no obstacle and stay as they are: formatting changes
(``w:rPrChange``, ``w:pPrChange``...), an inserted or deleted paragraph mark (the paragraphs
are translated one by one either way), inserted or deleted content without text (a tab, an
image).
"""

from __future__ import annotations

from mtpipe.formats.docx.dialect import dialect_of
from mtpipe.formats.docx.nodes import Element

#: Revision elements holding run content, and what each is called in a message.
_CHANGES = {"ins": "insertion", "del": "deletion", "moveTo": "move", "moveFrom": "move"}
#: Elements holding the text of runs, deleted text included.
_TEXTS = ("t", "delText")
#: How much of a change's text a message quotes.
_QUOTED_CHARS = 40


def text_change(p: Element) -> str | None:
    """The first tracked change to the text of paragraph ``p`` (Transitional or Strict), said
    as ``tracked insertion 'u'``; None when its text has none. Paragraphs nested in ``p`` (a
    text box's) are not looked into: they are paragraphs of their own."""
    dialect = dialect_of(p)
    paragraph, texts = dialect.w("p"), dialect.ws(*_TEXTS)
    for change in p.iter(*dialect.ws(*_CHANGES)):
        if _paragraph_of(change, paragraph) is not p:
            continue
        text = "".join(
            t.text or "" for t in change.iter(*texts) if _paragraph_of(t, paragraph) is p
        )
        if text:
            kind = _CHANGES[change.tag.rpartition("}")[2]]
            shown = text if len(text) <= _QUOTED_CHARS else text[: _QUOTED_CHARS - 1] + "…"
            return f"tracked {kind} {shown!r}"
    return None


def _paragraph_of(element: Element, paragraph: str) -> Element | None:
    return next(element.iterancestors(paragraph), None)

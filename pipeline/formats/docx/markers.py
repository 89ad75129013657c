"""Zero-width markers never cut a word in what is sent to the engine.

Word keeps ranges and anchors in the text as empty elements: bookmarks (``_Ref…`` targets of
cross-references, ``_Toc…`` targets of the table of contents), comment ranges and the comment's
reference mark, editing permissions, tracked move ranges, custom XML ranges. They hold no text,
and Word puts them wherever the cursor or the selection was, often inside a word:
``U<w:bookmarkStart/>sing``. Sent where they are, the word reaches the engine as ``U<x1/>sing``
and comes back untranslated.

So a group of markers inside a word (a word character right before it and right after it, in
the same container) is moved to the word's edges before the paragraph is rendered: what opens
a range goes to the start of the word, what closes one (and a comment's reference mark) to its
end, so a range still covers at least the text it covered; a range opened and closed in the
same group (an empty bookmark) goes whole to the start. Starts only move back and ends only
move forward, so no range is turned around, and nothing is dropped. At the paragraph's edges
the markers then join the placeholders that are not sent; elsewhere they are sent as one
placeholder at the word boundary, where the engine keeps them with the words.

In scripts written without spaces (Chinese, Japanese, Thai, Lao, Khmer, Burmese) any two
characters have a boundary between them, so markers there stay where they are.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from mtpipe.formats.docx.dialect import Dialect
from mtpipe.formats.docx.nodes import CodeNode, Element, Node, TextNode, append_merged

#: Ranges: ``{name}Start`` opens, ``{name}End`` closes; ids are unique within the family.
_RANGES = {
    "bookmark": "bookmark",
    "commentRange": "comment",
    "perm": "perm",
    "moveFromRange": "moveFrom",
    "moveToRange": "moveTo",
    "customXmlInsRange": "customXmlIns",
    "customXmlDelRange": "customXmlDel",
    "customXmlMoveFromRange": "customXmlMoveFrom",
    "customXmlMoveToRange": "customXmlMoveTo",
}
#: Closers that are not ``…End``: the comment's reference mark follows its range.
_OTHER_CLOSERS = {"commentReference": "comment"}
#: Characters of scripts that do not separate words with spaces.
_NO_SPACES = re.compile(
    "[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u31f0-\u31ff\u3400-\u4dbf"
    "\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f\U00020000-\U0003134f]"
)

#: (element, the run holding it or None), as in :class:`CodeNode`.
Item = tuple[Element, Element | None]
#: (family, id) of a range
RangeKey = tuple[str, str]


@dataclass(frozen=True, slots=True)
class _Names:
    openers: frozenset[str]
    #: every marker element name -> its family
    family: Mapping[str, str]
    id: str


@functools.cache
def _names(dialect: Dialect) -> _Names:
    family = {dialect.w(f"{name}Start"): kind for name, kind in _RANGES.items()}
    openers = frozenset(family)
    family.update({dialect.w(f"{name}End"): kind for name, kind in _RANGES.items()})
    family.update({dialect.w(name): kind for name, kind in _OTHER_CLOSERS.items()})
    return _Names(openers, family, dialect.w("id"))


def range_edges(items: Iterable[Item], dialect: Dialect) -> list[tuple[RangeKey, bool]]:
    """The range edges among ``items``, in order: ((family, id), True for a start)."""
    names = _names(dialect)
    edges = []
    for element, _run in items:
        family = names.family.get(element.tag)
        if family is not None:
            edges.append(((family, element.get(names.id, "")), element.tag in names.openers))
    return edges


def settle_markers(nodes: list[Node], dialect: Dialect) -> list[Node]:
    """``nodes`` (one container's merged children) with every group of markers that sat inside
    a word moved to the word's edges (see the module docstring); texts split by a marker only
    are merged again."""
    names = _names(dialect)
    out: list[Node] = []
    pending: list[Item] = []  # closers waiting for the end of the word they were in
    for index, node in enumerate(nodes):
        following = nodes[index + 1] if index + 1 < len(nodes) else None
        if isinstance(node, CodeNode) and _inside_word(out, node, following, names):
            back, forward = _directions(node.items, names)
            _put_at_word_start(out, back)
            pending.extend(forward)
            continue
        if pending and isinstance(node, TextNode):
            end = _word_end(node.text)
            if end == len(node.text):  # the word goes on
                append_merged(out, node)
                continue
            head, node = _split_text(node, end)
            if head.text:
                append_merged(out, head)
        if pending:
            append_merged(out, CodeNode(pending))
            pending = []
        append_merged(out, node)
    if pending:
        append_merged(out, CodeNode(pending))
    return out


def _inside_word(out: list[Node], node: CodeNode, following: Node | None, names: _Names) -> bool:
    before = out[-1] if out else None
    return (
        isinstance(before, TextNode)
        and isinstance(following, TextNode)
        and bool(before.text and following.text)
        and _is_word_char(before.text[-1])
        and _is_word_char(following.text[0])
        and all(element.tag in names.family for element, _run in node.items)
    )


def _directions(items: list[Item], names: _Names) -> tuple[list[Item], list[Item]]:
    """(items going to the word's start, items going to its end), each in document order."""
    back: list[Item] = []
    forward: list[Item] = []
    opened: set[RangeKey] = set()
    for item in items:
        element = item[0]
        key = (names.family[element.tag], element.get(names.id, ""))
        if element.tag in names.openers:
            opened.add(key)
            back.append(item)
        elif key in opened:  # closes a range opened in this group: stays with its start
            back.append(item)
        else:
            forward.append(item)
    return back, forward


def _put_at_word_start(out: list[Node], items: list[Item]) -> None:
    """Insert ``items`` where the word ending ``out``'s last text node starts."""
    if not items:
        return
    last = out[-1]
    assert isinstance(last, TextNode)
    start = _word_start(last.text)
    if start > 0:
        out[-1], tail = _split_text(last, start)
        out.append(CodeNode(items))
        out.append(tail)
    elif len(out) > 1 and isinstance(out[-2], CodeNode):
        out[-2].items.extend(items)
    else:
        out.insert(len(out) - 1, CodeNode(items))


def _split_text(node: TextNode, offset: int) -> tuple[TextNode, TextNode]:
    """``node`` cut at ``offset``: each ``w:t`` goes with the piece its text starts in (the
    writer only needs every element in exactly one piece; the formatting is the same)."""
    head: list[Element] = []
    consumed = 0
    for element in node.elements:
        if consumed >= offset:
            break
        head.append(element)
        consumed += len(element.text or "")
    tail = node.elements[len(head) :]
    return (
        TextNode(head, node.text[:offset], node.run, node.key),
        TextNode(tail, node.text[offset:], node.run, node.key),
    )


def _is_word_char(char: str) -> bool:
    """A letter, digit or combining mark of a script that separates words with spaces."""
    return unicodedata.category(char)[0] in "LMN" and not _NO_SPACES.match(char)


def _word_start(text: str) -> int:
    """Where the word that ends ``text`` starts."""
    index = len(text)
    while index > 0 and _is_word_char(text[index - 1]):
        index -= 1
    return index


def _word_end(text: str) -> int:
    """Where the word that starts ``text`` ends."""
    index = 0
    while index < len(text) and _is_word_char(text[index]):
        index += 1
    return index

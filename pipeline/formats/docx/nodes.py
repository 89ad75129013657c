"""The tree a Word paragraph is read into, and the element names it is read with.

:mod:`inline` reads a ``w:p`` into these nodes and renders them as tagged text;
:mod:`markers` moves zero-width markers out of words; :mod:`rebuild` puts a
translation back from them.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import TypeAlias

from lxml import etree

from mtpipe.formats.docx.dialect import Dialect

Element: TypeAlias = etree._Element

XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"

#: Inline elements whose content is walked as part of the paragraph.
_CONTAINERS = (
    "hyperlink", "smartTag", "customXml", "fldSimple", "ins", "moveTo", "bdo", "dir", "sdt"
)
#: Property children of containers: not content, kept first when the content is rebuilt.
_CONTAINER_PROPERTIES = ("smartTagPr", "customXmlPr", "fldData", "sdtPr", "sdtEndPr")
#: Marks that mean nothing once the text is rewritten (spell-check state, layout caches).
_DROPPED = ("proofErr", "softHyphen", "lastRenderedPageBreak")
#: rPr children that do not make a run look different (spelling language, proofing, revisions).
_KEY_IGNORED = ("lang", "noProof", "rPrChange")


@dataclass(frozen=True, slots=True)
class InlineNames:
    """The WordprocessingML names a paragraph is read and rebuilt with, in one dialect."""

    dialect: Dialect
    p: str
    ppr: str
    r: str
    rpr: str
    t: str
    hyperlink: str
    sdt: str
    sdt_content: str
    fld_simple: str
    fld_char: str
    fld_char_type: str
    vanish: str
    val: str
    hint: str
    id: str
    name: str
    bookmark_start: str
    bookmark_edges: frozenset[str]
    containers: frozenset[str]
    container_properties: frozenset[str]
    dropped: frozenset[str]
    key_ignored: frozenset[str]

    @staticmethod
    def of(dialect: Dialect) -> InlineNames:
        """The names in ``dialect`` (built once per dialect)."""
        return _inline_names(dialect)


@functools.cache
def _inline_names(dialect: Dialect) -> InlineNames:
    w = dialect.w
    return InlineNames(
        dialect, w("p"), w("pPr"), w("r"), w("rPr"), w("t"), w("hyperlink"), w("sdt"),
        w("sdtContent"), w("fldSimple"), w("fldChar"), w("fldCharType"), w("vanish"), w("val"),
        w("hint"), w("id"), w("name"), w("bookmarkStart"),
        bookmark_edges=dialect.ws("bookmarkStart", "bookmarkEnd"),
        containers=dialect.ws(*_CONTAINERS),
        container_properties=dialect.ws(*_CONTAINER_PROPERTIES),
        dropped=dialect.ws(*_DROPPED),
        key_ignored=dialect.ws(*_KEY_IGNORED),
    )


@dataclass(eq=False)
class TextNode:
    """Merged text of adjacent runs with the same formatting."""

    elements: list[Element]  # the w:t elements
    text: str
    run: Element  # the first run: its attributes and rPr format the rebuilt text
    key: str


@dataclass(eq=False)
class CodeNode:
    """Elements kept as they are: (element, the run holding it or None at paragraph level)."""

    items: list[tuple[Element, Element | None]]
    name: str = ""


@dataclass(eq=False)
class SpanNode:
    """Text formatted unlike its container (``<gN>``), with the placeholders inside it."""

    run: Element
    children: list[TextNode | CodeNode]
    name: str = ""


@dataclass(eq=False)
class ContainerNode:
    """The paragraph itself (``element`` None) or an inline container holding text."""

    element: Element | None
    content: Element
    children: list[Node] = field(default_factory=list)
    base: Element | None = None  # run whose formatting untagged text gets
    base_key: str = ""
    name: str = ""
    letter: str = "g"


Node: TypeAlias = TextNode | CodeNode | SpanNode | ContainerNode


@dataclass(eq=False)
class Paragraph:
    """A paragraph read as tagged text, with what the writer needs to put a translation back."""

    element: Element
    names: InlineNames
    root: ContainerNode
    lead: CodeNode | None
    trail: CodeNode | None
    text: str
    named: dict[str, Node]
    #: tag name -> name of the container it sits in ("" for the paragraph).
    parent: dict[str, str]

    def texts(self) -> list[TextNode]:
        """Every text node in document order."""
        return descendant_texts(self.root.children)


def descendant_texts(nodes: list[Node]) -> list[TextNode]:
    """The text nodes among ``nodes`` and inside their spans and containers, in order."""
    found: list[TextNode] = []
    for node in nodes:
        if isinstance(node, TextNode):
            found.append(node)
        elif isinstance(node, (ContainerNode, SpanNode)):
            found.extend(descendant_texts(list(node.children)))
    return found


def append_merged(nodes: list[Node], node: Node) -> None:
    """Append ``node``, merged into the last node when both are placeholders (one ``<xN/>``) or
    both text with the same formatting."""
    previous = nodes[-1] if nodes else None
    if isinstance(node, CodeNode) and isinstance(previous, CodeNode):
        previous.items.extend(node.items)
    elif isinstance(node, TextNode) and isinstance(previous, TextNode) and previous.key == node.key:
        previous.elements.extend(node.elements)
        previous.text += node.text
    else:
        nodes.append(node)

"""A Word paragraph as one segment of tagged text.

Word splits a paragraph into runs anywhere, so a paragraph is read as a tree and rendered as
one string with inline tags an MT engine keeps:

- adjacent runs with the same formatting are merged; text whose formatting differs from its
  container's dominant formatting is wrapped in ``<gN>...</gN>`` (bold, italic, colour, font,
  character style... anything in ``w:rPr`` except spelling language and proofing marks);
- a hyperlink is ``<aN>...</aN>``; other inline containers holding text (content controls,
  tracked insertions, smart tags, custom XML, simple fields with a worded result) are
  ``<gN>...</gN>`` too;
- everything else kept as it is -- tabs, breaks, drawings, footnote references, bookmarks,
  comment ranges, field instructions, hidden text, deleted text, math -- becomes a placeholder
  ``<xN/>``; adjacent ones are one placeholder, and those before the first or after the last
  text of the paragraph are not sent at all.

Complex fields (``w:fldChar`` ... ``w:instrText`` ...): the instruction is never sent; the result
is translated when it holds letters (a cross-reference, a hyperlink field) and kept as a
placeholder otherwise (PAGE, NUMPAGES, dates written in digits).

Literal ``<`` in the text is sent as ``&lt;`` (and ``&`` as ``&amp;`` where it would otherwise
read as an entity), so a paragraph about HTML cannot be mistaken for tags.

Element names come from the paragraph's own dialect (:class:`InlineNames`), so a Strict
document's paragraphs read and rebuild like a Transitional one's.
"""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Literal, TypeAlias

from lxml import etree

from pipeline.formats.docx_dialect import Dialect, dialect_of
from pipeline.formats.docx_tags import escape

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
_FALSE = frozenset({"0", "false", "off"})

_LETTER = re.compile(r"[^\W\d_]")


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
        return _descendant_texts(self.root.children)


@dataclass(eq=False)
class _Atom:
    kind: Literal["text", "code"]
    element: Element
    run: Element | None
    chain: tuple[Element, ...]
    text: str = ""
    key: str = ""
    field: str = ""


def read_paragraph(p: Element, include_hidden: bool = False) -> Paragraph:
    """Read ``p`` (a ``w:p``, Transitional or Strict) into a :class:`Paragraph`; deterministic
    for the same XML.

    Nested paragraphs (text boxes inside drawings) are not part of it: they sit inside a
    placeholder here and are read as paragraphs of their own.
    """
    names = InlineNames.of(dialect_of(p))
    atoms: list[_Atom] = []
    _Walker(names, include_hidden, atoms).walk(p, ())
    _mark_fields(atoms)
    root = ContainerNode(None, p)
    containers: dict[Element, ContainerNode] = {}
    for atom in atoms:
        parent = root
        for element in atom.chain:
            node = containers.get(element)
            if node is None:
                content = _content(element, names)
                node = ContainerNode(element, content if content is not None else element)
                node.letter = "a" if element.tag == names.hyperlink else "g"
                containers[element] = node
                parent.children.append(node)
            parent = node
        parent.children.append(_leaf(atom))
    _shape(root, None, names)
    lead = _pop_code(root.children, 0)
    trail = _pop_code(root.children, -1)
    named: dict[str, Node] = {}
    parent_of: dict[str, str] = {}
    text = _render(root.children, "", named, parent_of)
    return Paragraph(p, names, root, lead, trail, text, named, parent_of)


def _content(container: Element, names: InlineNames) -> Element | None:
    """Where a container's inline content sits: ``w:sdtContent`` for a content control."""
    return container.find(names.sdt_content) if container.tag == names.sdt else container


def _pop_code(nodes: list[Node], index: int) -> CodeNode | None:
    """Remove and return the placeholder at ``index`` (first or last), if that is one."""
    node = nodes[index] if nodes else None
    if isinstance(node, CodeNode):
        nodes.pop(index)
        return node
    return None


# ---- flattening ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Walker:
    """Flattens a paragraph into atoms: text of its runs, everything else as code."""

    names: InlineNames
    hidden_ok: bool
    out: list[_Atom]

    def walk(self, parent: Element, chain: tuple[Element, ...]) -> None:
        """Append the atoms of ``parent``'s children; ``chain`` is the containers above them."""
        names = self.names
        skipped = names.dropped | names.container_properties
        for child in parent:
            tag = child.tag
            if not isinstance(tag, str) or tag in skipped:
                continue
            if tag in names.bookmark_edges and child.get(names.id, "") in self._go_back_ids(child):
                continue
            if tag == names.ppr and not chain:
                continue
            if tag == names.r:
                self._walk_run(child, chain)
            elif tag in names.containers:
                content = _content(child, names)
                before = len(self.out)
                if content is not None:
                    self.walk(content, chain + (child,))
                if len(self.out) == before:  # nothing inside: keep the element whole
                    self.out.append(_Atom("code", child, None, chain))
            else:
                self.out.append(_Atom("code", child, None, chain))

    def _go_back_ids(self, marker: Element) -> set[str]:
        """Ids of Word's ``_GoBack`` bookmark (the last edit position) in ``marker``'s paragraph.

        It often sits mid-word, where a placeholder would split the word for the engine; it
        means nothing in a translation, so rebuilt paragraphs lose it.
        """
        names = self.names
        paragraph = next(marker.iterancestors(names.p), None)
        if paragraph is None:
            return set()
        return {
            b.get(names.id, "")
            for b in paragraph.iter(names.bookmark_start)
            if b.get(names.name) == "_GoBack"
        }

    def _walk_run(self, run: Element, chain: tuple[Element, ...]) -> None:
        names = self.names
        rpr = run.find(names.rpr)
        hidden = not self.hidden_ok and _is_hidden(rpr, names)
        key = _format_key(rpr, names)
        for child in run:
            tag = child.tag
            if tag == names.rpr or not isinstance(tag, str) or tag in names.dropped:
                continue
            if tag == names.t and not hidden:
                self.out.append(_Atom("text", child, run, chain, child.text or "", key))
            else:
                kind = child.get(names.fld_char_type, "") if tag == names.fld_char else ""
                self.out.append(_Atom("code", child, run, chain, field=kind))


def _is_hidden(rpr: Element | None, names: InlineNames) -> bool:
    vanish = rpr.find(names.vanish) if rpr is not None else None
    return vanish is not None and vanish.get(names.val, "true").lower() not in _FALSE


def format_key(rpr: Element | None) -> str:
    """What makes a run look different: its ``w:rPr`` without language and proofing marks."""
    return "" if rpr is None else _format_key(rpr, InlineNames.of(dialect_of(rpr)))


def _format_key(rpr: Element | None, names: InlineNames) -> str:
    if rpr is None:
        return ""
    ignored = names.key_ignored
    return "".join(_element_key(child, names.hint) for child in rpr if child.tag not in ignored)


def _element_key(element: Element, hint: str) -> str:
    if not isinstance(element.tag, str):
        return ""
    attrs = sorted((k, v) for k, v in element.attrib.items() if k != hint)
    inner = "".join(_element_key(child, hint) for child in element)
    return f"<{element.tag}{attrs}>{inner}</>"


def _mark_fields(atoms: list[_Atom]) -> None:
    """Field instructions become placeholders; so do results without letters (PAGE -> "3")."""
    frames: list[list[int]] = []  # [in_instruction, result_start]
    for index, atom in enumerate(atoms):
        if atom.field == "begin":
            frames.append([1, -1])
        elif atom.field == "separate" and frames:
            frames[-1] = [0, index + 1]
        elif atom.field == "end" and frames:
            in_instruction, start = frames.pop()
            result = atoms[start:index] if not in_instruction and start >= 0 else []
            if not any(a.kind == "text" and _LETTER.search(a.text) for a in result):
                for other in result:
                    other.kind = "code"
        elif atom.kind == "text" and any(frame[0] for frame in frames):
            atom.kind = "code"


def _leaf(atom: _Atom) -> TextNode | CodeNode:
    if atom.kind == "text":
        assert atom.run is not None
        return TextNode([atom.element], atom.text, atom.run, atom.key)
    return CodeNode([(atom.element, atom.run)])


# ---- shaping: merge, collapse textless containers, find base formatting, spans -----------


def _shape(container: ContainerNode, parent: ContainerNode | None, names: InlineNames) -> None:
    merged: list[Node] = []
    for node in container.children:
        if isinstance(node, ContainerNode):
            if not _worth_a_tag(node, names):
                node = CodeNode([(node.element, None)]) if node.element is not None else node
            else:
                _shape(node, container, names)
        previous = merged[-1] if merged else None
        if isinstance(node, CodeNode) and isinstance(previous, CodeNode):
            previous.items.extend(node.items)
        elif (
            isinstance(node, TextNode)
            and isinstance(previous, TextNode)
            and previous.key == node.key
        ):
            previous.elements.extend(node.elements)
            previous.text += node.text
        else:
            merged.append(node)
    _choose_base(container, merged, parent)
    container.children = _spans(merged, container.base_key)


def _worth_a_tag(node: ContainerNode, names: InlineNames) -> bool:
    text = "".join(t.text for t in _descendant_texts(node.children))
    if node.element is not None and node.element.tag == names.fld_simple:
        return bool(_LETTER.search(text))
    return bool(text.strip())


def _descendant_texts(nodes: list[Node]) -> list[TextNode]:
    found: list[TextNode] = []
    for node in nodes:
        if isinstance(node, TextNode):
            found.append(node)
        elif isinstance(node, (ContainerNode, SpanNode)):
            found.extend(_descendant_texts(list(node.children)))
    return found


def _choose_base(container: ContainerNode, nodes: list[Node], parent: ContainerNode | None) -> None:
    weight: dict[str, int] = defaultdict(int)
    first: dict[str, TextNode] = {}
    for node in nodes:
        if isinstance(node, TextNode):
            weight[node.key] += len(node.text.strip()) or 1
            first.setdefault(node.key, node)
    if weight:
        key = max(weight, key=lambda k: weight[k])  # ties: the first seen (dicts keep order)
        container.base, container.base_key = first[key].run, key
    elif parent is not None:
        container.base, container.base_key = parent.base, parent.base_key
    else:
        texts = _descendant_texts(nodes)
        if texts:
            container.base, container.base_key = texts[0].run, texts[0].key


def _spans(nodes: list[Node], base_key: str) -> list[Node]:
    out: list[Node] = []
    index = 0
    while index < len(nodes):
        node = nodes[index]
        if not (isinstance(node, TextNode) and node.key != base_key):
            out.append(node)
            index += 1
            continue
        last = index
        probe = index + 1
        while probe < len(nodes):
            other = nodes[probe]
            if isinstance(other, TextNode) and other.key == node.key:
                last = probe
            elif not isinstance(other, CodeNode):
                break
            probe += 1
        members = [n for n in nodes[index : last + 1] if isinstance(n, (TextNode, CodeNode))]
        out.append(SpanNode(node.run, members))
        index = last + 1
    return out


# ---- rendering ----------------------------------------------------------------------------


def _render(
    nodes: list[Node], parent: str, named: dict[str, Node], parent_of: dict[str, str]
) -> str:
    pieces: list[str] = []
    for node in nodes:
        if isinstance(node, TextNode):
            pieces.append(escape(node.text))
        elif isinstance(node, CodeNode):
            node.name = f"x{len(named) + 1}"
            named[node.name] = node
            parent_of[node.name] = parent
            pieces.append(f"<{node.name}/>")
        elif isinstance(node, SpanNode):
            node.name = f"g{len(named) + 1}"
            named[node.name] = node
            parent_of[node.name] = parent
            inner = _render(list(node.children), parent, named, parent_of)
            pieces.append(f"<{node.name}>{inner}</{node.name}>")
        else:
            node.name = f"{node.letter}{len(named) + 1}"
            named[node.name] = node
            parent_of[node.name] = parent
            inner = _render(node.children, node.name, named, parent_of)
            pieces.append(f"<{node.name}>{inner}</{node.name}>")
    return "".join(pieces)

"""A Word paragraph as one segment of tagged text.

Word splits a paragraph into runs anywhere, so a paragraph is read as a tree and rendered as
one string with inline tags an MT engine keeps:

- adjacent runs with the same formatting are merged; text whose formatting differs from its
  container's dominant formatting is wrapped in ``<gN>...</gN>`` (bold, italic, colour, font,
  character style... anything in ``w:rPr`` except spelling language and proofing marks);
- a hyperlink is ``<aN>...</aN>``; other inline containers holding text (content controls,
  smart tags, custom XML, simple fields with a worded result) are ``<gN>...</gN>`` too;
- everything else kept as it is -- tabs, breaks, drawings, footnote references, bookmarks,
  comment ranges, field instructions, hidden text, tracked changes without text (those with
  text make the format refuse the document: :mod:`revisions`), math -- becomes a placeholder
  ``<xN/>``; adjacent ones are one placeholder, and those before the first or after the last
  text of the paragraph are not sent at all;
- markers that hold no text (bookmarks, comment ranges...) found inside a word are first moved
  to the word's edges (:mod:`markers`), so no placeholder cuts a word.

Complex fields (``w:fldChar`` ... ``w:instrText`` ...): the instruction is never sent; the result
is translated when it holds letters (a cross-reference, a hyperlink field) and kept as a
placeholder otherwise (PAGE, NUMPAGES, dates written in digits).

Literal ``<`` in the text is sent as ``&lt;`` (and ``&`` as ``&amp;`` where it would otherwise
read as an entity), so a paragraph about HTML cannot be mistaken for tags.

Element names come from the paragraph's own dialect (:class:`InlineNames`), so a Strict
document's paragraphs read and rebuild like a Transitional one's.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Literal

from mtpipe.formats.docx.dialect import dialect_of
from mtpipe.formats.docx.markers import settle_markers
from mtpipe.formats.docx.nodes import (
    CodeNode,
    ContainerNode,
    Element,
    InlineNames,
    Node,
    Paragraph,
    SpanNode,
    TextNode,
    append_merged,
    descendant_texts,
)
from mtpipe.formats.docx.tags import escape

_FALSE = frozenset({"0", "false", "off"})
_LETTER = re.compile(r"[^\W\d_]")


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
        append_merged(merged, node)
    merged = settle_markers(merged, names.dialect)
    _choose_base(container, merged, parent)
    container.children = _spans(merged, container.base_key)


def _worth_a_tag(node: ContainerNode, names: InlineNames) -> bool:
    text = "".join(t.text for t in descendant_texts(node.children))
    if node.element is not None and node.element.tag == names.fld_simple:
        return bool(_LETTER.search(text))
    return bool(text.strip())


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
        texts = descendant_texts(nodes)
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

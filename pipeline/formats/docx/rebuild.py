"""Putting a translated, tagged paragraph back into its ``w:p``.

When every tag came back exactly once, properly nested, in the container it started in (and
the placeholders of each container in their original order, so a field's begin never lands
after its end; and no bookmark or comment range of the paragraph ending before it starts, even
when its edges sit in different containers), the paragraph's content is rebuilt from the
translation: each tagged span gets the run properties it had, hyperlinks and other containers
keep their element (and so their relationship), placeholders are put back where the
translation has them.

Otherwise the translation is written without its tags into the first text run, the other text
runs are emptied and everything else is left in place: no text is lost, only formatting.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal

from lxml import etree

from mtpipe.formats.docx.markers import RangeKey, range_edges
from mtpipe.formats.docx.nodes import (
    XML_SPACE,
    CodeNode,
    ContainerNode,
    Element,
    InlineNames,
    Paragraph,
    SpanNode,
    TextNode,
)
from mtpipe.formats.docx.tags import TAG_TOKEN, strip_tags, unescape

Outcome = Literal["unchanged", "translated", "simplified"]

# Characters XML 1.0 cannot hold; an engine could return them.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_safe(text: str) -> str:
    """``text`` without the characters an XML 1.0 document cannot hold."""
    return _NOT_XML.sub("", text)


@dataclass(eq=False)
class _Tag:
    name: str
    children: list[_Tag | _Code | str] = field(default_factory=list)


@dataclass(eq=False)
class _Code:
    name: str


def apply_translation(paragraph: Paragraph, translation: str) -> Outcome:
    """Write ``translation`` (tagged like ``paragraph.text``) into the paragraph's XML."""
    if translation == paragraph.text:
        return "unchanged"
    translation = xml_safe(translation)
    parsed = parse_tagged(paragraph, translation)
    if parsed is None:
        apply_plain(paragraph, strip_tags(translation))
        return "simplified"
    _rebuild(paragraph, parsed)
    return "translated"


def parse_tagged(paragraph: Paragraph, translation: str) -> _Tag | None:
    """The translation as a tree of tags, or None when its tags are not intact."""
    root = _Tag("")
    stack = [root]
    seen: set[str] = set()
    pos = 0
    for match in TAG_TOKEN.finditer(translation):
        if match.start() > pos:
            stack[-1].children.append(unescape(translation[pos : match.start()]))
        pos = match.end()
        closing, letter, number, selfclosing = match.groups()
        name = f"{letter}{number}"
        node = paragraph.named.get(name)
        if node is None or (closing and selfclosing):
            return None
        if letter == "x":
            if closing or not selfclosing or name in seen:
                return None
            seen.add(name)
            stack[-1].children.append(_Code(name))
        elif selfclosing:
            return None
        elif closing:
            if stack[-1].name != name:
                return None
            stack.pop()
        else:
            if name in seen:
                return None
            seen.add(name)
            tag = _Tag(name)
            stack[-1].children.append(tag)
            stack.append(tag)
    if pos < len(translation):
        stack[-1].children.append(unescape(translation[pos:]))
    if len(stack) != 1 or seen != set(paragraph.named):
        return None
    return root if _structure_kept(paragraph, root) and _ranges_kept(paragraph, root) else None


def _structure_kept(paragraph: Paragraph, root: _Tag) -> bool:
    """Spans and containers keep their parent; placeholders keep container and order."""
    codes_in: dict[str, list[str]] = {}

    def walk(tag: _Tag, container: str) -> bool:
        for child in tag.children:
            if isinstance(child, str):
                continue
            if paragraph.parent[child.name] != (
                container if isinstance(child, _Code) else tag.name
            ):
                return False
            if isinstance(child, _Code):
                codes_in.setdefault(container, []).append(child.name)
                continue
            inner = (
                child.name if isinstance(paragraph.named[child.name], ContainerNode) else container
            )
            if not walk(child, inner):
                return False
        return True

    if not walk(root, ""):
        return False
    return all(names == sorted(names, key=lambda n: int(n[1:])) for names in codes_in.values())


def _ranges_kept(paragraph: Paragraph, root: _Tag) -> bool:
    """Every range that starts and ends in the paragraph (a bookmark, a comment's range...)
    still starts before it ends, even when its edges sit in different containers."""
    codes = [paragraph.named[name] for name in _codes_in_order(root)]
    order = [paragraph.lead, *codes, paragraph.trail]
    dialect = paragraph.names.dialect
    edges = [
        edge
        for node in order
        if isinstance(node, CodeNode)
        for edge in range_edges(node.items, dialect)
    ]
    starts = {key for key, is_start in edges if is_start}
    started: set[RangeKey] = set()
    for key, is_start in edges:
        if is_start:
            started.add(key)
        elif key in starts and key not in started:
            return False
    return True


def _codes_in_order(tag: _Tag) -> Iterator[str]:
    """The placeholders of a parsed translation, in the order they are written."""
    for child in tag.children:
        if isinstance(child, _Code):
            yield child.name
        elif isinstance(child, _Tag):
            yield from _codes_in_order(child)


def apply_plain(paragraph: Paragraph, text: str) -> None:
    """Put ``text`` into the first text run (base formatting preferred); empty the others."""
    # A text node cut where a marker was moved to (markers) may own no w:t element.
    texts = [node for node in paragraph.texts() if node.elements]
    if not texts:
        return
    direct = [
        node
        for node in paragraph.root.children
        if isinstance(node, TextNode) and node.key == paragraph.root.base_key and node.elements
    ]
    target = direct[0] if direct else texts[0]
    for node in texts:
        for element in node.elements:
            element.text = ""
    _set_text(target.elements[0], text)


# ---- rebuilding ---------------------------------------------------------------------------


def _rebuild(paragraph: Paragraph, parsed: _Tag) -> None:
    root, names = paragraph.root, paragraph.names
    content: list[Element] = []
    if paragraph.lead is not None:
        content.extend(_emit_code(paragraph.lead, names))
    texts = paragraph.texts()
    default = root.base if root.base is not None else (texts[0].run if texts else None)
    content.extend(_emit(paragraph, parsed.children, default))
    if paragraph.trail is not None:
        content.extend(_emit_code(paragraph.trail, names))
    p = paragraph.element
    for child in list(p):
        if child.tag != names.ppr:
            p.remove(child)
    p.extend(content)


def _emit(
    paragraph: Paragraph, items: list[_Tag | _Code | str], run: Element | None
) -> list[Element]:
    names = paragraph.names
    out: list[Element] = []
    for item in items:
        if isinstance(item, str):
            if item and run is not None:
                out.append(_text_run(run, item, names))
        elif isinstance(item, _Code):
            node = paragraph.named[item.name]
            assert isinstance(node, CodeNode)
            out.extend(_emit_code(node, names))
        else:
            node = paragraph.named[item.name]
            if isinstance(node, SpanNode):
                out.extend(_emit(paragraph, item.children, node.run))
            else:
                assert isinstance(node, ContainerNode) and node.element is not None
                holder = node.content
                for child in list(holder):
                    if child.tag not in names.container_properties:
                        holder.remove(child)
                holder.extend(_emit(paragraph, item.children, node.base))
                out.append(node.element)
    return out


def _emit_code(node: CodeNode, names: InlineNames) -> list[Element]:
    """The placeholder's elements, run children wrapped again in a copy of their run."""
    out: list[Element] = []
    current_source: Element | None = None
    current: Element | None = None
    for element, run in node.items:
        if run is None:
            out.append(element)
            current_source = current = None
            continue
        if current is None or run is not current_source:
            current_source, current = run, _shell(run, names)
            out.append(current)
        current.append(element)
    return out


def _shell(run: Element, names: InlineNames) -> Element:
    """A new run with ``run``'s attributes and a copy of its ``w:rPr``; no content.

    Never a deep copy of the run: it may hold a text box whose paragraphs are translated
    separately and must stay the very elements the writer holds.
    """
    shell = run.makeelement(run.tag, dict(run.attrib))
    rpr = run.find(names.rpr)
    if rpr is not None:
        shell.append(copy.deepcopy(rpr))
    return shell


def _text_run(run: Element, text: str, names: InlineNames) -> Element:
    shell = _shell(run, names)
    _set_text(etree.SubElement(shell, names.t), text)
    return shell


def _set_text(element: Element, text: str) -> None:
    element.text = text
    if text != text.strip():
        element.set(XML_SPACE, "preserve")

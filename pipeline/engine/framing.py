"""How several segments share one request, and how the reply is proven aligned.

A packed request is one line per segment. A numbered checkpoint tag opens every ``every``-th
line; the lines from one checkpoint to the next form a *block*::

    <m1/>Open file
    Save %s as…
    Close
    <m2/>Quit

MT engines keep XML tags and line breaks and translate the words around them (DESIGN.md). A
segment's place in the reply is established when its block's checkpoint comes back exactly
once, followed by the next block's (the last block ends the reply), and the block holds exactly
as many non-blank lines as were sent: an engine that merges two lines, drops one or adds one
(a note, a split sentence) changes the count, and only that block is lost. Checkpoints are
numbered by block, not by line, because every digit is a token of its own: a checkpoint costs
about 2.6 tokens each way (Qwen's tokenizer), so one every 16 lines adds about 2% to short
strings, against 50-65% for a numbered tag on every line; the line break itself costs about
one token a line. :class:`mtpipe.engine.packing.AdaptivePacks` chooses ``every``
from how often the engine breaks blocks.

A segment holding a line break sends it as the tag :data:`LINE_BREAK`, so every segment is one
line; a single segment is sent bare (real line breaks, no tag). A text that already holds
something a reply could mistake for a checkpoint or that tag is never packed (:func:`can_pack`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

__all__ = [
    "LINE_BREAK",
    "block_sizes",
    "can_pack",
    "checkpoint_count",
    "frame",
    "framed_lines",
    "map_segments",
    "parse_request",
    "unframe",
]

_CHECKPOINT = "<m{}/>"
#: What stands for a line break inside a packed segment.
LINE_BREAK = "<n/>"
#: A checkpoint coming back, also as the variants an engine may write for a tag it kept: a
#: space or case change, the slash dropped, full-width brackets in CJK output.
_CHECKPOINT_RE = re.compile(r"[<\uff1c]\s*[mM]\s*(\d+)\s*/?\s*[>\uff1e]")
_LINE_BREAK_RE = re.compile(r"[<\uff1c]\s*[nN]\s*/?\s*[>\uff1e]")
_NEWLINE = re.compile(r"\r\n|\r|\n")


def can_pack(text: str) -> bool:
    """False for a text that could be confused with the framing (it is sent alone)."""
    return _CHECKPOINT_RE.search(text) is None and _LINE_BREAK_RE.search(text) is None


def block_sizes(count: int, every: int) -> list[int]:
    """How many lines each block of a request of ``count`` segments holds."""
    every = max(1, every)
    return [min(every, count - start) for start in range(0, count, every)]


def checkpoint_count(count: int, every: int) -> int:
    """How many checkpoints a request of ``count`` segments carries (none when it is single)."""
    return 0 if count < 2 else len(block_sizes(count, every))


def framed_lines(texts: Sequence[str], every: int) -> list[str]:
    """The request's lines: each text on one line, a checkpoint opening every ``every``-th."""
    every = max(1, every)
    lines = []
    for index, text in enumerate(texts):
        line = _NEWLINE.sub(LINE_BREAK, text)
        if index % every == 0:
            line = _CHECKPOINT.format(index // every + 1) + line
        lines.append(line)
    return lines


def frame(texts: Sequence[str], every: int) -> str:
    """The request content for ``texts``: bare when there is one, else framed lines."""
    if len(texts) == 1:
        return texts[0]
    return "\n".join(framed_lines(texts, every))


def unframe(reply: str, count: int, every: int) -> tuple[list[str | None], int]:
    """Each segment's translation where its place in ``reply`` is established, else None; and
    how many blocks were lost.

    ``reply`` is the content with its wrapping already removed (see
    :func:`mtpipe.engine.replies.unwrap`). A single segment was sent bare: it is the whole
    reply (what else the reply holds is for the reply checks). Anything before the first
    checkpoint voids the whole reply: an engine that writes a preamble is not translating line
    for line; so does a first checkpoint other than ``<m1/>`` (an engine that renumbered them).
    """
    if count == 1:
        return [reply], 0
    sizes = block_sizes(count, every)
    found: list[str | None] = [None] * count
    matches = list(_CHECKPOINT_RE.finditer(reply))
    if not matches or reply[: matches[0].start()].strip():
        return found, len(sizes)
    ids = [int(m.group(1)) for m in matches]
    if ids[0] != 1:
        # Renumbered checkpoints (from 0, or shifted by one) would put blocks in each other's
        # places while every count still matches: a reply opens with the first.
        return found, len(sizes)
    lost = len(sizes)
    for k, match in enumerate(matches):
        block = ids[k]
        if not 1 <= block <= len(sizes) or ids.count(block) != 1:
            continue
        if k + 1 < len(matches):
            in_place = ids[k + 1] == block + 1 <= len(sizes) and ids.count(block + 1) == 1
            end = matches[k + 1].start()
        else:
            in_place, end = block == len(sizes), len(reply)
        if not in_place:
            continue
        lines = [line.strip() for line in _NEWLINE.split(reply[match.end() : end])]
        lines = [line for line in lines if line]
        if len(lines) != sizes[block - 1]:
            continue
        start = (block - 1) * max(1, every)
        for offset, line in enumerate(lines):
            found[start + offset] = _LINE_BREAK_RE.sub("\n", line)
        lost -= 1
    return found, lost


def _is_framed(content: str) -> bool:
    return content.startswith(_CHECKPOINT.format(1)) and "\n" in content


def parse_request(content: str) -> list[str]:
    """The segment texts of a request's content (one, or the lines of a framed request): what
    an engine that translates line by line sees, for the pseudo engine and tests."""
    if not _is_framed(content):
        return [content]
    lines = [_CHECKPOINT_RE.sub("", line, count=1) for line in _NEWLINE.split(content)]
    return [_LINE_BREAK_RE.sub("\n", line) for line in lines]


def map_segments(content: str, translate: Callable[[str], str]) -> str:
    """``content`` with each segment text replaced by ``translate`` of it, the framing kept:
    what a line-by-line engine (the pseudo engine) returns."""
    if not _is_framed(content):
        return translate(content)
    out = []
    for line in _NEWLINE.split(content):
        match = _CHECKPOINT_RE.match(line)
        head = match.group(0) if match else ""
        text = _LINE_BREAK_RE.sub("\n", line[len(head) :])
        out.append(head + _NEWLINE.sub(LINE_BREAK, translate(text)))
    return "\n".join(out)

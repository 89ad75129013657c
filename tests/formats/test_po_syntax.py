"""gettext catalogs read as msgfmt reads them: what msgfmt refuses is an InputError naming the
line, what it accepts is read (and written back) even where polib alone would refuse it.

Each case is also given to ``msgfmt`` when gettext is installed, so the two readings are
compared on the same bytes.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from mtpipe.errors import InputError
from mtpipe.formats.po.layout import load_catalog
from mtpipe.formats.po.syntax import PoSyntaxError, lex_line
from tests.formats.test_po import HEADER_DE, MSGFMT, put, write

#: HEADER_DE's lines: the first line of a case body is line 10.
FIRST = HEADER_DE.count("\n") + 1


def msgfmt_accepts(path: Path) -> bool | None:
    """Whether ``msgfmt`` compiles ``path`` (None without gettext)."""
    if MSGFMT is None:
        return None
    result = subprocess.run(
        [MSGFMT, "-o", os.devnull, str(path)], capture_output=True, timeout=60, check=False
    )
    return result.returncode == 0


REFUSED = {
    "unterminated-msgid": ('msgid "Hello\nmsgstr "Hallo"\n', 0, "unterminated string"),
    "unterminated-continuation": (
        'msgid ""\n"Hello "\n"world\nmsgstr ""\n',
        2,
        "unterminated string",
    ),
    "unterminated-msgstr": ('msgid "Hello"\nmsgstr "Hallo\n', 1, "unterminated string"),
    "escaped-closing-quote": ('msgid "Hello\\"\nmsgstr ""\n', 0, "unterminated string"),
    "unterminated-obsolete": ('#~ msgid "Old\n#~ msgstr "Alt"\n', 0, "unterminated string"),
    "unterminated-previous": (
        '#, fuzzy\n#| msgid "Old\nmsgid "New"\nmsgstr "Neu"\n',
        1,
        "unterminated string",
    ),
    "bad-escape": ('msgid "a\\q"\nmsgstr ""\n', 0, "invalid escape sequence '\\\\q'"),
    "question-mark-escape": ('msgid "a\\?"\nmsgstr ""\n', 0, "invalid escape sequence"),
    "hex-without-digits": ('msgid "a\\xg"\nmsgstr ""\n', 0, "invalid escape sequence"),
    "context-separator": ('msgid "a\\004b"\nmsgstr ""\n', 0, "context separator"),
    "keyword-without-string": ('msgid\nmsgstr "x"\n', 0, "msgid is not followed by a string"),
    "string-after-comment": ('msgid "a"\n# note\n"b"\nmsgstr ""\n', 2, "must continue"),
    "continuation-not-a-string": ('msgid "a"\nfoo\nmsgstr ""\n', 1, "unknown keyword 'foo'"),
    "text-after-string": ('msgid "a" b\nmsgstr ""\n', 0, "unexpected text after the string"),
    "msgstr-in-previous": ('#| msgstr "a"\nmsgid "b"\nmsgstr ""\n', 0, "unknown keyword"),
    "missing-msgstr": (
        'msgid "a"\n\nmsgid "b"\nmsgstr ""\n',
        2,
        "msgid is followed by msgid instead of msgstr or msgid_plural",
    ),
    "msgid-at-the-end": ('msgid "a"\n', 0, "msgid is not followed by msgstr or msgid_plural"),
    "second-msgstr": ('msgstr "a"\n', 0, "msgstr is followed by msgstr instead of the end"),
    "index-without-plural": ('msgid "a"\nmsgstr[0] "b"\n', 1, "followed by msgstr[0] instead"),
    "plural-index-gap": (
        'msgid "a"\nmsgid_plural "as"\nmsgstr[0] "b"\nmsgstr[2] "bs"\n',
        3,
        "msgstr[0] is followed by msgstr[2] instead of msgstr[1] or the end of the entry",
    ),
    "mixed-obsolete": ('#~ msgid "a"\n"b"\n#~ msgstr ""\n', 1, "marked (#~, #|) like the line"),
    "obsolete-msgstr-only": ('msgid "a"\n#~ msgstr "b"\n', 0, "inconsistent use of #~"),
}


@pytest.mark.parametrize(("body", "offset", "reason"), REFUSED.values(), ids=REFUSED.keys())
def test_what_msgfmt_refuses_is_an_input_error_naming_the_line(
    tmp_path: Path, body: str, offset: int, reason: str
) -> None:
    path = put(tmp_path, "x.po", HEADER_DE + body)
    with pytest.raises(InputError) as info:
        load_catalog(path)
    message = str(info.value)
    assert message.startswith(f"{path}: line {FIRST + offset}: "), message
    assert reason in message and "\n" not in message
    assert msgfmt_accepts(path) in (False, None)


#: What msgfmt accepts but no tool writes, refused with a reason rather than half supported.
NOT_SUPPORTED = {
    "backslash-newline": ('msgid "a\\\nb"\nmsgstr ""\n', 0, "backslash at the end of the line"),
    "two-keywords-on-a-line": ('msgid "a" msgstr "b"\n', 0, "a second keyword (msgstr)"),
}


@pytest.mark.parametrize(
    ("body", "offset", "reason"), NOT_SUPPORTED.values(), ids=NOT_SUPPORTED.keys()
)
def test_forms_no_tool_writes_are_refused_with_a_reason(
    tmp_path: Path, body: str, offset: int, reason: str
) -> None:
    path = put(tmp_path, "x.po", HEADER_DE + body)
    assert msgfmt_accepts(path) in (True, None)
    with pytest.raises(InputError) as info:
        load_catalog(path)
    assert str(info.value).startswith(f"{path}: line {FIRST + offset}: {reason}")


ACCEPTED = {
    "obsolete-without-space": ('#~msgid "Old"\n#~msgstr "Alt"\n', []),
    "bare-obsolete-marker": ('#~ msgid "Old"\n#~\n#~ msgstr "Alt"\n', []),
    "previous-without-space": ('#, fuzzy\n#|msgid "Old"\nmsgid "A"\nmsgstr "B"\n', ["A"]),
    "keyword-glued-to-string": ('msgid"A"\nmsgstr"B"\n', ["A"]),
    "two-strings-on-a-line": ('msgid "A" "\\tb"\nmsgstr ""\n', ["A\tb"]),
    "string-on-the-next-line": ('msgid\n"A"\nmsgstr\n""\n', ["A"]),
    "spaced-plural-index": (
        'msgid "a"\nmsgid_plural "as"\nmsgstr [0] "b"\nmsgstr[ 1 ] "bs"\n',
        ["a"],
    ),
    "c-escapes": ('msgid "bell\\a \\101\\x41 \\\\ \\""\nmsgstr ""\n', ['bell\\a \\101\\x41 \\ "']),
}


@pytest.mark.parametrize(("body", "msgids"), ACCEPTED.values(), ids=ACCEPTED.keys())
def test_what_msgfmt_accepts_is_read_and_written_back(
    tmp_path: Path, body: str, msgids: list[str]
) -> None:
    path = put(tmp_path, "x.po", HEADER_DE + body)
    assert msgfmt_accepts(path) in (True, None)
    catalog = load_catalog(path)
    assert [b.msgid for b, e in catalog.entries if not e.obsolete] == msgids
    assert all(b.msgid == e.msgid for b, e in catalog.entries)
    dest, _ = write(path, {"compile": True})  # msgfmt -c checks the output too
    assert dest.with_suffix(".mo").exists()
    out = dest.read_text("utf-8")
    for line in body.splitlines():
        if not line.startswith("msgstr"):  # msgstr lines of translated entries are new
            assert line in out


def test_a_catalog_cannot_start_with_msgstr(tmp_path: Path) -> None:
    path = put(tmp_path, "x.po", 'msgstr "a"\n')
    with pytest.raises(InputError, match="line 1: an entry cannot start with msgstr"):
        load_catalog(path)
    assert msgfmt_accepts(path) in (False, None)


def test_obsolete_entry_without_space_is_obsolete(tmp_path: Path) -> None:
    path = put(
        tmp_path, "x.po", HEADER_DE + 'msgid "A"\nmsgstr ""\n\n#~msgid "Old"\n#~msgstr "Alt"\n'
    )
    catalog = load_catalog(path)
    assert [(b.msgid, b.obsolete, e.msgstr) for b, e in catalog.entries] == [
        ("A", False, ""),
        ("Old", True, "Alt"),
    ]


@pytest.mark.parametrize(
    ("line", "column"),
    [('msgid "a\\q"', 9), ('msgid "a" b', 11), ("msgid x", 7), ('msgid[0] "a"', 6)],
)
def test_syntax_errors_give_the_column(line: str, column: int) -> None:
    with pytest.raises(PoSyntaxError) as info:
        lex_line(line)
    assert info.value.column == column

"""gettext catalogs: layout kept byte for byte, wrapping, encodings, the header, the samples."""

from __future__ import annotations

import codecs
import re
from pathlib import Path

import polib
import pytest

from mtpipe.errors import InputError
from mtpipe.formats.po import PoFormat
from mtpipe.formats.po.layout import load_catalog
from mtpipe.formats.po.wrap import STYLES, WrapStyle, render_field
from mtpipe.testing.fake_translate import fake_translate
from mtpipe.text.languages import resolve
from tests.formats.contract import GERMAN, FuncTranslations
from tests.formats.test_po import (
    HEADER_DE,
    PLURAL_TEMPLATE,
    SAMPLES,
    bracket,
    entry,
    put,
    write,
)

FMT = PoFormat()
LONG = "This sentence is long enough that every tool has to decide where to break it across lines."

# Entries laid out the way no tool writes them: they must survive a partial translation as is.
ODD = HEADER_DE + (
    "#  translator comment with two spaces\n"
    "#:   src/a.py:1   src/b.py:2\n"
    "#,  python-format\n"
    'msgid   "Hand %s "\n'
    '   "wrapped"\n'
    'msgstr "Hand %s umgebrochen"\n'
    "\n\n\n"
    'msgid "Untranslated one"\n'
    'msgstr ""\n'
    'msgid "Glued to the previous entry"\n'
    'msgstr "Ohne Leerzeile"\n'
    "\n"
    "# a comment\n"
    'msgctxt ""\n'
    '"split context"\n'
    'msgid ""\n'
    '"Untranslated two"\n'
    'msgstr ""\n'
    "\n"
    '#~ msgid "Old"\n'
    '#~ msgstr ""\n'
    '#~ "Alt"\n'
    "# trailing comment\n"
)


def test_untouched_entries_keep_their_exact_text(tmp_path: Path) -> None:
    dest, report = write(put(tmp_path, "odd.po", ODD))
    assert report.translated == 2
    out = dest.read_text("utf-8")
    for kept in (
        (
            "#  translator comment with two spaces\n#:   src/a.py:1   src/b.py:2\n"
            '#,  python-format\nmsgid   "Hand %s "\n   "wrapped"\nmsgstr "Hand %s umgebrochen"\n\n\n\n'
        ),
        'msgid "Glued to the previous entry"\nmsgstr "Ohne Leerzeile"\n\n',
        '#~ msgid "Old"\n#~ msgstr ""\n#~ "Alt"\n# trailing comment\n',
    ):
        assert kept in out
    assert '#, fuzzy\nmsgid "Untranslated one"\nmsgstr "[Untranslated one]"\nmsgid "Glued' in out
    assert (
        '# a comment\n#, fuzzy\nmsgctxt ""\n"split context"\nmsgid ""\n"Untranslated two"\nmsgstr "[Untranslated two]"\n'
        in out
    )


def test_nothing_to_translate_is_byte_identical(tmp_path: Path) -> None:
    translated = ODD.replace(
        'msgid "Untranslated one"\nmsgstr ""', 'msgid "Untranslated one"\nmsgstr "Eins"'
    ).replace('"Untranslated two"\nmsgstr ""', '"Untranslated two"\nmsgstr "Zwei"')
    path = put(tmp_path, "done.po", translated)
    dest, report = write(path, {"compile": True})
    assert report.translated == 0 and dest.read_bytes() == path.read_bytes()
    assert {e.msgid: e.msgstr for e in polib.mofile(str(dest.with_suffix(".mo"))) if e.msgid}[
        "Untranslated one"
    ] == "Eins"


def test_failed_translations_only_is_byte_identical(tmp_path: Path) -> None:
    path = put(tmp_path, "odd.po", ODD)
    dest, report = write(path, fn=lambda text: None)
    assert report.failed == 2 and dest.read_bytes() == path.read_bytes()


@pytest.mark.parametrize("style", STYLES)
def test_new_strings_follow_the_file_wrapping(tmp_path: Path, style: WrapStyle) -> None:
    existing = (
        "An existing translation, long enough to be wrapped differently by each tool, ends here."
    )
    text = (
        HEADER_DE
        + "\n".join(
            [
                *render_field("msgid", existing, style),
                *render_field("msgstr", existing.upper(), style),
            ]
        )
        + f'\n\nmsgid "{LONG}"\nmsgstr ""\n'
    )
    path = put(tmp_path, "wrap.po", text)
    assert load_catalog(path).wrap_style() == style
    dest, _ = write(path, fn=lambda t: t.upper())
    lines = "\n".join(render_field("msgstr", LONG.upper(), style))
    assert f'msgid "{LONG}"\n{lines}\n' in dest.read_text("utf-8")
    assert len({tuple(render_field("msgstr", LONG, s)) for s in STYLES}) == 3


def test_gettext_wrapping_of_a_long_string() -> None:
    # What msgcat writes for this string (checked against GNU gettext 0.21).
    assert render_field("msgstr", LONG + " " + LONG, "gettext") == [
        'msgstr ""',
        '"This sentence is long enough that every tool has to decide where to break it "',
        '"across lines. This sentence is long enough that every tool has to decide "',
        '"where to break it across lines."',
    ]
    assert render_field("msgstr", "Line one\nLine two\n", "nowrap") == [
        'msgstr ""',
        '"Line one\\n"',
        '"Line two\\n"',
    ]
    assert render_field("msgstr", "日本語" * 30, "gettext")[1] == '"' + "日本語" * 12 + "日本" + '"'


def test_crlf_catalog_keeps_its_line_ends(tmp_path: Path) -> None:
    text = (HEADER_DE + 'msgid "Kept"\nmsgstr "Behalten"\n\nmsgid "Save"\nmsgstr ""\n').replace(
        "\n", "\r\n"
    )
    dest, _ = write(put(tmp_path, "crlf.po", text))
    data = dest.read_bytes()
    assert b"\n" not in data.replace(b"\r\n", b"")
    assert b'#, fuzzy\r\nmsgid "Save"\r\nmsgstr "[Save]"\r\n' in data


def test_byte_order_mark(tmp_path: Path) -> None:
    """polib reads a UTF-8 BOM, msgfmt rejects it: a changed catalog is written without one."""
    done = tmp_path / "done.po"
    done.write_bytes(codecs.BOM_UTF8 + (HEADER_DE + 'msgid "Save"\nmsgstr "Sichern"\n').encode())
    assert FMT.write(done, tmp_path / "o1.po", [GERMAN], FuncTranslations(), {}).translated == 0
    assert (tmp_path / "o1.po").read_bytes() == done.read_bytes()
    todo = tmp_path / "todo.po"
    todo.write_bytes(codecs.BOM_UTF8 + (HEADER_DE + 'msgid "Save"\nmsgstr ""\n').encode())
    dest, _ = write(todo)
    assert dest.read_bytes().startswith(b'msgid ""')


def test_declared_latin1_catalog(tmp_path: Path) -> None:
    text = (
        HEADER_DE.replace("charset=UTF-8", "charset=ISO-8859-1")
        + 'msgid "Size"\nmsgstr "Größe"\n\n'
    )
    done = put(tmp_path, "done.po", text, encoding="latin-1")
    assert [s.text for s in FMT.read(done, {"retranslate": True})] == ["Size"]
    dest, _ = write(done)
    assert dest.read_bytes() == done.read_bytes()
    todo = put(tmp_path, "todo.po", text + 'msgid "Open"\nmsgstr ""\n', encoding="latin-1")
    dest, _ = write(todo, fn=lambda t: "Öffnen")
    data = dest.read_bytes().decode("utf-8")
    assert '"Content-Type: text/plain; charset=UTF-8\\n"' in data and 'msgstr "Größe"' in data
    assert entry(dest, "Open").msgstr == "Öffnen"


def test_undeclared_bytes_are_a_clear_error(tmp_path: Path) -> None:
    path = put(
        tmp_path,
        "bad.po",
        HEADER_DE.replace("charset=UTF-8", "charset=CHARSET") + 'msgid "Size"\nmsgstr "Größe"\n',
        "latin-1",
    )
    with pytest.raises(InputError) as info:
        list(FMT.read(path, {}))
    assert info.value.place == "line 11" and "byte 0xf6 is not valid UTF-8" in str(info.value)
    unknown = put(tmp_path, "unknown.po", HEADER_DE.replace("charset=UTF-8", "charset=KLINGON-8"))
    with pytest.raises(InputError, match="unknown charset 'KLINGON-8'"):
        list(FMT.read(unknown, {}))


def test_sample_template_through_the_emulator_translation(tmp_path: Path) -> None:
    template = put(tmp_path, "app.pot", (SAMPLES / "app.pot").read_text("utf-8"))
    dest, report = write(
        template, {"mark": "comment", "compile": True}, fn=lambda t: fake_translate(t, "German")
    )
    assert (report.translated, report.failed) == (17, 0)
    catalog = polib.pofile(str(dest))
    assert len(catalog) == 15 and not catalog.fuzzy_entries()
    mo = polib.mofile(str(dest.with_suffix(".mo")))
    assert len([e for e in mo if e.msgid]) == 15
    usage = entry(
        dest, "Usage: tidy [OPTIONS] COMMAND\n\nManage your tasks from the command line.\n"
    )
    assert usage.msgstr.endswith("\n") and usage.msgstr.count("\n") == 3


def test_sample_catalog_partial_translation(tmp_path: Path) -> None:
    source = put(tmp_path, "app-de.po", (SAMPLES / "app-de.po").read_text("utf-8"))
    dest, report = write(source, fn=lambda t: fake_translate(t, "German"))
    assert report.translated == 9
    before, after = polib.pofile(str(source)), polib.pofile(str(dest))
    assert [e.msgid for e in before] == [e.msgid for e in after]
    assert [str(e) for e in before.obsolete_entries()] == [str(e) for e in after.obsolete_entries()]
    assert len(after.fuzzy_entries()) == len(before.fuzzy_entries()) + 8
    assert (
        entry(dest, "Synced {count} tasks with {server}").previous_msgid
        == "Synced {count} tasks to {server}"
    )


def test_contract_target_language_is_checked(tmp_path: Path) -> None:
    dest = tmp_path / "ru" / "app-de.po"
    with pytest.raises(InputError):
        FMT.write(SAMPLES / "app-de.po", dest, [resolve("ru")], FuncTranslations(bracket), {})
    assert not dest.exists()
    report = FMT.write(
        SAMPLES / "app-de.po", tmp_path / "de.po", [GERMAN], FuncTranslations(bracket), {}
    )
    assert report.translated == 9


# ---- header --------------------------------------------------------------------------------


def test_template_header_is_filled(tmp_path: Path) -> None:
    dest, _ = write(
        put(tmp_path, "app.pot", PLURAL_TEMPLATE),
        {"generator": "mtpipe 9.9"},
        target=resolve("pt-BR"),
    )
    assert dest.name == "app.po"
    text = dest.read_text("utf-8")
    header = text[: text.index("\n\n")]
    assert "#, fuzzy" not in header
    assert re.search(r'"PO-Revision-Date: \d{4}-\d\d-\d\d \d\d:\d\d[+-]\d{4}\\n"', header)
    fields = [line.split(":")[0].strip('"') for line in header.splitlines() if line.startswith('"')]
    assert fields == [
        "Project-Id-Version",
        "PO-Revision-Date",
        "Last-Translator",
        "Language-Team",
        "Language",
        "MIME-Version",
        "Content-Type",
        "Content-Transfer-Encoding",
        "Plural-Forms",
        "X-Generator",
    ]
    meta = polib.pofile(str(dest)).metadata
    assert meta["Language"] == "pt_BR"
    assert meta["Content-Type"] == "text/plain; charset=UTF-8"
    assert meta["Plural-Forms"] == "nplurals=2; plural=(n > 1);"
    assert meta["X-Generator"] == "mtpipe 9.9"
    assert meta["Last-Translator"] == "FULL NAME <EMAIL@ADDRESS>"


def test_catalog_header_changes_only_what_it_must(tmp_path: Path) -> None:
    source = (SAMPLES / "app-de.po").read_text("utf-8")
    path = put(tmp_path, "app-de.po", source)
    dest, _ = write(path)
    old = source[: source.index("\n\n")].splitlines()
    new = dest.read_text("utf-8").split("\n\n")[0].splitlines()
    changed = [(a, b) for a, b in zip(old, new) if a != b]
    assert [a.split(":")[0] for a, _ in changed] == ['"PO-Revision-Date', '"X-Generator']
    assert len(old) == len(new)


def test_catalog_for_another_language_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="'de'.*'fr'"):
        FMT.write(SAMPLES / "app-de.po", tmp_path / "x.po", [resolve("fr")], FuncTranslations(), {})
    assert not (tmp_path / "x.po").exists()
    with pytest.raises(InputError, match="translate its .pot template instead"):
        FMT.check_target(SAMPLES / "app-de.po", resolve("fr"))
    FMT.check_target(SAMPLES / "app-de.po", resolve("de_AT"))
    FMT.check_target(SAMPLES / "app.pot", resolve("fr"))


def test_catalog_without_header_gets_one(tmp_path: Path) -> None:
    dest, _ = write(put(tmp_path, "bare.po", 'msgid "Save"\nmsgstr ""\n'))
    text = dest.read_text("utf-8")
    assert text.startswith('msgid ""\nmsgstr ""\n"PO-Revision-Date: ')
    assert text.endswith('\n\n#, fuzzy\nmsgid "Save"\nmsgstr "[Save]"\n')

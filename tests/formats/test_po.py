"""gettext catalogs: the shared contract, what is sent, plural forms, marking, layout, header.

Every catalog written here goes through ``msgfmt -c`` (with and without ``--use-fuzzy``, so
fuzzy machine translations are checked too) when gettext is installed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from types import MappingProxyType

import polib
import pytest

from mtpipe.errors import ConfigError, InputError
from mtpipe.formats.base import Options, WriteReport
from mtpipe.formats.po import PoFormat, checks_for, domains_for
from mtpipe.formats.po.plural import make_rule
from mtpipe.text.languages import Language, plural_forms, resolve
from mtpipe.text.segments import Segment
from tests.formats.contract import GERMAN, FormatContract, FuncTranslations

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples"
FMT = PoFormat()
MSGFMT = shutil.which("msgfmt")

HEADER_DE = """\
msgid ""
msgstr ""
"Project-Id-Version: demo 1.0\\n"
"Language: de\\n"
"MIME-Version: 1.0\\n"
"Content-Type: text/plain; charset=UTF-8\\n"
"Content-Transfer-Encoding: 8bit\\n"
"Plural-Forms: nplurals=2; plural=(n != 1);\\n"

"""
TEMPLATE_HEADER = """\
# SOME DESCRIPTIVE TITLE.
#
#, fuzzy
msgid ""
msgstr ""
"Project-Id-Version: demo 1.0\\n"
"PO-Revision-Date: YEAR-MO-DA HO:MI+ZONE\\n"
"Last-Translator: FULL NAME <EMAIL@ADDRESS>\\n"
"Language-Team: LANGUAGE <LL@li.org>\\n"
"Language: \\n"
"MIME-Version: 1.0\\n"
"Content-Type: text/plain; charset=CHARSET\\n"
"Content-Transfer-Encoding: 8bit\\n"
"Plural-Forms: nplurals=INTEGER; plural=EXPRESSION;\\n"

"""


def bracket(text: str) -> str:
    """A stand-in translation that keeps every placeholder and whitespace."""
    return f"[{text}]"


def put(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def write(
    path: Path,
    options: Options | None = None,
    fn: Callable[[str], str | None] = bracket,
    target: Language = GERMAN,
) -> tuple[Path, WriteReport]:
    dest = path.parent / "out" / target.code / FMT.output_name(path, target)
    report = FMT.write(path, dest, [target], FuncTranslations(fn), options or {})
    assert_msgfmt_clean(dest)
    return dest, report


def assert_msgfmt_clean(path: Path) -> None:
    """``msgfmt -c`` accepts ``path`` (header-default warnings allowed); no-op without gettext."""
    if MSGFMT is None:
        return
    for extra in ([], ["--use-fuzzy"]):
        result = subprocess.run(
            [MSGFMT, "-c", *extra, "-o", os.devnull, str(path)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr


def entry(dest: Path, msgid: str, msgctxt: str | None = None) -> polib.POEntry:
    found = [e for e in polib.pofile(str(dest)) if e.msgid == msgid and e.msgctxt == msgctxt]
    assert len(found) == 1, msgid
    return found[0]


class TestPoContract(FormatContract):
    """Every translation of the sample equals its msgstr: with ``retranslate`` and ``mark=none``
    the identity translation changes nothing, so the catalog must come back byte for byte."""

    options: Options = MappingProxyType({"retranslate": True})
    round_trip_options: Options = MappingProxyType({"mark": "none"})

    def make_sample(self, tmp_path: Path) -> Path:
        return put(
            tmp_path,
            "sample.po",
            HEADER_DE
            + '#: a.py:1\nmsgid "OK"\nmsgstr "OK"\n\n'
            + 'msgctxt "menu"\nmsgid "Tidy"\nmsgstr "Tidy"\n\n'
            + '#, c-format\nmsgid "%d item"\nmsgid_plural "%d items"\nmsgstr[0] "%d item"\n'
            + 'msgstr[1] "%d items"\n',
        )

    def translated_texts(self, written: Path, target: Language) -> list[str]:
        """The msgstrs (each plural form in order), read with polib, not with the format."""
        texts: list[str] = []
        for found in polib.pofile(str(written)):
            if found.msgid_plural:
                texts.extend(text for _, text in sorted(found.msgstr_plural.items()))
            else:
                texts.append(found.msgstr)
        return texts

    def make_empty(self, tmp_path: Path) -> Path:
        return put(tmp_path, "empty.po", HEADER_DE + '#~ msgid "Old"\n#~ msgstr "Alt"\n')

    def make_corrupt(self, tmp_path: Path) -> Path:
        return put(
            tmp_path,
            "broken.po",
            HEADER_DE + 'msgid "Open"\nmsgstr "Offen"\n\nmsgid "a"b"\nmsgstr ""\n',
        )


def test_corrupt_catalog_names_the_line(tmp_path: Path) -> None:
    path = TestPoContract().make_corrupt(tmp_path)
    with pytest.raises(InputError) as info:
        list(FMT.read(path, {}))
    assert info.value.place == "line 13"
    assert "unexpected text after the string" in str(info.value)


@pytest.mark.parametrize(
    ("entries", "second", "first"),
    [
        ('msgid "Open"\nmsgstr ""\n\nmsgid "Open"\nmsgstr ""\n', 13, 10),
        ('msgid "Open"\nmsgstr ""\n\n#~ msgid "Open"\n#~ msgstr "Auf"\n', 13, 10),  # obsolete too
        ('msgid "Open"\nmsgstr ""\n\nmsgid "Open"\nmsgid_plural "Opens"\nmsgstr[0] ""\nmsgstr[1] ""\n', 13, 10),
        ('msgctxt "m"\nmsgid "Open"\nmsgstr ""\n\nmsgctxt "m"\nmsgid "Open"\nmsgstr ""\n', 15, 11),
    ],
)
def test_an_entry_defined_twice_is_refused_naming_both_lines(
    tmp_path: Path, entries: str, second: int, first: int
) -> None:
    """msgfmt refuses a catalog with two entries of the same msgctxt and msgid ("duplicate
    message definition"); its translation would be refused the same way."""
    path = put(tmp_path, "dup.po", HEADER_DE + entries)
    with pytest.raises(InputError) as info:
        list(FMT.read(path, {}))
    assert info.value.place == f"line {second}"
    assert f"is defined twice, first at line {first}" in info.value.reason


def test_the_same_msgid_in_two_contexts_is_two_entries(tmp_path: Path) -> None:
    path = put(tmp_path, "ctx.po", HEADER_DE + 'msgid "Open"\nmsgstr ""\n\nmsgctxt "m"\nmsgid "Open"\nmsgstr ""\n')
    assert [s.context for s in FMT.read(path, {})] == ["", "m"]


def test_output_name() -> None:
    assert FMT.output_name(Path("x/app.pot"), GERMAN) == "app.po"
    assert FMT.output_name(Path("x/app-de.po"), GERMAN) == "app-de.po"
    assert FMT.output_name(Path("x/APP.POT"), GERMAN) == "APP.po"


def test_unknown_mark_is_config_error(tmp_path: Path) -> None:
    path = put(tmp_path, "a.po", HEADER_DE + 'msgid "Open"\nmsgstr ""\n')
    with pytest.raises(ConfigError):
        FMT.write(path, tmp_path / "o.po", [GERMAN], FuncTranslations(), {"mark": "loud"})


# ---- what is sent --------------------------------------------------------------------------


def test_segments_of_the_sample_template() -> None:
    segments = list(FMT.read(SAMPLES / "app.pot", {}))
    opens = [s for s in segments if s.text == "Open"]
    assert [s.context for s in opens] == ["verb", "status"]
    assert opens[0].domains == (
        'Software UI string; context "verb"; note: Verb on a toolbar button: open a task list file.'
    )
    assert opens[0].place == 'line 28, msgctxt "verb"'
    plural = [s for s in segments if s.text.startswith("%d task")]
    assert [(s.text, s.place) for s in plural] == [
        ("%d task", "line 39"),
        ("%d tasks", "line 40 (msgid_plural)"),
    ]
    assert next(s for s in segments if s.text == "Quit").domains == ""
    assert len(segments) == 17  # 15 entries, two of them plural


def test_selection_of_entries(tmp_path: Path) -> None:
    path = SAMPLES / "app-de.po"

    def texts(options: Options) -> set[str]:
        return {s.text for s in FMT.read(path, options)}

    untranslated = texts({})
    assert "One task is overdue" in untranslated and "Monday" in untranslated
    assert "Quit" not in untranslated  # translated
    assert "Synced {count} tasks with {server}" not in untranslated  # fuzzy
    assert "Week starts on" not in texts({"retranslate": True, "fuzzy": True})  # obsolete
    assert "Quit" in texts(
        {"retranslate": True}
    ) and "Synced {count} tasks with {server}" not in texts({"retranslate": True})
    assert texts({"fuzzy": True}) == untranslated | {
        "Open",
        "Synced {count} tasks with {server}",
        "Delete the list <b>%s</b> and all of its tasks?",
    }
    assert "" not in texts({"retranslate": True, "fuzzy": True})  # the header


class ByContext:
    """Translations that depend on the segment's msgctxt, as the engine's would."""

    def get(self, segment: Segment, target: Language) -> str | None:
        return {"verb": "Öffnen", "status": "Offen"}.get(segment.context, f"[{segment.text}]")


def test_msgctxt_pair_gets_two_translations(tmp_path: Path) -> None:
    template = put(tmp_path, "app.pot", (SAMPLES / "app.pot").read_text("utf-8"))
    dest = tmp_path / "app.po"
    report = FMT.write(template, dest, [GERMAN], ByContext(), {"mark": "none"})
    assert report.translated == 17
    assert_msgfmt_clean(dest)
    assert entry(dest, "Open", "verb").msgstr == "Öffnen"
    assert entry(dest, "Open", "status").msgstr == "Offen"


@pytest.mark.parametrize(
    ("flags", "text", "expected"),
    [
        ([], "Plain text", {"url", "email"}),
        (["c-format"], "%d files", {"printf", "strftime", "url", "email"}),
        (["python-format"], "%(n)d files", {"printf", "strftime", "python", "url", "email"}),
        (["python-brace-format"], "{n} files", {"brace", "dollar", "url", "email"}),
        (["sh-format"], "$HOME", {"dollar", "url", "email"}),
        (["no-c-format"], "100% offline", {"url", "email"}),
        (["c-format", "no-c-format"], "100% offline", {"url", "email"}),
        (["fuzzy", "c-format"], "<b>%s</b>", {"printf", "strftime", "tags", "url", "email"}),
    ],
)
def test_checks_follow_flags(flags: list[str], text: str, expected: set[str]) -> None:
    assert checks_for(flags, text) == expected


def test_domains_hint_is_short_and_ignores_mtpipe_notes() -> None:
    long_note = polib.POEntry(msgid="x", msgctxt="ctx", comment="word " * 100)
    assert len(domains_for(long_note)) == 200 and domains_for(long_note).endswith("…")
    ours = polib.POEntry(msgid="x", comment="Machine-translated by mtpipe (qwen-mt-turbo)")
    assert domains_for(ours) == ""


# ---- plural forms --------------------------------------------------------------------------

PLURAL_TEMPLATE = TEMPLATE_HEADER + (
    '#, c-format\nmsgid "%d file"\nmsgid_plural "%d files"\nmsgstr[0] ""\nmsgstr[1] ""\n\n'
    '#, c-format\nmsgid "One minute left"\nmsgid_plural "%d minutes left"\nmsgstr[0] ""\nmsgstr[1] ""\n\n'
    '#, python-format\nmsgid "%(count)d task"\nmsgid_plural "%(count)d tasks"\nmsgstr[0] ""\nmsgstr[1] ""\n\n'
    '#, python-brace-format\nmsgid "{count} row"\nmsgid_plural "{count} rows"\nmsgstr[0] ""\nmsgstr[1] ""\n'
)


@pytest.mark.parametrize(
    ("code", "nplurals", "one_minute_form"),
    [("ja", 1, None), ("de", 2, 0), ("ru", 3, None), ("pl", 3, 0), ("ar", 6, 1)],
)
def test_plural_entries_fill_every_form(
    tmp_path: Path, code: str, nplurals: int, one_minute_form: int | None
) -> None:
    target = resolve(code)
    dest, report = write(put(tmp_path, "app.pot", PLURAL_TEMPLATE), target=target)
    assert report.translated == 8 and report.failed == 0
    rule = make_rule(*plural_forms(target))
    assert rule.nplurals == nplurals
    catalog = polib.pofile(str(dest))
    assert catalog.metadata["Plural-Forms"] == rule.header_value()
    for e in catalog:
        assert sorted(e.msgstr_plural) == list(range(nplurals))
        one = rule.form(1) if nplurals > 1 else None
        for index, value in e.msgstr_plural.items():
            if e.msgid == "One minute left":
                # ru's form 0 also serves 21, 31...: it must keep %d, so it takes the plural.
                singular = index == one_minute_form
            else:
                singular = index == one
            assert value == bracket(e.msgid if singular else e.msgid_plural), (e.msgid, index)


def test_catalog_keeps_its_own_plural_rule(tmp_path: Path) -> None:
    rule4 = "nplurals=4; plural=(n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 && (n%100<12 || n%100>14) ? 1 : n%10==0 || (n%10>=5 && n%10<=9) || (n%100>=11 && n%100<=14)? 2 : 3);"
    text = (
        HEADER_DE.replace("Language: de", "Language: ru").replace(
            "nplurals=2; plural=(n != 1);", rule4
        )
        + '#, c-format\nmsgid "%d file"\nmsgid_plural "%d files"\nmsgstr[0] ""\nmsgstr[1] ""\nmsgstr[2] ""\nmsgstr[3] ""\n'
    )
    dest, report = write(put(tmp_path, "ru.po", text), target=resolve("ru"))
    catalog = polib.pofile(str(dest))
    assert catalog.metadata["Plural-Forms"] == rule4
    assert len(catalog[0].msgstr_plural) == 4
    assert report.notes and "nplurals=4" in report.notes[0]


def test_partly_translated_plural_keeps_written_forms(tmp_path: Path) -> None:
    text = (
        HEADER_DE
        + '#, c-format\nmsgid "%d file"\nmsgid_plural "%d files"\nmsgstr[0] "%d Datei"\nmsgstr[1] ""\n'
    )
    dest, _ = write(put(tmp_path, "a.po", text))
    assert entry(dest, "%d file").msgstr_plural == {0: "%d Datei", 1: "[%d files]"}


def test_template_pads_plurals_it_could_not_translate(tmp_path: Path) -> None:
    dest, report = write(
        put(tmp_path, "app.pot", PLURAL_TEMPLATE),
        fn=lambda t: None if "row" in t else bracket(t),
        target=resolve("ru"),
    )
    assert report.failed == 2
    rows = entry(dest, "{count} row")
    assert rows.msgstr_plural == {0: "", 1: "", 2: ""} and "fuzzy" not in rows.flags


@pytest.mark.parametrize("singular", [None, ""], ids=["failed", "empty"])
def test_a_plural_entry_that_cannot_be_filled_fails_each_of_its_texts_by_name(
    tmp_path: Path, singular: str | None
) -> None:
    """German's form 0 takes the singular's translation: without it the entry is not written,
    and the plural's translation, given but not written, is failed with why (listed by the
    run) rather than counted as nothing; an empty translation is failed with why too."""
    text = HEADER_DE + 'msgid "One file"\nmsgid_plural "%d files"\nmsgstr[0] ""\nmsgstr[1] ""\n'
    dest, report = write(put(tmp_path, "a.po", text), fn=lambda t: singular if t == "One file" else bracket(t))
    assert entry(dest, "One file").msgstr_plural == {0: "", 1: ""}
    assert (report.translated, report.failed) == (0, 2)
    reasons = {item.segment.place: item.reason for item in report.unwritten}
    plural = "not written: the entry's forms also need the translation of line 10, which failed"
    if singular is None:  # the run lists the singular itself, from its None
        assert reasons == {"line 11 (msgid_plural)": plural}
    else:
        assert reasons == {"line 10": "the translation is empty: not written", "line 11 (msgid_plural)": plural}
    assert all(item.target == GERMAN for item in report.unwritten)


def test_a_failed_singular_the_forms_do_not_use_counts_failed_and_the_rest_is_written(tmp_path: Path) -> None:
    text = TEMPLATE_HEADER + 'msgid "One file"\nmsgid_plural "%d files"\nmsgstr[0] ""\nmsgstr[1] ""\n'
    dest, report = write(
        put(tmp_path, "a.pot", text), fn=lambda t: None if t == "One file" else bracket(t), target=resolve("ja")
    )
    assert entry(dest, "One file").msgstr_plural == {0: "[%d files]"}  # one form: the plural's
    assert (report.translated, report.failed, report.unwritten) == (1, 1, [])


def test_catalog_without_a_rule_gets_the_target_rule(tmp_path: Path) -> None:
    text = HEADER_DE.replace("Language: de", "Language: ru").replace(
        "nplurals=2; plural=(n != 1);", "nplurals=INTEGER; plural=EXPRESSION;"
    ) + (
        '#, c-format\nmsgid "%d file"\nmsgid_plural "%d files"\nmsgstr[0] "%d файл"\n'
        'msgstr[1] "%d файла"\n\nmsgid "Save"\nmsgstr ""\n'
    )
    dest, _ = write(put(tmp_path, "ru.po", text), target=resolve("ru"))
    files = entry(dest, "%d file")
    # A human translation made for another rule is completed and left for review.
    assert files.msgstr_plural == {0: "%d файл", 1: "%d файла", 2: "%d файла"}
    assert files.flags == ["fuzzy", "c-format"]
    assert polib.pofile(str(dest)).metadata["Plural-Forms"].startswith("nplurals=3;")


def test_a_template_for_en_us_gives_catalogs_in_the_target_language(tmp_path: Path) -> None:
    # WordPress plugin templates say "Language: en_US" and carry English's Plural-Forms.
    text = TEMPLATE_HEADER.replace('Language: \\n', 'Language: en_US\\n').replace(
        "nplurals=INTEGER; plural=EXPRESSION;", "nplurals=2; plural=(n != 1);"
    ) + ('msgid "%d file"\nmsgid_plural "%d files"\nmsgstr[0] ""\nmsgstr[1] ""\n')
    template = put(tmp_path, "plugin.pot", text)
    for code, nplurals in (("ru", 3), ("fr", 2), ("ja", 1)):
        target = resolve(code)
        dest, _ = write(template, target=target)
        meta = polib.pofile(str(dest)).metadata
        assert meta["Language"] == target.code
        assert meta["Plural-Forms"] == make_rule(*plural_forms(target)).header_value()
        assert len(entry(dest, "%d file").msgstr_plural) == nplurals
        # mtpipe accepts its own output for the same language again.
        FMT.check_target(dest, target)


def test_a_copied_template_without_a_language_gets_the_targets_plural_forms(
    tmp_path: Path,
) -> None:
    # A template copied to ru/messages.po: empty Language, a 2-form rule from the source side.
    text = HEADER_DE.replace("Language: de", "Language: ") + (
        '#, c-format\nmsgid "%d file"\nmsgid_plural "%d files"\nmsgstr[0] ""\nmsgstr[1] ""\n'
    )
    dest, _ = write(put(tmp_path, "messages.po", text), target=resolve("ru"))
    meta = polib.pofile(str(dest)).metadata
    assert meta["Language"] == "ru"
    assert meta["Plural-Forms"].startswith("nplurals=3;")
    assert sorted(entry(dest, "%d file").msgstr_plural) == [0, 1, 2]


def test_a_catalog_that_names_its_language_keeps_its_own_rule(tmp_path: Path) -> None:
    text = HEADER_DE.replace("Language: de", "Language: fr") + (
        '#, c-format\nmsgid "%d file"\nmsgid_plural "%d files"\nmsgstr[0] ""\nmsgstr[1] ""\n'
    )
    dest, _ = write(put(tmp_path, "fr.po", text), target=resolve("fr"))
    # (n != 1) is not French's usual rule, but the catalog's translations are indexed by it.
    assert polib.pofile(str(dest)).metadata["Plural-Forms"] == "nplurals=2; plural=(n != 1);"


# ---- marking, fuzzy entries, obsolete entries ----------------------------------------------

FUZZY_PO = HEADER_DE + (
    '#: a.py:3\n#, fuzzy, python-format\n#| msgid "Delete %s?"\nmsgid "Delete %s now?"\nmsgstr "%s löschen?"\n\n'
    'msgid "Save"\nmsgstr ""\n\n'
    '#~ msgid "Gone"\n#~ msgstr "Weg"\n'
)


@pytest.mark.parametrize("mark", ["fuzzy", "comment", "none"])
def test_mark_modes(tmp_path: Path, mark: str) -> None:
    path = put(tmp_path, "a.po", FUZZY_PO)
    dest, _ = write(path, {"mark": mark, "engine_label": "qwen-mt-turbo", "compile": True})
    save = entry(dest, "Save")
    assert save.msgstr == "[Save]"
    assert ("fuzzy" in save.flags) == (mark == "fuzzy")
    assert (save.comment == "Machine-translated by mtpipe (qwen-mt-turbo)") == (mark == "comment")
    mo = polib.mofile(str(dest.with_suffix(".mo")))
    assert [e.msgid for e in mo] == ([] if mark == "fuzzy" else ["Save"])
    assert sorted(p.name for p in dest.parent.iterdir()) == ["a.mo", "a.po"]


def test_fuzzy_entries_left_alone_without_the_option(tmp_path: Path) -> None:
    dest, _ = write(put(tmp_path, "a.po", FUZZY_PO))
    text = dest.read_text("utf-8")
    assert (
        '#: a.py:3\n#, fuzzy, python-format\n#| msgid "Delete %s?"\nmsgid "Delete %s now?"\nmsgstr "%s löschen?"\n'
        in text
    )
    assert text.endswith('#~ msgid "Gone"\n#~ msgstr "Weg"\n')


@pytest.mark.parametrize(("mark", "keeps_previous"), [("fuzzy", True), ("none", False)])
def test_fuzzy_entries_retranslated_with_the_option(
    tmp_path: Path, mark: str, keeps_previous: bool
) -> None:
    dest, report = write(put(tmp_path, "a.po", FUZZY_PO), {"fuzzy": True, "mark": mark})
    assert report.translated == 2
    fixed = entry(dest, "Delete %s now?")
    assert fixed.msgstr == "[Delete %s now?]"
    assert fixed.flags == (["fuzzy", "python-format"] if mark == "fuzzy" else ["python-format"])
    assert (fixed.previous_msgid == "Delete %s?") == keeps_previous
    assert dest.read_text("utf-8").endswith('#~ msgid "Gone"\n#~ msgstr "Weg"\n')


def test_retranslation_equal_to_existing_keeps_entry(tmp_path: Path) -> None:
    text = HEADER_DE + 'msgid "Save"\nmsgstr "Speichern"\n\nmsgid "Open"\nmsgstr "Offen"\n'
    path = put(tmp_path, "a.po", text)
    dest, report = write(
        path, {"retranslate": True}, fn=lambda t: {"Save": "Speichern"}.get(t, "Öffnen")
    )
    assert report.translated == 2
    assert (
        'msgid "Save"\nmsgstr "Speichern"\n\n#, fuzzy\nmsgid "Open"\nmsgstr "Öffnen"\n'
        in dest.read_text("utf-8")
    )


def test_failed_translation_leaves_entry(tmp_path: Path) -> None:
    path = put(tmp_path, "a.po", HEADER_DE + 'msgid "Save"\nmsgstr ""\n\nmsgid "Open"\nmsgstr ""\n')
    dest, report = write(path, fn=lambda t: None if t == "Save" else bracket(t))
    assert (report.translated, report.failed) == (1, 1)
    assert 'msgid "Save"\nmsgstr ""\n' in dest.read_text("utf-8")


# ---- strings: escapes, newlines ------------------------------------------------------------


def test_escapes_tabs_and_newlines_survive(tmp_path: Path) -> None:
    text = HEADER_DE + (
        'msgid "Name:\\tValue \\"quoted\\" C:\\\\path\\n"\nmsgstr ""\n\n'
        'msgid "\\nLeading and trailing\\n"\nmsgstr ""\n\n'
        'msgid "  spaced  "\nmsgstr ""\n'
    )
    lost = {
        'Name:\tValue "quoted" C:\\path\n': 'Name:\tWert "zitiert" C:\\path',
        "\nLeading and trailing\n": "Vorne\n\n",
    }
    dest, _ = write(
        put(tmp_path, "a.po", text), fn=lambda t: lost.get(t, t.replace("spaced", "Abstand"))
    )
    assert (
        entry(dest, 'Name:\tValue "quoted" C:\\path\n').msgstr == 'Name:\tWert "zitiert" C:\\path\n'
    )
    assert entry(dest, "\nLeading and trailing\n").msgstr == "\nVorne\n\n"
    assert entry(dest, "  spaced  ").msgstr == "  Abstand  "
    assert 'msgstr "Name:\\tWert \\"zitiert\\" C:\\\\path\\n"' in dest.read_text("utf-8")

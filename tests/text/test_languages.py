"""Language resolution (codes, names, regions, errors) and plural rules per language."""

from __future__ import annotations

import gettext

import pytest

from mtpipe.errors import ConfigError, PipelineError
from mtpipe.text.language_table import QWEN_LANGUAGES
from mtpipe.text.languages import (
    AUTO,
    QWEN_NAMES,
    Language,
    accepted_languages,
    all_languages,
    plural_forms,
    resolve,
    resolve_targets,
)

CLDR_TAGS = {"zero", "one", "two", "few", "many", "other"}

# ---------------------------------------------------------------------------------------------
# The table


def test_table_has_92_languages_with_unique_names_and_codes() -> None:
    langs = all_languages()
    assert len(langs) == 92
    assert len({lang.name for lang in langs}) == 92
    assert len({lang.code for lang in langs}) == 92
    assert len({code for _, code in QWEN_LANGUAGES}) == 92
    assert {lang.name for lang in langs} == QWEN_NAMES


def test_all_languages_is_sorted_by_name_and_uses_posix_codes() -> None:
    langs = all_languages()
    assert [lang.name.casefold() for lang in langs] == sorted(
        lang.name.casefold() for lang in langs
    )
    assert Language("zh_TW", "Traditional Chinese") in langs
    assert Language("nb", "Norwegian Bokmål") in langs
    assert all(lang.code == lang.code.strip() and "-" not in lang.code for lang in langs)


@pytest.mark.parametrize("lang", all_languages(), ids=lambda lang: lang.code)
def test_every_language_round_trips_through_its_code_and_its_name(lang: Language) -> None:
    assert resolve(lang.code) == lang
    assert resolve(lang.name) == lang
    assert resolve(lang.name.upper()) == lang
    assert resolve(lang.code.upper().replace("_", "-")) == lang


def test_language_tag_is_the_code_as_users_write_it() -> None:
    assert resolve("pt_BR").tag == "pt-BR" and resolve("zh_tw").tag == "zh-TW"
    assert resolve("Latin American Spanish").tag == "es-419" and resolve("de").tag == "de"


def test_accepted_languages_list_the_regional_variants_users_type() -> None:
    rows = {lang.tag: (lang, names) for lang, names in accepted_languages()}
    for tag in ["pt-BR", "pt-PT", "zh-CN", "zh-TW", "zh-HK", "es-419", "es-MX", "en-US", "en-GB", "fr-CA"]:
        assert tag in rows, tag
    assert rows["pt-BR"] == (Language("pt_BR", "Portuguese"), ("Brazilian Portuguese",))
    assert rows["zh-HK"] == (Language("zh_HK", "Traditional Chinese"), ())
    assert rows["zh"][1] == ("Chinese", "Simplified Chinese")
    assert rows["fa"][1] == ("Western Persian", "Persian")
    assert {lang for lang, _ in rows.values()} >= set(all_languages())


def test_every_accepted_code_and_name_resolves_to_its_row() -> None:
    for lang, names in accepted_languages():
        assert resolve(lang.tag) == lang
        for name in names:
            assert resolve(name) == lang, name


def test_accepted_languages_follow_their_language() -> None:
    tags = [lang.tag for lang, _ in accepted_languages()]
    start = tags.index("pt")
    assert tags[start : start + 3] == ["pt", "pt-BR", "pt-PT"]
    assert tags[tags.index("zh") : tags.index("zh") + 4] == ["zh", "zh-CN", "zh-HK", "zh-TW"]


def test_language_str_is_its_code() -> None:
    assert str(Language("pt_BR", "Portuguese")) == "pt_BR"
    assert f"{resolve('German')}" == "de"


# ---------------------------------------------------------------------------------------------
# Codes, names, case and region variants


@pytest.mark.parametrize(
    ("value", "code", "name"),
    [
        ("de", "de", "German"),
        ("DE", "de", "German"),
        ("  de\n", "de", "German"),
        ("deu", "de", "German"),
        ("de-CH", "de_CH", "German"),
        ("de_DE.UTF-8", "de_DE", "German"),
        ("pt-BR", "pt_BR", "Portuguese"),
        ("pt_br", "pt_BR", "Portuguese"),
        ("PT-br", "pt_BR", "Portuguese"),
        ("es-419", "es_419", "Spanish"),
        ("zh", "zh", "Chinese"),
        ("zh-Hans", "zh", "Chinese"),
        ("zh-CN", "zh_CN", "Chinese"),
        ("zh-SG", "zh_SG", "Chinese"),
        ("cmn", "zh", "Chinese"),
        ("zh-TW", "zh_TW", "Traditional Chinese"),
        ("zh_tw", "zh_TW", "Traditional Chinese"),
        ("ZH-tw", "zh_TW", "Traditional Chinese"),
        ("zh-Hant", "zh_TW", "Traditional Chinese"),
        ("zh-HK", "zh_HK", "Traditional Chinese"),
        ("zh-Hant-HK", "zh_HK", "Traditional Chinese"),
        ("yue", "yue", "Cantonese"),
        ("yue-HK", "yue_HK", "Cantonese"),
        ("nb", "nb", "Norwegian Bokmål"),
        ("no", "nb", "Norwegian Bokmål"),
        ("nn", "nn", "Norwegian Nynorsk"),
        ("iw", "he", "Hebrew"),
        ("in", "id", "Indonesian"),
        ("fil", "tl", "Tagalog"),
        ("pes", "fa", "Western Persian"),
        ("als", "sq", "Tosk Albanian"),
        ("uzn", "uz", "Northern Uzbek"),
        ("arz", "arz", "Egyptian Arabic"),
        ("sr-Latn", "sr", "Serbian"),
    ],
)
def test_resolve_codes(value: str, code: str, name: str) -> None:
    assert resolve(value) == Language(code, name)


@pytest.mark.parametrize(
    ("value", "code", "name"),
    [
        ("German", "de", "German"),
        ("german", "de", "German"),
        ("GERMAN", "de", "German"),
        ("Traditional Chinese", "zh_TW", "Traditional Chinese"),
        ("traditional  chinese", "zh_TW", "Traditional Chinese"),
        ("Norwegian Bokmål", "nb", "Norwegian Bokmål"),
        ("norwegian bokmal", "nb", "Norwegian Bokmål"),
        ("Ta’izzi-Adeni Arabic", "acq", "Ta'izzi-Adeni Arabic"),
        ("Egyptian Arabic", "arz", "Egyptian Arabic"),
        # CLDR's English names for the same languages
        ("Persian", "fa", "Western Persian"),
        ("Albanian", "sq", "Tosk Albanian"),
        ("Filipino", "tl", "Tagalog"),
        ("Uzbek", "uz", "Northern Uzbek"),
        ("Azerbaijani", "az", "North Azerbaijani"),
        ("Norwegian", "nb", "Norwegian Bokmål"),
        ("Simplified Chinese", "zh", "Chinese"),
    ],
)
def test_resolve_names(value: str, code: str, name: str) -> None:
    assert resolve(value) == Language(code, name)


@pytest.mark.parametrize(
    ("value", "code", "name"),
    [
        # CLDR's territory-qualified names of the regional variants
        ("Brazilian Portuguese", "pt_BR", "Portuguese"),
        ("brazilian portuguese", "pt_BR", "Portuguese"),
        ("European Portuguese", "pt_PT", "Portuguese"),
        ("Canadian French", "fr_CA", "French"),
        ("Mexican Spanish", "es_MX", "Spanish"),
        ("Latin American Spanish", "es_419", "Spanish"),
        ("British English", "en_GB", "English"),
        ("American English", "en_US", "English"),
        ("Swiss High German", "de_CH", "German"),
        ("Simplified Chinese", "zh", "Chinese"),
        ("Traditional Chinese", "zh_TW", "Traditional Chinese"),
    ],
)
def test_resolve_regional_names(value: str, code: str, name: str) -> None:
    assert resolve(value) == Language(code, name)


@pytest.mark.parametrize(("value", "known_as"), [("Dari", "Dari"), ("Flemish", "Flemish"), ("Moldavian", "Moldavian")])
def test_a_regional_name_that_is_another_language_is_not_its_neighbour(value: str, known_as: str) -> None:
    # CLDR names fa_AF "Dari" and nl_BE "Flemish": not territory-qualified names of Persian or Dutch.
    with pytest.raises(ConfigError, match=f"{known_as} is not one Qwen-MT translates"):
        resolve(value)


def test_every_resolved_name_is_one_qwen_accepts() -> None:
    values = ["de", "pt-BR", "zh-Hant", "Persian", "Filipino", "no", "cmn", "yue-HK"]
    assert {resolve(value).name for value in values} <= QWEN_NAMES


# ---------------------------------------------------------------------------------------------
# Errors


TAIL = "run 'mtpipe languages' to list them"


@pytest.mark.parametrize(
    ("value", "suggestion"),
    [
        ("xx", None),
        ("Klingonese", None),
        ("Germn", "German"),
        ("Tradtional Chinese", "Traditional Chinese"),
        ("Persain", "Western Persian"),
        ("Norwegian Bokmaal", "Norwegian Bokmål"),
    ],
)
def test_unknown_language_names_the_value_and_suggests_a_close_name(
    value: str, suggestion: str | None
) -> None:
    with pytest.raises(ConfigError) as caught:
        resolve(value)
    message = str(caught.value)
    assert message.startswith(f"unknown language {value!r}")
    assert message.endswith(TAIL)
    if suggestion is None:
        assert "did you mean" not in message
    else:
        assert f"did you mean {suggestion!r}?" in message


@pytest.mark.parametrize(
    ("value", "known_as"), [("am", "Amharic"), ("Amharic", "Amharic"), ("ga", "Irish")]
)
def test_a_language_qwen_does_not_translate_is_named_in_the_error(
    value: str, known_as: str
) -> None:
    with pytest.raises(ConfigError, match=f"{known_as} is not one Qwen-MT translates"):
        resolve(value)


def test_unknown_region_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="unknown region 'XX'"):
        resolve("de-XX")


@pytest.mark.parametrize("value", ["", "   ", "\t\n"])
def test_empty_language_is_a_config_error(value: str) -> None:
    with pytest.raises(ConfigError, match="empty language"):
        resolve(value)


def test_language_errors_are_one_line_pipeline_errors_with_exit_code_2() -> None:
    with pytest.raises(PipelineError) as caught:
        resolve("Germn")
    assert caught.value.exit_code == 2
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (["de", "de"], "'de' is listed twice"),
        (["de", "German"], "'German' is listed twice: 'de' is the same language (de)"),
        (["ja", "deu", "DE"], "'DE' is listed twice: 'deu' is the same language (de)"),
        (["pt-BR", "Brazilian Portuguese"], "'Brazilian Portuguese' is listed twice: 'pt-BR' is the same language (pt-BR)"),
    ],
)
def test_a_target_given_twice_is_refused(values: list[str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        resolve_targets(values)
    assert str(caught.value) == message


def test_regional_variants_are_distinct_targets() -> None:
    # Different outputs (pt_BR and pt_PT catalogs, even with different plural rules).
    assert resolve_targets(["pt-BR", "pt-PT", "pt"]) == [
        Language("pt_BR", "Portuguese"), Language("pt_PT", "Portuguese"), Language("pt", "Portuguese")
    ]


def test_resolve_targets_refuses_auto_and_unknown_languages() -> None:
    with pytest.raises(ConfigError, match="only accepted as a source"):
        resolve_targets(["de", "auto"])
    with pytest.raises(ConfigError, match="unknown language 'xx'"):
        resolve_targets(["xx"])


# ---------------------------------------------------------------------------------------------
# auto


@pytest.mark.parametrize("value", ["auto", "AUTO", " Auto "])
def test_auto_is_accepted_when_allowed(value: str) -> None:
    assert resolve(value, allow_auto=True) is AUTO
    assert str(AUTO) == "auto"


def test_auto_is_refused_as_a_target() -> None:
    with pytest.raises(ConfigError, match="only accepted as a source language"):
        resolve("auto")


def test_auto_has_no_plural_rule() -> None:
    with pytest.raises(ConfigError):
        plural_forms(AUTO)


def test_allow_auto_does_not_change_other_languages() -> None:
    assert resolve("de", allow_auto=True) == Language("de", "German")


# ---------------------------------------------------------------------------------------------
# Plural rules


# The gettext ecosystem's rules (GNU gettext's msginit table, then Weblate's language data),
# written out here so that a Babel or CLDR release cannot move them.
@pytest.mark.parametrize(
    ("code", "forms"),
    [
        ("de", (2, "(n != 1)")),
        ("ja", (1, "0")),
        ("zh-TW", (1, "0")),
        ("fr", (2, "(n > 1)")),
        ("es", (2, "(n != 1)")),
        ("it", (2, "(n != 1)")),
        ("ca", (2, "(n != 1)")),
        ("pt", (2, "(n != 1)")),
        ("pt-PT", (2, "(n != 1)")),
        ("pt-BR", (2, "(n > 1)")),
        ("fr-CA", (2, "(n > 1)")),
        ("scn", (2, "(n != 1)")),
        ("vec", (2, "(n != 1)")),
        (
            "ru",
            (3, "(n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 && (n%100<10 || n%100>=20) ? 1 : 2)"),
        ),
        ("pl", (3, "(n==1 ? 0 : n%10>=2 && n%10<=4 && (n%100<10 || n%100>=20) ? 1 : 2)")),
        ("cs", (3, "(n==1) ? 0 : (n>=2 && n<=4) ? 1 : 2")),
        ("sl", (4, "(n%100==1 ? 0 : n%100==2 ? 1 : n%100==3 || n%100==4 ? 2 : 3)")),
        ("lv", (3, "(n%10==1 && n%100!=11 ? 0 : n != 0 ? 1 : 2)")),
        (
            "ar",
            (6, "n==0 ? 0 : n==1 ? 1 : n==2 ? 2 : n%100>=3 && n%100<=10 ? 3 : n%100>=11 ? 4 : 5"),
        ),
        ("hi", (2, "(n > 1)")),
    ],
)
def test_plural_forms_are_the_gettext_ecosystems(code: str, forms: tuple[int, str]) -> None:
    assert plural_forms(resolve(code)) == forms


def test_no_new_catalog_gets_a_form_for_exact_millions() -> None:
    # CLDR 46 (Babel 2.19) added "many" for 1000000, 2000000... in fr, es, it, pt, ca, scn, vec;
    # no gettext tool writes it.
    for lang in all_languages():
        assert "1000000" not in plural_forms(lang)[1], lang


@pytest.mark.parametrize("lang", all_languages(), ids=lambda lang: lang.code)
def test_every_language_has_a_usable_plural_rule(lang: Language) -> None:
    nplurals, expr = plural_forms(lang)
    form_of = gettext.c2py(expr)
    # Every form is used, and 1 and 2 never share one unless the language (Filipino) does.
    assert {form_of(n) for n in range(1001)} == set(range(nplurals))
    if nplurals > 1 and lang.code not in {"tl", "ceb"}:
        assert form_of(1) != form_of(2), lang


@pytest.mark.parametrize("code", ["yue", "id", "ms", "my", "jv", "th", "zh", "ko", "vi"])
def test_languages_without_plurals_get_one_form(code: str) -> None:
    assert plural_forms(resolve(code)) == (1, "0")


@pytest.mark.parametrize("code", ["pag", "war"])
def test_languages_rare_in_gettext_get_its_default(code: str) -> None:
    assert plural_forms(resolve(code)) == (2, "(n != 1)")


@pytest.mark.parametrize("code", ["arz", "acm", "ary", "ajp", "ar-EG"])
def test_arabic_varieties_use_arabics_rule(code: str) -> None:
    assert plural_forms(resolve(code)) == plural_forms(resolve("ar"))


@pytest.mark.parametrize("code", ["tl", "fil", "ceb"])
def test_filipino_rule_singles_out_numbers_ending_in_4_6_9(code: str) -> None:
    nplurals, expr = plural_forms(resolve(code))
    form_of = gettext.c2py(expr)
    assert nplurals == 2
    assert [form_of(n) for n in (0, 1, 2, 3, 4, 6, 9, 10, 14, 21)] == [0, 0, 0, 0, 1, 1, 1, 0, 1, 0]


def test_plural_forms_do_not_ask_babel(monkeypatch: pytest.MonkeyPatch) -> None:
    # Whatever the installed Babel's gettext table says, the rule stays the ecosystem's.
    import babel.messages.plurals as babel_plurals

    monkeypatch.setitem(babel_plurals.PLURALS, "fr", (3, "(n == 0 || n == 1) ? 0 : 2"))
    assert plural_forms(resolve("fr")) == (2, "(n > 1)")

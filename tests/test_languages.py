"""Language resolution (codes, names, regions, errors) and plural rules per language."""

from __future__ import annotations

import gettext

import pytest
from babel import Locale
from babel.plural import PluralRule

from pipeline.errors import ConfigError, PipelineError
from pipeline.language_table import QWEN_LANGUAGES
from pipeline.languages import (
    AUTO,
    QWEN_NAMES,
    Language,
    _from_cldr,
    all_languages,
    plural_categories,
    plural_forms,
    resolve,
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


@pytest.mark.parametrize(
    ("code", "nplurals", "categories"),
    [
        ("ja", 1, ("other",)),
        ("zh-TW", 1, ("other",)),
        ("de", 2, ("one", "other")),
        ("fr", 2, ("one", "other")),
        ("pt-BR", 2, ("one", "other")),
        ("ru", 3, ("one", "few", "many")),
        ("pl", 3, ("one", "few", "many")),
        ("cs", 3, ("one", "few", "other")),
        # Babel's Arabic rule puts 100-102 ("other") before 11-99 ("many").
        ("ar", 6, ("zero", "one", "two", "few", "other", "many")),
        ("sl", 4, ("one", "two", "few", "other")),
        ("lv", 3, ("one", "other", "zero")),
    ],
)
def test_plural_forms_and_categories(code: str, nplurals: int, categories: tuple[str, ...]) -> None:
    lang = resolve(code)
    assert plural_forms(lang)[0] == nplurals
    assert plural_categories(lang) == categories


@pytest.mark.parametrize(
    ("code", "expr"),
    [("de", "(n != 1)"), ("ja", "0"), ("fr", "(n > 1)"), ("pt", "(n != 1)"), ("pt-BR", "(n > 1)")],
)
def test_plural_expressions_follow_babel_and_regions(code: str, expr: str) -> None:
    assert plural_forms(resolve(code))[1] == expr


@pytest.mark.parametrize("code", ["de", "fr", "ru", "pl", "ar", "ja", "cs"])
def test_categories_agree_with_cldr_for_every_integer(code: str) -> None:
    lang = resolve(code)
    _, expr = plural_forms(lang)
    form_of = gettext.c2py(expr)
    categories = plural_categories(lang)
    rule = Locale.parse(code).plural_form
    for n in range(1001):
        assert categories[form_of(n)] == rule(n), n


@pytest.mark.parametrize("lang", all_languages(), ids=lambda lang: lang.code)
def test_every_language_has_a_usable_plural_rule(lang: Language) -> None:
    nplurals, expr = plural_forms(lang)
    categories = plural_categories(lang)
    form_of = gettext.c2py(expr)
    assert len(categories) == nplurals
    assert set(categories) <= CLDR_TAGS
    assert {form_of(n) for n in range(1001)} == set(range(nplurals))
    if nplurals > 1:
        # A writer fills the form of n=1 from the singular source.
        assert categories[form_of(1)] == "one"


@pytest.mark.parametrize("code", ["yue", "id", "ms", "my", "jv"])
def test_languages_without_plurals_in_cldr_get_one_form(code: str) -> None:
    # Babel's gettext table does not list these and would answer (2, "(n != 1)").
    lang = resolve(code)
    assert plural_forms(lang) == (1, "0")
    assert plural_categories(lang) == ("other",)


@pytest.mark.parametrize("code", ["pag", "war"])
def test_languages_without_cldr_data_get_gettexts_default(code: str) -> None:
    lang = resolve(code)
    assert plural_forms(lang) == (2, "(n != 1)")
    assert plural_categories(lang) == ("one", "other")


@pytest.mark.parametrize("code", ["arz", "acm", "ary", "ajp"])
def test_arabic_varieties_use_arabics_rule(code: str) -> None:
    assert plural_forms(resolve(code)) == plural_forms(resolve("ar"))
    assert plural_categories(resolve(code)) == plural_categories(resolve("ar"))


def test_tagalog_rule_comes_from_cldr_and_agrees_with_it() -> None:
    lang = resolve("tl")
    nplurals, expr = plural_forms(lang)
    form_of = gettext.c2py(expr)
    rule = Locale.parse("fil").plural_form
    assert nplurals == 2
    assert all(plural_categories(lang)[form_of(n)] == rule(n) for n in range(1001))


def test_categories_of_a_catalogs_own_header() -> None:
    # GNU gettext's Arabic rule orders the last two forms the other way round from Babel's.
    gnu_arabic = (
        6,
        "n==0 ? 0 : n==1 ? 1 : n==2 ? 2 : n%100>=3 && n%100<=10 ? 3 : n%100>=11 ? 4 : 5",
    )
    assert plural_categories(resolve("ar"), forms=gnu_arabic) == (
        "zero",
        "one",
        "two",
        "few",
        "many",
        "other",
    )
    assert plural_categories(resolve("ja"), forms=(2, "(n != 1)")) == ("other", "other")


def test_a_form_never_reached_is_other() -> None:
    assert plural_categories(resolve("de"), forms=(3, "(n != 1)")) == ("one", "other", "other")


@pytest.mark.parametrize("expr", ["(n == 1", "n +", "import os", "x == 1"])
def test_a_bad_plural_expression_is_a_value_error(expr: str) -> None:
    with pytest.raises(ValueError):
        plural_categories(resolve("de"), forms=(2, expr))


def test_a_cldr_rule_of_no_known_shape_is_translated_by_babel() -> None:
    rule = PluralRule({"one": "n = 1", "two": "n % 10 = 7"})
    nplurals, expr = _from_cldr(rule)
    form_of = gettext.c2py(expr)
    assert nplurals == 3
    forms = {
        tag: {form_of(n) for n in range(1001) if rule(n) == tag} for tag in ("one", "two", "other")
    }
    assert all(len(found) == 1 for found in forms.values())
    assert len({next(iter(found)) for found in forms.values()}) == 3

"""Languages accepted by Qwen-MT: user input (ISO code or English name) to the English name.

The table itself (92 languages, name and Model Studio code) lives in
:mod:`mtpipe.text.language_table`, with its source:
https://www.alibabacloud.com/help/en/model-studio/machine-translation ("Supported languages").

:func:`resolve` takes what users type and returns a :class:`Language` whose ``name`` is the one
Qwen-MT expects and whose ``code`` names files and columns:

- codes in any case, ``-`` or ``_``: ``de``, ``DE``, ``pt-BR``, ``pt_br``, ``zh_tw``, ``deu``;
  Babel/CLDR normalises the language subtag (``iw`` -> ``he``, ``in`` -> ``id``, ``deu`` ->
  ``de``, ``pes`` -> ``fa``) and mtpipe adds ``no`` -> ``nb`` and ``fil`` -> ``tl``, so the code
  is always the table's language code;
- English names, case- and accent-insensitively: Qwen-MT's names ("Traditional Chinese",
  "norwegian bokmal"), CLDR's English names of the same languages ("Persian" -> Western
  Persian, "Albanian" -> Tosk Albanian, "Filipino" -> Tagalog, "Simplified Chinese" -> Chinese)
  and CLDR's territory-qualified names of their regional variants ("Brazilian Portuguese" ->
  ``pt_BR``, "Canadian French" -> ``fr_CA``, "Latin American Spanish" -> ``es_419``).

The returned code is POSIX style: the language code, then ``_REGION`` when the user gave a real
region (``pt-BR`` -> ``pt_BR`` "Portuguese", ``de-CH`` -> ``de_CH`` "German"). Scripts are
dropped except for Chinese, where they pick the Qwen language: ``zh``/``zh-Hans`` -> ``zh``
"Chinese"; ``zh-Hant`` and ``zh-TW`` -> ``zh_TW`` "Traditional Chinese"; ``zh-HK``/``zh-MO``
(traditional by CLDR's likely script) -> ``zh_HK``/``zh_MO`` "Traditional Chinese"; ``zh-CN``
-> ``zh_CN`` "Chinese" (the region is kept, as for every other language, so a ``zh_CN``
catalog keeps its name).

Plural rules (:func:`plural_forms`) come from the gettext ecosystem's table in
:mod:`mtpipe.text.plural_table` (GNU gettext's msginit, then Weblate's language data), not from
the installed CLDR release, so a new catalog gets the Plural-Forms its translators' tools use.
"""

from __future__ import annotations

import difflib
import functools
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from babel import Locale
from babel.core import UnknownLocaleError, get_global, parse_locale

from mtpipe.errors import ConfigError
from mtpipe.text.language_table import QWEN_LANGUAGES
from mtpipe.text.plural_table import DEFAULT_PLURAL_FORMS, GETTEXT_PLURAL_FORMS

__all__ = [
    "AUTO",
    "QWEN_NAMES",
    "Language",
    "accepted_languages",
    "all_languages",
    "plural_forms",
    "resolve",
    "resolve_targets",
]


@dataclass(frozen=True, slots=True)
class Language:
    """A target or source language.

    ``code`` is the POSIX-style code used in paths and column names (``de``, ``pt_BR``,
    ``zh_TW``); ``name`` is the English name Qwen-MT expects in ``translation_options``.
    """

    code: str
    name: str

    def __str__(self) -> str:
        return self.code

    @property
    def tag(self) -> str:
        """The code as users write it, BCP 47 style: ``pt-BR``, ``zh-TW``, ``es-419``."""
        return self.code.replace("_", "-")


AUTO = Language("auto", "auto")

#: Every English name Qwen-MT accepts in ``source_lang`` / ``target_lang`` (besides "auto").
QWEN_NAMES: frozenset[str] = frozenset(name for name, _ in QWEN_LANGUAGES)


def _posix(qwen_code: str) -> str:
    """Model Studio's ``zh_tw`` -> ``zh_TW``; other codes are already POSIX."""
    lang, _, region = qwen_code.partition("_")
    return f"{lang}_{region.upper()}" if region else lang


# Language subtag -> table entry (Traditional Chinese is handled by script, under "zh").
_BY_SUBTAG: dict[str, Language] = {
    code: Language(code, name) for name, code in QWEN_LANGUAGES if "_" not in code
}
_TRADITIONAL = next(Language(_posix(c), n) for n, c in QWEN_LANGUAGES if c == "zh_tw")
# CLDR's canonical subtag differs from the table's (CLDR folds tl into fil, keeps no apart).
_EXTRA_ALIASES = {"no": "nb", "fil": "tl"}
_CODE_SHAPE = re.compile(r"^[A-Za-z]{2,3}(?:[_-][A-Za-z0-9]{2,8})*$")
# Chinese regions users type: the region picks Chinese or Traditional Chinese (by CLDR's likely
# script), and CLDR has no English name for them, so `mtpipe languages` lists them by code.
_CHINESE_REGIONS = ("CN", "HK", "TW")


def _fold(text: str) -> str:
    """Key for name matching: no case, accents, spaces or punctuation ("Bokmål" ~ "bokmal")."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed.casefold() if ch.isalnum())


@functools.cache
def _english() -> Locale:
    return Locale("en")


def _canonical_subtag(lang: str) -> str:
    """Table code for a language subtag, through CLDR's aliases (``iw`` -> ``he``)."""
    if lang in _BY_SUBTAG or lang == "zh":
        return lang
    aliases: Mapping[str, str] = get_global("language_aliases")
    aliased = parse_locale(aliases[lang])[0] if lang in aliases else lang
    return _EXTRA_ALIASES.get(aliased, aliased)


def _chinese(script: str | None, region: str | None) -> Language:
    """Chinese or Traditional Chinese, from the script or the region's likely script."""
    if script is None and region is not None:
        try:
            script = Locale.parse(f"zh_{region}").script
        except (UnknownLocaleError, ValueError):
            script = None
    if script == "Hant":
        return Language(f"zh_{region or 'TW'}", _TRADITIONAL.name)
    return Language(f"zh_{region}" if region else "zh", "Chinese")


def _from_code(value: str) -> Language | None:
    """The table entry a locale code names, or None; ConfigError for a bad region."""
    value = re.split(r"[.@]", value, maxsplit=1)[0]  # de_DE.UTF-8, sr_RS@latin
    if not _CODE_SHAPE.match(value):
        return None
    try:
        lang, region, script, _variant = parse_locale(value.replace("-", "_"))[:4]
    except ValueError:
        return None
    lang = _canonical_subtag(lang.lower())
    if region is not None and region not in _english().territories:
        raise ConfigError(
            f"unknown region {region!r} in language {value!r}: "
            "use a CLDR region such as BR, TW or 419, or none"
        )
    if lang == "zh":
        return _chinese(script, region)
    entry = _BY_SUBTAG.get(lang)
    if entry is None:
        return None
    return Language(f"{entry.code}_{region}", entry.name) if region else entry


def _is_territory_qualified(code: str, english_name: str) -> bool:
    """True when CLDR's name of a regional locale names its language ("Brazilian Portuguese"
    for ``pt_BR``), False when it is another language's name ("Dari" for ``fa_AF``,
    "Flemish" for ``nl_BE``) or the locale has no region."""
    lang, region = parse_locale(code)[:2]
    base = _english().languages.get(lang)
    return region is not None and base is not None and _fold(base) in _fold(english_name)


@functools.cache
def _cldr_named() -> tuple[tuple[str, Language], ...]:
    """CLDR's English names that resolve to a Qwen language, with that language: the names of
    Qwen's languages ("Persian" -> ``fa``) and of their territory-qualified regional variants
    ("Brazilian Portuguese" -> ``pt_BR``), in CLDR's order."""
    named: list[tuple[str, Language]] = []
    for code, english_name in _english().languages.items():
        if parse_locale(code)[1] is not None and not _is_territory_qualified(code, english_name):
            continue
        try:
            found = _from_code(code)
        except ConfigError:
            continue
        if found is not None:
            named.append((english_name, found))
    return tuple(named)


@functools.cache
def _name_index() -> dict[str, Language]:
    """Folded English name -> Language: Qwen's names first, then CLDR's (see _cldr_named)."""
    index = {_fold(lang.name): lang for lang in all_languages()}
    for english_name, found in _cldr_named():
        index.setdefault(_fold(english_name), found)
    return index


@functools.cache
def _cldr_names() -> dict[str, str]:
    """Folded CLDR English name -> name, for every language CLDR knows (not only Qwen's)."""
    return {_fold(name): name for name in _english().languages.values()}


def resolve(value: str, *, allow_auto: bool = False) -> Language:
    """Map an ISO/BCP-47 code, a Qwen-MT code or an English name to a :class:`Language`.

    ``auto`` is accepted only with ``allow_auto`` (source languages) and returns :data:`AUTO`.
    Raises :class:`ConfigError` for an empty value, an unknown region, or a language Qwen-MT
    does not translate; the message suggests the closest name when there is one.
    """
    text = value.strip()
    if not text:
        raise ConfigError("empty language: give a code such as 'de' or a name such as 'German'")
    if text.casefold() == "auto":
        if allow_auto:
            return AUTO
        raise ConfigError("'auto' is only accepted as a source language")
    by_name = _name_index().get(_fold(text))
    if by_name is not None:
        return by_name
    by_code = _from_code(text)
    if by_code is not None:
        return by_code
    raise ConfigError(_unknown_message(text))


def resolve_targets(values: Iterable[str]) -> list[Language]:
    """Resolve target languages in order (:func:`resolve`, ``auto`` refused), each once.

    ConfigError for an unknown language, and for one given twice, in any spelling that
    resolves to the same code (``de``, ``German``, ``deu``): it would be translated twice into
    the same outputs. Variants with their own code (``pt-BR``, ``pt-PT``) are distinct targets.
    """
    targets: dict[Language, str] = {}
    for value in values:
        lang = resolve(value)
        if lang in targets:
            first = targets[lang]
            same = f": {first!r} is the same language ({lang.tag})"
            raise ConfigError(f"{value!r} is listed twice" + ("" if first.strip() == value.strip() else same))
        targets[lang] = value
    return list(targets)


def _unknown_message(text: str) -> str:
    """Why ``text`` is not a language, with a near name or the CLDR language it names."""
    tail = "run 'mtpipe languages' to list them"
    known_as = None
    if _CODE_SHAPE.match(text):
        try:
            lang = _canonical_subtag(parse_locale(text.replace("-", "_"))[0].lower())
            known_as = _english().languages.get(lang)
        except ValueError:
            known_as = None
    if known_as is None:
        known_as = _cldr_names().get(_fold(text))
    if known_as is not None:
        return f"unknown language {text!r} ({known_as} is not one Qwen-MT translates): {tail}"
    index = _name_index()
    close = difflib.get_close_matches(_fold(text), list(index), n=1, cutoff=0.75)
    if close:
        # Suggest the Qwen name even when the near miss was a CLDR name ("Persain").
        return f"unknown language {text!r} (did you mean {index[close[0]].name!r}?): {tail}"
    return f"unknown language {text!r}: {tail}"


def all_languages() -> list[Language]:
    """Every language Qwen-MT translates (92), sorted by English name."""
    return sorted(
        (Language(_posix(code), name) for name, code in QWEN_LANGUAGES),
        key=lambda lang: lang.name.casefold(),
    )


def accepted_languages() -> list[tuple[Language, tuple[str, ...]]]:
    """What ``--to`` accepts, for ``mtpipe languages``: one row per code, with every English
    name that :func:`resolve` maps to exactly that language (Qwen's first, then CLDR's).

    The rows are Qwen's 92 languages and the regional variants users type: those CLDR names
    ("Brazilian Portuguese", "Canadian French", "British English"...) and Chinese by region
    (``zh-CN``, ``zh-HK``, ``zh-TW``). Each variant follows its language, so ``pt``, ``pt_BR``
    and ``pt_PT`` are listed together, under Portuguese.
    """
    variants = [lang for _, lang in _cldr_named() if "_" in lang.code]
    variants += [_chinese(None, region) for region in _CHINESE_REGIONS]
    names: dict[Language, list[str]] = {lang: [] for lang in [*all_languages(), *variants]}
    index = _name_index()
    for name in [lang.name for lang in all_languages()] + [n for n, _ in _cldr_named()]:
        found = index[_fold(name)]
        if found in names and _fold(name) not in map(_fold, names[found]):
            names[found].append(name)

    def order(lang: Language) -> tuple[str, bool, str]:
        subtag = lang.code.partition("_")[0]
        return (_BY_SUBTAG[subtag].name.casefold(), lang.code != subtag, lang.code)

    return [(lang, tuple(names[lang])) for lang in sorted(names, key=order)]


# ---------------------------------------------------------------------------------------------
# Plural rules


def plural_forms(lang: Language) -> tuple[int, str]:
    """The gettext plural rule a new catalog for ``lang`` gets, as ``(nplurals, C expression)``.

    ``de`` -> ``(2, "(n != 1)")``, ``fr`` -> ``(2, "(n > 1)")``, ``ja`` -> ``(1, "0")``, ``ar``
    -> 6 forms: the gettext ecosystem's table (:mod:`mtpipe.text.plural_table`), the same whatever
    Babel or CLDR release is installed. A regional code uses its region's entry where there is
    one (``pt_BR`` -> ``(2, "(n > 1)")``), else its language's.
    """
    if lang == AUTO:
        raise ConfigError("'auto' has no plural rule: plural forms need a target language")
    subtag = lang.code.partition("_")[0]
    for key in (lang.code, subtag):
        if key in GETTEXT_PLURAL_FORMS:
            return GETTEXT_PLURAL_FORMS[key]
    return DEFAULT_PLURAL_FORMS

"""The ``Plural-Forms`` a new gettext catalog gets, per language: the gettext ecosystem's table.

Catalogs are shared between translators, msgfmt, Poedit, Weblate and translate-toolkit, and
the forms of every existing translation are indexed by the catalog's rule, so mtpipe writes the
rule those tools write, kept here as data so that it does not move with the installed Babel or
CLDR release (Babel 2.19, with CLDR 46, gave French, Spanish, Italian, Portuguese and Catalan a
third form for exact millions, which no gettext tool uses). The sources, in order:

1. GNU gettext's own table (``msginit``'s ``plural-table.c``), verbatim, for the 38 languages it
   lists (and ``pt_BR``, its one regional entry);
2. for every other language Qwen-MT translates, Weblate's language data
   (WeblateOrg/language-data ``languages.csv``), which translate-toolkit and Weblate write;
   except that Sicilian and Venetian, which that data gives CLDR's third form for exact
   millions, get the two forms gettext gives Italian and Spanish;
3. the Arabic varieties (Egyptian, Najdi, Levantine...) take Arabic's rule, as their catalogs
   (``ar_EG``, ``ar_MA``) do.

A language missing here (none of the 92 is) gets gettext's default ``(2, "(n != 1)")``.
"""

from __future__ import annotations

_RU = "(n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 && (n%100<10 || n%100>=20) ? 1 : 2)"
_AR = "n==0 ? 0 : n==1 ? 1 : n==2 ? 2 : n%100>=3 && n%100<=10 ? 3 : n%100>=11 ? 4 : 5"
_FIL = "n != 1 && n != 2 && n != 3 && (n % 10 == 4 || n % 10 == 6 || n % 10 == 9)"
_ONE = (1, "0")
_NOT_ONE = (2, "(n != 1)")
_ABOVE_ONE = (2, "(n > 1)")

#: gettext's default rule, for a language without an entry.
DEFAULT_PLURAL_FORMS: tuple[int, str] = _NOT_ONE

#: Language code (POSIX: ``pt_BR``) -> (nplurals, plural expression). A regional code that is
#: not listed follows its language (``de_CH`` -> ``de``).
GETTEXT_PLURAL_FORMS: dict[str, tuple[int, str]] = {
    # 1. GNU gettext's msginit table.
    "be": (3, _RU),
    "bg": _NOT_ONE,
    "cs": (3, "(n==1) ? 0 : (n>=2 && n<=4) ? 1 : 2"),
    "da": _NOT_ONE,
    "de": _NOT_ONE,
    "el": _NOT_ONE,
    "en": _NOT_ONE,
    "eo": _NOT_ONE,
    "es": _NOT_ONE,
    "et": _NOT_ONE,
    "fi": _NOT_ONE,
    "fo": _NOT_ONE,
    "fr": _ABOVE_ONE,
    "ga": (3, "n==1 ? 0 : n==2 ? 1 : 2"),
    "he": _NOT_ONE,
    "hr": (3, _RU),
    "hu": _NOT_ONE,
    "it": _NOT_ONE,
    "ja": _ONE,
    "ko": _ONE,
    "lt": (3, "(n%10==1 && n%100!=11 ? 0 : n%10>=2 && (n%100<10 || n%100>=20) ? 1 : 2)"),
    "lv": (3, "(n%10==1 && n%100!=11 ? 0 : n != 0 ? 1 : 2)"),
    "nb": _NOT_ONE,
    "nl": _NOT_ONE,
    "nn": _NOT_ONE,
    "no": _NOT_ONE,
    "pl": (3, "(n==1 ? 0 : n%10>=2 && n%10<=4 && (n%100<10 || n%100>=20) ? 1 : 2)"),
    "pt": _NOT_ONE,
    "pt_BR": _ABOVE_ONE,
    "ro": (3, "n==1 ? 0 : (n==0 || (n%100 > 0 && n%100 < 20)) ? 1 : 2"),
    "ru": (3, _RU),
    "sk": (3, "(n==1) ? 0 : (n>=2 && n<=4) ? 1 : 2"),
    "sl": (4, "(n%100==1 ? 0 : n%100==2 ? 1 : n%100==3 || n%100==4 ? 2 : 3)"),
    "sr": (3, _RU),
    "sv": _NOT_ONE,
    "tr": _NOT_ONE,
    "uk": (3, _RU),
    "vi": _ONE,
    # 2. Weblate's language data, for the rest of Qwen-MT's languages.
    "af": _NOT_ONE,
    "ar": (6, _AR),
    "as": _ABOVE_ONE,
    "ast": _NOT_ONE,
    "az": _NOT_ONE,
    "bn": _ABOVE_ONE,
    "bs": (3, _RU),
    "ca": _NOT_ONE,
    "ceb": (2, _FIL),
    "cy": (6, "(n==0) ? 0 : (n==1) ? 1 : (n==2) ? 2 : (n==3) ? 3 :(n==6) ? 4 : 5"),
    "eu": _NOT_ONE,
    "fa": _ABOVE_ONE,
    "gl": _NOT_ONE,
    "gu": _ABOVE_ONE,
    "hi": _ABOVE_ONE,
    "hy": _ABOVE_ONE,
    "id": _ONE,
    "is": (2, "n % 10 != 1 || n % 100 == 11"),
    "jv": _ONE,
    "ka": _NOT_ONE,
    "kk": _NOT_ONE,
    "km": _ONE,
    "kn": _ABOVE_ONE,
    "lb": _NOT_ONE,
    "lo": _ONE,
    "mai": _NOT_ONE,
    "mk": (2, "n==1 || n%10==1 ? 0 : 1"),
    "mr": _NOT_ONE,
    "ms": _ONE,
    "mt": (4, "n==1 ? 0 : n==0 || ( n%100>1 && n%100<11) ? 1 : (n%100>10 && n%100<20 ) ? 2 : 3"),
    "my": _ONE,
    "ne": _NOT_ONE,
    "oc": _ABOVE_ONE,
    "or": _NOT_ONE,
    "pag": _NOT_ONE,
    "scn": _NOT_ONE,
    "sd": _NOT_ONE,
    "si": _ABOVE_ONE,
    "sq": _NOT_ONE,
    "sw": _NOT_ONE,
    "ta": _NOT_ONE,
    "te": _NOT_ONE,
    "th": _ONE,
    "tl": (2, _FIL),
    "ur": _NOT_ONE,
    "uz": _NOT_ONE,
    "vec": _NOT_ONE,
    "war": _NOT_ONE,
    "yue": _ONE,
    "zh": _ONE,
    # 3. The Arabic varieties.
    **{code: (6, _AR) for code in ("acm", "acq", "aeb", "ajp", "apc", "ars", "arz", "ary")},
}

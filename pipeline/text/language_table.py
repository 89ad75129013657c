"""The languages Qwen-MT (qwen-mt-plus / -flash / -turbo) translates: English name and code.

The English name is what goes into ``translation_options.source_lang`` / ``target_lang``; the
code is the one in Model Studio's "Supported languages" table (``zh_tw`` is Qwen's spelling,
mtpipe turns it into ``zh_TW``).

Source: Alibaba Cloud Model Studio, "Machine translation (Qwen-MT)", section "Supported
languages": https://www.alibabacloud.com/help/en/model-studio/machine-translation
(Chinese: https://help.aliyun.com/zh/model-studio/machine-translation). The stored copies of
that page available when this was written did not include the table itself, so the list was
rebuilt from a client that embeds it in the page's order (KarasuShin/bob-plugin-qwen-mt-translator,
``src/lang.ts``: 81 rows, with Khmer mislabelled "Turkish" there) plus the rows that client
leaves out, which are marked ``# unconfirmed`` below: the eight Arabic varieties, Norwegian
Nynorsk, Sicilian and Venetian. Their names follow the Qwen3 language list (FLORES-200
naming) that Qwen-MT's table uses; the exact spelling of "Ta'izzi-Adeni Arabic" (ASCII
apostrophe) in Qwen's table is unverified. Check them against the page before relying on them.
"""

from __future__ import annotations

#: (English name Qwen-MT expects, Model Studio code), in the order of Model Studio's table.
QWEN_LANGUAGES: tuple[tuple[str, str], ...] = (
    ("English", "en"),
    ("Chinese", "zh"),
    ("Traditional Chinese", "zh_tw"),
    ("Russian", "ru"),
    ("Japanese", "ja"),
    ("Korean", "ko"),
    ("Spanish", "es"),
    ("French", "fr"),
    ("Portuguese", "pt"),
    ("German", "de"),
    ("Italian", "it"),
    ("Thai", "th"),
    ("Vietnamese", "vi"),
    ("Indonesian", "id"),
    ("Malay", "ms"),
    ("Arabic", "ar"),
    ("Hindi", "hi"),
    ("Hebrew", "he"),
    ("Burmese", "my"),
    ("Tamil", "ta"),
    ("Urdu", "ur"),
    ("Bengali", "bn"),
    ("Polish", "pl"),
    ("Dutch", "nl"),
    ("Romanian", "ro"),
    ("Turkish", "tr"),
    ("Khmer", "km"),
    ("Lao", "lo"),
    ("Cantonese", "yue"),
    ("Czech", "cs"),
    ("Greek", "el"),
    ("Swedish", "sv"),
    ("Hungarian", "hu"),
    ("Danish", "da"),
    ("Finnish", "fi"),
    ("Ukrainian", "uk"),
    ("Bulgarian", "bg"),
    ("Serbian", "sr"),
    ("Telugu", "te"),
    ("Afrikaans", "af"),
    ("Armenian", "hy"),
    ("Assamese", "as"),
    ("Asturian", "ast"),
    ("Basque", "eu"),
    ("Belarusian", "be"),
    ("Bosnian", "bs"),
    ("Catalan", "ca"),
    ("Cebuano", "ceb"),
    ("Croatian", "hr"),
    ("Egyptian Arabic", "arz"),  # unconfirmed
    ("Estonian", "et"),
    ("Galician", "gl"),
    ("Georgian", "ka"),
    ("Gujarati", "gu"),
    ("Icelandic", "is"),
    ("Javanese", "jv"),
    ("Kannada", "kn"),
    ("Kazakh", "kk"),
    ("Latvian", "lv"),
    ("Lithuanian", "lt"),
    ("Luxembourgish", "lb"),
    ("Macedonian", "mk"),
    ("Maithili", "mai"),
    ("Maltese", "mt"),
    ("Marathi", "mr"),
    ("Mesopotamian Arabic", "acm"),  # unconfirmed
    ("Moroccan Arabic", "ary"),  # unconfirmed
    ("Najdi Arabic", "ars"),  # unconfirmed
    ("Nepali", "ne"),
    ("North Azerbaijani", "az"),
    ("North Levantine Arabic", "apc"),  # unconfirmed
    ("Northern Uzbek", "uz"),
    ("Norwegian Bokmål", "nb"),
    ("Norwegian Nynorsk", "nn"),  # unconfirmed
    ("Occitan", "oc"),
    ("Odia", "or"),
    ("Pangasinan", "pag"),
    ("Sicilian", "scn"),  # unconfirmed
    ("Sindhi", "sd"),
    ("Sinhala", "si"),
    ("Slovak", "sk"),
    ("Slovenian", "sl"),
    ("South Levantine Arabic", "ajp"),  # unconfirmed
    ("Swahili", "sw"),
    ("Tagalog", "tl"),
    ("Ta'izzi-Adeni Arabic", "acq"),  # unconfirmed
    ("Tosk Albanian", "sq"),
    ("Tunisian Arabic", "aeb"),  # unconfirmed
    ("Venetian", "vec"),  # unconfirmed
    ("Waray", "war"),
    ("Welsh", "cy"),
    ("Western Persian", "fa"),
)


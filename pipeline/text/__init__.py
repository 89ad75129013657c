"""Text and languages, the bottom layer: what every other package speaks.

- :mod:`~mtpipe.text.segments`: the segment a format reads and the run translates.
- :mod:`~mtpipe.text.protect`: placeholders, tags and other spans kept, and the checks after.
- :mod:`~mtpipe.text.languages`: user input to the language Qwen-MT expects, and plural rules;
  its tables in :mod:`~mtpipe.text.language_table` and :mod:`~mtpipe.text.plural_table`.
- :mod:`~mtpipe.text.glossary`: glossaries sent as Qwen-MT terms.

May import :mod:`mtpipe.errors` only.
"""

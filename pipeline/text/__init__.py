"""Text and languages, the bottom layer: what every other package speaks.

- :mod:`~pipeline.text.segments`: the segment a format reads and the run translates.
- :mod:`~pipeline.text.protect`: placeholders, tags and other spans kept, and the checks after.
- :mod:`~pipeline.text.languages`: user input to the language Qwen-MT expects, and plural rules;
  its tables in :mod:`~pipeline.text.language_table` and :mod:`~pipeline.text.plural_table`.
- :mod:`~pipeline.text.glossary`: glossaries sent as Qwen-MT terms.

May import :mod:`pipeline.errors` only.
"""

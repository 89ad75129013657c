"""What runs leave behind and read back: the SQLite cache, the JSONL ledger, model prices.

- :mod:`~mtpipe.records.cache`: translations by content key, and what a run learned about the
  engine.
- :mod:`~mtpipe.records.ledger`: one line per finished request, plus run start/end lines.
- :mod:`~mtpipe.records.prices`: per-model prices, for estimates and cost.

May import :mod:`mtpipe.errors` only.
"""

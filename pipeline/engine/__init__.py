"""Everything between units and HTTP: the unit of work, client, pool and its parts, pacing,
retries, packing (with the reply statistics and the end-of-run plan) and reply verification,
token counting, the engines (Qwen-MT, chat, pseudo).

May import :mod:`mtpipe.records` (the pool records to the cache and the ledger, and prices
what it spends), :mod:`mtpipe.text` and :mod:`mtpipe.errors`; never the run, jobs or CLI.
"""

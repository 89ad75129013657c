"""mtpipe: batch document translation over Qwen-MT (or the offline pseudo engine).

Packages, each importing only those listed after it: ``cli`` (the command line, the only
screen) > ``jobs`` (job files, run reports, the lock) > ``run`` (one translation run) and
``integrations`` (Ray Data) > ``formats`` (file formats) and ``engine`` (units to HTTP) >
``records`` (cache, ledger, prices) > ``text`` (segments, protection, languages, glossary) >
``errors``. ``testing`` (the Qwen-MT emulator) sits beside them, on ``engine`` and ``text``.
"""

__version__ = "0.1.0"

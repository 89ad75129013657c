"""mtpipe: batch document translation over Qwen-MT (or the offline pseudo engine)."""

__version__ = "0.1.0"

"""Token estimates used for packing and pacing before the provider reports real usage.

The estimate is deliberately simple and slightly pessimistic for Latin text: about one token
per 3.5 characters, one token per CJK/Hangul/kana character. The emulator bills with the same
function, and the pacer reconciles estimates with the usage each response reports.
"""

from __future__ import annotations

import math
import re

#: Template overhead Qwen-MT adds to every request's prompt (see reference/qwen-mt.md).
REQUEST_OVERHEAD_TOKENS = 45

_WIDE = re.compile(r"[\u1100-\u11ff\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\U00020000-\U0002fa1f]")


def estimate_tokens(text: str) -> int:
    """Estimated tokens of ``text``: ceil(narrow chars / 3.5) + wide (CJK) chars."""
    if not text:
        return 0
    wide = len(_WIDE.findall(text))
    narrow = len(text) - wide
    return wide + math.ceil(narrow / 3.5)

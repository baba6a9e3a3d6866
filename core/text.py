"""Text that every encoder accepts and every server limit fits: no lone surrogates, cut in bytes.

JSON may carry a lone surrogate (``"\\ud800"``); Python keeps it in a str, and the first UTF-8
encoder it meets (Temporal's payload converter, a log renderer, Telegram's JSON) fails. Limits set
by servers (Temporal's 2,048-byte keyword) count UTF-8 bytes, not characters.
"""

from __future__ import annotations

import re

_SURROGATE = re.compile("[\ud800-\udfff]")


def replace_surrogates(text: str) -> str:
    """Lone surrogates -> U+FFFD (json.loads already joined valid pairs into one character)."""
    return _SURROGATE.sub("\ufffd", text) if _SURROGATE.search(text) else text


def cut_utf8(text: str, limit: int) -> str:
    """``text`` without lone surrogates, cut to at most ``limit`` UTF-8 bytes on a character boundary."""
    cleaned = replace_surrogates(text)
    encoded = cleaned.encode("utf-8")
    if len(encoded) <= limit:
        return cleaned
    return encoded[:limit].decode("utf-8", "ignore")


__all__ = ["cut_utf8", "replace_surrogates"]

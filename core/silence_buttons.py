"""The card's Silence buttons: what their callback data says, both ways (pure, no I/O).

``sil:<kind>:<token>``: kind ``1h`` / ``4h`` / ``mr`` ("Mute until resolved"), token the 24 hex digits
the incident's verdict registered for its workflow (core/incident/silencing.py). At most 31 bytes,
well under Telegram's 64; the approval buttons' ``rp:a:...`` never parses as one of these.
"""

from __future__ import annotations

import re
from datetime import timedelta

__all__ = ["KINDS", "parse_silence_data", "silence_data"]

_PREFIX = "sil"
_TOKEN = re.compile(r"^[0-9a-f]{8,32}$")
# kind -> duration (None: until the incident resolves), in the order the buttons are shown.
KINDS: dict[str, timedelta | None] = {"1h": timedelta(hours=1), "4h": timedelta(hours=4), "mr": None}


def silence_data(kind: str, token: str) -> str:
    if kind not in KINDS:
        raise ValueError(f"unknown silence button {kind!r}")
    return f"{_PREFIX}:{kind}:{token}"


def parse_silence_data(data: str) -> tuple[str, str] | None:
    """(kind, token) for one of our Silence buttons, None for anything else."""
    parts = data.split(":")
    if len(parts) != 3 or parts[0] != _PREFIX or parts[1] not in KINDS or not _TOKEN.match(parts[2]):
        return None
    return parts[1], parts[2]

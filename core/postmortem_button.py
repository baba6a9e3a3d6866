"""The resolved card's "Postmortem" button: its callback data, both ways, and the names of what it sends
(pure, no I/O; docs/adr/0026-timelines-from-histories.md, "The Postmortem button").

``pm:<token>``: 24 hex digits derived from the incident id and the moment it resolved, so each
resolution of an incident (a re-opened one resolves again) has a button of its own, and 27 bytes stay
well under Telegram's 64. The card activity registers the token in the ledger (token -> incident id)
before a card carrying the button is sent; a tap reads it back in the API.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from enum import StrEnum

from core.models import IncidentStatus, IncidentView
from core.probe import is_probe

__all__ = ["Claim", "wants_postmortem_button", "document_name", "ledger_token", "parse_postmortem_data", "postmortem_data", "postmortem_token"]

_PREFIX = "pm"
_TOKEN = re.compile(r"^[0-9a-f]{24}$")
# The ledger's token registry holds approval, ack and postmortem tokens side by side.
_LEDGER_PREFIX = "pm-"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def wants_postmortem_button(view: IncidentView) -> bool:
    """A resolved incident's card; not a probe's (its workflow is no incident's: no history to draft from)."""
    return view.status is IncidentStatus.RESOLVED and not is_probe(view.alert)


def postmortem_token(incident_id: str, resolved_at: datetime | None) -> str:
    stamp = resolved_at.isoformat() if resolved_at is not None else ""
    return hashlib.sha256(f"{incident_id}\x1f{stamp}".encode()).hexdigest()[:24]


def postmortem_data(token: str) -> str:
    return f"{_PREFIX}:{token}"


def parse_postmortem_data(data: str) -> str | None:
    """The token of a Postmortem button's callback data, None for any other button."""
    prefix, _, token = data.partition(":")
    if prefix != _PREFIX or not _TOKEN.match(token):
        return None
    return token


def ledger_token(token: str) -> str:
    """Where the ledger keeps the token (never colliding with an approval or an ack token)."""
    return _LEDGER_PREFIX + token


def document_name(incident_id: str) -> str:
    """``postmortem-<incident>.md``, safe as a multipart filename whatever the incident id holds."""
    return f"postmortem-{_UNSAFE.sub('_', incident_id)[:180]}.md"


class Claim(StrEnum):
    """What a tap found when it asked to send the document (core.ports.PostmortemMarks.claim)."""

    MINE = "mine"  # send it
    MINE_MAY_REPEAT = "mine_may_repeat"  # send it; an earlier attempt may have reached the chat
    SENDING = "sending"  # another tap is sending it now
    SENT = "sent"  # already in the chat

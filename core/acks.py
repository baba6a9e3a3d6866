"""Acknowledgements: "I'm on it" said about an incident, from the card, the chat, the API or the CLI.

An ack is not an approval (docs/adr/0025-acks-and-escalation.md): it says a human has seen the
incident and is looking, which stops its re-notifications and escalation; it decides nothing about
a repair. All four ways in are the incident workflow's ``ack`` update, so the answer is the same
whoever asks: the first person's ack is recorded, the same person again changes nothing, and anyone
after them is told who acked first.

The Ack button's callback data cannot hold an incident id (Telegram allows 64 bytes), so it holds a
token derived from the workflow id, registered in the ledger when a card with the button is sent.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from core.models import Acknowledgement

ACK_UPDATE = "ack"
_CALLBACK_PREFIX = "ak"
# The ledger's approval registry maps tokens to workflow ids; ack tokens live there under this prefix.
_LEDGER_PREFIX = "ack-"


class AckRequest(BaseModel):
    """The ``ack`` update's input (the timeline decodes ``by``, ``via``, ``at`` and ``note``)."""

    by: str = Field(min_length=1, max_length=100)
    # The Telegram user id when the tap or command came from Telegram: the same person by id.
    by_id: str | None = None
    via: Literal["telegram", "api", "cli", "chat"]
    at: datetime
    note: str = Field(default="", max_length=500)

    def acknowledgement(self) -> Acknowledgement:
        return Acknowledgement(by=self.by, by_id=self.by_id, via=self.via, at=self.at)


class AckAnswer(BaseModel):
    accepted: bool
    message: str
    # Who acked first and when (the request's own person on a first ack).
    by: str
    at: datetime


def same_person(first: AckRequest | Acknowledgement, second: AckRequest | Acknowledgement) -> bool:
    return (first.by_id or first.by) == (second.by_id or second.by)


def ack_token(workflow_id: str) -> str:
    """32 hex characters naming the workflow in the Ack button's callback data."""
    return hashlib.sha256(workflow_id.encode()).hexdigest()[:32]


def ledger_token(token: str) -> str:
    """Where the ledger keeps the ack token (beside approval tokens, never colliding with one)."""
    return _LEDGER_PREFIX + token


def ack_callback_data(workflow_id: str) -> str:
    return f"{_CALLBACK_PREFIX}:{ack_token(workflow_id)}"


def parse_ack_callback(data: str) -> str | None:
    """The token of an Ack button's callback data, None for any other button."""
    prefix, _, token = data.partition(":")
    if prefix != _CALLBACK_PREFIX or len(token) != 32 or not all(c in "0123456789abcdef" for c in token):
        return None
    return token

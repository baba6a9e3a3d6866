"""What awoooi says in a chat, whatever the chat: a message with its buttons, and the references and
keys that find it again.

A chat adapter (activities/chat/telegram/ today) turns a :class:`ChatMessage` into its API's call and
its answer into a string reference: a Telegram message id, a Slack ``ts``. The card activities
(activities/chat/cards.py) never see anything chat-specific.
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class Button(BaseModel):
    """A button under a message; ``data`` comes back when someone taps it (Telegram allows 64 bytes)."""

    label: str
    data: str = Field(max_length=64)


class ChatMessage(BaseModel):
    """The text, already in the chat's own markup (its renderer wrote it), and rows of buttons."""

    text: str
    buttons: list[list[Button]] = Field(default_factory=list)


class MessageKey:
    """Names one message awoooi sends once (a card, a digest, an escalation, a replacement card),
    so a retried activity finds the message it already sent instead of sending a second one."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    @classmethod
    def card(cls, card_key: str) -> MessageKey:
        return cls(f"card:{card_key}")

    @classmethod
    def replacement(cls, card_key: str, gone: str) -> MessageKey:
        """The card sent again because the one with reference ``gone`` was deleted in the chat."""
        return cls(f"card:{card_key}:replacing:{gone}")

    @classmethod
    def digest(cls, chat_id: str, slot: int) -> MessageKey:
        """One storm digest message of a chat (slot numbers are never reused in a chat)."""
        return cls(f"digest:{chat_id}:{slot}")

    @classmethod
    def digest_replacement(cls, chat_id: str, slot: int, gone: str) -> MessageKey:
        return cls(f"digest:{chat_id}:{slot}:replacing:{gone}")

    @classmethod
    def escalation(cls, escalation_key: str) -> MessageKey:
        return cls(f"escalation:{escalation_key}")

    @classmethod
    def renotify(cls, notify_key: str) -> MessageKey:
        """A re-notification or escalation of an unacknowledged incident (docs/adr/0025)."""
        return cls(f"renotify:{notify_key}")

    def __repr__(self) -> str:
        return f"MessageKey({self.name!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MessageKey) and other.name == self.name

    def __hash__(self) -> int:
        return hash(self.name)

"""Text commands in the operators' chat (`/ack <incident-id>`, ...): a message update to the Telegram
webhook, routed by its command name to one handler.

Who may: only a message in AWOOOI_TELEGRAM_CHAT_ID (the operators' chat) is read at all, and only
from someone in AWOOOI_TELEGRAM_APPROVER_IDS; anyone else is told so, and nothing changes. Each
handler returns the text of the reply, which is sent as a reply to the command's message. The
webhook has already taken the update once by its update_id (starter/telegram_updates.py).

Adding a command: write ``async def handler(command: ChatCommand) -> str`` and ``register`` it
under its name (without the slash) in the composition (starter/telegram_updates.py). A handler
raises :class:`CommandRefused` for bad syntax or a refusal: its message is the reply.
"""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import structlog
from temporalio.client import Client

from core.acks import AckRequest
from core.chat import ChatMessage
from core.errors import DecisionRefused, NotFound, UpstreamError
from core.identity import workflow_id_for
from core.ports import ChatChannel
from core.settings import Settings
from starter.approvals import send_ack

log = structlog.get_logger(__name__)

# The shape of an incident id (starter/http/incidents.py checks the same).
_MAX_ID = 300


@dataclass(frozen=True)
class ChatCommand:
    update_id: int
    chat_id: str
    message_id: int
    user_id: int
    who: str
    # Without the slash and any "@botname" suffix, lower case.
    name: str
    args: list[str]
    # The rest of the text after the command, as typed (a comment may hold spaces).
    rest: str


class CommandRefused(Exception):
    """Bad syntax, or a refusal: the message is the reply, and nothing changed."""


Handler = Callable[[ChatCommand], Awaitable[str]]


def parse_command(update: dict[str, Any]) -> ChatCommand | None:
    """The command in a message update ("/ack x"), or None for any other message."""
    message = update.get("message")
    if not isinstance(message, dict):
        return None
    text, chat, sender = message.get("text"), message.get("chat"), message.get("from")
    if not isinstance(text, str) or not text.startswith("/") or not isinstance(chat, dict) \
            or not isinstance(sender, dict) or not isinstance(sender.get("id"), int) \
            or not isinstance(message.get("message_id"), int):
        return None
    head, _, rest = text.strip().partition(" ")
    name = head[1:].split("@", 1)[0].lower()
    username = sender.get("username")
    who = f"@{username}" if username else " ".join(
        str(sender.get(k)) for k in ("first_name", "last_name") if sender.get(k)) or str(sender["id"])
    return ChatCommand(update_id=update["update_id"], chat_id=str(chat.get("id")), message_id=message["message_id"],
                       user_id=sender["id"], who=who[:100], name=name, args=rest.split(), rest=rest.strip())


class ChatCommands:
    def __init__(self, settings: Settings, chat: ChatChannel | None) -> None:
        self._settings = settings
        self._chat = chat
        self._handlers: dict[str, Handler] = {}

    def register(self, name: str, handler: Handler) -> None:
        self._handlers[name] = handler

    async def handle(self, command: ChatCommand) -> dict[str, str]:
        """Route one command; reply in the chat; what the webhook answers Telegram."""
        bound = log.bind(update_id=command.update_id, telegram_user_id=command.user_id, command=command.name)
        if command.chat_id != (self._settings.telegram_chat_id or ""):
            return {"status": "ignored", "reason": "not the operators' chat"}
        handler = self._handlers.get(command.name)
        if handler is None:
            return {"status": "ignored", "reason": f"not an awoooi command: /{command.name}"}
        if command.user_id not in self._settings.telegram_approver_ids:
            bound.warning("chat command refused: not an approver", who=command.who)
            status, text = "refused", f"/{command.name}: you are not allowed to do this here."
        else:
            try:
                status, text = "accepted", await handler(command)
            except CommandRefused as exc:
                status, text = "refused", str(exc)
        bound.info("chat command handled", status=status)
        await self._reply(command, text)
        return {"status": status, "detail": text}

    async def _reply(self, command: ChatCommand, text: str) -> None:
        """Best effort: the command's effect stands whether or not the reply reaches the chat."""
        if self._chat is None:
            return
        try:
            await self._chat.send(command.chat_id, ChatMessage(text=html.escape(text, quote=False)),
                                  reply_to=str(command.message_id))
        except UpstreamError as exc:
            log.warning("chat command reply not sent", update_id=command.update_id, error=str(exc))


class AckCommand:
    """`/ack <incident-id> [note]`: the ``ack`` update, as the card's button and the API do it."""

    def __init__(self, settings: Settings, temporal: Client) -> None:
        self._settings = settings
        self._temporal = temporal

    async def __call__(self, command: ChatCommand) -> str:
        if not command.args or len(command.args[0]) > _MAX_ID:
            raise CommandRefused("usage: /ack <incident-id> [note] (the id is on the card)")
        incident_id = command.args[0]
        note = command.rest[len(incident_id):].strip()[:500]
        request = AckRequest(by=command.who, by_id=str(command.user_id), via="chat", at=datetime.now(timezone.utc),
                             note=note)
        try:
            answer = await send_ack(self._temporal, workflow_id_for(incident_id), request,
                                    timeout=self._settings.temporal_rpc_timeout_seconds)
        except (DecisionRefused, NotFound) as exc:
            raise CommandRefused(f"/ack {incident_id}: {exc}") from exc
        return answer.message


__all__ = ["AckCommand", "ChatCommand", "ChatCommands", "CommandRefused", "parse_command"]

"""Commands typed in the operators' chat: a Telegram ``message`` update to POST /api/v1/webhooks/telegram.

One small router: ``/name args`` (or ``/name@bot args`` in a group) goes to the handler registered
for ``name``. Checks, in order, each answered in the chat as a reply to the command:
1. the message comes from the operators' chat (AWOOOI_TELEGRAM_CHAT_ID); anything else is ignored
   without a word, so the bot never talks to strangers;
2. it is a command (starts with ``/``) the router knows; other text is ignored, an unknown command
   gets the list of the known ones;
3. the sender is one of AWOOOI_TELEGRAM_APPROVER_IDS (else "not allowed", logged with the id);
4. the handler's own syntax check: a bad one is answered with its usage, nothing changed.
The update_id is taken once (the caller's ledger), like a button tap.

Handlers live in their own modules (starter/chat_silences.py, starter/chat_status.py) and return
the reply as Telegram HTML; the acks helper's ``/ack`` registers here the same way.
"""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import structlog

from core.chat import ChatMessage
from core.errors import PayloadError, UpstreamError
from core.ports import ChatChannel
from core.settings import Settings

log = structlog.get_logger(__name__)

# Telegram's message limit; a reply is cut to it.
MAX_REPLY = 4000


@dataclass(frozen=True)
class ChatCommand:
    update_id: int
    chat_id: str
    message_id: str
    user_id: int
    who: str
    name: str
    args: str


class CommandRefused(Exception):
    """Bad syntax or a request that cannot be done: the message is the answer, nothing changed."""


# A handler: the command -> its reply (Telegram HTML). Raises CommandRefused for a clear "no".
Handler = Callable[[ChatCommand], Awaitable[str]]


def parse_command(update: Any) -> ChatCommand | None:
    """The command in a ``message`` update, or None for anything else (ignored)."""
    if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
        raise PayloadError("not a Telegram update: update_id (integer) is required")
    message = update.get("message")
    if not isinstance(message, dict):
        return None
    text, chat, sender = message.get("text"), message.get("chat"), message.get("from")
    if not isinstance(text, str) or not text.startswith("/"):
        return None
    if not isinstance(chat, dict) or not isinstance(sender, dict) or not isinstance(sender.get("id"), int) \
            or not isinstance(message.get("message_id"), int):
        return None  # a channel post or a service message: nobody to answer, nothing to do
    head, _, args = text.strip().partition(" ")
    name = head[1:].split("@", 1)[0].lower()
    username = sender.get("username")
    who = f"@{username}" if username else " ".join(
        str(sender.get(k)) for k in ("first_name", "last_name") if sender.get(k)) or str(sender["id"])
    return ChatCommand(update["update_id"], str(chat.get("id")), str(message["message_id"]), sender["id"],
                       who[:100], name, args.strip())


class ChatCommands:
    def __init__(self, settings: Settings, chat: ChatChannel | None) -> None:
        self._settings = settings
        self._chat = chat
        self._handlers: dict[str, tuple[Handler, str]] = {}

    def register(self, name: str, handler: Handler, usage: str) -> None:
        self._handlers[name] = (handler, usage)

    def operators_chat(self, command: ChatCommand) -> bool:
        return self._settings.telegram_chat_id is not None and command.chat_id == str(self._settings.telegram_chat_id)

    async def handle(self, command: ChatCommand) -> dict[str, str]:
        """Run it and answer in the chat; what the webhook answers Telegram (always a 2xx shape)."""
        bound = log.bind(update_id=command.update_id, telegram_user_id=command.user_id, command=command.name)
        status, reply = await self._run(command, bound)
        await self._reply(command, reply)
        return {"status": status, "detail": reply[:200]}

    async def _run(self, command: ChatCommand, bound: Any) -> tuple[str, str]:
        found = self._handlers.get(command.name)
        if found is None:
            known = " ".join(f"/{name}" for name in sorted(self._handlers))
            return "refused", f"Unknown command /{html.escape(command.name[:40])}. Known: {known}"
        if command.user_id not in self._settings.telegram_approver_ids:
            bound.warning("chat command refused: not an approver", who=command.who)
            return "refused", f"You are not allowed to use /{command.name}."
        handler, usage = found
        try:
            reply = await handler(command)
        except CommandRefused as exc:
            bound.info("chat command refused", reason=str(exc))
            return "refused", f"{html.escape(str(exc))}\nUsage: <code>{html.escape(usage)}</code>"
        bound.info("chat command done", who=command.who)
        return "accepted", reply

    async def _reply(self, command: ChatCommand, text: str) -> None:
        """Best effort: the command's effect stands whether or not its answer reaches the chat."""
        if self._chat is None:
            return
        try:
            await self._chat.send(command.chat_id, ChatMessage(text=text[:MAX_REPLY]), reply_to=command.message_id)
        except UpstreamError as exc:
            log.warning("chat command answer not sent", update_id=command.update_id, error=str(exc))


__all__ = ["ChatCommand", "ChatCommands", "CommandRefused", "Handler", "parse_command"]

"""Telegram Bot API adapter: implements ``core.ports.ChatChannel`` (plus the Bot API calls only
operators' commands use: setWebhook, getMe).

Message references are Telegram's integer message ids, as strings; a chat message's buttons become
an inline keyboard. 
The bot token is part of every request URL, and httpx puts URLs into exception text and into its
INFO "HTTP Request: POST ..." log line. So this adapter never formats a library exception, builds
every error message itself (method, status, Telegram's description), and installs a log filter that
redacts the token from httpx's own log records.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from activities.redaction import hiding, install_redaction, redact
from core.chat import ChatMessage
from core.errors import MessageGone, RateLimited, UpstreamError

_NOT_MODIFIED = "message is not modified"
_MESSAGE_GONE = "message to edit not found"
# A member that may post in a chat (getChatMember's status).
_CAN_POST = {"creator", "administrator", "member"}


class TelegramClient:
    """Sends and edits awoooi's messages. Errors map onto ``core.errors`` so activities can decide
    whether a retry can help (429 and 5xx yes, other 4xx never; MessageGone: send it again)."""

    def __init__(self, http: httpx.AsyncClient, token: str, api_base: str) -> None:
        self._http = http
        self._token = token
        self._base = api_base.rstrip("/")
        if token:
            install_redaction(hiding(token))

    def __repr__(self) -> str:
        return f"TelegramClient(api_base={self._base!r})"

    name = "telegram"

    async def send(self, chat: str, message: ChatMessage, *, reply_to: str | None = None) -> str:
        """Send ``message`` as HTML without link previews; return the new message id."""
        payload = self._payload(chat, message)
        if reply_to is not None:
            # The card may have been deleted meanwhile: send anyway rather than fail.
            payload["reply_parameters"] = {"message_id": int(reply_to), "allow_sending_without_reply": True}
        status, body = await self._post("sendMessage", payload)
        result = self._result("sendMessage", status, body)
        try:
            return str(int(result["message_id"]))
        except (TypeError, KeyError, ValueError) as exc:
            raise UpstreamError("telegram sendMessage: result without message_id", retryable=True) from exc

    async def edit(self, chat: str, ref: str, message: ChatMessage) -> None:
        """Edit in place. "message is not modified" means a retry already applied it: success.
        Telegram drops an existing inline keyboard when the edit carries none."""
        payload = self._payload(chat, message)
        payload["message_id"] = int(ref)
        status, body = await self._post("editMessageText", payload)
        description = str(body.get("description", "")).lower()
        if status == 400 and _NOT_MODIFIED in description:
            return
        if status == 400 and _MESSAGE_GONE in description:
            raise MessageGone(f"telegram editMessageText: HTTP 400: {_MESSAGE_GONE}", status_code=400)
        self._result("editMessageText", status, body)

    async def send_document(self, chat: str, filename: str, content: bytes, *, caption: str = "",
                            reply_to: str | None = None) -> str:
        """sendDocument as multipart/form-data: the file in the ``document`` part, every other
        parameter a form field (objects JSON-encoded); the new message id."""
        fields: dict[str, str] = {"chat_id": chat}
        if caption:
            fields["caption"] = caption[:1024]
        if reply_to is not None:
            fields["reply_parameters"] = json.dumps({"message_id": int(reply_to), "allow_sending_without_reply": True})
        files = {"document": (filename, content, "text/markdown")}
        status, body = await self._post("sendDocument", fields, files=files)
        result = self._result("sendDocument", status, body)
        try:
            return str(int(result["message_id"]))
        except (TypeError, KeyError, ValueError) as exc:
            raise UpstreamError("telegram sendDocument: result without message_id", retryable=True) from exc

    async def answer(self, tap: str, text: str, *, alert: bool = False) -> None:
        payload: dict[str, Any] = {"callback_query_id": tap, "text": text[:200]}
        if alert:
            payload["show_alert"] = True
        status, body = await self._post("answerCallbackQuery", payload)
        self._result("answerCallbackQuery", status, body)

    async def send_direct(self, user: str, message: ChatMessage) -> str:
        """A private chat's id is the user's id: the same sendMessage."""
        return await self.send(user, message)

    async def check(self, chats: list[str]) -> None:
        """getMe answers with the configured token, and the bot may post in each chat (getChatMember:
        asked without sending anything)."""
        me = await self.get_me()
        try:
            bot_id = int(str(me.get("id")))
        except ValueError as exc:
            raise UpstreamError("telegram getMe: no bot id in the answer", retryable=False) from exc
        for chat in chats:
            status, body = await self._post("getChatMember", {"chat_id": chat, "user_id": bot_id})
            member = self._result("getChatMember", status, body)
            if not isinstance(member, dict):
                raise UpstreamError("telegram getChatMember: result is not an object", retryable=True)
            state = str(member.get("status"))
            if state not in _CAN_POST and not (state == "restricted" and member.get("can_send_messages")):
                raise UpstreamError(f"the bot cannot post in chat {chat} (status {state})", retryable=False)

    async def whoami(self) -> str:
        return str((await self.get_me()).get("username") or "")

    async def set_webhook(self, url: str, secret_token: str, allowed_updates: list[str]) -> None:
        """Point the bot's updates at ``url``; Telegram then sends ``secret_token`` with each one."""
        payload = {"url": url, "secret_token": secret_token, "allowed_updates": allowed_updates}
        status, body = await self._post("setWebhook", payload)
        self._result("setWebhook", status, body)

    async def get_me(self) -> dict[str, object]:
        """The health probe: the bot's User object."""
        status, body = await self._post("getMe", {})
        result = self._result("getMe", status, body)
        if not isinstance(result, dict):
            raise UpstreamError("telegram getMe: result is not an object", retryable=True)
        return result

    @staticmethod
    def _payload(chat_id: str, message: ChatMessage) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "chat_id": chat_id,
            "text": message.text,
            "parse_mode": "HTML",
            "link_preview_options": {"is_disabled": True},
        }
        if message.buttons:
            payload["reply_markup"] = {"inline_keyboard": [
                [{"text": button.label, "callback_data": button.data} for button in row] for row in message.buttons]}
        return payload

    async def _post(self, method: str, payload: dict[str, Any],
                    files: dict[str, tuple[str, bytes, str]] | None = None) -> tuple[int, dict[str, Any]]:
        """POST and decode (JSON, or multipart with ``files``); transport failures and non-JSON
        answers become token-free UpstreamErrors."""
        url = f"{self._base}/bot{self._token}/{method}"
        try:
            if files is None:
                response = await self._http.post(url, json=payload)
            else:
                response = await self._http.post(url, data=payload, files=files)
        except (httpx.TransportError, httpx.DecodingError) as exc:
            raise UpstreamError(f"telegram {method}: {type(exc).__name__}", retryable=True) from exc
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise UpstreamError(f"telegram {method}: {type(exc).__name__}", retryable=False) from exc
        status = response.status_code
        try:
            body = response.json()
        except ValueError as exc:
            raise UpstreamError(
                f"telegram {method}: HTTP {status} with a non-JSON body", retryable=True, status_code=status
            ) from exc
        if not isinstance(body, dict):
            raise UpstreamError(f"telegram {method}: HTTP {status} with a non-object body", retryable=True, status_code=status)
        return status, body

    def _result(self, method: str, status: int, body: dict[str, Any]) -> Any:
        """Return ``result`` of a successful answer, else raise the matching ``core.errors`` type."""
        if status == 200 and body.get("ok") is True:
            return body.get("result")
        code = body.get("error_code") if isinstance(body.get("error_code"), int) else status
        description = str(body.get("description") or "no description")[:300]
        description = redact(description, hiding(self._token))
        message = f"telegram {method}: HTTP {status}: {description}"
        if status == 429 or code == 429:
            parameters = body.get("parameters") if isinstance(body.get("parameters"), dict) else {}
            try:
                retry_after = float(parameters.get("retry_after", 1))
            except (TypeError, ValueError):
                retry_after = 1.0
            raise RateLimited(message, retry_after=max(retry_after, 0.0) or 1.0)
        if status >= 500 or (status == 200 and code >= 500):
            raise UpstreamError(message, retryable=True, status_code=status)
        # Other 4xx (and an odd 2xx/3xx with ok=false): the same request will fail again.
        raise UpstreamError(message, retryable=False, status_code=status)

"""A loopback Telegram Bot API that enforces the parts of the contract awoooi relies on.

Real Telegram rejects a whole message when one tag is wrong ("can't parse entities"), when the text
is over 4096 characters after entity parsing, or when callback_data exceeds 64 bytes; those are the
failures that only show in production, so this server checks them on every request.
"""

from __future__ import annotations

import json
import re
from email import policy
from email.parser import BytesParser
import time
from collections import deque
from html.parser import HTMLParser
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.loopback import LoopbackServer, Response, json_response

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
# Parameters Telegram takes JSON-serialized when they arrive as form fields.
_JSON_FIELDS = {"reply_parameters", "reply_markup", "caption_entities"}
MAX_CALLBACK_DATA_BYTES = 64
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup are "
    "exactly the same as a current content and reply markup of the message"
)
_SIMPLE_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "tg-spoiler", "blockquote"}
_ALLOWED_TAGS = _SIMPLE_TAGS | {"a", "code", "pre", "span"}
_ENTITY = re.compile(r"&(?:lt|gt|amp|quot|#[0-9]+|#x[0-9a-fA-F]+);")
_ENTITY_VALUES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_METHODS = {m.lower(): m for m in ("sendMessage", "editMessageText", "getMe", "answerCallbackQuery", "setWebhook",
                                           "getChatMember", "sendDocument")}
_SECRET_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,256}")
_WEBHOOK_PORTS = {None, 443, 80, 88, 8443}
_BOT = {"id": 123456, "is_bot": True, "first_name": "awoooi", "username": "awoooi_test_bot"}


class EntityParseError(ValueError):
    """The text would make Telegram answer 400 "can't parse entities"."""


def utf16_len(text: str) -> int:
    """Telegram measures text in UTF-16 code units (an emoji outside the BMP counts 2)."""
    return len(text.encode("utf-16-le")) // 2


class _TelegramHTML(HTMLParser):
    """Telegram's HTML subset: allowed tags only, properly nested and closed, no bare ``<``/``>``/``&``."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.stack: list[str] = []
        self.plain: list[str] = []

    def _fail(self, why: str) -> None:
        raise EntityParseError(why)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _ALLOWED_TAGS:
            self._fail(f"unsupported start tag \"{tag}\"")
        attributes = dict(attrs)
        if self.stack and self.stack[-1] in ("code", "pre") and not (tag == "code" and self.stack[-1] == "pre"):
            self._fail(f"tag \"{tag}\" can't be nested in \"{self.stack[-1]}\"")
        if tag == "a" and not attributes.get("href"):
            self._fail("a tag without href")
        if tag == "span" and attributes.get("class") != "tg-spoiler":
            self._fail("span without class=\"tg-spoiler\"")
        self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._fail(f"unsupported self-closing tag \"{tag}\"")

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            expected = self.stack[-1] if self.stack else "nothing"
            self._fail(f"can't find end tag corresponding to \"{tag}\" (open: {expected})")
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        for bad in ("<", ">", "&"):
            if bad in data:
                self._fail(f"unescaped \"{bad}\" in text")
        self.plain.append(data)

    def handle_entityref(self, name: str) -> None:
        if name not in _ENTITY_VALUES:
            self._fail(f"unsupported entity \"&{name};\"")
        self.plain.append(_ENTITY_VALUES[name])

    def handle_charref(self, name: str) -> None:
        try:
            self.plain.append(chr(int(name[1:], 16) if name[:1] in "xX" else int(name)))
        except (ValueError, OverflowError):
            self._fail(f"bad character reference \"&#{name};\"")

    def handle_comment(self, data: str) -> None:
        self._fail("comments are not supported")

    def handle_decl(self, decl: str) -> None:
        self._fail("declarations are not supported")

    def handle_pi(self, data: str) -> None:
        self._fail("processing instructions are not supported")

    def unknown_decl(self, data: str) -> None:
        self._fail("CDATA is not supported")


def parse_telegram_html(text: str) -> str:
    """Validate ``text`` as Telegram HTML and return the visible plain text.

    Raises :class:`EntityParseError` with a Telegram-like reason. Every ``&`` must start one of the
    entities Telegram knows (``&lt; &gt; &amp; &quot;`` or numeric), with its semicolon.
    """
    for match in re.finditer("&", text):
        if not _ENTITY.match(text, match.start()):
            raise EntityParseError(f"bare \"&\" at offset {match.start()}")
    parser = _TelegramHTML()
    parser.feed(text)
    parser.close()
    if parser.stack:
        raise EntityParseError(f"can't find end tag corresponding to start tag \"{parser.stack[-1]}\"")
    return "".join(parser.plain)


class TelegramLoopback(LoopbackServer):
    """Bot API stand-in. ``sent``/``edits`` hold successful request bodies; ``calls`` holds every call."""

    def __init__(self, token: str = "123456:TEST-token") -> None:
        super().__init__()
        self.token = token
        self.messages: dict[int, list[str]] = {}
        self.sent: list[dict[str, Any]] = []
        self.edits: list[dict[str, Any]] = []
        # Accepted sendDocument calls: their fields, with ``document`` as {"filename", "content_type", "content"}.
        self.documents: list[dict[str, Any]] = []
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.call_times: list[float] = []  # time.monotonic() of each entry of ``calls``
        self._chats: dict[int, Any] = {}
        self._markups: dict[int, Any] = {}
        self._next_id = 1
        self.webhook: dict[str, Any] | None = None
        self._failures: dict[str, deque[tuple[int, dict[str, Any]]]] = {}
        self._stalls: dict[str, deque[float]] = {}
        self._after_send: deque[Callable[[int], None]] = deque()

    def keyboard(self, message_id: int) -> Any:
        """The inline keyboard the message shows now (None when it has none)."""
        with self._lock:
            return self._markups.get(message_id)

    def answers(self) -> list[dict[str, Any]]:
        """Every answerCallbackQuery call's parameters, in order."""
        with self._lock:
            return [params for method, params in self.calls if method == "answerCallbackQuery"]

    def fail_next(self, method: str, status: int, body: dict[str, Any], times: int = 1) -> None:
        """Answer the next ``times`` calls of ``method`` with ``status``/``body`` (after recording them)."""
        with self._lock:
            queue = self._failures.setdefault(method.lower(), deque())
            queue.extend([(status, body)] * times)

    def stall_next(self, method: str, seconds: float, times: int = 1) -> None:
        """Hold the next ``times`` answers to ``method`` for ``seconds`` AFTER carrying the call
        out: a client that times out meanwhile never hears that the message did arrive."""
        with self._lock:
            self._stalls.setdefault(method.lower(), deque()).extend([seconds] * times)

    def after_next_send(self, hook: Callable[[int], None]) -> None:
        """Run ``hook(message_id)`` once, after the next sendMessage is accepted and before its
        answer leaves: the moment to break what the client does next (stop its Valkey)."""
        with self._lock:
            self._after_send.append(hook)

    def sent_count(self) -> int:
        with self._lock:
            return len(self.sent)

    # -- dispatch ---------------------------------------------------------------------------------

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Response:
        url = urlsplit(path)
        match = re.fullmatch(r"/bot([^/]+)/([A-Za-z]+)", url.path)
        if not match:
            self.violation(f"not a Bot API path: {url.path!r}")
            return self._error(404, "Not Found")
        if match.group(1) != self.token:
            return self._error(401, "Unauthorized")
        name = match.group(2).lower()
        params, problem = self._params(method, url.query, headers, body)
        with self._lock:
            self.calls.append((_METHODS.get(name, match.group(2)), params))
            self.call_times.append(time.monotonic())
            if problem:
                self.violations.append(f"{match.group(2)}: {problem}")
                return self._error(400, f"Bad Request: {problem}")
            if name not in _METHODS:
                self.violations.append(f"unknown method {match.group(2)!r}")
                return self._error(404, "Not Found")
            queue = self._failures.get(name)
            if queue:
                status, scripted = queue.popleft()
                return json_response(status, scripted)
            answer = getattr(self, f"_m_{name}")(params)
            stalls = self._stalls.get(name)
            stall = stalls.popleft() if stalls else 0.0
            hook = self._after_send.popleft() if name == "sendmessage" and self._after_send and answer[0] == 200 else None
        if hook is not None:
            hook(json.loads(answer[2])["result"]["message_id"])
        if stall:
            time.sleep(stall)  # outside the lock: other requests go on meanwhile
        return answer

    def _params(
        self, method: str, query: str, headers: dict[str, str], body: bytes
    ) -> tuple[dict[str, Any], str | None]:
        if method not in ("GET", "POST"):
            return {}, f"HTTP method {method} is not supported"
        params: dict[str, Any] = dict(parse_qsl(query))
        if body and headers.get("content-type", "").startswith("multipart/form-data"):
            problem = _multipart(headers["content-type"], body, params)
            return params, problem
        if body and headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
            for name, value in parse_qsl(body.decode("utf-8", errors="replace")):
                try:
                    params[name] = json.loads(value) if name in _JSON_FIELDS else value
                except ValueError:
                    return params, f"{name} is not valid JSON"
            return params, None
        if body:
            if not headers.get("content-type", "").startswith("application/json"):
                return params, "body must be JSON (Content-Type: application/json)"
            try:
                decoded = json.loads(body)
            except ValueError:
                return params, "body is not valid JSON"
            if not isinstance(decoded, dict):
                return params, "JSON body must be an object"
            params.update(decoded)
        return params, None

    @staticmethod
    def _error(status: int, description: str) -> Response:
        return json_response(status, {"ok": False, "error_code": status, "description": description})

    @staticmethod
    def _ok(result: Any) -> Response:
        return json_response(200, {"ok": True, "result": result})

    def _bad(self, method: str, description: str) -> Response:
        self.violations.append(f"{method}: {description}")
        return self._error(400, f"Bad Request: {description}")

    # -- checks -----------------------------------------------------------------------------------

    def _check_text(self, params: dict[str, Any]) -> tuple[str | None, str]:
        """Return (problem, visible text) the way Telegram parses ``text`` with ``parse_mode``."""
        text = params.get("text")
        if not isinstance(text, str) or not text:
            return "message text is empty", ""
        mode = params.get("parse_mode")
        plain = text
        if mode == "HTML":
            try:
                plain = parse_telegram_html(text)
            except EntityParseError as exc:
                return f"can't parse entities: {exc}", ""
        elif mode not in (None, "MarkdownV2"):
            return f"unsupported parse_mode {mode!r}", ""
        if not plain.strip():
            return "message text is empty", ""
        if utf16_len(plain) > MAX_TEXT:
            return f"message is too long ({utf16_len(plain)} > {MAX_TEXT})", ""
        return None, plain

    @staticmethod
    def _check_markup(markup: Any) -> str | None:
        if markup is None:
            return None
        rows = markup.get("inline_keyboard") if isinstance(markup, dict) else None
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            return "reply_markup must be {\"inline_keyboard\": [[button, ...], ...]}"
        for row in rows:
            for button in row:
                if not isinstance(button, dict) or not isinstance(button.get("text"), str) or not button["text"]:
                    return "inline keyboard button needs a non-empty text"
                data = button.get("callback_data")
                if data is not None and not (
                    isinstance(data, str) and 1 <= len(data.encode("utf-8")) <= MAX_CALLBACK_DATA_BYTES
                ):
                    return "BUTTON_DATA_INVALID"
        return None

    def _message(self, message_id: int, plain: str, *, edited: bool = False) -> dict[str, Any]:
        chat_id = self._chats[message_id]
        try:
            numeric: Any = int(chat_id)
        except (TypeError, ValueError):
            numeric = chat_id
        chat_type = "supergroup" if isinstance(numeric, int) and numeric < 0 else "private"
        message: dict[str, Any] = {
            "message_id": message_id,
            "from": _BOT,
            "chat": {"id": numeric, "type": chat_type},
            "date": int(time.time()),
            "text": plain,
        }
        if edited:
            message["edit_date"] = int(time.time())
        if self._markups.get(message_id):
            message["reply_markup"] = self._markups[message_id]
        return message

    # -- methods ----------------------------------------------------------------------------------

    def _m_getme(self, params: dict[str, Any]) -> Response:
        return self._ok(dict(_BOT))

    def _m_getchatmember(self, params: dict[str, Any]) -> Response:
        if params.get("chat_id") in (None, "") or not isinstance(params.get("user_id"), int):
            return self._bad("getChatMember", "chat_id and an integer user_id are required")
        status = "administrator" if params["user_id"] == _BOT["id"] else "left"
        return self._ok({"status": status, "user": dict(_BOT) if status != "left" else {"id": params["user_id"]}})

    def _m_sendmessage(self, params: dict[str, Any]) -> Response:
        if params.get("chat_id") in (None, ""):
            return self._bad("sendMessage", "chat_id is empty")
        problem, plain = self._check_text(params)
        problem = problem or self._check_markup(params.get("reply_markup"))
        if problem:
            return self._bad("sendMessage", problem)
        message_id = self._next_id
        self._next_id += 1
        self.messages[message_id] = [params["text"]]
        self._chats[message_id] = params["chat_id"]
        self._markups[message_id] = params.get("reply_markup")
        self.sent.append(params)
        return self._ok(self._message(message_id, plain))

    def _m_editmessagetext(self, params: dict[str, Any]) -> Response:
        message_id = params.get("message_id")
        if params.get("chat_id") in (None, "") or not isinstance(message_id, int):
            return self._bad("editMessageText", "chat_id and integer message_id are required")
        if message_id not in self.messages or str(self._chats[message_id]) != str(params["chat_id"]):
            # A real and possible outcome (message deleted), so not a contract violation.
            return self._error(400, "Bad Request: message to edit not found")
        problem, plain = self._check_text(params)
        problem = problem or self._check_markup(params.get("reply_markup"))
        if problem:
            return self._bad("editMessageText", problem)
        markup = params.get("reply_markup")
        if self.messages[message_id][-1] == params["text"] and self._markups.get(message_id) == markup:
            return self._error(400, NOT_MODIFIED)
        self.messages[message_id].append(params["text"])
        self._markups[message_id] = markup
        self.edits.append(params)
        return self._ok(self._message(message_id, plain, edited=True))

    def _m_senddocument(self, params: dict[str, Any]) -> Response:
        """The file must be uploaded (a multipart part with a filename) or named by a file_id/URL
        string; the caption is at most 1024 characters after entity parsing; a reply must name a
        message of the chat unless allow_sending_without_reply."""
        if params.get("chat_id") in (None, ""):
            return self._bad("sendDocument", "chat_id is empty")
        document = params.get("document")
        if isinstance(document, dict):
            if not document["content"]:
                return self._bad("sendDocument", "file must be non-empty")
            if len(document["content"]) > MAX_UPLOAD_BYTES:
                return self._error(413, "Request Entity Too Large")
        elif not (isinstance(document, str) and document):
            return self._bad("sendDocument", "there is no document in the request")
        caption = params.get("caption", "")
        plain = caption
        if caption and params.get("parse_mode") == "HTML":
            try:
                plain = parse_telegram_html(caption)
            except EntityParseError as exc:
                return self._bad("sendDocument", f"can't parse entities: {exc}")
        if not isinstance(caption, str) or utf16_len(plain) > MAX_CAPTION:
            return self._bad("sendDocument", "message caption is too long")
        reply = params.get("reply_parameters")
        if reply is not None:
            if not isinstance(reply, dict) or not isinstance(reply.get("message_id"), int):
                return self._bad("sendDocument", "reply_parameters needs an integer message_id")
            known = reply["message_id"] in self.messages and str(self._chats[reply["message_id"]]) == str(
                params["chat_id"])
            if not known and not reply.get("allow_sending_without_reply"):
                # A real outcome (the card was deleted), not a contract violation.
                return self._error(400, "Bad Request: message to be replied not found")
        problem = self._check_markup(params.get("reply_markup"))
        if problem:
            return self._bad("sendDocument", problem)
        message_id = self._next_id
        self._next_id += 1
        self.messages[message_id] = [caption]
        self._chats[message_id] = params["chat_id"]
        self._markups[message_id] = params.get("reply_markup")
        self.documents.append(params)
        message = self._message(message_id, plain)
        del message["text"]
        if caption:
            message["caption"] = plain
        if isinstance(document, dict):
            message["document"] = {"file_id": f"BQACAgIAAx{message_id:08d}", "file_unique_id": f"AgAD{message_id:06d}",
                                   "file_name": document["filename"], "mime_type": document["content_type"],
                                   "file_size": len(document["content"])}
        else:
            message["document"] = {"file_id": document, "file_unique_id": f"AgAD{message_id:06d}"}
        return self._ok(message)

    def _m_answercallbackquery(self, params: dict[str, Any]) -> Response:
        if not params.get("callback_query_id"):
            return self._bad("answerCallbackQuery", "callback_query_id is required")
        text = params.get("text")
        if text is not None and (not isinstance(text, str) or len(text) > 200):
            return self._bad("answerCallbackQuery", "text must be at most 200 characters")
        return self._ok(True)

    def _m_setwebhook(self, params: dict[str, Any]) -> Response:
        url = params.get("url")
        if not isinstance(url, str) or not url.startswith("https://"):
            return self._bad("setWebhook", "bad webhook: An HTTPS URL must be provided for webhook")
        if urlsplit(url).port not in _WEBHOOK_PORTS:
            return self._bad("setWebhook", "bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443")
        secret = params.get("secret_token")
        if secret is not None and not (isinstance(secret, str) and _SECRET_TOKEN.fullmatch(secret)):
            return self._bad("setWebhook", "bad webhook: secret token contains unallowed characters")
        allowed = params.get("allowed_updates")
        if allowed is not None and not (isinstance(allowed, list) and all(isinstance(a, str) for a in allowed)):
            return self._bad("setWebhook", "allowed_updates must be an array of strings")
        self.webhook = dict(params)
        return self._ok(True)


def _multipart(content_type: str, body: bytes, into: dict[str, Any]) -> str | None:
    """Parse a multipart/form-data body into ``into`` (file parts as dicts); a problem, or None."""
    if "boundary=" not in content_type:
        return "multipart/form-data without a boundary"
    parsed = BytesParser(policy=policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1") + b"\r\nMIME-Version: 1.0\r\n\r\n" + body)
    if not parsed.is_multipart() or parsed.defects:
        return "malformed multipart/form-data body"
    for part in parsed.iter_parts():
        disposition = part.get("content-disposition", "")
        name = part.get_param("name", header="content-disposition")
        if not disposition.startswith("form-data") or not name:
            return "a multipart part without Content-Disposition: form-data; name=..."
        payload = part.get_payload(decode=True) or b""
        filename = part.get_filename()
        if filename is not None:
            into[str(name)] = {"filename": filename, "content_type": part.get_content_type(), "content": payload}
            continue
        value = payload.decode("utf-8", errors="replace")
        if name in _JSON_FIELDS:
            try:
                into[str(name)] = json.loads(value)
            except ValueError:
                return f"{name} is not valid JSON"
        else:
            into[str(name)] = value
    return None

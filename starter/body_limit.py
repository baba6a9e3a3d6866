"""Refuse request bodies over ``AWOOOI_MAX_BODY_BYTES`` with 413 before they are read.

A pure ASGI middleware, outside every route, so the limit holds for every endpoint: also for the
Sentry ones that must read the whole body to check its signature, and for chunked bodies that
carry no Content-Length. A declared Content-Length over the limit is refused before the app runs;
a streamed body is counted chunk by chunk and refused as soon as the count passes the limit, so
memory stays bounded by the limit whatever the sender claims or sends.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLarge(Exception):
    """Raised into the app when a streamed body passes the limit (the 413 is already sent)."""


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared == -1:
            await _answer(send, 400, "Content-Length is not a number")
            return
        if declared is not None and declared > self.max_bytes:
            await _answer(send, 413, self._detail())
            return

        received = 0
        answered = False

        async def counting_receive() -> Message:
            nonlocal received, answered
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    if not answered:
                        answered = True
                        await _answer(send, 413, self._detail())
                    raise BodyTooLarge(self._detail())
            return message

        async def guarded_send(message: Message) -> None:
            if not answered:  # after our 413, whatever the app tries to answer is dropped
                await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except BodyTooLarge:
            return
        except Exception:
            if answered:  # the app failed on the cut-off body (ClientDisconnect...): already answered
                return
            raise

    def _detail(self) -> str:
        return f"body larger than {self.max_bytes} bytes (AWOOOI_MAX_BODY_BYTES)"


def _content_length(scope: Scope) -> int | None:
    """The declared length, None without one, -1 for a value that is not a number."""
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return -1
    return None


async def _answer(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"status": "error", "detail": detail}).encode()
    headers: list[Any] = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                          (b"connection", b"close")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


__all__ = ["BodyLimit", "BodyTooLarge"]

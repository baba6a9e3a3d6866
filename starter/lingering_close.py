"""An answer given before the request body was read still reaches the sender: a lingering close.

The API answers some requests before reading their body: 413 for a body over
``AWOOOI_MAX_BODY_BYTES`` (starter/body_limit.py), 401 for a bad webhook token, any early refusal.
uvicorn then closed the connection at once, with the rest of the body unread in the socket; the
kernel answers a close with unread data by a TCP reset, and a reset arriving while the sender is
still writing loses the answer on its side: Python's http.client and urllib, which write the whole
body before reading, got "connection reset" for every 8 MiB body; a real Alertmanager logs a
network error and retries a body that can never be accepted (issue 19). nginx calls the cure a
lingering close: after the answer, keep reading and throwing away what the sender still sends, for
a bounded time, then close.

This middleware, the outermost, does that for any answer sent while the request body is unread:

- it holds the answer until the app has finished it, then sends it whole, with ``Content-Length``
  and ``Connection: close``, but leaves the response open (``more_body``), so uvicorn keeps reading
  the connection and hands the rest of the body to this middleware;
- it reads and discards the body as it arrives (one chunk in memory at a time, never kept) until the
  body ends, the sender hangs up, ``AWOOOI_API_LINGER_BYTES`` have been discarded,
  ``AWOOOI_API_LINGER_SECONDS`` have passed, or nothing arrived for ``IDLE_SECONDS``;
- then it ends the response, and uvicorn closes the connection: cleanly when the body was read to
  its end, with a reset only past a bound (by then the sender has had the answer that long).

Requests without a body (no ``Content-Length`` over 0, no ``Transfer-Encoding``) and answers given
after the body was read pass through untouched, keep-alive included.
"""

from __future__ import annotations

import asyncio
import time

from prometheus_client import Counter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# A sender that stopped sending without hanging up (curl after reading an early answer to a request
# it sent with Expect: 100-continue does hang up) is not waited for longer than this.
IDLE_SECONDS = 2.0
# An early answer is held whole before it is sent; one larger than this (none of ours) is streamed
# as it comes, without lingering.
MAX_HELD_BYTES = 64 * 1024


class LingeringClose:
    def __init__(self, app: ASGIApp, max_bytes: int, max_seconds: float, lingered: Counter,
                 discarded: Counter, idle_seconds: float = IDLE_SECONDS) -> None:
        """``lingered``: lingering closes by outcome (complete, disconnect, bytes, time, idle);
        ``discarded``: body bytes read and thrown away after an early answer."""
        self.app = app
        self.max_bytes = max_bytes
        self.max_seconds = max_seconds
        self.idle_seconds = idle_seconds
        self.lingered = lingered
        self.discarded = discarded

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _has_body(scope):
            await self.app(scope, receive, send)
            return
        exchange = _Exchange(receive, send)
        await self.app(scope, exchange.receive, exchange.send)
        if exchange.answered_early:
            outcome, discarded = await self._discard(receive, exchange)
            self.lingered.labels(outcome=outcome).inc()
            self.discarded.inc(discarded)
            await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _discard(self, receive: Receive, exchange: _Exchange) -> tuple[str, int]:
        """Read and drop the rest of the body, within the bounds; why it stopped, and how much."""
        if exchange.body_done:
            return "complete", 0
        discarded = 0
        deadline = time.monotonic() + self.max_seconds
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return "time", discarded
            if discarded > self.max_bytes:
                return "bytes", discarded
            try:
                message = await asyncio.wait_for(receive(), min(left, self.idle_seconds))
            except TimeoutError:
                return ("time" if left <= self.idle_seconds else "idle"), discarded
            if message["type"] == "http.disconnect":
                return "disconnect", discarded
            discarded += len(message.get("body", b""))
            if not message.get("more_body", False):
                return "complete", discarded


class _Exchange:
    """One request's receive and send, watched: has the body been read to its end, and was the
    answer sent before it was (then held, and sent whole but left open)."""

    def __init__(self, receive: Receive, send: Send) -> None:
        self._receive = receive
        self._send = send
        self.body_done = False
        self.answered_early = False
        self._held: list[Message] = []
        self._held_bytes = 0
        self._streaming = False

    async def receive(self) -> Message:
        message = await self._receive()
        if message["type"] == "http.disconnect" or not message.get("more_body", False):
            self.body_done = True
        return message

    async def send(self, message: Message) -> None:
        if self._streaming or (not self._held and (self.body_done or message["type"] != "http.response.start")):
            await self._send(message)
            return
        self._held.append(message)
        if message["type"] == "http.response.body":
            self._held_bytes += len(message.get("body", b""))
            if not message.get("more_body", False):
                await self._release()
            elif self._held_bytes > MAX_HELD_BYTES:
                await self._stream()

    async def _release(self) -> None:
        """The answer is complete: send it as is if the body has been read meanwhile, else whole
        with its length and ``Connection: close``, the response left open for the lingering read."""
        if self.body_done:
            await self._stream()
            return
        start, parts = self._held[0], self._held[1:]
        self._held = []
        body = b"".join(part.get("body", b"") for part in parts)
        headers = [(k, v) for k, v in start.get("headers", [])
                   if k.lower() not in (b"content-length", b"transfer-encoding", b"connection")]
        headers += [(b"content-length", str(len(body)).encode()), (b"connection", b"close")]
        self.answered_early = True
        await self._send({**start, "headers": headers})
        await self._send({"type": "http.response.body", "body": body, "more_body": True})

    async def _stream(self) -> None:
        """Send what is held as it was given, and whatever follows straight through."""
        self._streaming = True
        held, self._held = self._held, []
        for message in held:
            await self._send(message)


def _has_body(scope: Scope) -> bool:
    for name, value in scope.get("headers", []):
        if name == b"transfer-encoding":
            return True
        if name == b"content-length":
            return value.strip() not in (b"0", b"")
    return False


__all__ = ["IDLE_SECONDS", "LingeringClose"]

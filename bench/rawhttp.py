"""A minimal HTTP/1.1 keep-alive client on asyncio streams, for load generation.

httpx spends more CPU per request than the server under test at a few thousand requests per
second, so the figure would measure the client. This client does the least HTTP needs: one
connection per sender, a hand-built request, the status line, Content-Length (or chunked) bodies,
and a reconnect when the server closed the connection. Nothing else (no TLS, no redirects).
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit


class HttpError(ConnectionError):
    """The connection broke or the answer was not HTTP/1.1: the sender treats it as a transport error."""


class Connection:
    """One keep-alive connection to ``base_url`` (http://host:port); not shared between tasks."""

    def __init__(self, base_url: str, headers: dict[str, str] | None = None) -> None:
        url = urlsplit(base_url)
        self.host, self.port = url.hostname or "127.0.0.1", url.port or 80
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        self._head = f"Host: {self.host}:{self.port}\r\n{extra}".encode()
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def _connect(self) -> None:
        self._reader, self._writer = await asyncio.open_connection(self.host, self.port)

    async def close(self) -> None:
        writer, self._writer, self._reader = self._writer, None, None
        if writer is not None:
            writer.close()
            try:
                await writer.wait_closed()
            except OSError:
                pass

    async def post(self, path: str, body: bytes, content_type: str = "application/json") -> tuple[int, bytes]:
        """POST ``body``; (status, response body). Raises HttpError when the exchange broke."""
        request = (f"POST {path} HTTP/1.1\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
                   .encode() + self._head + b"\r\n" + body)
        for attempt in (0, 1):
            if self._writer is None:
                await self._connect()
            try:
                return await self._exchange(request)
            except (OSError, asyncio.IncompleteReadError, HttpError) as exc:
                await self.close()
                # A kept-alive connection the server closed meanwhile: one fresh try is not a retry.
                if attempt:
                    raise HttpError(f"{type(exc).__name__}: {exc}") from exc
        raise AssertionError("unreachable")

    async def _exchange(self, request: bytes) -> tuple[int, bytes]:
        assert self._reader is not None and self._writer is not None
        self._writer.write(request)
        await self._writer.drain()
        head = await self._reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/1."):
            raise HttpError(f"not an HTTP answer: {lines[0]!r}")
        status = int(parts[1])
        length, chunked, close = None, False, False
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding" and "chunked" in value:
                chunked = True
            elif name == "connection" and value == "close":
                close = True
        if chunked:
            body = await self._chunks()
        elif length is not None:
            body = await self._reader.readexactly(length)
        else:
            body = await self._reader.read()
            close = True
        if close:
            await self.close()
        return status, body

    async def _chunks(self) -> bytes:
        assert self._reader is not None
        out = bytearray()
        while True:
            size = int((await self._reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await self._reader.readuntil(b"\r\n")
                return bytes(out)
            out += await self._reader.readexactly(size)
            await self._reader.readexactly(2)

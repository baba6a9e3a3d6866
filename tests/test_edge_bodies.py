"""Oversized bodies over real TCP (uvicorn): 413 arrives before the body is sent whole, memory bounded.

The sender is a raw socket so the test controls exactly what goes on the wire: a 50 MB declared
Content-Length, and a 300 MB chunked stream with no Content-Length and no signature to a Sentry
endpoint (the case that used to be read whole, +374 MB peak, before the signature check said 401).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.harness import serving, settings_for

WEBHOOK_TOKEN = "edge-webhook-token-1f9a"
CLIENT_SECRET = "edge-sentry-secret-77c2"
CHUNK = b"x" * 65536
LIMIT = 1024 * 1024


def rss_bytes() -> int:
    """This process's resident memory now (the API runs in it: tests.harness.serving)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


async def send_until_answered(port: int, head: bytes, total: int, *, chunked: bool) -> tuple[bytes, int]:
    """Write ``head`` then up to ``total`` body bytes; stop as soon as the answer's status line is in.

    Returns the status line and how many body bytes went out before the server answered (or
    closed the connection, which it does right after a 413).
    """
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    answer = asyncio.create_task(reader.readline())
    sent = 0
    try:
        writer.write(head)
        while sent < total and not answer.done():
            piece = CHUNK[: min(len(CHUNK), total - sent)]
            writer.write(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
            try:
                await asyncio.wait_for(writer.drain(), 5)
            except (ConnectionError, TimeoutError):
                break
            sent += len(piece)
            await asyncio.sleep(0)
        status = await asyncio.wait_for(answer, 10)
    finally:
        answer.cancel()
        writer.close()
    return status, sent


@pytest.mark.parametrize("path", ["/api/v1/webhooks/alertmanager", "/api/v1/webhooks/sentry",
                                  "/api/v1/webhooks/sentry/error", "/api/v1/webhooks/telegram",
                                  "/api/v1/incidents/alertmanager-x/approve"])
async def test_a_declared_50_mb_body_is_refused_before_it_is_read(temporal_client, valkey_url, task_queue,
                                                                  path) -> None:
    settings = settings_for(valkey_url, task_queue, webhook_token=WEBHOOK_TOKEN, sentry_client_secret=CLIENT_SECRET)
    total = 50 * 1024 * 1024
    async with serving(temporal_client, settings, worker=False) as app:
        port = int(app.base_url.rsplit(":", 1)[1])
        head = (f"POST {path} HTTP/1.1\r\nHost: awoooi\r\nContent-Type: application/json\r\n"
                f"Content-Length: {total}\r\n\r\n").encode()
        status, sent = await send_until_answered(port, head, total, chunked=False)
    assert status.startswith(b"HTTP/1.1 413"), status
    assert sent < total // 5, f"{sent} of {total} bytes went out before the answer"


async def test_a_300_mb_chunked_unsigned_sentry_body_is_refused_at_the_limit(temporal_client, valkey_url,
                                                                             task_queue) -> None:
    settings = settings_for(valkey_url, task_queue, webhook_token=WEBHOOK_TOKEN, sentry_client_secret=CLIENT_SECRET)
    total = 300 * 1024 * 1024
    async with serving(temporal_client, settings, worker=False) as app:
        port = int(app.base_url.rsplit(":", 1)[1])
        head = (b"POST /api/v1/webhooks/sentry HTTP/1.1\r\nHost: awoooi\r\nContent-Type: application/json\r\n"
                b"Sentry-Hook-Resource: event_alert\r\nTransfer-Encoding: chunked\r\n\r\n")
        before = rss_bytes()
        status, sent = await send_until_answered(port, head, total, chunked=True)
        growth = rss_bytes() - before
    assert status.startswith(b"HTTP/1.1 413"), status
    assert sent < 16 * LIMIT, f"{sent} bytes went out before the answer (limit {LIMIT})"
    assert growth < 64 * 1024 * 1024, f"API process grew by {growth} bytes"


async def test_a_body_at_the_limit_is_still_read(temporal_client, valkey_url, task_queue) -> None:
    """The limit refuses what is over it, nothing else: a large valid-size body reaches the parser."""
    import httpx

    settings = settings_for(valkey_url, task_queue, webhook_token=WEBHOOK_TOKEN, max_body_bytes=4096)
    async with serving(temporal_client, settings, worker=False) as app, httpx.AsyncClient() as http:
        headers = {"authorization": f"Bearer {WEBHOOK_TOKEN}", "content-type": "application/json"}
        small = await http.post(app.base_url + "/api/v1/webhooks/alertmanager", content=b" " * 4000 + b"[]",
                                headers=headers)
        large = await http.post(app.base_url + "/api/v1/webhooks/alertmanager", content=b" " * 5000 + b"[]",
                                headers=headers)

        async def stream():  # no Content-Length: httpx sends it chunked
            for _ in range(3):
                yield b" " * 2000

        chunked = await http.post(app.base_url + "/api/v1/webhooks/alertmanager", content=stream(), headers=headers)
    assert small.status_code == 422 and "object" in small.json()["detail"]
    assert large.status_code == 413 and "AWOOOI_MAX_BODY_BYTES" in large.json()["detail"]
    assert chunked.status_code == 413
    assert large.headers["x-request-id"]

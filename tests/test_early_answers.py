"""An answer given before the body was read reaches real clients: a lingering close (issue 19).

The API (uvicorn with httptools on a real port, tests.harness.serving) answers 413 as soon as a
body passes AWOOOI_MAX_BODY_BYTES, and 401 for a bad token before reading the body. Closing at once
reset the connection under clients still writing (Python's http.client and urllib write the whole
body before they read: every 8 MiB body got "connection reset"). Here every client, curl, httpx,
http.client, urllib and a real Alertmanager (Go's net/http), reads the status, for bodies of
1.1 MiB, 8 MiB and 300 MB chunked; the rest of the body is read and thrown away as it arrives
(the API process does not grow), within bounds in bytes and time; and the API answers the next
request as usual.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import socket
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.harness import eventually, serving, settings_for
from tests.test_real_alertmanager import alertmanager

TOKEN = "early-answers-token-5e1d"
MIB = 1024 * 1024
LIMIT = MIB
CHUNK = b"x" * 65536
SIZES = {"1.1 MiB": (int(1.1 * MIB), False), "8 MiB": (8 * MIB, False), "300 MB chunked": (300_000_000, True)}
HOOK = "/api/v1/webhooks/alertmanager"
HEADERS = {"content-type": "application/json", "authorization": f"Bearer {TOKEN}"}


def rss_bytes() -> int:
    """This process's resident memory (the API runs in it)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def pieces(total: int) -> Iterator[bytes]:
    sent = 0
    while sent < total:
        piece = CHUNK[: min(len(CHUNK), total - sent)]
        sent += len(piece)
        yield piece


def body(size: int, chunked: bool) -> bytes | Iterator[bytes]:
    """A generator (sent chunked, never whole in memory) or the bytes (sent with a Content-Length)."""
    return pieces(size) if chunked else b"x" * size


async def with_curl(url: str, size: int, chunked: bool, headers: dict[str, str], tmp: Path) -> tuple[int, str]:
    args = ["curl", "-s", "--max-time", "60", "-w", "\n%{http_code}"]
    for name, value in headers.items():
        args += ["-H", f"{name}: {value}"]
    if chunked:
        args += ["-H", "Transfer-Encoding: chunked", "--data-binary", "@-", url]
    else:
        path = tmp / f"body-{size}"
        path.write_bytes(b"x" * size)
        args += ["--data-binary", f"@{path}", url]
    proc = await asyncio.create_subprocess_exec(*args, stdin=asyncio.subprocess.PIPE if chunked else None,
                                                stdout=asyncio.subprocess.PIPE)
    reading = asyncio.create_task(proc.stdout.read())
    if chunked:
        try:
            for piece in pieces(size):
                proc.stdin.write(piece)
                await proc.stdin.drain()
            proc.stdin.close()
        except (BrokenPipeError, ConnectionResetError):
            pass  # curl stopped reading its input: it has its answer
    out = (await reading).decode()
    await proc.wait()
    text, _, code = out.rpartition("\n")
    return int(code), text


async def with_httpx(url: str, size: int, chunked: bool, headers: dict[str, str], tmp: Path) -> tuple[int, str]:
    async def stream():  # noqa: ANN202
        for piece in pieces(size):
            yield piece

    async with httpx.AsyncClient(timeout=60) as client:
        answer = await client.post(url, content=stream() if chunked else b"x" * size, headers=headers)
    return answer.status_code, answer.text


def _http_client(url: str, size: int, chunked: bool, headers: dict[str, str]) -> tuple[int, str]:
    host, port = url.split("/")[2].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    try:
        conn.request("POST", "/" + url.split("/", 3)[3], body=body(size, chunked), headers=headers,
                     encode_chunked=chunked)
        answer = conn.getresponse()
        return answer.status, answer.read().decode()
    finally:
        conn.close()


async def with_http_client(url: str, size: int, chunked: bool, headers: dict[str, str], tmp: Path) -> tuple[int, str]:
    return await asyncio.to_thread(_http_client, url, size, chunked, headers)


def _urllib(url: str, size: int, chunked: bool, headers: dict[str, str]) -> tuple[int, str]:
    request = urllib.request.Request(url, data=body(size, chunked), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310 - a loopback test server
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


async def with_urllib(url: str, size: int, chunked: bool, headers: dict[str, str], tmp: Path) -> tuple[int, str]:
    return await asyncio.to_thread(_urllib, url, size, chunked, headers)


CLIENTS = {"curl": with_curl, "httpx": with_httpx, "http.client": with_http_client, "urllib": with_urllib}


def sample(metrics, name: str, **labels: str) -> float:  # noqa: ANN001
    value = metrics.registry.get_sample_value(name, labels or None)
    return value or 0.0


def lingered(metrics) -> float:  # noqa: ANN001
    """Lingering closes finished so far, whatever ended them."""
    return sum(sample(metrics, "awoooi_http_lingering_closes_total", outcome=outcome)
               for outcome in ("complete", "disconnect", "bytes", "time", "idle"))


@pytest.mark.parametrize("client", list(CLIENTS))
async def test_every_client_reads_the_413_and_the_api_stays_healthy(temporal_client, valkey_url, task_queue,
                                                                    client, tmp_path) -> None:
    send = CLIENTS[client]
    settings = settings_for(valkey_url, task_queue, webhook_token=TOKEN)
    async with serving(temporal_client, settings, worker=False) as app:
        url = app.base_url + HOOK
        for name, (size, chunked) in SIZES.items():
            before_rss, before_discarded = rss_bytes(), sample(app.metrics, "awoooi_http_discarded_body_bytes_total")
            closes = lingered(app.metrics)
            code, text = await send(url, size, chunked, HEADERS, tmp_path)
            grown = rss_bytes() - before_rss
            await eventually(lambda: lingered(app.metrics) > closes, timeout=15, what="the lingering read to end")
            discarded = sample(app.metrics, "awoooi_http_discarded_body_bytes_total") - before_discarded
            assert code == 413, f"{client}, {name}: {code} {text[:200]}"
            assert "AWOOOI_MAX_BODY_BYTES" in json.loads(text)["detail"], text
            # Nothing past the limit is kept: the rest is read and dropped as it arrives.
            assert grown < 64 * MIB, f"{client}, {name}: the API process grew by {grown / MIB:.0f} MiB"
            assert discarded <= size, discarded
            print(f"\n{client:12} {name:15} 413 read; {discarded / MIB:6.1f} MiB discarded after it; "
                  f"RSS {grown / MIB:+.0f} MiB")
        async with httpx.AsyncClient(timeout=10) as http:
            assert (await http.get(app.base_url + "/api/v1/ready")).status_code == 200
            refused = await http.post(url, content=b"{}", headers={**HEADERS, "authorization": "Bearer wrong"})
            assert refused.status_code == 401, refused.text
            small = await http.post(url, content=b"[]", headers=HEADERS)
            assert small.status_code == 422, small.text  # parsed: the body was read, nothing lingered
    assert sample(app.metrics, "awoooi_http_lingering_closes_total", outcome="time") == 0
    assert sample(app.metrics, "awoooi_http_lingering_closes_total", outcome="bytes") == 0


async def test_an_early_401_is_read_by_a_client_that_sends_everything_first(temporal_client, valkey_url,
                                                                          task_queue) -> None:
    """A bad token is refused before the body is read; http.client still reads the 401."""
    settings = settings_for(valkey_url, task_queue, webhook_token=TOKEN)
    async with serving(temporal_client, settings, worker=False) as app:
        for _ in range(3):
            code, text = await with_http_client(app.base_url + HOOK, LIMIT - 4096, False,
                                                {**HEADERS, "authorization": "Bearer wrong"}, Path())
            assert code == 401 and "webhook token" in text, (code, text)
    assert sample(app.metrics, "awoooi_http_lingering_closes_total", outcome="complete") == 3


def raw_send(port: int, head: bytes, total: int, pause: float = 0.0) -> tuple[bytes, int, float, str]:
    """Send ``head`` then up to ``total`` bytes, without reading until the server stops us; the
    status line, the bytes that went out, the seconds the server let us send, how it ended."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.settimeout(30)
    sent, started, ended = 0, time.monotonic(), "sent everything"
    try:
        sock.sendall(head)
        while sent < total:
            try:
                sent += sock.send(CHUNK if not pause else CHUNK[:1024])
            except (ConnectionResetError, BrokenPipeError) as exc:
                ended = type(exc).__name__
                break
            if pause:
                time.sleep(pause)
        elapsed = time.monotonic() - started
        try:
            status = sock.recv(64).split(b"\r\n", 1)[0]
        except ConnectionResetError:
            status = b"(reset before the status could be read)"
        return status, sent, elapsed, ended
    finally:
        sock.close()


async def test_the_linger_stops_at_its_byte_bound(temporal_client, valkey_url, task_queue) -> None:
    settings = settings_for(valkey_url, task_queue, webhook_token=TOKEN, api_linger_bytes=4 * MIB)
    async with serving(temporal_client, settings, worker=False) as app:
        port = int(app.base_url.rsplit(":", 1)[1])
        head = (f"POST {HOOK} HTTP/1.1\r\nHost: awoooi\r\nContent-Type: application/json\r\n"
                f"Content-Length: {256 * MIB}\r\n\r\n").encode()
        status, sent, _, ended = await asyncio.to_thread(raw_send, port, head, 256 * MIB)
        assert sample(app.metrics, "awoooi_http_lingering_closes_total", outcome="bytes") == 1
        discarded = sample(app.metrics, "awoooi_http_discarded_body_bytes_total")
    assert status.startswith(b"HTTP/1.1 413"), status
    assert ended != "sent everything" and sent < 64 * MIB, (sent, ended)
    assert 4 * MIB < discarded < 5 * MIB, discarded


async def test_the_linger_stops_at_its_time_bound(temporal_client, valkey_url, task_queue) -> None:
    """A sender trickling 1 KiB every 0.2 s (never idle long enough to be dropped for that) is read
    for AWOOOI_API_LINGER_SECONDS, then the connection is closed under it."""
    settings = settings_for(valkey_url, task_queue, webhook_token=TOKEN, api_linger_seconds=1.5)
    async with serving(temporal_client, settings, worker=False) as app:
        port = int(app.base_url.rsplit(":", 1)[1])
        head = (f"POST {HOOK} HTTP/1.1\r\nHost: awoooi\r\nContent-Type: application/json\r\n"
                f"Content-Length: {2 * MIB}\r\n\r\n").encode()
        status, _, elapsed, ended = await asyncio.to_thread(raw_send, port, head, 2 * MIB, 0.2)
        assert sample(app.metrics, "awoooi_http_lingering_closes_total", outcome="time") == 1
    assert status.startswith(b"HTTP/1.1 413"), status
    assert ended != "sent everything" and 1.4 < elapsed < 6, (elapsed, ended)


async def test_alertmanager_reads_the_413_for_an_oversized_group(temporal_client, valkey_url, task_queue,
                                                                 tmp_path) -> None:
    """A real Alertmanager (Go's net/http) sends one group of 10,000 alerts, about 9.5 MB: it must log
    the 413 (a permanent failure it does not retry), never a reset or a broken pipe (2 tries in 3
    before the lingering close, bench/early_answers.py)."""
    settings = settings_for(valkey_url, task_queue, webhook_token=TOKEN)
    run = uuid.uuid4().hex[:8]
    alerts = [{"labels": {"alertname": f"Oversized{run}", "instance": f"host-{i:04d}", "severity": "warning"},
               "annotations": {"summary": "x" * 700}, "generatorURL": "http://prometheus.example/graph"}
              for i in range(10_000)]
    async with serving(temporal_client, settings, worker=False) as app:
        async with alertmanager(tmp_path, app.base_url + HOOK, TOKEN) as am_url:
            async with httpx.AsyncClient(timeout=10) as http:
                assert (await http.post(f"{am_url}/api/v2/alerts", json=alerts)).status_code == 200
            log = tmp_path / "alertmanager" / "alertmanager.log"
            deadline = time.monotonic() + 60
            while "Notify for alerts failed" not in log.read_text() and time.monotonic() < deadline:
                await asyncio.sleep(0.2)
            await asyncio.sleep(1.5)  # a retry, had it been a network error, would show by now
            text = log.read_text()
    failures = [line for line in text.splitlines() if "Notify" in line and "fail" in line]
    assert failures, text[-3000:]
    assert all("413" in line for line in failures), failures
    assert "connection reset" not in text and "broken pipe" not in text, failures
    assert lingered(app.metrics) >= 1  # Go hangs up once it has the answer: "disconnect", usually

"""The load generator, run as its own process so it shares no GIL with anything measured.

    python bench/loadgen.py SPEC.json OUT.json

SPEC: {"targets": [base_url, ...], "path": "/api/v1/webhooks/alertmanager", "headers": {...},
"concurrency": 64, "bodies_file": "bodies.jsonl", "copies": 1, "duration": null, "deadline": 120,
"retries": 20, "client": "raw"}. Each body (one per line) is one delivery; delivery k goes to targets[k % n], and with
copies=2 at the same moment to targets[(k + 1) % n] too (Alertmanager HA: every instance sends).
A 5xx or a broken connection is retried after 0.2 s, as Alertmanager does; a 4xx is final.
``duration`` stops taking new deliveries after that many seconds; ``deadline`` stops everything.
``rate`` (deliveries per second, optional) paces the starts: delivery k is not sent before k / rate
seconds after the start, so one client can be measured at another's pace.
``client``: "raw" (bench/rawhttp.py on uvloop, the lean sender) or "httpx" (one plain
``httpx.AsyncClient`` on the default asyncio loop, its pool as wide as ``concurrency``: what a
script or a relay written by hand sends with; issue 19).

OUT: {"started": t, "ended": t, "timed_out": bool, "results": [[k, copy, t_sent, seconds, status,
attempts, [alert statuses]], ...]}; times are time.monotonic(), which every process on the machine
shares, so they compare with the loopback's.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import deque
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.rawhttp import Connection, HttpError  # noqa: E402


class _HttpxConnection:
    """The same face as rawhttp.Connection over one shared httpx.AsyncClient (its pool)."""

    def __init__(self, client: Any, base_url: str, headers: dict[str, str] | None) -> None:
        self._client = client
        self._base = base_url
        self._headers = {"content-type": "application/json", **(headers or {})}

    async def post(self, path: str, body: bytes) -> tuple[int, bytes]:
        import httpx

        try:
            response = await self._client.post(self._base + path, content=body, headers=self._headers)
        except httpx.HTTPError as exc:
            raise HttpError(str(exc)) from exc
        return response.status_code, response.content

    async def close(self) -> None:
        return None


def _statuses(raw: bytes) -> list[str]:
    try:
        return [a.get("status", "?") for a in json.loads(raw).get("alerts", [])]
    except (ValueError, AttributeError):
        return []


async def _send(conn: Connection, path: str, body: bytes, retries: int, stop_at: float) -> tuple[int, int, bytes]:
    attempts = 0
    while True:
        attempts += 1
        try:
            status, answer = await conn.post(path, body)
        except HttpError:
            status, answer = 0, b""
        if 200 <= status < 500 or attempts > retries or time.monotonic() > stop_at:
            return status, attempts, answer
        await asyncio.sleep(0.2)


async def run(spec: dict[str, Any], bodies: list[bytes]) -> dict[str, Any]:
    targets: list[str] = spec["targets"]
    copies = int(spec.get("copies", 1))
    retries = int(spec.get("retries", 20))
    path = spec.get("path", "/api/v1/webhooks/alertmanager")
    started = time.monotonic()
    stop_taking = started + spec["duration"] if spec.get("duration") else float("inf")
    stop_at = started + float(spec.get("deadline", 120))
    queue = deque(enumerate(bodies))
    rate = float(spec.get("rate") or 0)
    results: list[list[Any]] = []
    shared = None
    if spec.get("client", "raw") == "httpx":
        import httpx

        width = int(spec.get("concurrency", 16)) * copies
        shared = httpx.AsyncClient(timeout=httpx.Timeout(30.0),
                                   limits=httpx.Limits(max_connections=width, max_keepalive_connections=width))

    def connect(target: str) -> Any:
        if shared is not None:
            return _HttpxConnection(shared, target, spec.get("headers"))
        return Connection(target, spec.get("headers"))

    async def sender() -> None:
        # One connection per copy and target: the copies of a delivery are sent at the same moment.
        conns = [connect(t) for _ in range(copies) for t in targets]
        try:
            while queue and time.monotonic() < min(stop_taking, stop_at):
                k, raw = queue.popleft()
                if rate and (wait := started + k / rate - time.monotonic()) > 0:
                    await asyncio.sleep(wait)

                async def one(copy: int) -> None:
                    t0 = time.monotonic()
                    conn = conns[copy * len(targets) + (k + copy) % len(targets)]
                    status, attempts, answer = await _send(conn, path, raw, retries, stop_at)
                    results.append([k, copy, t0, time.monotonic() - t0, status, attempts, _statuses(answer)])

                if copies == 1:
                    await one(0)
                else:
                    await asyncio.gather(*(one(c) for c in range(copies)))
        finally:
            for conn in conns:
                await conn.close()

    tasks = [asyncio.create_task(sender()) for _ in range(int(spec.get("concurrency", 16)))]
    done, pending = await asyncio.wait(tasks, timeout=max(stop_at - time.monotonic(), 0.1))
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    if shared is not None:
        await shared.aclose()
    return {"started": started, "ended": time.monotonic(), "timed_out": bool(pending), "results": results,
            "unsent": len(queue)}


def main() -> None:
    spec = json.loads(Path(sys.argv[1]).read_text())
    bodies = [line.encode() for line in Path(spec["bodies_file"]).read_text().splitlines() if line]
    if spec.get("client", "raw") == "raw":
        try:
            import uvloop

            uvloop.install()
        except ImportError:
            pass
    out = asyncio.run(run(spec, bodies))
    Path(sys.argv[2]).write_text(json.dumps(out))


if __name__ == "__main__":
    main()

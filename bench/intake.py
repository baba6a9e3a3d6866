"""Intake and end-to-end throughput on the real stack (Temporal dev server, Valkey, loopback Telegram).

    .venv/bin/python bench/intake.py [--alerts 500] [--group 10] [--concurrency 8]

Prints: webhook latency percentiles, deliveries/s and alerts/s durably taken, seconds until every
incident has its card, and the ratio of repeat-delivery latency to first-delivery latency. Bounded in
count and time; only loopback addresses are used.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.converter import data_converter  # noqa: E402
from temporalio.testing import WorkflowEnvironment  # noqa: E402

from core import search_attributes as sa  # noqa: E402
from core.logging import configure_logging  # noqa: E402
from starter.embedded import free_port, valkey_server, venv_binary  # noqa: E402
from tests.harness import running, settings_for  # noqa: E402
from tests.loopback.telegram import TelegramLoopback  # noqa: E402


def payload(start: int, group: int, run: str) -> bytes:
    alerts = [
        {
            "status": "firing",
            "labels": {"alertname": "HostHighCpuLoad", "instance": f"node-{run}-{i}", "severity": "warning"},
            "annotations": {"summary": f"CPU high on node-{i}"},
            "startsAt": "2026-11-25T10:00:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus.example/graph",
            "fingerprint": f"{run}{i:08x}",
        }
        for i in range(start, start + group)
    ]
    return json.dumps({"version": "4", "status": "firing", "receiver": "awoooi", "groupKey": "bench",
                       "alerts": alerts, "truncatedAlerts": 0}).encode()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def deliver(app, bodies: list[bytes], concurrency: int) -> tuple[list[float], float]:
    latencies: list[float] = []
    queue = list(bodies)
    started = time.perf_counter()

    async def worker() -> None:
        while queue:
            body = queue.pop()
            t0 = time.perf_counter()
            response = await app.api.post("/api/v1/webhooks/alertmanager", content=body)
            latencies.append(time.perf_counter() - t0)
            if response.status_code != 200:
                raise SystemExit(f"delivery failed: {response.status_code} {response.text[:200]}")

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, time.perf_counter() - started


async def main(alerts: int, group: int, concurrency: int, timeout: float) -> None:
    port = free_port()
    run = uuid.uuid4().hex[:6]
    with tempfile.TemporaryDirectory() as tmp:
        valkey = valkey_server(Path(tmp), port=port)
        valkey.start()
        env = await WorkflowEnvironment.start_local(
            dev_server_existing_path=venv_binary("temporal"), search_attributes=list(sa.ALL),
            data_converter=data_converter, ui=False)
        try:
            with TelegramLoopback() as telegram:
                settings = settings_for(f"redis://127.0.0.1:{port}/0", f"bench-{run}", telegram)
                async with running(env.client, settings) as app:
                    bodies = [payload(i, group, run) for i in range(0, alerts, group)]
                    t0 = time.perf_counter()
                    first, first_wall = await deliver(app, bodies, concurrency)
                    deadline = time.monotonic() + timeout
                    while len(telegram.sent) < alerts and time.monotonic() < deadline:
                        await asyncio.sleep(0.2)
                    cards_after = time.perf_counter() - t0
                    repeat, repeat_wall = await deliver(app, bodies, concurrency)
                    sent = len(telegram.sent)
        finally:
            await env.shutdown()
            valkey.stop()
    deliveries = len(bodies)
    print(f"alerts {alerts} in {deliveries} deliveries of {group}, concurrency {concurrency}")
    print(f"first delivery : {deliveries / first_wall:8.1f} deliveries/s  {alerts / first_wall:8.1f} alerts/s"
          f"  p50 {statistics.median(first) * 1000:7.1f} ms  p95 {pct(first, 0.95) * 1000:7.1f} ms")
    print(f"repeat delivery: {deliveries / repeat_wall:8.1f} deliveries/s  {alerts / repeat_wall:8.1f} alerts/s"
          f"  p50 {statistics.median(repeat) * 1000:7.1f} ms  p95 {pct(repeat, 0.95) * 1000:7.1f} ms")
    print(f"cards          : {sent} sent for {alerts} incidents (ratio {sent / alerts:.3f}); all first cards "
          f"after {cards_after:.1f} s ({alerts / cards_after:.1f} incidents/s end to end)")
    print(f"ratio repeat/first p50 latency: {statistics.median(repeat) / statistics.median(first):.2f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--alerts", type=int, default=500)
    parser.add_argument("--group", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args()
    configure_logging("WARNING")
    asyncio.run(main(args.alerts, args.group, args.concurrency, args.timeout))

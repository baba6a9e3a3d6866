"""What an unscraped worker writes about the Temporal SDK's metrics through a storm and a quiet time.

    .venv/bin/python bench/unscraped_worker.py [--alerts 2000] [--quiet-minutes 10] [--code DIR]

Separate processes as production runs them (tests/stack.py: Temporal dev server, Valkey, `awoooi
api`, `awoooi worker`, loopback Telegram with its limits off); one Alertmanager delivery of
``--alerts`` alerts (one group, each its own incident, so one card each); nothing scrapes the
worker. Once every card is out, ``--quiet-minutes`` of nothing; then the worker's /metrics is
scraped once. Prints the worker's log lines in all, the lines about the metrics buffer (the SDK's
per-dropped-call line and awoooi's warnings), the log's size, the dropped/drained counters and
whether the SDK's own counters are on /metrics.

``--code DIR`` runs the API and worker from another checkout (``git archive main | tar -x -C DIR``)
on this venv: the same run before a change.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from bench import payloads  # noqa: E402
from tests.loopback.sentry import SentryLoopback  # noqa: E402
from tests.loopback.telegram import TelegramLoopback  # noqa: E402
from tests.stack import WEBHOOK_TOKEN, Stack  # noqa: E402

BUFFER_FULL = "metrics buffer is full"


def scrape(text: str) -> dict[str, float]:
    found: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[sample.name] = found.get(sample.name, 0.0) + sample.value
    return found


async def run(args: argparse.Namespace) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="awoooi-unscraped-"))
    extra = {"PYTHONPATH": str(Path(args.code).resolve())} if args.code else {}
    with TelegramLoopback() as telegram, SentryLoopback() as sentry:
        stack = Stack(tmp, telegram, sentry, extra_env=extra, task_queue="unscraped")
        stack.start()
        try:
            run_id = payloads.new_run()
            body = payloads.body([payloads.alert(run_id, i) for i in range(args.alerts)])
            started = time.monotonic()
            async with httpx.AsyncClient(timeout=120) as http:
                answer = await http.post(f"{stack.base_url}/api/v1/webhooks/alertmanager", content=body,
                                         headers={"authorization": f"Bearer {WEBHOOK_TOKEN}",
                                                  "content-type": "application/json"})
                print(f"delivery of {args.alerts} alerts ({len(body):,} bytes): {answer.status_code}", flush=True)
                while telegram.sent_count() < args.alerts:
                    if time.monotonic() - started > args.timeout:
                        print(f"only {telegram.sent_count()} cards after {args.timeout:.0f} s", flush=True)
                        break
                    await asyncio.sleep(1)
                storm = time.monotonic() - started
                print(f"{telegram.sent_count()} cards in {storm:.0f} s; quiet for {args.quiet_minutes} min",
                      flush=True)
                await asyncio.sleep(args.quiet_minutes * 60)
                metrics = scrape((await http.get(f"http://127.0.0.1:{stack.worker_port}/metrics")).text)
        finally:
            stack.stop()
    log = tmp / "worker.log"
    lines = log.read_text(errors="replace").splitlines()
    sdk_lines = sum(BUFFER_FULL in line for line in lines)
    ours = sum("sdk_metric" in line and BUFFER_FULL not in line for line in lines)
    temporal = sorted(name for name in metrics if name.startswith("temporal_"))
    print(f"code: {args.code or 'this checkout'}")
    print(f"worker log: {len(lines):,} lines, {log.stat().st_size / 1e6:.1f} MB")
    print(f"  the SDK's 'metrics buffer is full' lines: {sdk_lines:,}")
    print(f"  awoooi's lines about the SDK's metrics:   {ours}")
    for name in ("awoooi_sdk_metric_updates_dropped_total", "awoooi_sdk_metric_drains_failed_total",
                 "awoooi_sdk_metric_updates_drained_total"):
        print(f"  {name}: {metrics[name]:,.0f}" if name in metrics else f"  {name}: (not on /metrics)")
    print(f"  SDK series on /metrics: {len(temporal)} "
          f"(e.g. {', '.join(n for n in temporal if n.endswith('_total'))[:200]})")
    print(f"logs kept in {tmp}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--alerts", type=int, default=2000)
    parser.add_argument("--quiet-minutes", type=float, default=10.0)
    parser.add_argument("--timeout", type=float, default=1200.0, help="seconds to wait for every card")
    parser.add_argument("--code", help="run the API and worker from this checkout instead")
    args = parser.parse_args()
    if args.code:  # the children run `python -m starter.cli` from this directory: its code comes first
        os.chdir(args.code)
    asyncio.run(run(args))


if __name__ == "__main__":
    main()

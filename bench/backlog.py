"""First words first: new alerts and the probe while a backlog drains (issue 19).

    .venv/bin/python bench/backlog.py [--quick] [--phase full|dev|both] [--backlog N]

Phase "full" (the production process model, tests/stack.py: API, worker, Temporal, Valkey as separate
processes, Telegram on the loopback with its limits off, the digest off): 2,000 new incidents of one
sender group are posted as fast as the API takes them; then, while their cards drain, 20 new alerts,
each its own group, one every 0.5 s, and the chain probe is triggered. Printed: webhook -> first card
for the 20 (p50, p95, how many within 5 s), the probe's result and time, the backlog's drain rate,
and the Telegram contract violations (none expected).

Phase "dev" (`awoooi dev` as a user runs it: embedded servers, the digest and Telegram's real limits
at their defaults): a 2,000-alert group (40 deliveries of 50), then 5 s later one critical alert;
printed: webhook -> the first message that shows the critical alert.

"Shown": a sendMessage or editMessageText whose text names the alert's unique instance label
(bench/chat.py). The same figures before and after a change come from running this file on each tree.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from temporalio.client import Client  # noqa: E402

from bench import payloads  # noqa: E402
from bench.chat import TimedTelegram  # noqa: E402
from core.converter import data_converter  # noqa: E402
from core.probe import ProbeReport  # noqa: E402
from starter.embedded import free_port, port_open  # noqa: E402
from tests.harness import CHAT_ID  # noqa: E402
from tests.loopback.sentry import SentryLoopback  # noqa: E402
from tests.stack import WEBHOOK_TOKEN, Stack  # noqa: E402
from worker.schedule import SCHEDULE_ID  # noqa: E402

AUTH = {"authorization": f"Bearer {WEBHOOK_TOKEN}"}
WEBHOOK = "/api/v1/webhooks/alertmanager"


def new_alert(run: str, i: int, *, severity: str = "warning") -> bytes:
    """One alert of its own sender group (its own alert name), with a unique instance label."""
    alert = payloads.alert(run, i)
    alert["labels"] = {**alert["labels"], "alertname": f"Fresh{i:02d}", "severity": severity}  # type: ignore[dict-item]
    return payloads.body([alert], f"fresh-{run}-{i}")


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def post_all(http: httpx.AsyncClient, base: str, bodies: list[bytes], senders: int) -> int:
    """Post every body (retrying a 503 as a sender would); returns how many were answered 2xx."""
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    ok = 0

    async def sender() -> None:
        nonlocal ok
        while not queue.empty():
            body = queue.get_nowait()
            for _ in range(20):
                try:
                    response = await http.post(base + WEBHOOK, content=body, headers=AUTH, timeout=30)
                except httpx.HTTPError:
                    await asyncio.sleep(0.5)
                    continue
                if response.status_code < 300:
                    ok += 1
                    break
                await asyncio.sleep(0.5)

    await asyncio.gather(*(sender() for _ in range(senders)))
    return ok


async def probe_result(client: Client, started: float, deadline: float) -> tuple[str, float]:
    """Trigger the schedule's probe and wait for its report: ("passed" | "broken: ..." | "no result")."""
    await client.get_schedule_handle(SCHEDULE_ID).trigger()
    while time.monotonic() < deadline:
        runs = [w async for w in client.list_workflows('WorkflowType="AlertChainProbe" AND ExecutionStatus!="Running"')]
        if runs:
            run = runs[0]
            try:
                report = await client.get_workflow_handle(run.id, run_id=run.run_id, result_type=ProbeReport).result()
            except Exception as exc:  # noqa: BLE001 - a failed run is a result too
                return f"failed: {type(exc).__name__}", time.monotonic() - started
            broken = [f"{link.link}: {link.error}" for link in report.links if not link.ok]
            return ("passed" if report.ok else "broken: " + "; ".join(broken)), time.monotonic() - started
        await asyncio.sleep(0.5)
    return "no result", time.monotonic() - started


async def full(backlog: int, fresh: int) -> None:
    run, fresh_run = payloads.new_run(), payloads.new_run()
    with tempfile.TemporaryDirectory() as tmp, TimedTelegram() as telegram, SentryLoopback() as sentry:
        stack = Stack(Path(tmp), telegram, sentry, task_queue="backlog",
                      extra_env={"AWOOOI_PROBE_INTERVAL": "86400", "AWOOOI_TELEGRAM_PROBE_CHAT_ID": CHAT_ID})
        stack.start()
        try:
            client = await Client.connect(f"127.0.0.1:{stack.temporal_port}", data_converter=data_converter)
            async with httpx.AsyncClient(limits=httpx.Limits(max_connections=64)) as http:
                t0 = time.monotonic()
                posting = asyncio.create_task(post_all(http, stack.base_url, payloads.distinct(run, backlog), 32))
                await asyncio.sleep(5)  # the backlog is building: the API has taken a few hundred by now
                posted_at: dict[int, float] = {}
                probe_started = time.monotonic()
                probe = asyncio.create_task(probe_result(client, probe_started, probe_started + 180))
                for i in range(fresh):
                    posted_at[i] = time.monotonic()
                    response = await http.post(stack.base_url + WEBHOOK, content=new_alert(fresh_run, i),
                                               headers=AUTH, timeout=30)
                    assert response.status_code < 300, response.text
                    await asyncio.sleep(0.5)
                taken = await posting
                posted_seconds = time.monotonic() - t0
                deadline = time.monotonic() + 60
                while time.monotonic() < deadline and any(telegram.shown(fresh_run, i) is None for i in range(fresh)):
                    await asyncio.sleep(0.5)
                probe_outcome, probe_seconds = await probe
                waits = [shown - posted_at[i] for i in range(fresh) if (shown := telegram.shown(fresh_run, i))]
                deadline = time.monotonic() + 600
                while time.monotonic() < deadline and sum(
                        telegram.shown(run, i) is not None for i in range(backlog)) < backlog:
                    await asyncio.sleep(1)
                shown_backlog = [s for i in range(backlog) if (s := telegram.shown(run, i)) is not None]
                drain = (max(shown_backlog) - t0) if shown_backlog else float("nan")
        finally:
            stack.stop()
    print(f"\nphase full: backlog of {backlog} new incidents (one sender group, {taken} taken in {posted_seconds:.1f} s), "
          f"{fresh} new alerts of their own groups meanwhile, the probe triggered 5 s in")
    print(f"  new alerts, webhook -> first card: p50 {statistics.median(waits) if waits else float('nan'):.1f} s, "
          f"p95 {pct(waits, 0.95):.1f} s, max {max(waits) if waits else float('nan'):.1f} s; "
          f"{sum(w <= 5 for w in waits)}/{fresh} within 5 s, {fresh - len(waits)} not shown within 60 s of the last post")
    print(f"  probe: {probe_outcome} in {probe_seconds:.1f} s")
    print(f"  backlog: {len(shown_backlog)}/{backlog} shown, the last {drain:.1f} s after the first post "
          f"({len(shown_backlog) / drain if shown_backlog else 0:.1f} cards/s)")
    print(f"  Telegram contract violations: {len(telegram.violations)}")


async def dev(group: int) -> None:
    run, critical_run = payloads.new_run(), payloads.new_run()
    with tempfile.TemporaryDirectory() as tmp, TimedTelegram() as telegram:
        api_port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWOOOI_")}
        env.update({
            "AWOOOI_DATA_DIR": tmp, "AWOOOI_API_PORT": str(api_port), "AWOOOI_WORKER_METRICS_PORT": "0",
            "AWOOOI_DEV_TEMPORAL_PORT": str(free_port()), "AWOOOI_DEV_TEMPORAL_UI_PORT": str(free_port()),
            "AWOOOI_DEV_VALKEY_PORT": str(free_port()), "AWOOOI_WEBHOOK_TOKEN": WEBHOOK_TOKEN,
            "AWOOOI_TELEGRAM_BOT_TOKEN": telegram.token, "AWOOOI_TELEGRAM_CHAT_ID": CHAT_ID,
            "AWOOOI_TELEGRAM_API_BASE": telegram.base_url, "AWOOOI_PROBE_INTERVAL": "86400",
            "AWOOOI_LOG_FORMAT": "json",
        })
        log = open(Path(tmp) / "dev.log", "wb")  # noqa: SIM115 - closed below
        proc = subprocess.Popen([sys.executable, "-m", "starter.cli", "dev"], env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True, cwd=ROOT)
        try:
            deadline = time.monotonic() + 120
            base = f"http://127.0.0.1:{api_port}"
            async with httpx.AsyncClient(limits=httpx.Limits(max_connections=16)) as http:
                while True:
                    if port_open(api_port):
                        try:
                            if (await http.get(base + "/api/v1/health", timeout=2)).status_code == 200:
                                break
                        except httpx.HTTPError:
                            pass
                    if time.monotonic() > deadline or proc.poll() is not None:
                        raise SystemExit(f"awoooi dev did not come up; see {tmp}/dev.log")
                    await asyncio.sleep(0.5)
                per = 50
                bodies = [payloads.body([payloads.alert(run, i) for i in range(start, min(start + per, group))],
                                        f"dev-group-{run}") for start in range(0, group, per)]
                t0 = time.monotonic()
                posting = asyncio.create_task(post_all(http, base, bodies, 8))
                await asyncio.sleep(5)
                posted = time.monotonic()
                response = await http.post(base + WEBHOOK, content=new_alert(critical_run, 0, severity="critical"),
                                           headers=AUTH, timeout=30)
                assert response.status_code < 300, response.text
                await posting
                deadline = time.monotonic() + 120
                while time.monotonic() < deadline and telegram.shown(critical_run, 0) is None:
                    await asyncio.sleep(0.2)
                shown = telegram.shown(critical_run, 0)
                lines_before = sum(1 for i in range(group) if (s := telegram.shown(run, i)) is not None
                                   and shown is not None and s < shown)
                calls = len(telegram.timed)
                elapsed = time.monotonic() - t0
        finally:
            proc.send_signal(2)
            try:
                proc.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)
            log.close()
    print(f"\nphase dev: `awoooi dev` defaults (digest on, Telegram's limits), a {group}-alert group, "
          f"then a critical alert 5 s later")
    if shown is None:
        print("  critical alert: NOT shown within 120 s")
    else:
        print(f"  critical alert, webhook -> chat: {shown - posted:.1f} s ({lines_before} of the group's alerts "
              f"were shown before it; {calls} Telegram calls in {elapsed:.0f} s)")
    print(f"  Telegram contract violations: {len(telegram.violations)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--phase", choices=["full", "dev", "both"], default="both")
    parser.add_argument("--quick", action="store_true", help="a 300-alert backlog and 5 new alerts")
    parser.add_argument("--backlog", type=int, default=None)
    args = parser.parse_args()
    backlog = args.backlog or (300 if args.quick else 2000)
    fresh = 5 if args.quick else 20
    if args.phase in ("full", "both"):
        asyncio.run(full(backlog, fresh))
    if args.phase in ("dev", "both"):
        asyncio.run(dev(backlog))


if __name__ == "__main__":
    main()

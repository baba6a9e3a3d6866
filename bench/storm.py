"""Alert storms at the engine's limit, measured on the production process model (issue 8).

    .venv/bin/python bench/storm.py [--quick] [--profile [--profile-format speedscope]] [--keep]
    make bench

One run, one Temporal dev server (the embedded one, SQLite file, as `make dev` runs it), one
Valkey, `awoooi api` and `awoooi worker` as separate processes (tests/stack.py), Telegram on the
loopback. Webhooks go in over TCP from a load generator in its own process (bench/loadgen.py, a raw
HTTP/1.1 keep-alive client); what counts as done is what the Telegram loopback received. Phases:

  G  the load generator against a bare uvicorn endpoint in its own process: its ceiling
  0  the bare reference: BareWorkflow (6 no-op regular activities) from 16 concurrent starters on
     its own task queue and worker process; and signal-with-start alone to 100 existing workflows
  1  distinct alerts end to end (one alert per delivery, 16 senders) until each is shown
  2  the storm: deliveries of one firing alert each over fingerprints (each round a new startsAt,
     so every repeat is a counted occurrence), 64 senders
  3  webhook -> loopback sendMessage latency, one alert at a time, alone and during a storm
  4  VmRSS/VmHWM of every process with >= 1,000 open incidents
  5  the storm against two API processes and two workers (one Temporal, one Valkey)

Every phase has a deadline and reports what it got when it runs out. "Shown exactly once": exactly
one message in the chat whose final text names the alert's unique instance label (bench/chat.py).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from redis.asyncio import Redis  # noqa: E402
from temporalio.client import Client  # noqa: E402

from activities.valkey.incidents import RedisIncidentRepository  # noqa: E402
from bench import payloads  # noqa: E402
from bench.chat import TimedTelegram, max_calls_per_alert_minute, max_share_per_alert_minute, summary  # noqa: E402
from bench.machine import cpu_seconds, describe, load_average, memory  # noqa: E402
from bench.rawhttp import Connection, HttpError  # noqa: E402
from starter.embedded import Process, free_port  # noqa: E402
from tests.loopback.sentry import SentryLoopback  # noqa: E402
from tests.stack import WEBHOOK_TOKEN, Stack  # noqa: E402

AUTH = {"authorization": f"Bearer {WEBHOOK_TOKEN}"}
WEBHOOK = "/api/v1/webhooks/alertmanager"
REFERENCE_QUEUE = "bench-reference"
# The alert-chain probe would post its own alerts and chat messages mid-run: once a day is never here.
# tests/stack.py turns the storm digest and the card budget off for the tests; the bench runs the
# product's defaults.
BENCH_ENV = {"AWOOOI_PROBE_INTERVAL": "86400", "AWOOOI_DIGEST_THRESHOLD": "10", "AWOOOI_CARD_BUDGET_CALLS": "2"}
QUIET_SECONDS = 12.0  # no call for a storm's alerts this long = its card edits have settled


@dataclass(frozen=True)
class Sizes:
    ceiling: int = 5000
    reference_workflows: int = 300
    sws: int = 5000
    distinct: int = 1000
    storm: int = 5000
    fingerprints: int = 100
    # The digest threshold (BENCH_ENV): one more new alert within the minute is a storm, and its
    # digest line waits for the coalesced edit, which is not the card path this phase measures.
    one_at_a_time: int = 10
    background_seconds: float = 25.0
    open_incidents: int = 1000
    storm_deadline: float = 150.0
    settle_seconds: float = 60.0
    quiesce_seconds: float = 60.0


QUICK = Sizes(ceiling=1000, reference_workflows=60, sws=1000, distinct=120, storm=1000, fingerprints=100,
              one_at_a_time=5, background_seconds=8.0, open_incidents=0, storm_deadline=60.0, settle_seconds=30.0,
              quiesce_seconds=30.0)


@dataclass
class Row:
    phase: str
    figure: str
    value: str
    reference: str = ""
    ratio: str = ""
    target: str = ""


@dataclass
class Context:
    sizes: Sizes
    tmp: Path
    stack: Stack
    telegram: TimedTelegram
    client: Client
    redis: Redis
    profile_dir: Path | None
    profile_format: str
    rows: list[Row] = field(default_factory=list)
    reference: dict[str, float] = field(default_factory=dict)

    def add(self, phase: str, figure: str, value: str, reference: str = "", ratio: str = "",
            target: str = "") -> None:
        self.rows.append(Row(phase, figure, value, reference, ratio, target))


# -- small helpers ---------------------------------------------------------------------------------

def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def ratio(value: float, reference: float) -> str:
    return f"{value / reference:.2f}" if reference and not math.isnan(value) and not math.isnan(reference) else ""


async def wait_until(predicate: Callable[[], Any], deadline: float, every: float = 0.1) -> bool:
    while True:
        result = predicate()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return True
        if time.monotonic() >= deadline:
            return False
        await asyncio.sleep(every)


async def run_json(argv: list[str], timeout: float) -> dict[str, Any]:
    proc = await asyncio.create_subprocess_exec(*argv, stdout=subprocess.PIPE)
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        return {"timed_out": True}
    return json.loads(out.decode().strip().splitlines()[-1]) if out.strip() else {"failed": proc.returncode}


async def loadgen(ctx: Context, name: str, targets: list[str], bodies: list[bytes], *, concurrency: int,
                  deadline: float, copies: int = 1, duration: float | None = None,
                  client: str = "raw", rate: float | None = None) -> dict[str, Any]:
    """Run bench/loadgen.py in its own process; its results (partial when its deadline hit).
    ``client``: "raw" (the lean sender) or "httpx" (a plain httpx.AsyncClient; bench/senders.py)."""
    folder = ctx.tmp / f"load-{name}"
    folder.mkdir(exist_ok=True)
    (folder / "bodies.jsonl").write_bytes(b"\n".join(bodies))
    spec = {"targets": targets, "path": WEBHOOK, "headers": AUTH, "concurrency": concurrency, "copies": copies,
            "bodies_file": str(folder / "bodies.jsonl"), "duration": duration, "deadline": deadline,
            "client": client, "rate": rate}
    (folder / "spec.json").write_text(json.dumps(spec))
    proc = await asyncio.create_subprocess_exec(sys.executable, str(ROOT / "bench" / "loadgen.py"),
                                                str(folder / "spec.json"), str(folder / "out.json"))
    try:
        await asyncio.wait_for(proc.wait(), deadline + 30)
    except TimeoutError:
        proc.kill()
        await proc.wait()
    if not (folder / "out.json").exists():
        now = time.monotonic()
        return {"started": now, "ended": now, "timed_out": True, "results": [], "unsent": len(bodies)}
    return json.loads((folder / "out.json").read_text())


def load_figures(load: dict[str, Any]) -> dict[str, Any]:
    results = load["results"]
    ok = [r for r in results if r[4] == 200]
    seconds = max(load["ended"] - load["started"], 1e-9)
    latencies = [r[3] * 1000 for r in ok]
    return {"sent": len(results), "ok": len(ok), "seconds": seconds, "rate": len(ok) / seconds,
            "p50": pct(latencies, 0.5), "p95": pct(latencies, 0.95), "p99": pct(latencies, 0.99),
            "statuses": [s for r in ok for s in r[6]], "timed_out": load.get("timed_out") or load.get("unsent")}


def answers(statuses: list[str]) -> str:
    """How the API answered each alert: started / updated / duplicate / spooled (ADR 0013)."""
    counted = Counter(statuses)
    return ", ".join(f"{name} {n}" for name, n in counted.most_common())


def timed_out(flag: Any) -> str:
    return " (timed out: partial)" if flag else ""


async def executions(client: Client, run: str) -> list[str]:
    """Workflow ids of every execution (open or closed) of a run's incidents, from visibility."""
    query = f'WorkflowId STARTS_WITH "{payloads.workflow_prefix(run)}"'
    return [execution.id async for execution in client.list_workflows(query)]


async def occurrences(ctx: Context, run: str, count: int) -> list[int]:
    repository = RedisIncidentRepository(ctx.redis)
    found = []
    for i in range(count):
        record = await repository.get(payloads.incident_id(run, i))
        found.append(int(record.get("occurrences") or 0))
    return found


async def spool_depth(ctx: Context) -> float:
    """The deepest spool any API reports on /metrics (awoooi_spool_depth); inf when one cannot say."""
    deepest = 0.0
    async with httpx.AsyncClient(timeout=5.0) as http:
        for url in ctx.stack.base_urls:
            try:
                text = (await http.get(f"{url}/metrics")).text
            except httpx.HTTPError:
                return float("inf")
            found = re.search(r"^awoooi_spool_depth(?:\{[^}]*\})? ([0-9.e+]+)$", text, re.MULTILINE)
            deepest = max(deepest, float(found.group(1)) if found else 0.0)
    return deepest


async def quiesce(ctx: Context, before: str, limit: float) -> None:
    """Wait until the previous phase's backlog is gone (every spool empty, the chat quiet for 3 s),
    so its work is not measured as the next phase's; say so when it took long or did not finish."""
    t0 = time.monotonic()

    async def idle() -> bool:
        now = time.monotonic()
        return not ctx.telegram.calls_between(now - 3.0, now) and await spool_depth(ctx) == 0

    drained = await wait_until(idle, t0 + limit, every=0.5)
    waited = time.monotonic() - t0
    if not drained:
        depth = await spool_depth(ctx)
        ctx.add(before, f"backlog of earlier phases NOT drained after {limit:.0f} s",
                f"spool depth {depth:,.0f}; the figures of this phase carry that backlog")
    elif waited > 6:
        ctx.add(before, "backlog of earlier phases drained before this phase", f"after {waited:.0f} s")


# -- phases ----------------------------------------------------------------------------------------

async def phase_ceiling(ctx: Context) -> None:
    port = free_port()
    bare = Process("bare-endpoint", [sys.executable, str(ROOT / "bench" / "bare_app.py"), str(port)], port,
                   ctx.tmp / "bare.log")
    await asyncio.to_thread(bare.start, 30)
    try:
        bodies = payloads.storm(payloads.new_run(), ctx.sizes.ceiling, ctx.sizes.fingerprints)
        load = await loadgen(ctx, "ceiling", [f"http://127.0.0.1:{port}"], bodies, concurrency=64, deadline=60)
    finally:
        bare.stop()
    f = load_figures(load)
    ctx.reference["ceiling"] = f["rate"]
    ctx.add("G", "load generator -> bare uvicorn endpoint, 64 senders",
            f"{f['rate']:,.0f} req/s, p50 {f['p50']:.1f} ms, p99 {f['p99']:.1f} ms{timed_out(f['timed_out'])}",
            target="far above every figure below")


async def phase_reference(ctx: Context) -> None:
    stack = ctx.stack
    address = f"127.0.0.1:{stack.temporal_port}"
    ready = free_port()
    worker = Process("reference-worker", [sys.executable, str(ROOT / "bench" / "reference.py"), "worker",
                                          "--address", address, "--task-queue", REFERENCE_QUEUE,
                                          "--ready-port", str(ready)], ready, ctx.tmp / "reference-worker.log")
    await asyncio.to_thread(worker.start, 60)
    script = [sys.executable, str(ROOT / "bench" / "reference.py")]
    common = ["--address", address, "--task-queue", REFERENCE_QUEUE]
    try:
        bare = await run_json([*script, "workflows", *common, "--count", str(ctx.sizes.reference_workflows),
                               "--concurrency", "16", "--deadline", "120"], timeout=180)
        if "completed" in bare:
            per_min = bare["completed"] / bare["seconds"] * 60
            ctx.reference["workflows_per_min"] = per_min
            ctx.add("0", "bare workflow, 6 no-op activities, 16 starters",
                    f"{per_min:,.0f} workflows/min ({bare['completed']} in {bare['seconds']:.1f} s)"
                    f"{timed_out(bare.get('timed_out'))}", reference="(reference)")
        else:
            ctx.add("0", "bare workflow, 6 no-op activities, 16 starters", f"no result: {bare}")
        for queue, what, count in ((f"{REFERENCE_QUEUE}-unpolled", "no worker: the server alone", ctx.sizes.sws),
                                   (REFERENCE_QUEUE, "a worker takes each signal", ctx.sizes.sws // 2)):
            sws = await run_json([*script, "sws", "--address", address, "--task-queue", queue, "--count",
                                  str(count), "--workflows", str(ctx.sizes.fingerprints), "--concurrency", "64",
                                  "--deadline", "60"], timeout=120)
            figure = f"signal-with-start to {ctx.sizes.fingerprints} existing workflows, 64 senders, {what}"
            if "signals" not in sws:
                ctx.add("0", figure, f"no result: {sws}")
                continue
            rate = sws["signals"] / sws["seconds"]
            ctx.reference.setdefault("sws_per_s", rate)
            ctx.add("0", figure, f"{rate:,.0f} signals/s, p50 {pct(sws['latencies_ms'], 0.5):.1f} ms, "
                    f"p99 {pct(sws['latencies_ms'], 0.99):.1f} ms{timed_out(sws.get('timed_out'))}",
                    reference="(storm's reference)" if queue != REFERENCE_QUEUE else "")
    finally:
        worker.stop()


async def distinct_alerts(ctx: Context, run: str, count: int, start: int = 0,
                          deadline: float = 240.0) -> dict[str, Any]:
    """``count`` one-alert deliveries from 16 senders; waits until each is shown (or the deadline)."""
    t0 = time.monotonic()
    load = await loadgen(ctx, f"distinct-{run}", [ctx.stack.base_url], payloads.distinct(run, count, start),
                         concurrency=16, deadline=deadline)
    numbers = range(start, start + count)
    await wait_until(lambda: all(ctx.telegram.shown(run, i) is not None for i in numbers), t0 + deadline + 60,
                     every=0.25)
    shown = [t for t in (ctx.telegram.shown(run, i) for i in numbers) if t is not None]
    return {"load": load, "shown": shown, "counts": summary(ctx.telegram.shown_counts(run), numbers)}


async def phase_distinct(ctx: Context) -> None:
    run, n = payloads.new_run(), ctx.sizes.distinct
    spies = await start_profiles(ctx, "1") if ctx.profile_dir is not None else []
    try:
        got = await distinct_alerts(ctx, run, n)
    finally:
        await finish_profiles(spies)
    f = load_figures(got["load"])
    shown = got["shown"]
    elapsed = (max(shown) - got["load"]["started"]) if shown else float("nan")
    per_min = len(shown) / elapsed * 60 if shown else float("nan")
    reference = ctx.reference.get("workflows_per_min", float("nan"))
    ctx.add("1", f"distinct alerts end to end ({n}, one per delivery, 16 senders)",
            f"{per_min:,.0f} alerts/min ({len(shown)}/{n} shown in {elapsed:.1f} s){timed_out(f['timed_out'])}",
            reference=f"{reference:,.0f} workflows/min", ratio=ratio(per_min, reference), target=">= 1.5")
    ctx.add("1", "  answered 200 / answer p50 / p99", f"{f['ok']}/{n}, {f['p50']:.0f} ms, {f['p99']:.0f} ms")
    ctx.add("1", "  answers", answers(f["statuses"]))
    c = got["counts"]
    ctx.add("1", "  shown exactly once", f"{c['once']}/{n} (missing {c['missing']}, extra messages "
            f"{c['duplicates']})", target=f"{n}/{n}")
    twice = [i for i, k in ctx.telegram.shown_counts(run).items() if k > 1][:2]
    for i in twice:  # what to look at when an alert is in two messages
        ctx.add("1", f"  alert {i} is shown by", "; ".join(ctx.telegram.where_shown(run, i)))


async def storm(ctx: Context, phase: str, targets: list[str], *, profile: bool = False) -> None:
    sizes = ctx.sizes
    run, deliveries, fps = payloads.new_run(), sizes.storm, sizes.fingerprints
    expected = [len(range(i, deliveries, fps)) for i in range(fps)]
    bodies = payloads.storm(run, deliveries, fps)
    t_start = time.monotonic()
    spies = await start_profiles(ctx, phase) if profile else []
    cpu_before = process_cpu(ctx)
    load = await loadgen(ctx, f"storm-{phase}", targets, bodies, concurrency=64, deadline=sizes.storm_deadline)
    cpu_answered = process_cpu(ctx)
    f = load_figures(load)
    settle = time.monotonic() + sizes.settle_seconds

    async def counted() -> bool:
        return all(ctx.telegram.shown(run, i) is not None for i in range(fps)) and \
            await occurrences(ctx, run, fps) == expected

    settled = await wait_until(counted, settle, every=0.5)

    def quiet() -> bool:
        recent = ctx.telegram.calls_between(time.monotonic() - QUIET_SECONDS, time.monotonic())
        return not any(a.startswith(f"{run}-") for c in recent for a in c.alerts)

    await wait_until(quiet, settle, every=0.5)
    t_end = time.monotonic()
    cpu_after = process_cpu(ctx)
    await finish_profiles(spies)
    ids = await executions(ctx.client, run)
    found = await occurrences(ctx, run, fps)
    shortfall = sum(max(e - o, 0) for e, o in zip(expected, found))
    rejected = sum(1 for s in f["statuses"] if s not in ("started", "updated", "duplicate", "spooled"))
    lost = (deliveries - f["ok"]) + rejected + shortfall
    counts = summary(ctx.telegram.shown_counts(run), range(fps))
    calls = ctx.telegram.calls_between(t_start, t_end)
    storm_calls = [c for c in calls if any(a.startswith(f"{run}-") for a in c.alerts)]
    sws = ctx.reference.get("sws_per_s", float("nan"))
    where = f"{len(targets)} API + {len(ctx.stack.worker_processes)} worker processes"
    ctx.add(phase, f"storm: {deliveries:,} deliveries over {fps} fingerprints, 64 senders, {where}",
            f"{f['rate']:,.0f} deliveries/s ({f['ok']} answered 200 in {f['seconds']:.1f} s)"
            f"{timed_out(f['timed_out'])}", reference=f"{sws:,.0f} signals/s", ratio=ratio(f["rate"], sws),
            target=">= 2,000/s")
    ctx.add(phase, "  answer p50 / p99", f"{f['p50']:,.0f} ms / {f['p99']:,.0f} ms", target="p99 <= 50 ms")
    ctx.add(phase, "  answers", answers(f["statuses"]))
    ctx.add(phase, "  CPU ms per delivery while answering / until settled (what 2 cores allow: 1 ms)",
            cpu_per_delivery(cpu_before, cpu_answered, deliveries) + " / "
            + cpu_per_delivery(cpu_before, cpu_after, deliveries))
    ctx.add(phase, "  occurrences counted (incident records) / s since the storm began",
            f"{sum(found):,} / {deliveries:,} after {t_end - t_start:.0f} s: "
            f"{sum(found) / (t_end - t_start):,.0f}/s" + ("" if settled else " (settle limit reached)"))
    ctx.add(phase, "  incidents (distinct workflow ids) / executions",
            f"{len(set(ids))} / {len(ids)}", target=f"{fps} / {fps}")
    if settled:
        ctx.add(phase, "  lost (not answered 200 + rejected + occurrences not counted)",
                f"{lost} ({deliveries - f['ok']} + {rejected} + {shortfall})", target="0")
    else:
        ctx.add(phase, "  lost (not answered 200 + rejected); not yet counted at the settle limit",
                f"{deliveries - f['ok'] + rejected} ({deliveries - f['ok']} + {rejected}); {shortfall:,} "
                "occurrences still in the backlog (not proven lost)", target="0")
    ctx.add(phase, "  incidents shown exactly once", f"{counts['once']}/{fps} (missing {counts['missing']})",
            target=f"{fps}/{fps}")
    if len(targets) > 1:
        duplicate_incidents = (len(ids) - len(set(ids))) + max(len(set(ids)) - fps, 0)
        ctx.add(phase, "  duplicates: incidents, cards", f"{duplicate_incidents}, {counts['duplicates']}",
                target="0, 0")
    ctx.add(phase, "  Telegram calls: all in the window / naming the storm's alerts",
            f"{len(calls)} / {len(storm_calls)} over {t_end - t_start:.0f} s (storm + settling)")
    ctx.add(phase, "  max Telegram calls per incident in one minute (a call naming k incidents: 1/k each)",
            f"{max_share_per_alert_minute(storm_calls, run, t_start):.2f}", target="<= 2")
    ctx.add(phase, "  max Telegram calls naming one incident in one minute (a digest edit: 1 for each line)",
            str(max_calls_per_alert_minute(storm_calls, run, t_start)))


def process_cpu(ctx: Context) -> dict[str, float]:
    """CPU seconds used so far by each process of the stack (the APIs and workers summed per kind)."""
    stack = ctx.stack
    kinds = [("API", stack.api_processes), ("worker", stack.worker_processes), ("Temporal", [stack.temporal]),
             ("Valkey", [stack.valkey])]
    return {kind: sum(cpu_seconds(p.proc.pid) for p in processes if p.proc is not None) for kind, processes in kinds}


def cpu_per_delivery(before: dict[str, float], after: dict[str, float], deliveries: int) -> str:
    parts = {kind: (after[kind] - before[kind]) * 1000 / deliveries for kind in before}
    return f"{sum(parts.values()):.2f} (" + ", ".join(f"{k} {v:.2f}" for k, v in parts.items()) + ")"


async def phase_storm(ctx: Context) -> None:
    await storm(ctx, "2", [ctx.stack.base_url], profile=ctx.profile_dir is not None)


async def one_at_a_time(ctx: Context, run: str, count: int, deadline: float,
                        keep_going: Callable[[], bool] = lambda: True) -> list[float]:
    """Post one alert, wait until its card arrives, pause, next: webhook -> sendMessage seconds."""
    conn = Connection(ctx.stack.base_url, AUTH)
    latencies: list[float] = []
    try:
        for i in range(count):
            if time.monotonic() > deadline or not keep_going():
                break
            raw = payloads.distinct(run, 1, start=i)[0]
            t0 = time.monotonic()
            try:
                status, _ = await conn.post(WEBHOOK, raw)
            except HttpError:
                continue
            if status == 200 and await wait_until(lambda: ctx.telegram.shown(run, i) is not None,
                                                  min(deadline, t0 + 30), every=0.002):
                latencies.append(ctx.telegram.shown(run, i) - t0)
            await asyncio.sleep(0.3)  # the incident's later steps (record, learning) finish before the next
    finally:
        await conn.close()
    return latencies


async def phase_latency(ctx: Context) -> None:
    sizes = ctx.sizes
    alone = await one_at_a_time(ctx, payloads.new_run(), sizes.one_at_a_time, time.monotonic() + 60)
    p50 = pct(alone, 0.5) * 1000
    ctx.reference["alone_p50_ms"] = p50
    ctx.add("3", f"webhook -> sendMessage, one alert at a time ({len(alone)} alerts)",
            f"p50 {p50:,.0f} ms, p95 {pct(alone, 0.95) * 1000:,.0f} ms", target="p50 <= 100 ms")


async def phase_latency_loaded(ctx: Context) -> None:
    sizes = ctx.sizes
    p50 = ctx.reference.get("alone_p50_ms", float("nan"))
    background = payloads.storm(payloads.new_run(), 20_000, sizes.fingerprints)
    storm_task = asyncio.create_task(loadgen(ctx, "background", [ctx.stack.base_url], background, concurrency=64,
                                             deadline=sizes.background_seconds + 30,
                                             duration=sizes.background_seconds))
    await asyncio.sleep(2.0)
    loaded = await one_at_a_time(ctx, payloads.new_run(), sizes.one_at_a_time,
                                 time.monotonic() + sizes.background_seconds, keep_going=lambda: not storm_task.done())
    f = load_figures(await storm_task)
    loaded_p50 = pct(loaded, 0.5) * 1000
    ctx.add("3L", f"webhook -> sendMessage during a storm ({len(loaded)} alerts; the storm: "
            f"{f['rate']:,.0f} deliveries/s, 64 senders)",
            f"p50 {loaded_p50:,.0f} ms, p95 {pct(loaded, 0.95) * 1000:,.0f} ms",
            reference=f"p50 alone {p50:,.0f} ms", ratio=ratio(loaded_p50, p50))


async def phase_memory(ctx: Context) -> None:
    query = 'WorkflowType="IncidentWorkflow" AND ExecutionStatus="Running"'
    open_now = (await ctx.client.count_workflows(query)).count
    if open_now < ctx.sizes.open_incidents:
        await distinct_alerts(ctx, payloads.new_run(), ctx.sizes.open_incidents - open_now, deadline=200)
        open_now = (await ctx.client.count_workflows(query)).count
    stack = ctx.stack
    parts = [("API", stack.api), ("worker", stack.worker), ("Temporal", stack.temporal), ("Valkey", stack.valkey)]
    for name, process in parts:
        if process.proc is None:
            continue
        rss, hwm = memory(process.proc.pid)
        ctx.add("4", f"{name} RSS with {open_now:,} open incidents (VmRSS / VmHWM peak)",
                f"{rss:,.0f} MB / {hwm:,.0f} MB", target="<= 200 MB")


async def phase_scale_out(ctx: Context) -> None:
    await asyncio.to_thread(ctx.stack.add_worker)
    await asyncio.to_thread(ctx.stack.add_api)
    await storm(ctx, "5", ctx.stack.base_urls)


# -- profiling -------------------------------------------------------------------------------------

async def start_profiles(ctx: Context, phase: str) -> list[asyncio.subprocess.Process]:
    assert ctx.profile_dir is not None
    spy = Path(sys.executable).parent / "py-spy"
    if not spy.exists():
        spy = Path(shutil.which("py-spy") or spy)  # pip install --target somewhere else; on PATH
    extension = {"flamegraph": "svg", "speedscope": "json", "raw": "txt"}[ctx.profile_format]
    spies = []
    for name, process in (("api", ctx.stack.api), ("worker", ctx.stack.worker)):
        if process.proc is None:
            continue
        out = ctx.profile_dir / f"{phase}-{name}.{extension}"
        spies.append(await asyncio.create_subprocess_exec(
            str(spy), "record", "--pid", str(process.proc.pid), "--duration", str(int(ctx.sizes.storm_deadline)),
            "--format", ctx.profile_format, "--nonblocking", "-o", str(out),
            stdout=subprocess.DEVNULL, stderr=(ctx.profile_dir / f"{phase}-{name}.log").open("wb")))
    return spies


async def finish_profiles(spies: list[asyncio.subprocess.Process]) -> None:
    """py-spy writes its file when interrupted (SIGINT) as well as at the end of its duration."""
    for spy in spies:
        if spy.returncode is None:
            spy.send_signal(2)
    for spy in spies:
        try:
            await asyncio.wait_for(spy.wait(), 30)
        except TimeoutError:
            spy.kill()


# -- the run ---------------------------------------------------------------------------------------

# The storms last: a backlog they leave (deliveries spooled faster than the workflows take them)
# would otherwise be measured as the latency and memory of the phases after them.
PHASES: list[tuple[str, Callable[[Context], Awaitable[None]], float]] = [
    ("G", phase_ceiling, 120),
    ("0", phase_reference, 360),
    # One at a time on a quiet chat: after phase 1 the chat is in a storm for a window, and its
    # alerts are digest lines (by design), which is not what phase 3 measures.
    ("3", phase_latency, 120),
    ("1", phase_distinct, 420),
    ("4", phase_memory, 300),
    ("2", phase_storm, 330),
    ("5", phase_scale_out, 420),
    ("3L", phase_latency_loaded, 180),
]


DISPLAY_ORDER = ["G", "0", "1", "2", "3", "3L", "4", "5"]


def print_table(rows: list[Row]) -> None:
    rows = sorted(rows, key=lambda r: DISPLAY_ORDER.index(r.phase) if r.phase in DISPLAY_ORDER else 99)
    header = Row("phase", "figure", "value", "reference (same run)", "ratio", "target (issue 8)")
    cells = [[r.phase, r.figure, r.value, r.reference, r.ratio, r.target] for r in [header, *rows]]
    widths = [max(len(c[i]) for c in cells) for i in range(6)]
    for n, c in enumerate(cells):
        print("| " + " | ".join(v.ljust(w) for v, w in zip(c, widths)) + " |")
        if n == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")


async def bench(args: argparse.Namespace) -> None:
    sizes = QUICK if args.quick else Sizes()
    only = set(args.phases.split(",")) if args.phases else None
    machine = describe()
    tmp = Path(tempfile.mkdtemp(prefix="awoooi-bench-"))
    profile_dir = Path(tempfile.mkdtemp(prefix="awoooi-profile-")) if args.profile else None
    began = time.monotonic()
    with TimedTelegram() as telegram, SentryLoopback() as sentry:
        stack = Stack(tmp, telegram, sentry, extra_env=BENCH_ENV, task_queue="bench")
        redis, ctx = None, None
        try:
            await asyncio.to_thread(stack.start)
            client = await Client.connect(f"127.0.0.1:{stack.temporal_port}")
            redis = Redis.from_url(stack.redis_url, decode_responses=True)
            ctx = Context(sizes, tmp, stack, telegram, client, redis, profile_dir, args.profile_format)
            for name, phase, limit in PHASES:
                if only and name not in only:
                    continue
                t0 = time.monotonic()
                print(f"phase {name} ...", file=sys.stderr, flush=True)
                try:
                    if name not in ("G", "0"):
                        await quiesce(ctx, name, sizes.quiesce_seconds)
                    await asyncio.wait_for(phase(ctx), limit)
                except TimeoutError:
                    ctx.add(name, f"phase stopped at its {limit:.0f} s limit", "figures above are what it got")
                except Exception as exc:  # noqa: BLE001 - one broken phase must not hide the others' figures
                    ctx.add(name, "phase failed", f"{type(exc).__name__}: {exc}"[:200])
                print(f"phase {name} took {time.monotonic() - t0:.0f} s", file=sys.stderr, flush=True)
        finally:
            if redis is not None:
                await redis.aclose()
            await asyncio.to_thread(stack.stop)
        violations = list(telegram.violations)
    print(f"\nawoooi storm bench, {'--quick' if args.quick else 'full'} run, {time.monotonic() - began:.0f} s")
    for key, value in machine:
        print(f"  {key:13} {value}")
    print(f"  {'load after':13} {load_average()}")
    print()
    print_table(ctx.rows if ctx is not None else [Row("-", "the stack did not start", f"see the logs in {tmp}")])
    if violations:
        print(f"\nTelegram contract violations: {len(violations)}; first: {violations[0]}")
    if profile_dir is not None:
        print(f"\npy-spy profiles of phases 1 and 2 (API and worker; this run's figures carry its overhead): "
              f"{profile_dir}")
    if args.keep:
        print(f"logs and load-generator files kept in {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run of every phase (~2 min)")
    parser.add_argument("--profile", action="store_true", help="py-spy the API and the worker during phases 1 and 2")
    parser.add_argument("--profile-format", choices=["flamegraph", "speedscope", "raw"], default="flamegraph")
    parser.add_argument("--phases", default="", help="comma-separated subset, e.g. G,0,2 (default: all)")
    parser.add_argument("--keep", action="store_true", help="keep the process logs and load files")
    args = parser.parse_args()
    asyncio.run(bench(args))


if __name__ == "__main__":
    main()

"""A storm costs the same whoever sends it (issue 19): one stack, three senders, one run.

    PYTHONPATH=. .venv/bin/python bench/senders.py [--quick] [--profile] [--keep]

The same storm shape (deliveries of firing alerts over 100 fingerprints, every alert a counted
occurrence or a re-send of one) from three senders, one after the other against one stack
(tests/stack.py: Temporal dev server, Valkey, `awoooi api` and `awoooi worker` as processes):

  lean   bench/loadgen.py's raw keep-alive client on uvloop, 64 connections, one alert per POST:
         the reference (bench/storm.py phase 2)
  plain  the same bodies from one plain ``httpx.AsyncClient`` with 64 connections on the default
         asyncio loop: what a relay or a script sends with
  paced  the lean sender held to the plain sender's pace (its measured deliveries/s when it ran first,
         else --paced-rate): what a storm costs at that pace from a client that costs nothing, so the
         pace and the client are told apart
  am-ha  Alertmanager-shaped: groups of 50 alerts per POST, every POST sent twice at once (an HA
         pair), every other round a repeat_interval re-send of the round before (same startsAt)

First each client's own ceiling: the same POSTs against a bare uvicorn endpoint in its own process
(bench/bare_app.py), so a sender that cannot go faster than it is not read as awoooi's limit.

For each: deliveries/s (a delivery is one alert to one incident; a POST of 50 is 50), the answer's
p50/p99, CPU-ms per delivery per process while answering and until every occurrence is counted and
the chat is quiet, Temporal's history per delivery (events, workflow tasks, signals), and what was
lost; then the ratios plain/lean and am-ha/lean. Issue 19's bar: plain within 30 % of lean in
deliveries/s and CPU-ms per delivery.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from redis.asyncio import Redis  # noqa: E402
from temporalio.api.enums.v1 import EventType  # noqa: E402
from temporalio.client import Client  # noqa: E402

from bench import payloads  # noqa: E402
from bench.chat import TimedTelegram  # noqa: E402
from bench.machine import describe, load_average  # noqa: E402
from bench.storm import (  # noqa: E402
    BENCH_ENV,
    QUIET_SECONDS,
    Context,
    Row,
    Sizes as StormSizes,
    answers,
    finish_profiles,
    load_figures,
    loadgen,
    occurrences,
    process_cpu,
    quiesce,
    ratio,
    start_profiles,
    timed_out,
    wait_until,
)
from starter.embedded import Process, free_port  # noqa: E402
from tests.loopback.sentry import SentryLoopback  # noqa: E402
from tests.stack import Stack  # noqa: E402

FINGERPRINTS = 100


@dataclass(frozen=True)
class Sizes:
    deliveries: int = 5000  # alerts per sender (am-ha: rounds x 100 alerts x 2 copies)
    deadline: float = 150.0
    settle: float = 90.0
    quiesce: float = 60.0


QUICK = Sizes(deliveries=1600, deadline=60.0, settle=45.0, quiesce=30.0)


@dataclass
class Measured:
    name: str
    rate: float
    posts: int
    p50: float
    p99: float
    cpu_answering: dict[str, float]
    cpu_settled: dict[str, float]
    history: dict[str, float]
    idle: dict[str, float]  # CPU-ms per delivery the stack spends idle over the same time
    lost: str
    answers: str
    settled: bool
    note: str


async def history(client: Client, run: str, deliveries: int) -> dict[str, float]:
    """Temporal's bill for the storm: events, workflow tasks and signals per delivery, over every
    run (continue-as-new included) of the storm's incidents."""
    query = f'WorkflowId STARTS_WITH "{payloads.workflow_prefix(run)}"'
    events = tasks = signals = 0
    async for execution in client.list_workflows(query):
        handle = client.get_workflow_handle(execution.id, run_id=execution.run_id)
        async for event in handle.fetch_history_events():
            events += 1
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
                tasks += 1
            elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
                signals += 1
    n = max(deliveries, 1)
    return {"events": events / n, "tasks": tasks / n, "signals": signals / n,
            "batch": deliveries / signals if signals else float("nan")}


IDLE_SECONDS = 10.0


async def idle_rate(ctx: Context) -> dict[str, float]:
    """CPU seconds per second each process spends with nothing to do (pollers, timers, the drainer):
    a slow sender's storm lasts longer, and this is not what its deliveries cost."""
    before, t0 = process_cpu(ctx), time.monotonic()
    await asyncio.sleep(IDLE_SECONDS)
    after, t1 = process_cpu(ctx), time.monotonic()
    return {kind: (after[kind] - before[kind]) / (t1 - t0) for kind in before}


async def ceilings(ctx: Context, posts: int) -> dict[str, float]:
    """POSTs/s of each client (64 connections) against a bare endpoint: what it can send at most."""
    port = free_port()
    bare = Process("bare-endpoint", [sys.executable, str(ROOT / "bench" / "bare_app.py"), str(port)], port,
                   ctx.tmp / "bare.log")
    await asyncio.to_thread(bare.start, 30)
    found = {}
    try:
        for client, count in (("raw", posts), ("httpx", max(posts // 5, 300))):
            bodies = payloads.storm(payloads.new_run(), count, FINGERPRINTS)
            load = await loadgen(ctx, f"ceiling-{client}", [f"http://127.0.0.1:{port}"], bodies, concurrency=64,
                                 deadline=60, client=client)
            f = load_figures(load)
            found[client], found[f"{client} p99"] = f["rate"], f["p99"]
    finally:
        bare.stop()
    return found


def per_delivery(before: dict[str, float], after: dict[str, float], deliveries: int) -> dict[str, float]:
    return {kind: (after[kind] - before[kind]) * 1000 / max(deliveries, 1) for kind in before}


def above_idle(m: Measured) -> dict[str, float]:
    return {kind: m.cpu_settled[kind] - m.idle.get(kind, 0.0) for kind in m.cpu_settled}


def show_cpu(parts: dict[str, float]) -> str:
    return f"{sum(parts.values()):.2f} (" + ", ".join(f"{k} {v:.2f}" for k, v in parts.items()) + ")"


async def sender(ctx: Context, name: str, sizes: Sizes, idle: dict[str, float],
                 rate: float | None = None) -> Measured:
    """One sender's storm; ``rate`` paces it (the ``paced`` sender)."""
    run = payloads.new_run()
    fps = FINGERPRINTS
    if name == "am-ha":
        rounds = max(sizes.deliveries // (2 * fps), 2)
        bodies, expected = payloads.alertmanager_groups(run, rounds, fps)
        copies, concurrency, client, per_post = 2, 16, "raw", 50
    else:
        bodies = payloads.storm(run, sizes.deliveries, fps)
        expected = [len(range(i, sizes.deliveries, fps)) for i in range(fps)]
        copies, concurrency, client, per_post = 1, 64, ("httpx" if name == "plain" else "raw"), 1
    deliveries = len(bodies) * copies * per_post
    spies = await start_profiles(ctx, name) if ctx.profile_dir is not None else []
    t_start = time.monotonic()
    cpu_before = process_cpu(ctx)
    load = await loadgen(ctx, f"{name}-{run}", [ctx.stack.base_url], bodies, concurrency=concurrency,
                         deadline=sizes.deadline, copies=copies, client=client, rate=rate)
    cpu_answered = process_cpu(ctx)
    f = load_figures(load)

    async def counted() -> bool:
        return all(ctx.telegram.shown(run, i) is not None for i in range(fps)) and \
            await occurrences(ctx, run, fps) == expected

    settled = await wait_until(counted, time.monotonic() + sizes.settle, every=0.5)

    def quiet() -> bool:
        recent = ctx.telegram.calls_between(time.monotonic() - QUIET_SECONDS, time.monotonic())
        return not any(a.startswith(f"{run}-") for c in recent for a in c.alerts)

    await wait_until(quiet, time.monotonic() + sizes.settle, every=0.5)
    t_end = time.monotonic()
    cpu_after = process_cpu(ctx)
    await finish_profiles(spies)
    found = await occurrences(ctx, run, fps)
    over = sum(max(o - e, 0) for e, o in zip(expected, found))
    short = sum(max(e - o, 0) for e, o in zip(expected, found))
    posts = len(bodies) * copies
    not_ok = posts - f["ok"]
    rejected = sum(1 for s in f["statuses"] if s not in ("started", "updated", "duplicate", "spooled"))
    return Measured(
        name=name, rate=f["rate"] * per_post, posts=posts, p50=f["p50"], p99=f["p99"],
        cpu_answering=per_delivery(cpu_before, cpu_answered, deliveries),
        cpu_settled=per_delivery(cpu_before, cpu_after, deliveries),
        history=await history(ctx.client, run, deliveries),
        idle={kind: rate * (t_end - t_start) * 1000 / deliveries for kind, rate in idle.items()},
        lost=f"POSTs not answered 200: {not_ok}, alerts rejected: {rejected}, occurrences short: {short}, "
             f"counted twice: {over}" + ("" if settled else " (settle limit reached)"),
        answers=answers(f["statuses"]), settled=settled,
        note=f"{deliveries:,} deliveries in {posts:,} POSTs, {f['seconds']:.1f} s answering, "
             f"{t_end - t_start:.0f} s to settle{timed_out(f['timed_out'])}")


async def bench(args: argparse.Namespace) -> None:
    sizes = QUICK if args.quick else Sizes()
    names = args.senders.split(",")
    machine = describe()
    tmp = Path(tempfile.mkdtemp(prefix="awoooi-senders-"))
    profile_dir = Path(tempfile.mkdtemp(prefix="awoooi-profile-")) if args.profile else None
    began = time.monotonic()
    measured: list[Measured] = []
    rows: list[Row] = []
    ceiling: dict[str, float] = {}
    with TimedTelegram() as telegram, SentryLoopback() as sentry:
        extra = dict(item.split("=", 1) for item in args.env)
        stack = Stack(tmp, telegram, sentry, extra_env={**BENCH_ENV, **extra}, task_queue="bench")
        redis = None
        try:
            await asyncio.to_thread(stack.start)
            client = await Client.connect(f"127.0.0.1:{stack.temporal_port}")
            redis = Redis.from_url(stack.redis_url, decode_responses=True)
            # storm.Sizes only for how long py-spy may record (start_profiles).
            ctx = Context(StormSizes(storm_deadline=sizes.deadline + 2 * sizes.settle), tmp, stack, telegram,
                          client, redis, profile_dir, "raw")
            ceiling = await ceilings(ctx, sizes.deliveries)
            await quiesce(ctx, "idle", sizes.quiesce)
            idle = await idle_rate(ctx)
            for name in names:
                print(f"sender {name} ...", file=sys.stderr, flush=True)
                await quiesce(ctx, name, sizes.quiesce)
                rows.extend(ctx.rows)
                ctx.rows.clear()
                try:
                    plain = next((m for m in measured if m.name == "plain"), None)
                    pace = plain.rate if plain is not None else args.paced_rate
                    measured.append(await asyncio.wait_for(sender(ctx, name, sizes, idle,
                                                                  pace if name == "paced" else None),
                                                           sizes.deadline + 2 * sizes.settle + 120))
                except Exception as exc:  # noqa: BLE001 - one broken sender must not hide the others' figures
                    rows.append(Row(name, "failed", f"{type(exc).__name__}: {exc}"[:200]))
        finally:
            if redis is not None:
                await redis.aclose()
            await asyncio.to_thread(stack.stop)
    print(f"\nawoooi senders bench (issue 19), {'--quick' if args.quick else 'full'} run, "
          f"{time.monotonic() - began:.0f} s" + (f", {' '.join(args.env)}" if args.env else ""))
    for key, value in machine:
        print(f"  {key:13} {value}")
    print(f"  {'load after':13} {load_average()}")
    print()
    report(measured, rows, ceiling)
    if profile_dir is not None:
        print(f"\npy-spy profiles (API and worker, per sender; the figures carry its overhead): {profile_dir}")
    if args.keep:
        print(f"logs and load-generator files kept in {tmp}")
    else:
        shutil.rmtree(tmp, ignore_errors=True)


def report(measured: list[Measured], rows: list[Row], ceiling: dict[str, float]) -> None:
    lean = next((m for m in measured if m.name == "lean"), None)
    if ceiling:
        print("client ceilings (64 connections, a bare uvicorn endpoint, same run): "
              + ", ".join(f"{'lean (raw)' if c == 'raw' else 'plain (httpx)'} {ceiling[c]:,.0f} POSTs/s "
                          f"(p99 {ceiling[c + ' p99']:,.0f} ms)" for c in ("raw", "httpx") if c in ceiling)
              + f"; plain/lean {ratio(ceiling.get('httpx', float('nan')), ceiling.get('raw', float('nan')))}")
        print()
    header = ["sender", "deliveries/s", "p50 / p99 ms", "CPU-ms/delivery answering", "CPU-ms/delivery settled",
              "settled above idle", "history per delivery: events, wf tasks, signals (batch)"]
    cells = [header]
    for m in measured:
        h = m.history
        cells.append([m.name, f"{m.rate:,.0f}", f"{m.p50:,.0f} / {m.p99:,.0f}", show_cpu(m.cpu_answering),
                      show_cpu(m.cpu_settled), show_cpu(above_idle(m)),
                      f"{h['events']:.2f}, {h['tasks']:.2f}, {h['signals']:.2f} ({h['batch']:.1f})"])
    widths = [max(len(c[i]) for c in cells) for i in range(len(header))]
    for n, c in enumerate(cells):
        print("| " + " | ".join(v.ljust(w) for v, w in zip(c, widths)) + " |")
        if n == 0:
            print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    print()
    for m in measured:
        print(f"{m.name}: {m.note}; answers: {m.answers}; {m.lost}")
    if lean is not None:
        print()
        for m in measured:
            if m is lean:
                continue
            print(f"{m.name}/lean: deliveries/s {ratio(m.rate, lean.rate)}, "
                  f"CPU-ms/delivery answering {ratio(sum(m.cpu_answering.values()), sum(lean.cpu_answering.values()))}"
                  f", settled {ratio(sum(m.cpu_settled.values()), sum(lean.cpu_settled.values()))}, above idle "
                  f"{ratio(sum(above_idle(m).values()), sum(above_idle(lean).values()))}, worker above idle "
                  f"{ratio(above_idle(m)['worker'], above_idle(lean)['worker'])}"
                  + (f"; deliveries/s against each client's ceiling {ratio(m.rate / ceiling['httpx'], lean.rate / ceiling['raw'])}"
                     if m.name == "plain" and ceiling.get("httpx") and ceiling.get("raw") else "")
                  + ("  (issue 19: within 30 %)" if m.name == "plain" else ""))
    plain = next((m for m in measured if m.name == "plain"), None)
    paced = next((m for m in measured if m.name == "paced"), None)
    if plain is not None and paced is not None:
        # Same pace, different client: what is left is the client's, not the pace's.
        print(f"plain/paced (same pace): CPU-ms/delivery above idle "
              f"{ratio(sum(above_idle(plain).values()), sum(above_idle(paced).values()))}, API above idle "
              f"{ratio(above_idle(plain)['API'], above_idle(paced)['API'])}")
    for row in rows:
        print(f"{row.phase}: {row.figure}: {row.value}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="1,600 deliveries per sender instead of 5,000")
    parser.add_argument("--senders", default="lean,plain,am-ha", help="comma-separated, in order "
                        "(also: paced, the lean sender at the plain one's pace)")
    parser.add_argument("--paced-rate", type=float, default=170.0,
                        help="deliveries/s for `paced` when plain has not run before it (default 170)")
    parser.add_argument("--profile", action="store_true",
                        help="py-spy (collapsed stacks) the API and the worker during each sender")
    parser.add_argument("--keep", action="store_true", help="keep the process logs and load files")
    parser.add_argument("--env", action="append", default=[], metavar="AWOOOI_X=VALUE",
                        help="a setting for the stack's processes, e.g. AWOOOI_INTAKE_STORM_RATE=0 (repeatable)")
    asyncio.run(bench(parser.parse_args()))


if __name__ == "__main__":
    main()

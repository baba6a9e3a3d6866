"""The bare reference on the bench's Temporal server, each role its own process.

    python bench/reference.py worker    --address A --task-queue Q --ready-port P
    python bench/reference.py workflows --address A --task-queue Q --count N --concurrency 16
    python bench/reference.py sws       --address A --task-queue Q --count 5000 --workflows 100 --concurrency 64

``worker`` serves the reference workflows (the same worker options awoooi's worker uses) and opens
``--ready-port`` once it polls. ``workflows`` starts BareWorkflow runs from N concurrent starters,
each waiting for its run's result, and prints {"completed", "seconds"} as JSON. ``sws`` starts
``--workflows`` SinkWorkflows, then sends ``--count`` signal-with-starts to them (existing
workflows, like repeats of an open incident) and prints {"signals", "seconds", "latencies_ms"}.
Give ``sws`` a task queue no worker polls to measure the server's signal-with-start alone (each
signal only appends to history), or the worker's queue to include a workflow task per signal.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from temporalio.client import Client  # noqa: E402
from temporalio.worker import Worker  # noqa: E402

from bench.reference_workflow import STEPS, BareWorkflow, SinkWorkflow, noop  # noqa: E402

# About the size of an awoooi delivery signal (one Alertmanager alert with its labels).
PAYLOAD = {"alert": {"labels": {f"label{i}": "x" * 24 for i in range(8)}, "annotations": {"summary": "y" * 200}}}


async def serve(args: argparse.Namespace) -> None:
    client = await Client.connect(args.address)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with Worker(client, task_queue=args.task_queue, workflows=[BareWorkflow, SinkWorkflow],
                      activities=[noop], max_concurrent_activities=20):
        ready = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", args.ready_port)
        await stop.wait()
        ready.close()


async def workflows(args: argparse.Namespace) -> dict[str, object]:
    client = await Client.connect(args.address)
    run = uuid.uuid4().hex[:6]
    deadline = time.monotonic() + args.deadline

    async def one(i: int) -> None:
        await client.execute_workflow(BareWorkflow.run, STEPS, id=f"bare-{run}-{i}", task_queue=args.task_queue)

    await asyncio.gather(*(one(-1 - i) for i in range(args.concurrency)))  # warm-up, not counted
    queue = list(range(args.count))
    done = 0
    started = time.monotonic()

    async def starter() -> None:
        nonlocal done
        while queue and time.monotonic() < deadline:
            await one(queue.pop())
            done += 1

    tasks = [asyncio.create_task(starter()) for _ in range(args.concurrency)]
    await asyncio.wait(tasks, timeout=max(deadline - time.monotonic(), 1))
    seconds = time.monotonic() - started
    for task in tasks:
        task.cancel()
    return {"completed": done, "seconds": seconds, "timed_out": bool(queue)}


async def sws(args: argparse.Namespace) -> dict[str, object]:
    client = await Client.connect(args.address)
    run = uuid.uuid4().hex[:6]
    ids = [f"sink-{run}-{i}" for i in range(args.workflows)]
    for wid in ids:
        await client.start_workflow(SinkWorkflow.run, id=wid, task_queue=args.task_queue)
    deadline = time.monotonic() + args.deadline
    queue = list(range(args.count))
    latencies: list[float] = []
    started = time.monotonic()

    async def sender() -> None:
        while queue and time.monotonic() < deadline:
            k = queue.pop()
            t0 = time.monotonic()
            await client.start_workflow(SinkWorkflow.run, id=ids[k % len(ids)], task_queue=args.task_queue,
                                        start_signal="deliver", start_signal_args=[PAYLOAD])
            latencies.append((time.monotonic() - t0) * 1000)

    tasks = [asyncio.create_task(sender()) for _ in range(args.concurrency)]
    await asyncio.wait(tasks, timeout=max(deadline - time.monotonic(), 1))
    seconds = time.monotonic() - started
    for task in tasks:
        task.cancel()
    return {"signals": len(latencies), "seconds": seconds, "latencies_ms": latencies, "timed_out": bool(queue)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("role", choices=["worker", "workflows", "sws"])
    parser.add_argument("--address", required=True)
    parser.add_argument("--task-queue", required=True)
    parser.add_argument("--ready-port", type=int, default=0)
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--workflows", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--deadline", type=float, default=120.0)
    args = parser.parse_args()
    if args.role == "worker":
        asyncio.run(serve(args))
        return
    result = asyncio.run(workflows(args) if args.role == "workflows" else sws(args))
    print(json.dumps(result), flush=True)
    # The SDK's core threads may still hold cancelled calls; the figures are out, skip finalization.
    os._exit(0)


if __name__ == "__main__":
    main()

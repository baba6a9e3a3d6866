"""Do incident histories replay when queries split their workflow tasks? Both generations, same load.

A query that reaches the worker while an incident's workflow task runs local activities makes the
SDK end that task once the local activities are done, and run the code after them in the next
task; on replay that code runs in the first task, with the first task's time and without the
signals that arrived in between (docs/adr/0020). Generation 1 made decisions there (the card's
edit interval against ``workflow.now()``, "is the inbox empty?"), so under load some of its
histories stopped replaying: the nondeterminism issue 18 saw one run in five. Generation 2 takes a
snapshot per step and reads neither the clock nor the inbox after a local activity.

This runs the same storm against each generation, one worker, a query hammer on every incident and
a CPU hog, then replays every history: figures per generation (histories, split tasks, replay
failures and the first error). Not a timed benchmark: run it when touching the incident loop.

    .venv/bin/python bench/split_tasks.py [--incidents 12] [--rounds 25] [--hog]
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from temporalio.client import Client, WorkflowHistory  # noqa: E402
from temporalio.testing import WorkflowEnvironment  # noqa: E402
from temporalio.worker import Replayer  # noqa: E402

from core import search_attributes as sa  # noqa: E402
from core.converter import data_converter  # noqa: E402
from core.identity import alert_key, anomaly_key, firing_occurrence_id, incident_ref  # noqa: E402
from core.incident.state import IncidentStart  # noqa: E402
from core.legacy_inputs import IncidentWorkflowInput  # noqa: E402
from core.models import Alert, AlertDelivery, AlertStatus, DeliveryBatch, Source  # noqa: E402
from starter.embedded import free_port, valkey_server, venv_binary  # noqa: E402
from tests.harness import running, settings_for  # noqa: E402
from tests.loopback.telegram import TelegramLoopback  # noqa: E402
from worker.wiring import WORKFLOWS, workflow_runner  # noqa: E402

T0 = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)


def _alert(fingerprint: str, minute: int, status: AlertStatus = AlertStatus.FIRING) -> Alert:
    return Alert(source=Source.ALERTMANAGER, fingerprint=fingerprint, status=status, title="SplitTasks",
                 service="bench", labels={"alertname": "SplitTasks", "instance": fingerprint},
                 starts_at=T0 + timedelta(minutes=minute),
                 ends_at=T0 + timedelta(minutes=minute + 1) if status is AlertStatus.RESOLVED else None)


def _delivery(fingerprint: str, minute: int, n: int, status: AlertStatus = AlertStatus.FIRING) -> AlertDelivery:
    alert = _alert(fingerprint, minute, status)
    return AlertDelivery(delivery_id=f"{fingerprint}-{n}", alert=alert, received_at=datetime.now(UTC),
                         occurrence_id=firing_occurrence_id(alert))


async def _start(client: Client, generation: int, fingerprint: str, queue: str) -> str:
    first = _delivery(fingerprint, 0, 0)
    batch = DeliveryBatch(deliveries=[first])
    if generation == 1:
        workflow_id = f"incident-{alert_key(first.alert)}"
        await client.start_workflow(
            "IncidentWorkflow", IncidentWorkflowInput(incident_id=alert_key(first.alert), anomaly_key=anomaly_key(
                first.alert), resolve_grace_seconds=0, card_edit_interval_seconds=1, local_steps=True,
                card_budget_calls=2, card_budget_window_seconds=3),
            id=workflow_id, task_queue=queue, start_signal="deliver_batch", start_signal_args=[batch])
        return workflow_id
    ref = incident_ref(first.alert)
    await client.start_workflow("Incident", IncidentStart(alert=first.alert, incident_id=ref.incident_id,
                                                          anomaly_key=ref.anomaly_key),
                                id=ref.workflow_id, task_queue=queue, start_signal="deliver_batch",
                                start_signal_args=[batch])
    return ref.workflow_id


async def _hammer(client: Client, workflow_ids: list[str], stop: asyncio.Event) -> int:
    """Queries, back to back, at every incident at once: each one that lands on a running task splits it."""
    sent = 0

    async def one(workflow_id: str) -> None:
        nonlocal sent
        handle = client.get_workflow_handle(workflow_id)
        while not stop.is_set():
            try:
                await handle.query("state")
            except Exception:  # noqa: BLE001 - a closed run or a busy one: keep hammering
                await asyncio.sleep(0.05)
            sent += 1

    await asyncio.gather(*(one(w) for w in workflow_ids for _ in range(2)))
    return sent


def _splits(history: WorkflowHistory) -> int:
    """Tasks that ended right after a local activity's marker while the workflow had more to do."""
    events = history.events
    count = 0
    for before, after in zip(events, events[1:]):
        if before.HasField("marker_recorded_event_attributes") and \
                after.HasField("workflow_task_scheduled_event_attributes"):
            count += 1
    return count


async def run_generation(client: Client, valkey_url: str, generation: int, incidents: int, rounds: int) -> dict:
    queue = f"split-{generation}-{uuid.uuid4().hex[:6]}"
    telegram = TelegramLoopback()
    with telegram:
        settings = settings_for(valkey_url, queue, telegram, card_edit_interval=1, card_budget_calls=2,
                                card_budget_window=3, resolve_grace_seconds=0)
        async with running(client, settings):
            prints = [uuid.uuid4().hex[:16] for _ in range(incidents)]
            ids = [await _start(client, generation, fp, queue) for fp in prints]
            stop = asyncio.Event()
            hammer = asyncio.create_task(_hammer(client, ids, stop))
            for n in range(1, rounds + 1):
                for fp, workflow_id in zip(prints, ids):
                    handle = client.get_workflow_handle(workflow_id)
                    batch = [_delivery(fp, n, n), _delivery(fp, n, 10_000 + n)]  # a firing and its re-send
                    await handle.signal("deliver_batch", DeliveryBatch(deliveries=batch))
                await asyncio.sleep(0.05)
            for fp, workflow_id in zip(prints, ids):
                end = _delivery(fp, rounds, 99_999, AlertStatus.RESOLVED)
                await client.get_workflow_handle(workflow_id).signal("deliver_batch", DeliveryBatch(deliveries=[end]))
            for workflow_id in ids:
                try:
                    await asyncio.wait_for(client.get_workflow_handle(workflow_id).result(), 120)
                except Exception as exc:  # noqa: BLE001 - reported, not raised
                    print(f"  {workflow_id} did not end: {type(exc).__name__}: {exc}")
            stop.set()
            queries = await hammer
    replayer = Replayer(workflows=list(WORKFLOWS), data_converter=data_converter, workflow_runner=workflow_runner())
    failures, first_error, splits = 0, None, 0
    for workflow_id in ids:
        history = await client.get_workflow_handle(workflow_id).fetch_history()
        splits += _splits(history)
        try:
            await replayer.replay_workflow(history)
        except Exception as exc:  # noqa: BLE001 - counted
            failures += 1
            first_error = first_error or f"{type(exc).__name__}: {str(exc)[:300]}"
    return {"generation": generation, "histories": len(ids), "queries": queries, "split_tasks": splits,
            "replay_failures": failures, "first_error": first_error}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--incidents", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=25)
    parser.add_argument("--hog", action="store_true", help="a busy process per core while it runs")
    parser.add_argument("--generations", default="1,2")
    args = parser.parse_args()
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)] if args.hog else []
    port = free_port()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            valkey = valkey_server(Path(tmp), port=port)
            valkey.start()
            env = await WorkflowEnvironment.start_local(dev_server_existing_path=venv_binary("temporal"),
                                                        search_attributes=list(sa.ALL), data_converter=data_converter,
                                                        ui=False, dev_server_log_level="error")
            try:
                for generation in (int(g) for g in args.generations.split(",")):
                    result = await run_generation(env.client, f"redis://127.0.0.1:{port}/0", generation,
                                                  args.incidents, args.rounds)
                    print(result, flush=True)
            finally:
                await env.shutdown()
                valkey.stop()
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()


if __name__ == "__main__":
    asyncio.run(main())

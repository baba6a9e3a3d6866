"""A storm costs the same whoever sends it (issue 19): a sender that waits for each answer.

A paced sender (a few connections over more incidents than connections, each POST sent twice at
once as an Alertmanager HA pair does, every other round a repeat_interval re-send) never has two
deliveries of one incident in an intake lane at once. In a storm its repeats go through the spool,
whose drainer sends each incident's entries as one signal (starter/storm_gauge.py): far fewer
signals than deliveries, and every occurrence counted exactly once (a re-send with the same
startsAt is not counted, a new startsAt is, a resolution resolves). Real Temporal, real Valkey,
Telegram at the loopback; bench/senders.py measures what it costs.
"""

from __future__ import annotations

import asyncio
import json
import uuid

import httpx
from temporalio.client import Client, WorkflowExecutionStatus

from core.identity import incident_ref
from starter.parsers.alertmanager import parse_alertmanager
from starter.storm_gauge import StormGauge
from tests.harness import eventually, running, settings_for

ALERTMANAGER = "/api/v1/webhooks/alertmanager"
INCIDENTS = 8
ROUNDS = 6  # rounds 0, 2, 4 are new firings; 1, 3, 5 re-send the round before (same startsAt)
SENDERS = 3


def _alert(run: str, i: int, firing: int, *, status: str = "firing") -> dict[str, object]:
    return {"status": status, "fingerprint": f"{run}{i:04d}",
            "labels": {"alertname": "PacedStorm", "instance": f"node-{run}-{i}", "severity": "warning"},
            "annotations": {"summary": "a paced storm"},
            "startsAt": f"2026-12-06T07:00:{firing:02d}Z",
            "endsAt": "2026-12-06T09:00:00Z" if status == "resolved" else "0001-01-01T00:00:00Z"}


def _body(alerts: list[dict[str, object]]) -> bytes:
    status = "firing" if any(a["status"] == "firing" for a in alerts) else "resolved"
    return json.dumps({"version": "4", "status": status, "receiver": "awoooi", "groupKey": "paced",
                       "alerts": alerts, "truncatedAlerts": 0}).encode()


def _workflow_id(body: bytes) -> str:
    return incident_ref(parse_alertmanager(json.loads(body)).alerts[0].alert).workflow_id


async def _signals_and_deliveries(client: Client, workflow_id: str) -> tuple[int, int]:
    signals = deliveries = 0
    async for execution in client.list_workflows(f'WorkflowId="{workflow_id}"'):
        history = await client.get_workflow_handle(workflow_id, run_id=execution.run_id).fetch_history()
        for event in history.events:
            if event.HasField("workflow_execution_signaled_event_attributes"):
                signals += 1
                payload = event.workflow_execution_signaled_event_attributes.input.payloads[0]
                deliveries += len(json.loads(payload.data).get("deliveries", []))
    return signals, deliveries


async def _paced_storm(api: httpx.AsyncClient, bodies: list[bytes]) -> list[str]:
    """SENDERS senders, each waiting for its answers; every body posted twice at once (HA pair)."""
    queue = list(enumerate(bodies))
    answers: list[str] = []

    async def sender() -> None:
        while queue:
            _, body = queue.pop(0)
            pair = await asyncio.gather(*(api.post(ALERTMANAGER, content=body) for _ in range(2)))
            for response in pair:
                assert response.status_code == 200, response.text
                answers.extend(a["status"] for a in response.json()["alerts"])

    await asyncio.gather(*(sender() for _ in range(SENDERS)))
    return answers


async def _storm(temporal_client: Client, settings_kw: dict[str, object], valkey_url: str, task_queue: str,
                 telegram) -> tuple[list[str], list[tuple[int, int]], list[int]]:
    run = uuid.uuid4().hex[:6]
    bodies = [_body([_alert(run, i, r // 2)]) for r in range(ROUNDS) for i in range(INCIDENTS)]
    ids = [_workflow_id(bodies[i]) for i in range(INCIDENTS)]
    settings = settings_for(valkey_url, task_queue, telegram, **settings_kw)
    async with running(temporal_client, settings) as app:
        answers = await _paced_storm(app.api, bodies)
        expected = (ROUNDS + 1) // 2

        async def counted() -> bool:
            states = [await temporal_client.get_workflow_handle(w).query("state") for w in ids]
            return all(s is not None and s.get("occurrences") == expected for s in states)

        await eventually(counted, timeout=30, what=f"{expected} occurrences on each incident")
        # The drainer has nothing left behind: the counts are final, not a moment's.
        await asyncio.sleep(1.0)
        occurrences = [(await temporal_client.get_workflow_handle(w).query("state"))["occurrences"] for w in ids]
        # A resolution in the storm resolves its incident, in order after its firings.
        resolved = _body([_alert(run, 0, (ROUNDS - 1) // 2, status="resolved")])
        assert (await app.api.post(ALERTMANAGER, content=resolved)).status_code == 200
        handle = temporal_client.get_workflow_handle(ids[0])

        async def completed() -> bool:
            return (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED

        await eventually(completed, timeout=30, what="the resolved incident's run ended")
        outcome = await handle.result()
        assert outcome["status"] == "resolved" and outcome["occurrences"] == expected
        history = [await _signals_and_deliveries(temporal_client, w) for w in ids[1:]]
    return answers, history, occurrences


async def test_a_paced_storm_is_batched_through_the_spool_and_counted_exactly(
        temporal_client: Client, valkey_url, redis, task_queue, telegram) -> None:
    answers, history, occurrences = await _storm(
        temporal_client, {"intake_storm_rate": 5.0, "intake_batch_window_ms": 2}, valkey_url, task_queue, telegram)
    assert len(answers) == 2 * ROUNDS * INCIDENTS
    # A first delivery is never held; it goes straight to Temporal unless the spool holds earlier ones.
    assert 1 <= answers.count("started") <= INCIDENTS
    assert set(answers) <= {"started", "updated", "spooled"}
    assert "spooled" in answers, "the storm's repeats took the batched path"
    assert occurrences == [(ROUNDS + 1) // 2] * INCIDENTS, "re-sends not counted, new startsAt counted once each"
    signals = sum(s for s, _ in history)
    deliveries = sum(d for _, d in history)
    assert deliveries <= 2 * ROUNDS * (INCIDENTS - 1), "no delivery reached Temporal twice"
    # Without storm mode this sender is about one signal per HA pair (the test below); batched, far fewer.
    assert signals <= ROUNDS * (INCIDENTS - 1) * 0.6, f"{signals} signals for {deliveries} deliveries"


async def test_without_storm_mode_the_same_paced_sender_costs_a_signal_per_pair(
        temporal_client: Client, valkey_url, redis, task_queue, telegram) -> None:
    """The reference for the test above (AWOOOI_INTAKE_STORM_RATE=0, the intake before issue 19):
    the same counts, but about one signal per POST pair, i.e. a workflow task per delivery."""
    answers, history, occurrences = await _storm(
        temporal_client, {"intake_storm_rate": 0.0, "intake_batch_window_ms": 2}, valkey_url, task_queue, telegram)
    assert occurrences == [(ROUNDS + 1) // 2] * INCIDENTS
    assert "spooled" not in answers
    signals = sum(s for s, _ in history)
    assert signals >= ROUNDS * (INCIDENTS - 1) * 0.8, f"{signals} signals"


def test_the_gauge_needs_both_a_recent_signal_and_a_storm() -> None:
    now = [100.0]
    gauge = StormGauge(rate=10.0, hot_seconds=5.0, clock=lambda: now[0])
    gauge.arrived(30)
    assert not gauge.storming("a"), "a first delivery always goes straight to Temporal"
    gauge.committed("a")
    assert gauge.storming("a")
    now[0] += 3.0  # the rate decays (e^-3 of 30/s is 1.5/s): a quiet incident's repeat goes direct again
    assert gauge.rate() < 10.0 and not gauge.storming("a")
    gauge.arrived(30)
    assert gauge.storming("a")
    now[0] += 5.5
    gauge.arrived(30)
    assert not gauge.storming("a"), "recorded longer ago than hot_seconds"
    gauge.committed("b")
    assert "a" not in gauge._recorded, "incidents recorded long ago are forgotten"
    off = StormGauge(rate=0.0, hot_seconds=5.0, clock=lambda: now[0])
    off.arrived(1000)
    off.committed("a")
    assert not off.storming("a"), "rate 0 turns storm mode off"

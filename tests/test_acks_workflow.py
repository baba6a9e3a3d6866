"""The ``ack`` update, re-notification and escalation on the time-skipping server with stand-in
activities (tests/standins.py): real timers in simulated time, and a worker restart in between."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from temporalio.client import WorkflowUpdateFailedError

from core import search_attributes as sa
from core.acks import AckRequest
from core.identity import incident_ref
from core.incident.state import IncidentSettings, IncidentState
from core.models import RepairAction
from core.timeline import model as k
from starter.timeline_reader import read_timeline
from tests.harness import eventually
from tests.standins import StandIns, deliver, firing, resolved, start

MIN = 60.0


@pytest.fixture
def queue() -> str:
    return f"acks-{uuid.uuid4()}"


def _settings() -> IncidentSettings:
    return IncidentSettings(acks=True, renotify_seconds={"warning": [15 * MIN, 30 * MIN]},
                            escalate_after_seconds={"warning": 30 * MIN}, metrics=True, idle_timeout_seconds=86400)


def _ack(by: str) -> AckRequest:
    return AckRequest(by=by, via="api", at=datetime.now(UTC))


async def test_renotified_then_escalated_until_acked_across_a_worker_restart(skipping_env, queue) -> None:
    fp = uuid.uuid4().hex[:16]
    acts = StandIns(_settings(), action=RepairAction.MANUAL_INTERVENTION)
    client = skipping_env.client
    async with acts.worker(client, queue, cache=False):
        handle = await start(client, queue, firing(fp))
        await eventually(lambda: acts.calls["place_card"] == 1, what="the card")
        assert acts.placed[0].view.ackable
        described = await handle.describe()
        assert described.typed_search_attributes.get(sa.ACKED) == "false"
        await skipping_env.sleep(15 * MIN + 5)
        await eventually(lambda: acts.calls["renotify"] == 1, what="the first re-notification")
    async with acts.worker(client, queue):  # a new worker replays the history: nothing repeated
        await skipping_env.sleep(15 * MIN)
        await eventually(lambda: acts.calls["renotify"] == 2, what="the escalation at 30 min")
        assert [(r.n, r.escalation) for r in acts.renotified] == [(1, False), (0, True)]
        assert acts.renotified[0].reply_to == "101" and len({r.notify_key for r in acts.renotified}) == 2
        answer = await handle.execute_update("ack", _ack("alice"), result_type=dict)
        assert answer["accepted"] and "Acked by alice" in answer["message"]
        again = await handle.execute_update("ack", _ack("alice"), result_type=dict)
        assert "Already acked by alice" in again["message"]
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update("ack", _ack("bob"))
        assert "already acked by alice" in str(refused.value.cause)
        await eventually(lambda: any(e.view.acked for e in acts.edits), what="the card edited in place")
        assert acts.edits[-1].view.acked.by == "alice"
        described = await handle.describe()
        assert described.typed_search_attributes.get(sa.ACKED) == "true"
        await skipping_env.sleep(4 * 3600)
        state = await handle.query("state", result_type=IncidentState)
        assert state.acked.by == "alice" and acts.calls["renotify"] == 2, "the ack stopped both"
        await deliver(handle, resolved(fp))
        await eventually(lambda: acts.calls["observe_incident"] == 2, what="MTTA and MTTR")
        assert sorted(o.metric for o in acts.observed) == ["time_to_acknowledge", "time_to_resolve"]
        with pytest.raises(WorkflowUpdateFailedError) as closed:
            await handle.execute_update("ack", _ack("carol"))
        assert "resolved" in str(closed.value.cause)
        timeline = await read_timeline(client, incident_ref(firing(fp).alert).incident_id)
        await handle.terminate("done")
    assert timeline.unknown == []
    story = [(e.kind, e.actor, e.via) for e in timeline.entries if e.kind in (k.RENOTIFIED, k.ESCALATED, k.ACKED)]
    assert story == [(k.RENOTIFIED, "awoooi", None), (k.ESCALATED, "awoooi", None), (k.ACKED, "alice", "api")]


async def test_with_the_settings_of_older_runs_no_ack_no_attribute_no_renotification(skipping_env, queue) -> None:
    acts = StandIns(IncidentSettings(idle_timeout_seconds=86400), action=RepairAction.MANUAL_INTERVENTION)
    async with acts.worker(skipping_env.client, queue):
        handle = await start(skipping_env.client, queue, firing(uuid.uuid4().hex[:16]))
        await eventually(lambda: acts.calls["place_card"] == 1, what="the card")
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update("ack", _ack("alice"))
        assert "off" in str(refused.value.cause)
        await skipping_env.sleep(3 * 3600)
        described = await handle.describe()
        assert described.typed_search_attributes.get(sa.ACKED) is None
        assert acts.calls["renotify"] == 0 and acts.calls["observe_incident"] == 0
        await handle.terminate("done")

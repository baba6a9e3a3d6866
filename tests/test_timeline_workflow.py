"""A scripted incident on the time-skipping server, read back as its timeline: fire, two occurrence
batches, ack, approve, execute, verify, resolve, with MTTA and MTTR observed once each. The same story after a continue-as-new and after a
worker restart mid-incident (stand-in activities, tests/standins.py; real Temporal histories)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from core.acks import AckRequest
from core.identity import incident_ref
from core.incident.state import IncidentSettings
from core.models import RepairAction
from core.repair import Decision, RepairPolicy, RepairStatus
from core.timeline import model as k
from starter.timeline_reader import read_timeline
from tests.harness import eventually
from tests.standins import T0, StandIns, deliver, firing, resolved, start

EXPECTED = [
    (k.FIRED, "alertmanager", None),
    (k.ANALYSED, "rules", None),
    (k.REPAIR_PROPOSED, "awoooi", None),
    (k.CARD_SHOWN, "awoooi", None),
    (k.OCCURRENCES, "alertmanager", None),
    (k.CARD_EDITED, "awoooi", None),
    (k.OCCURRENCES, "alertmanager", None),
    (k.CARD_EDITED, "awoooi", None),
    (k.ACKED, "bob", "cli"),
    (k.CARD_EDITED, "awoooi", None),
    (k.APPROVED, "alice", "api"),
    (k.CARD_EDITED, "awoooi", None),
    (k.EXECUTED, "alice", None),
    (k.CARD_EDITED, "awoooi", None),
    (k.RESOLVED, "alertmanager", None),
    (k.LEARNED, "awoooi", None),
    (k.VERIFIED, "awoooi", None),
    (k.CARD_EDITED, "awoooi", None),
]


def _counted(acts: StandIns) -> int:
    return max((save.view.occurrences for save in acts.saves), default=0)


@pytest.mark.parametrize("how", ["plain", "continue_as_new", "worker_restart"])
async def test_a_scripted_incident_reads_back_as_exactly_its_story(skipping_env, how: str) -> None:
    queue = f"timeline-{uuid.uuid4()}"
    fp = uuid.uuid4().hex[:16]
    settings = IncidentSettings(policy=RepairPolicy(verify_window_seconds=600), card_edit_interval_seconds=0,
                                card_budget_calls=0, resolve_grace_seconds=60, acks=True, metrics=True,
                                max_deliveries_per_run=2 if how == "continue_as_new" else 500)
    acts = StandIns(settings, action=RepairAction.SCALE_UP, executed=RepairStatus.EXECUTED)
    env = skipping_env

    async def fire_and_count_once():  # noqa: ANN202
        handle = await start(env.client, queue, firing(fp))
        await eventually(lambda: acts.calls["place_card"] == 1, what="the card")
        await env.sleep(60)
        await deliver(handle, firing(fp, minute=1))
        await eventually(lambda: _counted(acts) == 2, what="the first batch counted")
        return handle

    async def count_approve_resolve(started) -> dict:  # noqa: ANN001
        # Signals and updates by id, not by run: a continued run is the same incident. The result from
        # the handle of the start, which follows the runs.
        handle = env.client.get_workflow_handle(incident_ref(firing(fp).alert).workflow_id)
        await env.sleep(60)
        await deliver(handle, firing(fp, minute=2), firing(fp, minute=3))
        await eventually(lambda: _counted(acts) == 4, what="the second batch counted")
        await eventually(lambda: acts.calls["edit_card"] == 2, what="its count on the card")
        await env.sleep(30)
        await handle.execute_update("ack", AckRequest(by="bob", via="cli", at=T0), result_type=dict)
        await eventually(lambda: acts.calls["edit_card"] == 3, what="the ack on the card")
        await handle.execute_update("decide", Decision(approve=True, by="alice", via="api", at=T0))
        await eventually(lambda: acts.calls["execute_repair"] == 1, what="the repair")
        await env.sleep(120)
        await deliver(handle, resolved(fp))
        return await started.result()

    if how == "worker_restart":
        # Without a cache the first worker holds no sticky queue: the second one replays the history.
        async with acts.worker(env.client, queue, cache=False):
            started = await fire_and_count_once()
        async with acts.worker(env.client, queue):
            outcome = await count_approve_resolve(started)
    else:
        async with acts.worker(env.client, queue):
            outcome = await count_approve_resolve(await fire_and_count_once())
    assert outcome["status"] == "resolved"
    # Once each, whatever replayed or continued in between (the state carries what was observed).
    assert sorted(o.metric for o in acts.observed) == ["repair_outcome", "time_to_acknowledge", "time_to_resolve"]

    timeline = await read_timeline(env.client, incident_ref(firing(fp).alert).incident_id)
    assert [(e.kind, e.actor, e.via) for e in timeline.entries] == EXPECTED
    assert timeline.unknown == []
    if how == "continue_as_new":
        assert sum(run.ended == "continued_as_new" for run in timeline.runs) >= 1
    occurrences = [e.facts for e in timeline.entries if e.kind == k.OCCURRENCES]
    assert occurrences == [{"counted": 1, "occurrences": 2}, {"counted": 2, "occurrences": 4}]
    fired = timeline.entries[0].at
    at = {e.kind: e.at - fired for e in reversed(timeline.entries)}  # the first of each kind
    second = timedelta(seconds=1)
    assert at[k.CARD_SHOWN] < second
    assert 60 * second <= at[k.OCCURRENCES] < 62 * second
    assert 150 * second <= at[k.ACKED] < 155 * second
    assert 150 * second <= at[k.APPROVED] < 155 * second
    assert at[k.APPROVED] <= at[k.EXECUTED] < at[k.APPROVED] + 5 * second
    assert 270 * second <= at[k.RESOLVED] < 280 * second
    assert at[k.RESOLVED] <= at[k.VERIFIED] < at[k.RESOLVED] + 5 * second
    assert timeline.runs[-1].ended == "completed"


async def test_paced_out_count_edits_are_one_summarised_entry(skipping_env) -> None:
    queue = f"timeline-{uuid.uuid4()}"
    fp = uuid.uuid4().hex[:16]
    acts = StandIns(IncidentSettings(card_edit_interval_seconds=10, card_budget_calls=0), paced=3)
    async with acts.worker(skipping_env.client, queue):
        handle = await start(skipping_env.client, queue, firing(fp))
        await eventually(lambda: acts.calls["place_card"] == 1, what="the card")
        for minute in range(1, 5):
            await skipping_env.sleep(11)
            await deliver(handle, firing(fp, minute=minute))
            await eventually(lambda m=minute: acts.calls["edit_card"] == m, what=f"count edit {minute}")
        await handle.terminate("done")
    timeline = await read_timeline(skipping_env.client, incident_ref(firing(fp).alert).incident_id)
    paced = [e for e in timeline.entries if e.kind == k.PACED]
    assert len(paced) == 1 and paced[0].count == 3 and paced[0].detail.startswith("3 count edits paced out between")
    assert [e.kind for e in timeline.entries].count(k.OCCURRENCES) == 4, "every batch still told"
    assert timeline.entries[-1].kind == k.TERMINATED and timeline.unknown == []



async def test_two_lifecycles_a_flap_and_an_expiry_read_as_such(temporal_client, task_queue) -> None:
    """On the dev server: an earlier lifecycle (a run that ended) is found through visibility, which the
    time-skipping server does not implement; timers are real and short here."""
    from core.timeline.episodes import episodes

    fp = uuid.uuid4().hex[:16]
    acts = StandIns(IncidentSettings(resolve_grace_seconds=3, idle_timeout_seconds=3, card_edit_interval_seconds=0,
                                     card_budget_calls=0), action=RepairAction.MANUAL_INTERVENTION)
    incident = incident_ref(firing(fp).alert).incident_id
    async with acts.worker(temporal_client, task_queue):
        first = await start(temporal_client, task_queue, firing(fp))
        await eventually(lambda: acts.calls["place_card"] == 1, what="the card")
        await deliver(first, resolved(fp))
        await eventually(lambda: acts.edits and acts.edits[-1].view.status.value == "resolved", what="resolved")
        await deliver(first, firing(fp, minute=6))  # inside the grace: a flap re-opens the same card
        await eventually(lambda: acts.edits[-1].view.status.value == "open", what="re-opened")
        await deliver(first, resolved(fp, minute=6))
        assert (await first.result())["status"] == "resolved"
        second = await start(temporal_client, task_queue, firing(fp, minute=60))  # a new lifecycle
        assert (await second.result())["status"] == "expired"  # nobody resolves it: the idle time passes

    async def both_lifecycles() -> bool:
        return len((await read_timeline(temporal_client, incident)).runs) == 2

    await eventually(both_lifecycles, what="both runs in visibility")
    timeline = await read_timeline(temporal_client, incident)
    kinds = [e.kind for e in timeline.entries if e.kind in (k.FIRED, k.RESOLVED, k.REOPENED, k.EXPIRED)]
    assert kinds == [k.FIRED, k.RESOLVED, k.REOPENED, k.RESOLVED, k.FIRED, k.EXPIRED]
    assert [run.ended for run in timeline.runs] == ["completed", "completed"]
    found = episodes(timeline)
    assert len(found) == 2 and found[0].reopened == 1 and found[0].resolved_at is not None
    assert found[1].resolved_at is None and found[1].expired_at is not None
    assert timedelta(seconds=3) <= found[1].expired_at - found[1].fired_at < timedelta(seconds=15)

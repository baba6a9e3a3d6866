"""Generation 2's workflow on the time-skipping server with stand-in activities (tests/standins.py):
every timer of an incident in simulated time, in seconds of wall time."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from temporalio.client import WorkflowUpdateFailedError

from core.incident.state import IncidentSettings, IncidentState
from core.repair import Decision, RepairPhase, RepairPolicy, RepairStatus
from core.models import RepairAction
from tests.harness import eventually
from tests.standins import T0, StandIns, deliver, firing, resolved, start


def _fp() -> str:
    return uuid.uuid4().hex[:16]


async def _state(handle) -> IncidentState | None:  # noqa: ANN001
    return await handle.query("state", result_type=IncidentState)


@pytest.fixture
def queue() -> str:
    return f"standins-{uuid.uuid4()}"


async def test_an_incident_nobody_resolves_expires_after_its_idle_time(skipping_env, queue) -> None:
    acts = StandIns(IncidentSettings(idle_timeout_seconds=6 * 3600))
    async with acts.worker(skipping_env.client, queue):
        handle = await start(skipping_env.client, queue, firing(_fp()))
        outcome = await handle.result()  # the server skips the six idle hours
    assert outcome["status"] == "expired" and outcome["occurrences"] == 1
    assert acts.calls["place_card"] == 1 and acts.edits[-1].view.status.value == "expired"
    assert acts.calls["incident_settings"] == 1


async def test_a_resolution_ends_the_run_after_the_grace_and_a_flap_inside_it_reopens(skipping_env, queue) -> None:
    fp = _fp()
    acts = StandIns(IncidentSettings(resolve_grace_seconds=300))
    async with acts.worker(skipping_env.client, queue):
        handle = await start(skipping_env.client, queue, firing(fp))
        await eventually(lambda: acts.calls["place_card"] == 1, what="the card")
        await deliver(handle, resolved(fp))
        await eventually(lambda: acts.edits and acts.edits[-1].view.status.value == "resolved", what="resolved")
        await skipping_env.sleep(120)  # inside the grace
        await deliver(handle, firing(fp, minute=6))
        await eventually(lambda: acts.edits[-1].view.status.value == "open", what="re-opened")
        await deliver(handle, resolved(fp, minute=6))
        outcome = await handle.result()
    assert outcome["status"] == "resolved" and outcome["occurrences"] == 2
    assert acts.calls["place_card"] == 1, "a flap edits the same card"


async def test_count_edits_wait_for_the_interval_and_the_budget_in_simulated_time(skipping_env, queue) -> None:
    fp = _fp()
    acts = StandIns(IncidentSettings(card_edit_interval_seconds=10, card_budget_calls=2,
                                     card_budget_window_seconds=60))
    async with acts.worker(skipping_env.client, queue):
        handle = await start(skipping_env.client, queue, firing(fp))
        await eventually(lambda: acts.calls["place_card"] == 1, what="the card")
        for minute in range(1, 4):
            await deliver(handle, firing(fp, minute=minute))
            await eventually(lambda m=minute: _counted(acts) >= m + 1, what=f"occurrence {minute + 1} saved")
        assert acts.calls["edit_card"] == 0, "no count edit right after the card"
        await skipping_env.sleep(11)  # the interval passes: one count edit (the budget's second call)
        await eventually(lambda: acts.calls["edit_card"] == 1, what="the first count edit")
        await deliver(handle, firing(fp, minute=9))
        await skipping_env.sleep(15)
        assert acts.calls["edit_card"] == 1, "two calls in the window: the next count edit waits for it"
        await skipping_env.sleep(60)
        await eventually(lambda: acts.calls["edit_card"] == 2, what="the count after the budget window")
        assert acts.edits[-1].view.occurrences == 5 and acts.edits[-1].best_effort
        await handle.terminate("done")


async def test_a_paced_out_count_edit_is_tried_again_at_the_next_interval(skipping_env, queue) -> None:
    fp = _fp()
    acts = StandIns(IncidentSettings(card_edit_interval_seconds=10, card_budget_calls=2), paced=1)
    async with acts.worker(skipping_env.client, queue):
        handle = await start(skipping_env.client, queue, firing(fp))
        await eventually(lambda: acts.calls["place_card"] == 1, what="the card")
        await skipping_env.sleep(11)
        await deliver(handle, firing(fp, minute=1))
        await eventually(lambda: acts.calls["edit_card"] == 1, what="the paced-out edit")
        assert acts.edits == []
        await skipping_env.sleep(11)
        await eventually(lambda: len(acts.edits) == 1, what="the edit at the next interval")
        await handle.terminate("done")


async def test_no_decision_within_the_approval_timeout_escalates_once(skipping_env, queue) -> None:
    acts = StandIns(IncidentSettings(policy=RepairPolicy(approval_timeout_seconds=1800), idle_timeout_seconds=7200))
    async with acts.worker(skipping_env.client, queue):
        handle = await start(skipping_env.client, queue, firing(_fp()))
        await eventually(lambda: acts.calls["place_card"] == 1, what="the card")
        assert acts.placed[0].repair.phase is RepairPhase.AWAITING_APPROVAL
        await skipping_env.sleep(1800 + 5)
        await eventually(lambda: acts.calls["escalate"] == 1, what="the escalation")
        state = await _state(handle)
        assert state.repair.phase is RepairPhase.TIMED_OUT
        assert acts.escalations[0].reply_to == state.message_id
        outcome = await handle.result()  # then the idle expiry, without a second escalation
    assert outcome["status"] == "expired" and acts.calls["escalate"] == 1


async def test_an_approved_repair_that_does_not_resolve_within_the_verify_window_fails_and_is_learned(
        skipping_env, queue) -> None:
    acts = StandIns(IncidentSettings(policy=RepairPolicy(verify_window_seconds=600)), action=RepairAction.SCALE_UP,
                    executed=RepairStatus.EXECUTED)
    async with acts.worker(skipping_env.client, queue):
        handle = await start(skipping_env.client, queue, firing(_fp()))
        await eventually(lambda: acts.calls["place_card"] == 1, what="the card")
        decision = Decision(approve=True, by="alice", via="api", at=T0)
        answer = await handle.execute_update("decide", decision)
        assert answer["accepted"] and "Approved by alice" in answer["message"]
        again = await handle.execute_update("decide", decision)  # a re-sent tap: the same answer
        assert again["accepted"]
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update("decide", Decision(approve=False, by="bob", via="api", at=T0))
        assert "already approved by alice" in str(refused.value.cause)
        await eventually(lambda: acts.calls["execute_repair"] == 1, what="the repair")
        await skipping_env.sleep(600 + 5)
        await eventually(lambda: acts.calls["record_repair_result"] == 1, what="the outcome learned")
        state = await _state(handle)
        assert state.repair.phase is RepairPhase.FAILED and not acts.learned_outcomes[0].record.success
        assert acts.calls["escalate"] == 1 and acts.calls["execute_repair"] == 1
        await handle.terminate("done")


async def test_a_learned_tier_1_repair_runs_without_asking_and_resolving_within_the_window_succeeds(
        skipping_env, queue) -> None:
    fp = _fp()
    acts = StandIns(IncidentSettings(policy=RepairPolicy(verify_window_seconds=600)), action=RepairAction.RESTART_POD,
                    learned=True, executed=RepairStatus.EXECUTED)
    async with acts.worker(skipping_env.client, queue):
        handle = await start(skipping_env.client, queue, firing(fp, pod="checkout-7d9f8b6c5d-x2x9z"))
        await eventually(lambda: acts.calls["execute_repair"] == 1, what="the automatic repair")
        await skipping_env.sleep(120)
        await deliver(handle, resolved(fp, pod="checkout-7d9f8b6c5d-x2x9z"))
        outcome = await handle.result()
    assert outcome["status"] == "resolved"
    assert acts.learned_outcomes and acts.learned_outcomes[0].record.success
    assert acts.calls["repair_budget"] == 1


async def test_a_digested_incident_asks_for_its_own_card_again_then_gets_it_on_demand(skipping_env, queue) -> None:
    acts = StandIns(IncidentSettings(digest_window_seconds=60, idle_timeout_seconds=86400), digest=True)
    async with acts.worker(skipping_env.client, queue):
        handle = await start(skipping_env.client, queue, firing(_fp()))
        await eventually(lambda: acts.calls["place_card"] == 1, what="its digest line")
        await skipping_env.sleep(60 + 120 + 5)  # one window, then two
        await eventually(lambda: acts.calls["place_card"] == 3, what="two re-asks")
        assert [p.reask for p in acts.placed] == [False, True, True]
        placement = await handle.execute_update("own_card", result_type=dict)
        assert placement["message_id"] is not None and acts.placed[-1].force_own
        await handle.terminate("done")


async def test_continue_as_new_carries_the_state_the_card_and_the_probe_flag(skipping_env, queue) -> None:
    fp = _fp()
    acts = StandIns(IncidentSettings(max_deliveries_per_run=3, card_edit_interval_seconds=0))
    async with acts.worker(skipping_env.client, queue):
        handle = await start(skipping_env.client, queue, firing(fp, awoooi_probe="true"))
        for minute in range(1, 8):
            # Watched through what was saved, not by a query: the test server holds a query that
            # reaches a run as it continues as new until the query's deadline.
            await deliver(handle, firing(fp, minute=minute, awoooi_probe="true"))
            await eventually(lambda m=minute: _counted(acts) == m + 1, what=f"occurrence {minute + 1}")
        # Each run reads the worker's settings once: three deliveries per run, so at least three runs.
        assert acts.calls["incident_settings"] >= 3, "continued as new at least twice"
        assert acts.calls["place_card"] == 1, "the card is carried over, never sent again"
        assert acts.edits and all(edit.probe for edit in acts.edits), "a probe's edits stay in the probe chat"
        await skipping_env.client.get_workflow_handle(handle.id).terminate("done")


async def test_a_worker_restart_mid_incident_loses_and_repeats_nothing(skipping_env, queue) -> None:
    fp = _fp()
    acts = StandIns(IncidentSettings(resolve_grace_seconds=60))
    async with acts.worker(skipping_env.client, queue, cache=False):
        handle = await start(skipping_env.client, queue, firing(fp))
        await eventually(lambda: acts.calls["place_card"] == 1, what="the card")
    async with acts.worker(skipping_env.client, queue):  # a new worker replays the history
        await deliver(handle, firing(fp, minute=1), resolved(fp, minute=1))
        outcome = await handle.result()
    assert outcome["status"] == "resolved" and outcome["occurrences"] == 2
    assert acts.calls["place_card"] == 1 and acts.calls["analyze_alert"] == 1


def _counted(acts: StandIns) -> int:
    return max((save.view.occurrences for save in acts.saves), default=0)


def test_simulated_time_not_wall_time() -> None:
    assert timedelta(hours=6).total_seconds() == 21600  # the idle test skips six hours in seconds of wall time

"""Repair timers on the time-skipping test server: no decision in time, a repair that did not
help (twice: the action is then blocked for the key), an automatic tier-1 repair, the budget."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from activities.valkey.budget import RedisRepairBudget
from core.learning import RepairRecord
from core.models import RepairAction
from tests.harness import eventually, running
from tests.loopback.kubernetes import KubernetesLoopback
from tests.repair_support import (
    API_TOKEN,
    HPA_ALERT,
    alertmanager,
    buttons,
    card_text,
)
from tests.test_repairs import AM, repair_settings
from activities.valkey.learning import learning_service

CRASHLOOP = "KubePodCrashLooping"
CRASH_KEY = "kubepodcrashlooping:checkout"
POD = {"pod": "checkout-7d4b9c8f6-x2x9k"}
AUTH = {"Authorization": f"Bearer {API_TOKEN}"}


@pytest.fixture
def kube() -> KubernetesLoopback:
    with KubernetesLoopback() as server:
        server.add_deployment("shop", "checkout", replicas=2)
        server.add_pod("shop", POD["pod"])
        yield server
    assert server.violations == [], server.violations


def restarts(kube: KubernetesLoopback) -> list:
    return [c for c in kube.calls if c.method == "PATCH" and c.path.endswith("/deployments/checkout")]


def replies(telegram) -> list[dict]:
    return [m for m in telegram.sent if m.get("reply_parameters")]


async def _card(app, telegram, body: bytes) -> tuple[str, int]:
    before = set(telegram.messages)
    answer = (await app.api.post(AM, content=body)).json()["alerts"][0]
    await eventually(lambda: set(telegram.messages) - before, what="card")
    return answer["workflow_id"], min(set(telegram.messages) - before)


async def test_no_decision_in_time_escalates_and_repairs_nothing(skipping_env, valkey_url, redis, task_queue,
                                                                 telegram, kube, tmp_path) -> None:
    settings = repair_settings(valkey_url, task_queue, telegram, kube, tmp_path, approval_timeout=1800)
    async with running(skipping_env.client, settings) as app:
        workflow_id, message_id = await _card(app, telegram, alertmanager(HPA_ALERT))
        assert buttons(telegram, message_id)
        await skipping_env.sleep(1800 + 5)
        await eventually(lambda: "⌛" in card_text(telegram, message_id), what="timed out on the card")
        assert "no decision within 30 min" in card_text(telegram, message_id)
        assert not buttons(telegram, message_id)
        await eventually(lambda: replies(telegram), what="escalation message")
        escalation = replies(telegram)[0]
        assert escalation["reply_parameters"]["message_id"] == message_id
        assert "nothing was repaired" in escalation["text"]
        late = await app.api.post(f"/api/v1/incidents/{workflow_id.removeprefix('incident-')}/approve",
                                  json={"by": "late"}, headers=AUTH)
        assert late.status_code == 409 and "timed out" in late.json()["detail"]
        assert not kube.calls
        await skipping_env.client.get_workflow_handle(workflow_id).terminate("done")


async def test_unverified_repairs_fail_then_the_action_is_blocked(skipping_env, valkey_url, redis, task_queue,
                                                                  telegram, kube, tmp_path) -> None:
    settings = repair_settings(valkey_url, task_queue, telegram, kube, tmp_path, verify_window=600)
    async with running(skipping_env.client, settings) as app:
        for attempt in (1, 2):
            body = alertmanager(CRASHLOOP, fingerprint=f"c0ffee000000000{attempt}", labels=POD)
            workflow_id, message_id = await _card(app, telegram, body)
            incident = workflow_id.removeprefix("incident-")
            approved = await app.api.post(f"/api/v1/incidents/{incident}/approve", json={"by": "alice"}, headers=AUTH)
            assert approved.status_code == 200, approved.text
            await eventually(lambda a=attempt: len(restarts(kube)) == a, what="rollout restart")
            await eventually(lambda m=message_id: "🔎" in card_text(telegram, m), what="verifying")
            await skipping_env.sleep(600 + 5)
            await eventually(lambda m=message_id: "❌" in card_text(telegram, m), what="failed verification")
            assert "did not resolve the alert within 10 min" in card_text(telegram, message_id)
            await eventually(lambda a=attempt: len(replies(telegram)) == a, what="escalation")
            await skipping_env.client.get_workflow_handle(workflow_id).terminate("next")
        assert "will not be recommended again" in card_text(telegram, message_id)
        summary = (await app.api.get(f"/api/v1/learning/summary/{CRASH_KEY}", headers=AUTH)).json()
        assert summary["repair_attempts"] == 2 and summary["success_rate"] == 0.0
        assert summary["blocked_actions"] == ["restart_pod"]
        # A third incident of the same key: the only candidate is blocked, so nobody is asked.
        workflow_id, message_id = await _card(app, telegram, alertmanager(CRASHLOOP, fingerprint="c0ffee0000000003",
                                                                          labels=POD))
        card = card_text(telegram, message_id)
        assert "⚠️" in card and "failed 2 times in a row" in card
        assert not buttons(telegram, message_id)
        assert len(replies(telegram)) == 2, "the new card is the call for a human: no extra message"
        assert len(restarts(kube)) == 2
        await skipping_env.client.get_workflow_handle(workflow_id).terminate("done")


async def _teach(redis, times: int) -> None:
    service = learning_service(redis)
    for n in range(times):
        await service.record_repair_result(RepairRecord(
            repair_id=f"seed-{n}", incident_id="seed", anomaly_key=CRASH_KEY, action=RepairAction.RESTART_POD,
            success=True, execution_seconds=1.5, executor="kubernetes", at=datetime.now(UTC)))


async def test_confident_tier_one_runs_without_asking(skipping_env, valkey_url, redis, task_queue, telegram, kube,
                                                      tmp_path) -> None:
    await _teach(redis, 20)  # 20 of 20: confidence (the Wilson lower bound) 0.84 >= AWOOOI_AUTO_REPAIR_CONFIDENCE
    settings = repair_settings(valkey_url, task_queue, telegram, kube, tmp_path)
    async with running(skipping_env.client, settings) as app:
        workflow_id, message_id = await _card(app, telegram, alertmanager(CRASHLOOP, labels=POD))
        assert not buttons(telegram, message_id), "nobody is asked"
        assert "based on 20" in telegram.messages[message_id][0]
        await eventually(lambda: len(restarts(kube)) == 1, what="automatic rollout restart")
        await eventually(lambda: "🔎" in card_text(telegram, message_id), what="verifying")
        await app.api.post(AM, content=alertmanager(CRASHLOOP, "resolved", labels=POD, ends_at="2026-11-25T10:03:00Z"))
        await eventually(lambda: "✅" in card_text(telegram, message_id), what="verified")
        await skipping_env.client.get_workflow_handle(workflow_id).result()
        fix = (await app.api.get(f"/api/v1/learning/recommendation/{CRASH_KEY}", headers=AUTH)).json()
        assert fix["action"] == "restart_pod" and fix["based_on"] == 21


async def test_spent_budget_means_asking_and_then_refusing(skipping_env, valkey_url, redis, task_queue, telegram,
                                                           kube, tmp_path) -> None:
    await _teach(redis, 20)
    budget = RedisRepairBudget(redis, max_per_hour=3, max_per_day=7)
    # Wall-clock times: the time-skipping server starts at "now" too.
    for n in range(3):
        assert (await budget.reserve(CRASH_KEY, f"earlier-{n}", datetime.now(UTC))).allowed
    settings = repair_settings(valkey_url, task_queue, telegram, kube, tmp_path)
    async with running(skipping_env.client, settings) as app:
        workflow_id, message_id = await _card(app, telegram, alertmanager(CRASHLOOP, labels=POD))
        assert buttons(telegram, message_id), "over budget, even a confident tier 1 waits for a human"
        assert "budget spent" in card_text(telegram, message_id)
        incident = workflow_id.removeprefix("incident-")
        await app.api.post(f"/api/v1/incidents/{incident}/approve", json={"by": "alice"}, headers=AUTH)
        await eventually(lambda: "⚠️" in card_text(telegram, message_id), what="refused for budget")
        assert "3/3 repairs in the last hour" in card_text(telegram, message_id)
        await eventually(lambda: replies(telegram), what="escalation")
        assert not kube.calls
        await skipping_env.client.get_workflow_handle(workflow_id).terminate("done")


async def test_an_incident_expiring_mid_approval_says_so(skipping_env, valkey_url, redis, task_queue, telegram,
                                                         kube, tmp_path) -> None:
    settings = repair_settings(valkey_url, task_queue, telegram, kube, tmp_path, approval_timeout=7200,
                               incident_idle_timeout_seconds=3600)
    async with running(skipping_env.client, settings) as app:
        workflow_id, message_id = await _card(app, telegram, alertmanager(HPA_ALERT))
        assert buttons(telegram, message_id)
        await skipping_env.sleep(3600 + 60)  # past the idle timeout, well before the approval timeout
        await eventually(lambda: "⌛" in card_text(telegram, message_id), what="expired card")
        outcome = await skipping_env.client.get_workflow_handle(workflow_id).result()
        assert outcome["status"] == "expired"
        assert not buttons(telegram, message_id), "no button may outlive its workflow"
        assert "the incident expired before anyone decided" in card_text(telegram, message_id)
        assert "no decision within" not in card_text(telegram, message_id), "the approval had not timed out"
        assert "expired before anyone decided" in replies(telegram)[0]["text"]
        assert not kube.calls


async def test_a_rejection_stops_the_clock(skipping_env, valkey_url, redis, task_queue, telegram, kube,
                                           tmp_path) -> None:
    """Rejected from the chat: nothing runs, and the approval timeout no longer escalates."""
    from tests.repair_support import TELEGRAM_HOOK, hook_headers, tap

    settings = repair_settings(valkey_url, task_queue, telegram, kube, tmp_path, approval_timeout=1800)
    async with running(skipping_env.client, settings) as app:
        workflow_id, message_id = await _card(app, telegram, alertmanager(HPA_ALERT))
        rejected = await app.api.post(TELEGRAM_HOOK, json=tap(buttons(telegram, message_id)["reject"], message_id),
                                      headers=hook_headers())
        assert rejected.json()["detail"] == "Rejected by @bijoyvbabu123: scale_up will not run"
        await eventually(lambda: "🚫" in card_text(telegram, message_id), what="rejected on the card")
        await skipping_env.sleep(1800 + 60)
        assert "🚫" in card_text(telegram, message_id), "still rejected, not timed out"
        assert not replies(telegram) and not kube.calls
        await skipping_env.client.get_workflow_handle(workflow_id).terminate("done")


async def test_a_lower_auto_threshold_lets_merged_learning_run(skipping_env, valkey_url, redis, task_queue,
                                                                telegram, kube, tmp_path) -> None:
    """17 of 20 (at least 0.64 at 95 %): learning's answer is merged with the analysis', and
    AWOOOI_AUTO_REPAIR_CONFIDENCE 0.6 lets it run without asking; the default 0.8 would ask."""
    service = learning_service(redis)
    # 17 of 20, never two failures in a row (that would block the action).
    outcomes = [True, False, True, True, False, True, True, False, True, True] + [True] * 10
    for n, success in enumerate(outcomes):
        await service.record_repair_result(RepairRecord(
            repair_id=f"mixed-{n}", incident_id="seed", anomaly_key=CRASH_KEY, action=RepairAction.RESTART_POD,
            success=success, execution_seconds=1.0, executor="kubernetes", at=datetime.now(UTC)))
    settings = repair_settings(valkey_url, task_queue, telegram, kube, tmp_path, auto_repair_confidence=0.6)
    async with running(skipping_env.client, settings) as app:
        workflow_id, message_id = await _card(app, telegram, alertmanager(CRASHLOOP, labels=POD))
        assert not buttons(telegram, message_id)
        assert "learning + analysis" in telegram.messages[message_id][0] and "64%" in telegram.messages[message_id][0]
        await eventually(lambda: len(restarts(kube)) == 1, what="automatic rollout restart")
        await skipping_env.client.get_workflow_handle(workflow_id).terminate("done")


async def test_an_executor_that_never_answers_is_escalated_not_learned(skipping_env, valkey_url, redis, task_queue,
                                                                       telegram, kube, tmp_path) -> None:
    settings = repair_settings(valkey_url, task_queue, telegram, kube, tmp_path)
    kube.fail_next(503, "apiserver overloaded", times=50)
    async with running(skipping_env.client, settings) as app:
        workflow_id, message_id = await _card(app, telegram, alertmanager(CRASHLOOP, labels=POD))
        incident = workflow_id.removeprefix("incident-")
        await app.api.post(f"/api/v1/incidents/{incident}/approve", json={"by": "alice"}, headers=AUTH)
        await eventually(lambda: "▶️" in card_text(telegram, message_id), what="running")
        for _ in range(5):  # skip the retries' backoff (2, 4, 8, 16 s) instead of waiting it out
            await skipping_env.sleep(30)
        await eventually(lambda: "⚠️" in card_text(telegram, message_id), what="escalated")
        assert "the executor did not answer" in card_text(telegram, message_id)
        summary = (await app.api.get(f"/api/v1/learning/summary/{CRASH_KEY}", headers=AUTH)).json()
        assert summary["repair_attempts"] == 0, "an outage says nothing about whether the fix works"
        await skipping_env.client.get_workflow_handle(workflow_id).terminate("done")

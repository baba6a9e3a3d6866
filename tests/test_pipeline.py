"""End to end on real Temporal and real Valkey: webhook -> workflow -> card, comment, records.

Telegram and Sentry are loopback servers that check every request against the real API.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from temporalio.client import Client, WorkflowExecutionStatus

from tests.conftest import fixture_bytes
from tests.harness import eventually, running, settings_for

ALERTMANAGER = "/api/v1/webhooks/alertmanager"
SIGNOZ = "/api/v1/webhooks/signoz"
SENTRY = "/api/v1/webhooks/sentry"


async def _post(app, path: str, name: str, headers: dict[str, str] | None = None, *,
                content: bytes | None = None) -> dict[str, Any]:
    response = await app.api.post(path, content=content if content is not None else fixture_bytes(name),
                                  headers={"content-type": "application/json", **(headers or {})})
    assert response.status_code == 200, response.text
    return response.json()


async def _status(client: Client, workflow_id: str) -> WorkflowExecutionStatus | None:
    return (await client.get_workflow_handle(workflow_id).describe()).status


async def _state(client: Client, workflow_id: str) -> dict[str, Any] | None:
    state = await client.get_workflow_handle(workflow_id).query("state")
    return state if state is None or isinstance(state, dict) else state.model_dump()


async def _state_field(client: Client, workflow_id: str, field: str, old: Any) -> bool:
    """Whether the workflow's state shows ``field`` changed from ``old``."""
    state = await _state(client, workflow_id)
    return state is not None and state[field] != old


@pytest.mark.parametrize(
    ("path", "name", "resource", "expected"),
    [
        (ALERTMANAGER, "alertmanager_v4_firing_grouped.json", None, ["started"] * 3),
        (ALERTMANAGER, "alertmanager_v4_firing_grouped_zulip_fixture.json", None, ["started"] * 2),
        (ALERTMANAGER, "alertmanager_v4_resolved_cloudeon.json", None, ["started"]),
        (ALERTMANAGER, "alertmanager_v4_resolved_single.json", None, ["started"]),
        (ALERTMANAGER, "alertmanager_v4_resolved_with_notification_reason.json", None, ["started"]),
        (SIGNOZ, "signoz_alert.json", None, ["started"]),
        (SENTRY, "sentry_issue_alert_triggered.json", "event_alert", ["started"]),
        (SENTRY, "sentry_error_created.json", "error", ["started"]),
        (SENTRY, "sentry_issue_created_zulip_fixture.json", "issue", ["started"]),
        (SENTRY, "sentry_issue_resolved_zulip_fixture.json", "issue", ["started"]),
        (SENTRY, "sentry_metric_alert_resolved.json", "metric_alert", ["started"]),
        (SENTRY, "sentry_legacy_webhooks_plugin.json", None, ["started"]),
        (SENTRY, "sentry_comment_created.json", "comment", []),
        (SENTRY, "sentry_issue_assigned_zulip_fixture.json", "issue", []),
    ],
)
async def test_every_fixture_is_taken(temporal_client, valkey_url, redis, task_queue, telegram, sentry,
                                      path, name, resource, expected) -> None:
    settings = settings_for(valkey_url, task_queue, telegram, sentry)
    async with running(temporal_client, settings) as app:
        headers = {"sentry-hook-resource": resource} if resource else {}
        body = await _post(app, path, name, headers)
        assert [a["status"] for a in body["alerts"]] == expected
        if not expected:
            assert body["status"] == "ignored" and body["reason"]
            return
        ids = {a["workflow_id"] for a in body["alerts"]}
        assert len(ids) == len(expected), "each distinct alert gets its own workflow"
        for answer in body["alerts"]:
            assert answer["incident_id"] and answer["anomaly_key"]
        # Exactly one card per distinct alert.
        await eventually(lambda: len(telegram.sent) == len(expected), what="one card per alert")
        firing_sentry_issue = path == SENTRY and name not in (
            "sentry_issue_resolved_zulip_fixture.json", "sentry_metric_alert_resolved.json")
        if firing_sentry_issue:
            await eventually(lambda: sum(len(c) for c in sentry.comments.values()) == 1, what="sentry comment")
            text = next(iter(sentry.comments.values()))[0]
            assert "awoooi" in text.lower()
        for workflow_id in ids:
            await eventually(lambda wid=workflow_id: _state(app.client, wid), what="workflow state")
        resolved_only = all(a["alert_status"] == "resolved" for a in body["alerts"])
        if resolved_only:
            for workflow_id in ids:
                await eventually(
                    lambda wid=workflow_id: _is_completed(app.client, wid), what="resolved workflow completes")
        assert len(telegram.sent) == len(expected)
        if not firing_sentry_issue:
            assert sentry.comments == {}


async def _is_completed(client: Client, workflow_id: str) -> bool:
    return await _status(client, workflow_id) == WorkflowExecutionStatus.COMPLETED


def _fired_again(name: str, minutes: int) -> bytes:
    """The same alert firing anew (after a flap Alertmanager gives it a new startsAt)."""
    payload = json.loads(fixture_bytes(name))
    for alert in payload["alerts"]:
        alert["startsAt"] = f"2022-04-25T11:{minutes:02d}:00Z"
    return json.dumps(payload).encode()


def _as_resolved(name: str) -> bytes:
    payload = json.loads(fixture_bytes(name))
    payload["status"] = "resolved"
    for alert in payload["alerts"]:
        alert["status"] = "resolved"
        alert["endsAt"] = "2022-04-25T10:05:00Z"
    return json.dumps(payload).encode()


async def test_repeat_edits_the_card_and_resolution_closes_it(temporal_client, valkey_url, redis, task_queue,
                                                                telegram, sentry) -> None:
    settings = settings_for(valkey_url, task_queue, telegram, sentry)
    async with running(temporal_client, settings) as app:
        first = await _post(app, SIGNOZ, "signoz_alert.json")
        workflow_id = first["alerts"][0]["workflow_id"]
        await eventually(lambda: len(telegram.sent) == 1, what="first card")
        # A re-send of the same firing (Alertmanager's retry, repeat_interval): fresher, not counted.
        before = await _state(app.client, workflow_id)
        resent = await _post(app, SIGNOZ, "signoz_alert.json")
        assert resent["alerts"][0]["status"] == "updated"
        await eventually(lambda: _state_field(app.client, workflow_id, "last_seen", before["last_seen"]),
                         what="last_seen updated by the re-send")
        assert (await _state(app.client, workflow_id))["occurrences"] == 1
        assert not telegram.edits, "a re-sent firing edits no card"
        second = await _post(app, SIGNOZ, "", content=_fired_again("signoz_alert.json", 1))
        assert second["alerts"][0]["status"] == "updated"
        assert second["alerts"][0]["workflow_id"] == workflow_id
        await eventually(lambda: telegram.edits, what="card edited on repeat")
        message_id = 1  # the loopback numbers messages from 1
        state = await _state(app.client, workflow_id)
        assert state["occurrences"] == 2
        assert len(telegram.sent) == 1, "a repeat delivery never sends a second card"
        assert "2" in telegram.messages[message_id][-1]

        response = await app.api.post(SIGNOZ, content=_as_resolved("signoz_alert.json"))
        assert response.status_code == 200, response.text
        assert response.json()["alerts"][0]["status"] == "updated"
        await eventually(lambda: _is_completed(app.client, workflow_id), what="incident resolved")
        assert len(telegram.sent) == 1
        last = telegram.messages[message_id][-1]
        assert "✅" in last and "Resolved" in last

        # The same resolution again (Alertmanager re-sends it) is a duplicate and starts nothing.
        again = await app.api.post(SIGNOZ, content=_as_resolved("signoz_alert.json"))
        assert again.json()["alerts"][0]["status"] == "duplicate"
        assert len(telegram.sent) == 1
        record = await redis.hgetall(f"awoooi:incident:{first['alerts'][0]['incident_id']}")
        assert record["status"] == "resolved" and record["occurrences"] == "2"
        await _assert_queue_places(app.client, workflow_id)


async def _assert_queue_places(client: Client, workflow_id: str) -> None:
    """Where the incident and its activities waited in Temporal's queues (core/priority.py): the
    incident at its severity's key with its sender group as fairness key, its first card at the
    incident's key, the count edit last, the resolved card's edit behind every first word."""
    started = None
    scheduled: list[tuple[str, int, str]] = []
    async for event in client.get_workflow_handle(workflow_id).fetch_history_events():
        if event.HasField("workflow_execution_started_event_attributes") and started is None:
            started = event.workflow_execution_started_event_attributes.priority
        if event.HasField("activity_task_scheduled_event_attributes"):
            attrs = event.activity_task_scheduled_event_attributes
            scheduled.append((attrs.activity_type.name, attrs.priority.priority_key, attrs.priority.fairness_key))
    assert started is not None
    # The fixture is SigNoz's critical DiskRunningFull.
    own, group = started.priority_key, started.fairness_key
    assert (own, group) == (2, "signoz:DiskRunningFull")
    assert ("place_card", own, group) in scheduled
    edits = [key for name, key, fairness in scheduled if name == "edit_card" and fairness == group]
    assert edits and edits[0] == 5, scheduled  # the repeat's count edit waits behind everything
    assert edits[-1] == 4, scheduled  # the resolution's edit: behind first words, ahead of deferred work


async def test_sentry_retry_is_taken_once(temporal_client, valkey_url, redis, task_queue, telegram,
                                          sentry) -> None:
    settings = settings_for(valkey_url, task_queue, telegram, sentry)
    async with running(temporal_client, settings) as app:
        headers = {"sentry-hook-resource": "event_alert", "request-id": "req-1"}
        first = await _post(app, SENTRY, "sentry_issue_alert_triggered.json", headers)
        workflow_id = first["alerts"][0]["workflow_id"]
        # A retry racing the first delivery is dropped by the workflow itself...
        await _post(app, SENTRY, "sentry_issue_alert_triggered.json", headers)
        await eventually(lambda: sum(len(c) for c in sentry.comments.values()) == 1, what="comment")
        await eventually(lambda: _state(app.client, workflow_id), what="state")
        # ...and a later one is answered "duplicate" from the ledger without touching Temporal.
        await eventually(lambda: redis.exists("awoooi:ledger:delivery:sentry-event:e4874d664c3540c1a32eab185f12c5ab"),
                         what="delivery recorded")
        third = await _post(app, SENTRY, "sentry_issue_alert_triggered.json", headers)
        assert third["alerts"][0]["status"] == "duplicate"
        state = await _state(app.client, workflow_id)
        assert state["occurrences"] == 1
        assert len(telegram.sent) == 1
        assert sum(len(c) for c in sentry.comments.values()) == 1


async def test_telegram_rate_limit_is_honoured(temporal_client, valkey_url, redis, task_queue, telegram) -> None:
    telegram.fail_next("sendMessage", 429, {"ok": False, "error_code": 429,
                                            "description": "Too Many Requests: retry after 1",
                                            "parameters": {"retry_after": 1}})
    settings = settings_for(valkey_url, task_queue, telegram)
    async with running(temporal_client, settings) as app:
        await _post(app, SIGNOZ, "signoz_alert.json")
        await eventually(lambda: len(telegram.sent) == 1, timeout=30, what="card after 429")
        send_calls = [c for c in telegram.calls if c[0].lower() == "sendmessage"]
        assert len(send_calls) == 2


async def test_without_telegram_the_pipeline_still_completes(temporal_client, valkey_url, redis,
                                                             task_queue) -> None:
    settings = settings_for(valkey_url, task_queue)
    async with running(temporal_client, settings) as app:
        body = await _post(app, SIGNOZ, "signoz_alert.json")
        workflow_id = body["alerts"][0]["workflow_id"]
        await eventually(lambda: _state(app.client, workflow_id), what="state")
        await eventually(lambda: redis.exists(f"awoooi:incident:{body['alerts'][0]['incident_id']}"),
                         what="incident saved")
        state = await _state(app.client, workflow_id)
        assert state["message_id"] is None
        assert await _status(app.client, workflow_id) == WorkflowExecutionStatus.RUNNING


async def test_a_card_deleted_in_the_chat_is_replaced_once(temporal_client, valkey_url, redis, task_queue,
                                                           telegram) -> None:
    settings = settings_for(valkey_url, task_queue, telegram)
    async with running(temporal_client, settings) as app:
        await _post(app, SIGNOZ, "signoz_alert.json")
        await eventually(lambda: len(telegram.sent) == 1, what="first card")
        telegram.messages.pop(1)  # an operator deleted the card
        await _post(app, SIGNOZ, "", content=_fired_again("signoz_alert.json", 1))
        await eventually(lambda: len(telegram.sent) == 2, what="replacement card")
        await _post(app, SIGNOZ, "", content=_fired_again("signoz_alert.json", 2))
        await eventually(lambda: len(telegram.edits) == 1, what="replacement edited in place")
        assert len(telegram.sent) == 2
        assert "<b>Occurrences:</b> 3" in telegram.messages[2][-1]

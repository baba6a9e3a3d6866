"""Replay tests: the workflow code must replay every history it has ever produced.

`tests/histories/*.json` are histories recorded from released code: generation 1 (`IncidentWorkflow`,
`incident_v*.json`, frozen in workflows/legacy/), generation 2 (`Incident`, `incident2_*.json`) and the
probe. Record a new one with `python -m tests.record_history` after a change, never edit or re-record
an old one. A change that breaks a generation-2 history starts generation 3 (docs/adr/0019); a
retired generation's histories are kept, unreplayed, in tests/histories/retired/.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from core.converter import data_converter
from temporalio.worker import Replayer

from worker.wiring import WORKFLOWS, workflow_runner

from tests.alert_flow import occurrence_body
from tests.conftest import fixture_bytes
from tests.harness import eventually, running, settings_for
from core.incident.state import IncidentState

HISTORIES = sorted((Path(__file__).parent / "histories").glob("*.json"))


def _replayer() -> Replayer:
    # The worker's own workflows and sandbox configuration: replay checks what production runs.
    return Replayer(workflows=list(WORKFLOWS), data_converter=data_converter, workflow_runner=workflow_runner())


@pytest.mark.parametrize("path", HISTORIES, ids=[p.name for p in HISTORIES])
async def test_recorded_history_replays(path: Path) -> None:
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    await _replayer().replay_workflow(history)


def test_there_is_a_recorded_history() -> None:
    assert HISTORIES, "keep at least one recorded history of the released workflow"


async def test_fresh_lifecycle_replays(temporal_client, valkey_url, redis, task_queue, telegram) -> None:
    """A full lifecycle (open, repeat, resolve) recorded now replays on the current code."""
    history = await record_lifecycle(temporal_client, valkey_url, task_queue, telegram)
    await _replayer().replay_workflow(history)


async def test_fresh_repair_lifecycle_replays(temporal_client, valkey_url, redis, task_queue, telegram,
                                             tmp_path) -> None:
    """Open, approve from the chat, repair on Kubernetes, repeat, resolve (verified): replays."""
    history = await record_repair_lifecycle(temporal_client, valkey_url, task_queue, telegram, tmp_path)
    await _replayer().replay_workflow(history)


async def test_fresh_probe_run_replays(temporal_client, valkey_url, redis, task_queue, telegram, sentry) -> None:
    """An AlertChainProbe run and the probe incidents it caused (probe-alerts-v1) replay."""
    histories = await record_probe_run(temporal_client, valkey_url, task_queue, telegram, sentry)
    assert len(histories) == 3
    for history in histories:
        await _replayer().replay_workflow(history)


async def record_probe_run(client, valkey_url, task_queue, telegram, sentry) -> list[WorkflowHistory]:
    """The probe's own history first, then its Alertmanager and its Sentry incident."""
    from tests.test_probe import PROBE_CHAT, chain, run_probe

    async with chain(client, valkey_url, task_queue, telegram, sentry, telegram_probe_chat_id=PROBE_CHAT):
        report = await run_probe(client, task_queue)
        assert report.ok, report
        executions = [e async for e in client.list_workflows(f'TaskQueue="{task_queue}"')]
    order = {"AlertChainProbe": 0, "Incident": 1}
    executions.sort(key=lambda e: (order[e.workflow_type], e.id))
    return [await client.get_workflow_handle(e.id, run_id=e.run_id).fetch_history() for e in executions]


async def record_repair_lifecycle(client, valkey_url, task_queue, telegram, tmp_path) -> WorkflowHistory:
    from tests.loopback.kubernetes import KubernetesLoopback, write_kubeconfig
    from tests.repair_support import APPROVER_ID, HPA_ALERT, WEBHOOK_SECRET, alertmanager, buttons, hook_headers, tap

    with KubernetesLoopback() as kube:
        kube.add_deployment("shop", "checkout", replicas=2)
        settings = settings_for(valkey_url, task_queue, telegram, telegram_approver_ids=[APPROVER_ID],
                                telegram_webhook_secret=WEBHOOK_SECRET, repair_executor="kubernetes",
                                kubernetes_kubeconfig=write_kubeconfig(tmp_path / "kc", kube.base_url, kube.token))
        async with running(client, settings) as app:
            first = await app.api.post("/api/v1/webhooks/alertmanager", content=alertmanager(HPA_ALERT))
            workflow_id = first.json()["alerts"][0]["workflow_id"]
            await eventually(lambda: telegram.sent and buttons(telegram, 1), what="card with buttons")
            await app.api.post("/api/v1/webhooks/telegram", json=tap(buttons(telegram, 1)["approve"], 1),
                               headers=hook_headers())
            await eventually(lambda: any(c.method == "PATCH" for c in kube.calls), what="repair")
            await app.api.post("/api/v1/webhooks/alertmanager", content=alertmanager(HPA_ALERT))
            await app.api.post("/api/v1/webhooks/alertmanager",
                               content=alertmanager(HPA_ALERT, "resolved", ends_at="2026-11-25T10:05:00Z"))
            handle = client.get_workflow_handle(workflow_id)
            await handle.result()
            return await handle.fetch_history()


def _signoz_firing(minute: int) -> bytes:
    """The SigNoz fixture as a new firing of the same alert (its own startsAt: a counted occurrence)."""
    again = json.loads(fixture_bytes("signoz_alert.json"))
    again["alerts"][0]["startsAt"] = f"2022-04-25T10:{minute:02d}:00Z"
    return json.dumps(again).encode()


async def _resolve_and_fetch(app, client, workflow_id: str, *, ends_at: str) -> WorkflowHistory:
    """Resolve the SigNoz fixture's alert, wait for the run to end, and return its history."""
    resolved = json.loads(fixture_bytes("signoz_alert.json"))
    resolved["alerts"][0] |= {"status": "resolved", "endsAt": f"2022-04-25T{ends_at}:00Z"}
    await app.api.post("/api/v1/webhooks/signoz", content=json.dumps(resolved).encode())
    handle = client.get_workflow_handle(workflow_id)
    await handle.result()
    return await handle.fetch_history()


async def record_lifecycle(client, valkey_url, task_queue, telegram) -> WorkflowHistory:

    settings = settings_for(valkey_url, task_queue, telegram)
    async with running(client, settings) as app:
        first = await app.api.post("/api/v1/webhooks/signoz", content=fixture_bytes("signoz_alert.json"))
        workflow_id = first.json()["alerts"][0]["workflow_id"]
        await eventually(lambda: len(telegram.sent) == 1, what="card")
        # A re-send of the same firing (occurrence-dedup-v1: counted once, no edit), then a new firing.
        await app.api.post("/api/v1/webhooks/signoz", content=fixture_bytes("signoz_alert.json"))
        await app.api.post("/api/v1/webhooks/signoz", content=_signoz_firing(1))
        await eventually(lambda: telegram.edits, what="edit")
        return await _resolve_and_fetch(app, client, workflow_id, ends_at="10:05")


async def record_storm_lifecycle(client, valkey_url, task_queue, telegram) -> WorkflowHistory:
    """storm-v1: a burst of new firings and re-sends arrives as batch signals, folds into one save,
    the count edit waits for its interval (a timer), and the resolution edits at once."""
    import asyncio

    settings = settings_for(valkey_url, task_queue, telegram, card_edit_interval=1, intake_batch_window_ms=5)
    async with running(client, settings) as app:
        first = await app.api.post("/api/v1/webhooks/signoz", content=fixture_bytes("signoz_alert.json"))
        workflow_id = first.json()["alerts"][0]["workflow_id"]
        await eventually(lambda: len(telegram.sent) == 1, what="card")
        bodies = []
        for minute in range(1, 11):
            bodies += [_signoz_firing(minute)] * 2  # each new firing and its re-send
        await asyncio.gather(*(app.api.post("/api/v1/webhooks/signoz", content=body) for body in bodies))
        await eventually(lambda: telegram.edits, timeout=15, what="the paced count edit")
        return await _resolve_and_fetch(app, client, workflow_id, ends_at="10:15")


async def record_budget_lifecycle(client, valkey_url, task_queue, telegram) -> WorkflowHistory:
    """card-budget-v1: firings keep coming for longer than the budget window; after the card and one
    count edit the next edit waits for the window (a timer), then the resolution edits at once."""
    import asyncio

    settings = settings_for(valkey_url, task_queue, telegram, card_edit_interval=0.2, card_budget_calls=2,
                            card_budget_window=2, intake_batch_window_ms=5)
    async with running(client, settings) as app:
        first = await app.api.post("/api/v1/webhooks/signoz", content=fixture_bytes("signoz_alert.json"))
        workflow_id = first.json()["alerts"][0]["workflow_id"]
        await eventually(lambda: len(telegram.sent) == 1, what="card")
        for minute in range(1, 13):
            await app.api.post("/api/v1/webhooks/signoz", content=_signoz_firing(minute))
            await asyncio.sleep(0.3)
        await eventually(lambda: "<b>Occurrences:</b> 13" in telegram.messages[1][-1], timeout=10,
                         what="the final count, after the budget window")
        return await _resolve_and_fetch(app, client, workflow_id, ends_at="10:15")


async def test_fresh_budget_lifecycle_replays(temporal_client, valkey_url, redis, task_queue, telegram) -> None:
    """Count edits held back by the per-window budget (a timer for the next card edit), then the
    resolution: replays."""
    history = await record_budget_lifecycle(temporal_client, valkey_url, task_queue, telegram)
    timers = [e for e in history.events if e.HasField("timer_started_event_attributes")]
    summaries = [data_converter.payload_converter.from_payload(e.user_metadata.summary, str) for e in timers
                 if e.HasField("user_metadata") and e.user_metadata.HasField("summary")]
    assert "count changes wait for the next card edit" in summaries, summaries
    await _replayer().replay_workflow(history)


async def test_fresh_digest_lifecycle_replays(temporal_client, valkey_url, redis, task_queue, telegram) -> None:
    """digest-v1: a line, its count update, the window's re-ask, the own_card update, resolved."""
    history = await record_digest_lifecycle(temporal_client, valkey_url, task_queue, telegram)
    await _replayer().replay_workflow(history)


async def test_a_query_waiting_for_the_first_task_leaves_the_history_replayable(
        temporal_client, valkey_url, redis, task_queue, telegram) -> None:
    """patches-first-v1: the split first task (see :func:`record_query_in_first_task`) replays."""
    history = await record_query_in_first_task(temporal_client, valkey_url, task_queue, telegram)
    tasks_before_first_activity = 0
    for event in history.events:
        if event.HasField("activity_task_scheduled_event_attributes"):
            break
        tasks_before_first_activity += event.HasField("workflow_task_completed_event_attributes")
    assert tasks_before_first_activity >= 2, "the waiting query did not split the first task: nothing was tested"
    await _replayer().replay_workflow(history)


async def record_query_in_first_task(client, valkey_url, task_queue, telegram) -> WorkflowHistory:
    """A query waiting at the server when a new incident's first workflow task is handed out (the Web
    UI or ``awoooi incidents`` looking at it) makes the SDK answer it as soon as the rule analysis, a
    local activity, is done: that task ends with the analysis marker, and what the workflow did next
    goes in the task after. On replay the code after the analysis runs in the first task, before core
    has announced the patches of the second, so a patch first asked there read False and the replay
    failed (TMPRL1100, one run in three of the fresh digest test). patches-first-v1 asks every patch
    before the first local activity. The API takes the alert while no worker polls; the query waits;
    then the worker starts."""
    import asyncio

    from core.models import IncidentStatus

    settings = settings_for(valkey_url, task_queue, telegram)
    hook = "/api/v1/webhooks/signoz"
    async with running(client, settings, worker=False) as api_only:
        first = await api_only.api.post(hook, content=fixture_bytes("signoz_alert.json"))
        handle = client.get_workflow_handle(first.json()["alerts"][0]["workflow_id"])
        waiting = asyncio.ensure_future(handle.query("state", result_type=IncidentState | None))
        await asyncio.sleep(1.0)  # the query is at the server, held for the first task
        assert not waiting.done()
        async with running(client, settings):
            await waiting
            await eventually(lambda: len(telegram.sent) == 1, what="card")
            resolved = json.loads(fixture_bytes("signoz_alert.json"))
            resolved["alerts"][0] |= {"status": "resolved", "endsAt": "2022-04-25T10:05:00Z"}
            await api_only.api.post(hook, content=json.dumps(resolved).encode())
            await handle.result()
            # A query on the closed run replays it in the worker: the live check of the same thing.
            assert (await handle.query("state", result_type=IncidentState | None)).status is IncidentStatus.RESOLVED
    return await handle.fetch_history()


async def record_digest_lifecycle(client, valkey_url, task_queue, telegram) -> WorkflowHistory:
    """digest-v1: in a storm (threshold 1, a chat of its own) the recorded incident is a digest line;
    a new firing updates the line; a window later it asks for its own card while the storm goes on
    (still a line); the ``own_card`` update gets it one; the resolution edits that card."""
    import asyncio
    import uuid

    from core.models import IncidentStatus

    def body(fingerprint: str, minute: int = 0, status: str = "firing") -> bytes:
        labels = {"alertname": "ReplayDigest", "instance": f"host-{fingerprint}", "severity": "warning"}
        return occurrence_body(fingerprint, labels, "digest-v1 history", f"2026-12-02T10:{minute:02d}:00Z", status)

    run = uuid.uuid4().hex[:8]
    settings = settings_for(valkey_url, task_queue, telegram, telegram_chat_id=f"-100{uuid.uuid4().int % 10**9}",
                            digest_threshold=1, digest_window_seconds=2, digest_edit_interval_seconds=0.2)
    hook = "/api/v1/webhooks/alertmanager"
    async with running(client, settings) as app:
        await app.api.post(hook, content=body(f"{run}-first"))
        await eventually(lambda: len(telegram.sent) == 1, what="the storm's first card")
        first = await app.api.post(hook, content=body(f"{run}-recorded"))
        workflow_id = first.json()["alerts"][0]["workflow_id"]
        handle = client.get_workflow_handle(workflow_id)

        async def digested() -> bool:
            state = await handle.query("state", result_type=IncidentState | None)
            return state is not None and state.digest_message_id is not None

        await eventually(digested, what="the recorded incident as a digest line")
        await app.api.post(hook, content=body(f"{run}-recorded", minute=1))

        async def placements() -> int:
            history = await handle.fetch_history()
            return sum(1 for e in history.events if e.HasField("activity_task_scheduled_event_attributes")
                       and e.activity_task_scheduled_event_attributes.activity_type.name == "place_card")

        async def placements_at_least(n: int) -> bool:
            return await placements() >= n

        # The storm goes on (a new incident every 0.4 s) while the recorded one asks again.
        for n in range(8):
            await app.api.post(hook, content=body(f"{run}-filler-{n}"))
            await asyncio.sleep(0.4)
        await eventually(lambda: placements_at_least(3), what="the line, its update and the window's re-ask")
        state = await handle.query("state", result_type=IncidentState | None)
        assert state.message_id is None, "still a line while the storm goes on"
        placement = await handle.execute_update("own_card", result_type=dict)
        assert placement["message_id"] is not None
        await app.api.post(hook, content=body(f"{run}-recorded", minute=1, status="resolved"))
        await eventually(lambda: any("RESOLVED" in t[-1].upper() for m, t in telegram.messages.items()
                                     if m == int(placement["message_id"])), what="the resolved own card")
        assert (await handle.query("state", result_type=IncidentState | None)).status is IncidentStatus.RESOLVED
        await handle.result()
        return await handle.fetch_history()

"""Repairs end to end on the real Temporal dev server and real Valkey: buttons on the card, a tap
from the chat (the real update shape) runs the repair once on a Kubernetes API loopback, the
resolution verifies it, and learning ranks the fix that worked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from temporalio.client import Client

from tests.harness import eventually, running, settings_for
from tests.loopback.kubernetes import KubernetesLoopback, write_kubeconfig
from tests.repair_support import (
    API_TOKEN,
    APPROVER_ID,
    HPA_ALERT,
    STRANGER_ID,
    TELEGRAM_HOOK,
    WEBHOOK_SECRET,
    alertmanager,
    buttons,
    card_text,
    hook_headers,
    tap,
)

AM = "/api/v1/webhooks/alertmanager"
SECOND_APPROVER = 42424242


def only_ack(sent: dict) -> bool:
    """No Approve/Reject: at most the Ack button (docs/adr/0025)."""
    rows = sent.get("reply_markup", {"inline_keyboard": []})["inline_keyboard"]
    return all(button["callback_data"].startswith("ak:") for row in rows for button in row)


@pytest.fixture
def kube() -> KubernetesLoopback:
    with KubernetesLoopback() as server:
        server.add_deployment("shop", "checkout", replicas=2)
        yield server
    assert server.violations == [], server.violations


def repair_settings(valkey_url, task_queue, telegram, kube: KubernetesLoopback | None, tmp_path: Path, **extra):
    values = {
        "telegram_approver_ids": [APPROVER_ID],
        "telegram_webhook_secret": WEBHOOK_SECRET,
        "api_token": API_TOKEN,
        "verify_window": 600,
    }
    if kube is not None:
        values |= {"repair_executor": "kubernetes",
                   "kubernetes_kubeconfig": write_kubeconfig(tmp_path / "kubeconfig", kube.base_url, kube.token)}
    return settings_for(valkey_url, task_queue, telegram, **(values | extra))


def scale_patches(kube: KubernetesLoopback) -> list:
    return [c for c in kube.calls if c.method == "PATCH" and c.path.endswith("/scale")]


def _no_approval(sent: dict) -> bool:
    rows = sent.get("reply_markup", {}).get("inline_keyboard", [])
    return all(not b["callback_data"].startswith("rp:") for row in rows for b in row)


async def _open(app, telegram, body: bytes) -> tuple[str, int]:
    answer = (await app.api.post(AM, content=body)).json()["alerts"][0]
    await eventually(lambda: any(buttons(telegram, m) for m in telegram.messages), what="card with buttons")
    message_id = max(m for m in telegram.messages if buttons(telegram, m))
    return answer["workflow_id"], message_id


async def test_tapped_approval_runs_once_and_six_cycles_teach_the_fix(
        temporal_client: Client, valkey_url, redis, task_queue, telegram, kube, tmp_path) -> None:
    """The issue's "done means": tier 2 shows Approve/Reject; an approver's tap runs it once; anyone
    else is refused; the resolution records success; after six cycles learning recommends it."""
    # Six repairs of one key within minutes: lift the hourly budget (its own test is below).
    settings = repair_settings(valkey_url, task_queue, telegram, kube, tmp_path, repair_max_per_hour=10,
                               repair_max_per_day=10, telegram_approver_ids=[APPROVER_ID, SECOND_APPROVER])
    async with running(temporal_client, settings) as app:
        for cycle in range(1, 7):
            start = f"2026-11-25T1{cycle}:00:00Z"
            workflow_id, message_id = await _open(app, telegram, alertmanager(HPA_ALERT, starts_at=start))
            card = card_text(telegram, message_id)
            assert "scale_up" in card and "⏳" in card
            if cycle == 6:
                assert "based on 5" in card and "57%" in card, card  # 5 of 5: the Wilson lower bound
            data = buttons(telegram, message_id)
            if cycle == 1:
                refused = await app.api.post(TELEGRAM_HOOK, json=tap(data["approve"], message_id, user_id=STRANGER_ID),
                                             headers=hook_headers())
                assert refused.status_code == 200 and refused.json()["status"] == "refused"
                assert telegram.answers()[-1]["show_alert"] is True
                assert "not allowed" in telegram.answers()[-1]["text"]
                assert not scale_patches(kube)
                assert app.metrics.registry.get_sample_value(
                    "awoooi_repair_decisions_total", {"outcome": "unauthorized", "via": "telegram"}) == 1.0
            update = tap(data["approve"], message_id)
            approved = await app.api.post(TELEGRAM_HOOK, json=update, headers=hook_headers())
            assert approved.json() == {"status": "accepted", "detail": "Approved by @bijoyvbabu123: running scale_up"}
            assert telegram.answers()[-1]["text"].startswith("Approved by @bijoyvbabu123")
            again = await app.api.post(TELEGRAM_HOOK, json=update, headers=hook_headers())
            assert again.json() == {"status": "duplicate"}, "Telegram's retry of the same update"
            double_tap = await app.api.post(TELEGRAM_HOOK, json=tap(data["approve"], message_id), headers=hook_headers())
            assert double_tap.json() == approved.json(), "the same person tapping twice gets the same answer"
            other = await app.api.post(TELEGRAM_HOOK, json=tap(data["reject"], message_id, user_id=SECOND_APPROVER),
                                       headers=hook_headers())
            assert other.json() == {"status": "refused", "detail": "already approved by @bijoyvbabu123"}
            await eventually(lambda c=cycle: len(scale_patches(kube)) == c, what=f"scale patch {cycle}")
            await eventually(lambda: "🔎" in card_text(telegram, message_id), what="verifying on the card")
            assert not buttons(telegram, message_id), "the buttons go once decided"
            assert "@bijoyvbabu123" in card_text(telegram, message_id)
            resolved = alertmanager(HPA_ALERT, "resolved", starts_at=start, ends_at=start.replace(":00:00", ":05:00"))
            await app.api.post(AM, content=resolved)
            await temporal_client.get_workflow_handle(workflow_id).result()
            assert "✅" in card_text(telegram, message_id)
        assert len(scale_patches(kube)) == 6, "each approval ran exactly once"
        assert kube.deployments[("shop", "checkout")].replicas == 8
        key = json.loads(alertmanager(HPA_ALERT))["alerts"][0]["labels"]
        anomaly = f"{key['alertname']}:{key['service']}".lower()
        recommendation = (await app.api.get(f"/api/v1/learning/recommendation/{anomaly}",
                                            headers={"Authorization": f"Bearer {API_TOKEN}"})).json()
        assert recommendation["action"] == "scale_up"
        # 6 of 6: the Wilson lower bound, not a certainty.
        assert recommendation["confidence"] == 0.6097 and recommendation["based_on"] == 6
        assert recommendation["source"] == "learning"
        summary = (await app.api.get(f"/api/v1/learning/summary/{anomaly}",
                                     headers={"Authorization": f"Bearer {API_TOKEN}"})).json()
        assert summary["repair_attempts"] == 6 and summary["best_action"] == "scale_up"
        playbooks = (await app.api.get("/api/v1/playbooks", headers={"Authorization": f"Bearer {API_TOKEN}"})).json()
        assert [p["action"] for p in playbooks["playbooks"]] == ["scale_up"]


async def test_reject_over_the_api_runs_nothing(temporal_client, valkey_url, redis, task_queue, telegram, kube,
                                                tmp_path) -> None:
    settings = repair_settings(valkey_url, task_queue, telegram, kube, tmp_path)
    async with running(temporal_client, settings) as app:
        workflow_id, message_id = await _open(app, telegram, alertmanager(HPA_ALERT, fingerprint="f00dfeed00000002"))
        incident = workflow_id.removeprefix("incident-")
        path = f"/api/v1/incidents/{incident}/reject"
        assert (await app.api.post(path, json={"by": "bob"})).status_code == 401
        wrong = await app.api.post(path, json={"by": "bob"}, headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and "nope" not in wrong.text
        rejected = await app.api.post(path, json={"by": "bob", "note": "peak sale, no changes"},
                                      headers={"Authorization": f"Bearer {API_TOKEN}"})
        assert rejected.status_code == 200, rejected.text
        assert rejected.json()["detail"] == "Rejected by bob (api): scale_up will not run"
        await eventually(lambda: "🚫" in card_text(telegram, message_id), what="rejected on the card")
        assert "Rejected by bob (api)" in card_text(telegram, message_id)
        assert "peak sale, no changes" in card_text(telegram, message_id), "the reason is on the card"
        assert not buttons(telegram, message_id)
        late = await app.api.post(f"/api/v1/incidents/{incident}/approve", json={"by": "alice"},
                                  headers={"Authorization": f"Bearer {API_TOKEN}"})
        assert late.status_code == 409 and "already rejected by bob (api)" in late.json()["detail"]
        unknown = await app.api.post("/api/v1/incidents/alertmanager-nothing/approve",
                                     headers={"Authorization": f"Bearer {API_TOKEN}"})
        assert unknown.status_code == 404
        assert not kube.calls, "a rejected repair touches nothing"


async def test_approval_endpoints_are_closed_without_a_token(temporal_client, valkey_url, redis, task_queue,
                                                             telegram, tmp_path) -> None:
    settings = repair_settings(valkey_url, task_queue, telegram, None, tmp_path, api_token=None,
                               telegram_webhook_secret=None)
    async with running(temporal_client, settings, worker=False) as app:
        response = await app.api.post("/api/v1/incidents/alertmanager-x/approve", json={"by": "eve"})
        assert response.status_code == 403 and "AWOOOI_API_TOKEN" in response.json()["detail"]
        hook = await app.api.post(TELEGRAM_HOOK, json=tap("rp:a:x", 1), headers=hook_headers())
        assert hook.status_code == 403 and "AWOOOI_TELEGRAM_WEBHOOK_SECRET" in hook.json()["detail"]


async def test_telegram_hook_checks_the_secret_and_the_shape(temporal_client, valkey_url, redis, task_queue,
                                                             telegram, tmp_path) -> None:
    settings = repair_settings(valkey_url, task_queue, telegram, None, tmp_path)
    async with running(temporal_client, settings, worker=False) as app:
        bad = await app.api.post(TELEGRAM_HOOK, json=tap("rp:a:x", 1), headers=hook_headers("wrong"))
        assert bad.status_code == 401 and WEBHOOK_SECRET not in bad.text
        missing = await app.api.post(TELEGRAM_HOOK, json=tap("rp:a:x", 1))
        assert missing.status_code == 401
        message = {"update_id": 1, "message": {"message_id": 5, "date": 0, "chat": {"id": 1, "type": "private"},
                                               "text": "/start"}}
        ignored = await app.api.post(TELEGRAM_HOOK, json=message, headers=hook_headers())
        assert ignored.json()["status"] == "ignored"
        malformed = await app.api.post(TELEGRAM_HOOK, json={"callback_query": {}}, headers=hook_headers())
        assert malformed.status_code == 422
        official = json.loads((Path(__file__).parent / "fixtures" /
                               "telegram_callback_query_update_official_webhooks_guide.json").read_text())
        foreign = await app.api.post(TELEGRAM_HOOK, json=official, headers=hook_headers())
        assert foreign.status_code == 200 and foreign.json()["status"] == "refused", "not an approver"
        stale = await app.api.post(TELEGRAM_HOOK, json=tap("rp:a:0123456789abcdef", 1), headers=hook_headers())
        assert stale.json() == {"status": "refused", "detail": "This approval request is no longer known."}


async def test_dry_run_shows_what_it_would_do_and_learns_nothing(temporal_client, valkey_url, redis, task_queue,
                                                                  telegram, tmp_path) -> None:
    settings = repair_settings(valkey_url, task_queue, telegram, None, tmp_path)
    assert settings.repair_executor == "dry-run"
    async with running(temporal_client, settings) as app:
        workflow_id, message_id = await _open(app, telegram, alertmanager(HPA_ALERT, fingerprint="f00dfeed00000003"))
        data = buttons(telegram, message_id)
        approved = await app.api.post(TELEGRAM_HOOK, json=tap(data["approve"], message_id), headers=hook_headers())
        assert approved.json()["status"] == "accepted"
        await eventually(lambda: "🧪" in card_text(telegram, message_id), what="simulated on the card")
        card = card_text(telegram, message_id)
        assert "scale deployment shop/checkout by +1 within [1,10]" in card
        assert "nothing was changed" in card
        summary = await app.api.get("/api/v1/learning/summary/kubehpamaxedout:checkout",
                                    headers={"Authorization": f"Bearer {API_TOKEN}"})
        assert summary.json()["repair_attempts"] == 0, "a simulation proves nothing about the fix"
        await temporal_client.get_workflow_handle(workflow_id).terminate("done")


async def test_nothing_to_approve_when_the_executor_cannot_do_it(temporal_client, valkey_url, redis, task_queue,
                                                                 telegram, kube, tmp_path) -> None:
    """No target label (or a tier-4 action): the card says a human is needed, with no approval buttons
    (only the open card's Silence row)."""
    settings = repair_settings(valkey_url, task_queue, telegram, kube, tmp_path)
    async with running(temporal_client, settings) as app:
        body = alertmanager(HPA_ALERT, fingerprint="f00dfeed00000004", labels={"deployment": ""})
        answer = (await app.api.post(AM, content=body)).json()["alerts"][0]
        await eventually(lambda: telegram.sent, what="card")
        card = telegram.sent[0]["text"]
        assert "👤" in card and "needs a human: cannot scale_up: the alert names no deployment" in card
        assert _no_approval(telegram.sent[0])
        unknown = alertmanager("SomethingNobodyKnows", fingerprint="f00dfeed00000005")
        await app.api.post(AM, content=unknown)
        await eventually(lambda: len(telegram.sent) == 2, what="second card")
        assert "needs a human: manual_intervention" in telegram.sent[1]["text"]
        assert _no_approval(telegram.sent[1])
        approve = await app.api.post(f"/api/v1/incidents/{answer['incident_id']}/approve",
                                     headers={"Authorization": f"Bearer {API_TOKEN}"})
        assert approve.status_code == 409 and "nothing to decide" in approve.json()["detail"]
        assert not kube.calls


async def test_no_worker_means_503_and_telegram_tries_again(temporal_client, valkey_url, redis, task_queue,
                                                            telegram, kube, tmp_path) -> None:
    """An approval nobody can carry out is not swallowed: 503, the update is forgotten, and
    Telegram's re-send is handled once a worker is back."""
    settings = repair_settings(valkey_url, task_queue, telegram, kube, tmp_path, temporal_rpc_timeout_seconds=1.0)
    async with running(temporal_client, settings) as app:
        workflow_id, message_id = await _open(app, telegram, alertmanager(HPA_ALERT, fingerprint="f00dfeed00000006"))
        data = buttons(telegram, message_id)
    update = tap(data["approve"], message_id)
    async with running(temporal_client, settings, worker=False) as app:
        down = await app.api.post(TELEGRAM_HOOK, json=update, headers=hook_headers())
        assert down.status_code == 503, down.text
    async with running(temporal_client, settings) as app:
        answers: list[dict] = []

        async def telegram_resends() -> bool:
            # Telegram keeps re-sending an update until it gets a 2xx; the worker may need a few
            # seconds to pick the workflow up again after the old one stopped.
            response = await app.api.post(TELEGRAM_HOOK, json=update, headers=hook_headers())
            answers.append(response.json())
            return response.status_code == 200

        await eventually(telegram_resends, what="the re-sent tap to be taken")
        assert answers[-1] == {"status": "accepted", "detail": "Approved by @bijoyvbabu123: running scale_up"}
        await eventually(lambda: len(scale_patches(kube)) == 1, what="the repair")
        await eventually(lambda: "🔎" in card_text(telegram, message_id), what="verifying")
        assert len(scale_patches(kube)) == 1, "once, however often the tap came"
    await temporal_client.get_workflow_handle(workflow_id).terminate("done")

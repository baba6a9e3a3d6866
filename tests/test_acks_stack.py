"""Acknowledgements end to end on the real Temporal dev server and real Valkey, with the loopback
Telegram: the card's Ack button (the real update shape), `/ack` in the operators' chat, the API, the
CLI's `incidents --unacked`, the card edited in place and MTTA observed once (docs/adr/0025)."""

from __future__ import annotations

import asyncio
import itertools
import json
import uuid

from temporalio.client import Client

from tests.harness import CHAT_ID, eventually, running
from tests.repair_support import (
    API_TOKEN,
    APPROVER_ID,
    HPA_ALERT,
    STRANGER_ID,
    TELEGRAM_HOOK,
    ack_button,
    alertmanager,
    buttons,
    card_text,
    hook_headers,
    tap,
)
from tests.test_incidents_cli import _incidents
from tests.test_repairs import AM, _open, repair_settings

_updates = itertools.count(881000000)
BEARER = {"Authorization": f"Bearer {API_TOKEN}"}


def command(text: str, *, user_id: int = APPROVER_ID, message_id: int = 9000) -> dict:
    """A message update in the shape Telegram sends for a command typed in a group."""
    sender = {"id": user_id, "is_bot": False, "first_name": "Bijoy", "username": "bijoyvbabu123"} \
        if user_id == APPROVER_ID else {"id": user_id, "is_bot": False, "first_name": "Mallory", "username": "mallory"}
    return {"update_id": next(_updates), "message": {
        "message_id": message_id, "from": sender, "chat": {"id": int(CHAT_ID), "title": "ops", "type": "supergroup"},
        "date": 1765000000, "text": text, "entities": [{"offset": 0, "length": 4, "type": "bot_command"}]}}


def _ack_count(metrics, **labels: str) -> float:  # noqa: ANN001
    return metrics.registry.get_sample_value("awoooi_incident_time_to_acknowledge_seconds_count", labels) or 0.0


async def test_ack_from_the_card_the_chat_the_api_and_the_cli(temporal_client: Client, valkey_url, redis, task_queue,
                                                               telegram, tmp_path) -> None:
    address = temporal_client.service_client.config.target_host
    settings = repair_settings(valkey_url, task_queue, telegram, None, tmp_path)
    assert settings.acks, "the worker's product default"
    async with running(temporal_client, settings) as app:
        workflow_id, message_id = await _open(app, telegram, alertmanager(HPA_ALERT, fingerprint=uuid.uuid4().hex[:16]))
        incident = workflow_id.removeprefix("incident-")
        data = ack_button(telegram, message_id)
        assert data is not None and len(data.encode()) <= 64 and buttons(telegram, message_id)["approve"]
        labels = [b["text"] for row in telegram.keyboard(message_id)["inline_keyboard"] for b in row]
        assert any(label.startswith("Ack") for label in labels)

        async def unacked() -> bool:
            listed = await asyncio.to_thread(_incidents, address, valkey_url, "--unacked", "--json")
            return listed.returncode == 0 and incident in listed.stdout

        await eventually(unacked, what="the incident in `awoooi incidents --unacked`")

        stranger = await app.api.post(TELEGRAM_HOOK, json=tap(data, message_id, user_id=STRANGER_ID),
                                      headers=hook_headers())
        assert stranger.json() == {"status": "refused", "detail": "You are not allowed to acknowledge incidents."}
        tapped = await app.api.post(TELEGRAM_HOOK, json=tap(data, message_id), headers=hook_headers())
        assert tapped.json()["status"] == "accepted" and "Acked by @bijoyvbabu123" in tapped.json()["detail"]
        await eventually(lambda: "Acked by @bijoyvbabu123" in card_text(telegram, message_id),
                         what="the card edited in place")
        assert ack_button(telegram, message_id) is None and buttons(telegram, message_id)["approve"], \
            "the Ack button goes, Approve/Reject stay"

        second = await app.api.post(f"/api/v1/incidents/{incident}/ack", json={"by": "bob"}, headers=BEARER)
        assert second.status_code == 409 and "already acked by @bijoyvbabu123" in second.json()["detail"]
        assert (await app.api.post(f"/api/v1/incidents/{incident}/ack", json={})).status_code == 401
        missing = await app.api.post("/api/v1/incidents/alertmanager-nothing-here-0/ack", headers=BEARER)
        assert missing.status_code == 404

        again = await app.api.post(TELEGRAM_HOOK, json=command(f"/ack {incident}"), headers=hook_headers())
        assert again.json()["status"] == "accepted" and "Already acked by @bijoyvbabu123" in again.json()["detail"]
        refused = await app.api.post(TELEGRAM_HOOK, json=command(f"/ack@awoooi_bot {incident}", user_id=STRANGER_ID,
                                                                 message_id=9001), headers=hook_headers())
        assert refused.json()["status"] == "refused"
        usage = await app.api.post(TELEGRAM_HOOK, json=command("/ack", message_id=9002), headers=hook_headers())
        assert usage.json()["status"] == "refused" and "Usage: <code>/ack" in usage.json()["detail"]
        replies = {m["reply_parameters"]["message_id"]: m["text"] for m in telegram.sent if m.get("reply_parameters")}
        assert "Already acked" in replies[9000] and "not allowed" in replies[9001] and "Usage" in replies[9002]

        listed = await asyncio.to_thread(_incidents, address, valkey_url, "--unacked", "--json")
        assert incident not in listed.stdout
        rows = {r["id"]: r for r in json.loads((await asyncio.to_thread(_incidents, address, valkey_url, "--json"))
                                               .stdout)["incidents"]}
        assert rows[incident]["acked"] == "yes"
        await eventually(lambda: _ack_count(app.metrics, service="checkout", severity="warning",
                                            source="alertmanager") == 1, what="MTTA observed")

        await app.api.post(AM, content=alertmanager(HPA_ALERT, "resolved", fingerprint=incident.rsplit("-", 1)[-1],
                                                    ends_at="2026-11-25T10:05:00Z"))
        await eventually(lambda: "RESOLVED" in card_text(telegram, message_id), what="resolved")
        closed = await app.api.post(f"/api/v1/incidents/{incident}/ack", json={"by": "carol"}, headers=BEARER)
        assert closed.status_code == 409
        assert _ack_count(app.metrics, service="checkout", severity="warning", source="alertmanager") == 1

"""End to end on real Temporal, real Valkey and the Telegram loopback: a silence added through the
Alertmanager API makes the next matching alert card-less but visible (its workflow runs, is counted
and carries ``Silenced``); expiring the silence (DELETE, what ``amtool silence expire`` sends) brings
its card, once, through the ``silence_changed`` signal."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from redis.asyncio import Redis
from temporalio.client import Client

from activities.valkey.silences import RedisSilenceStore
from core import search_attributes as sa
from tests.alert_flow import ALERTMANAGER, alertmanager_body
from tests.conftest import debian_binary
from tests.harness import eventually, running, serving, settings_for
from tests.loopback.telegram import TelegramLoopback
from tests.test_amtool import amtool
from tests.repair_support import (
    APPROVER_ID,
    STRANGER_ID,
    TELEGRAM_HOOK,
    WEBHOOK_SECRET,
    alertmanager,
    card_text,
    hook_headers,
    silence_buttons,
    tap,
)

API_TOKEN = "api-tok-silenced-stack-3c1f"
AUTH = {"authorization": f"Bearer {API_TOKEN}"}


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


async def test_a_silenced_alert_is_cardless_but_counted_and_its_card_comes_when_the_silence_is_expired(
        temporal_client: Client, valkey_url: str, redis: Redis, task_queue: str, telegram: TelegramLoopback) -> None:
    name = f"Silenced{uuid.uuid4().hex[:8]}"
    settings = settings_for(valkey_url, task_queue, telegram, api_token=API_TOKEN)
    async with running(temporal_client, settings) as app:
        now = datetime.now(UTC)
        silence = {"matchers": [{"name": "alertname", "value": name, "isRegex": False, "isEqual": True}],
                   "startsAt": _iso(now), "endsAt": _iso(now + timedelta(hours=2)), "createdBy": "alice",
                   "comment": "disk swap tonight"}
        created = await app.api.post("/api/v2/silences", json=silence, headers=AUTH)
        assert created.status_code == 200, created.text
        sid = created.json()["silenceID"]
        answer = await app.api.post(ALERTMANAGER, content=alertmanager_body(name),
                                    headers={"content-type": "application/json"})
        assert answer.status_code == 200, answer.text
        workflow_id = answer.json()["alerts"][0]["workflow_id"]
        handle = temporal_client.get_workflow_handle(workflow_id)

        async def silenced() -> bool:
            return (await handle.describe()).typed_search_attributes.get(sa.SILENCED) == f"silence:{sid}"

        await eventually(silenced, what="the Silenced search attribute")

        async def listed() -> bool:  # the Web UI's and the README's query
            query = f'Silenced IS NOT NULL AND IncidentStatus="open" AND WorkflowId="{handle.id}"'
            return [e.id async for e in temporal_client.list_workflows(query)] == [handle.id]

        await eventually(listed, what="Silenced IS NOT NULL lists it")
        state = await handle.query("state")
        assert state["silenced"] == f"silence:{sid}" and state["silenced_by"] == "alice"
        assert state["occurrences"] == 1 and state["message_id"] is None
        assert not [m for m in telegram.sent if name in m["text"]], "a silenced alert sends no card"

        expired = await app.api.delete(f"/api/v2/silence/{sid}", headers=AUTH)
        assert expired.status_code == 200
        await eventually(lambda: [m for m in telegram.sent if name in m["text"]], what="the card after expiry")

        async def unsilenced() -> bool:
            return (await handle.describe()).typed_search_attributes.get(sa.SILENCED) is None

        await eventually(unsilenced, what="Silenced removed")
        assert len([m for m in telegram.sent if name in m["text"]]) == 1
        await handle.terminate("test over")


async def test_silence_buttons_from_the_card_only_for_approvers_and_mute_ends_with_the_incident(
        temporal_client: Client, valkey_url: str, redis: Redis, task_queue: str, telegram: TelegramLoopback) -> None:
    name = f"Buttons{uuid.uuid4().hex[:8]}"
    fingerprint = uuid.uuid4().hex[:16]
    settings = settings_for(valkey_url, task_queue, telegram, api_token=API_TOKEN, telegram_approver_ids=[APPROVER_ID],
                            telegram_webhook_secret=WEBHOOK_SECRET)
    store = RedisSilenceStore(redis)
    async with running(temporal_client, settings) as app:
        answer = await app.api.post(ALERTMANAGER, content=alertmanager(name, fingerprint=fingerprint))
        workflow_id = answer.json()["alerts"][0]["workflow_id"]
        await eventually(lambda: _card_of(telegram, name) is not None, what="the card")
        message_id = _card_of(telegram, name)
        await eventually(lambda: silence_buttons(telegram, message_id), what="the Silence buttons")
        data = silence_buttons(telegram, message_id)
        assert set(data) == {"Silence 1h", "Silence 4h", "Mute until resolved"}
        assert all(len(d.encode()) <= 64 for d in data.values())

        refused = await app.api.post(TELEGRAM_HOOK, json=tap(data["Silence 1h"], message_id, user_id=STRANGER_ID),
                                     headers=hook_headers())
        assert refused.json() == {"status": "refused", "detail": "You are not allowed to silence incidents."}
        assert [s for s in await store.all() if any(m.value == name for m in s.matchers)] == []
        # A stranger's Silence tap is not a repair decision: awoooi_repair_decisions_total does not count it.
        assert app.metrics.registry.get_sample_value(
            "awoooi_repair_decisions_total", {"outcome": "unauthorized", "via": "telegram"}) is None

        muted = await app.api.post(TELEGRAM_HOOK, json=tap(data["Mute until resolved"], message_id),
                                   headers=hook_headers())
        assert muted.json() == {"status": "accepted", "detail": "Muted by @bijoyvbabu123 until it resolves"}
        await eventually(lambda: "Silenced" in card_text(telegram, message_id), what="the card says silenced")
        assert "by @bijoyvbabu123 until it resolves" in card_text(telegram, message_id)
        mine = [s for s in await store.all() if any(m.value == name for m in s.matchers)]
        assert len(mine) == 1 and mine[0].created_by == "@bijoyvbabu123"
        assert {m.name: m.value for m in mine[0].matchers}["alertname"] == name
        again = await app.api.post(TELEGRAM_HOOK, json=tap(data["Mute until resolved"], message_id),
                                   headers=hook_headers())
        assert again.json()["status"] == "refused" and "already muted" in again.json()["detail"]

        await app.api.post(ALERTMANAGER, content=alertmanager(name, "resolved", fingerprint=fingerprint,
                                                               ends_at="2026-11-25T10:30:00Z"))

        async def mute_expired() -> bool:
            silence = await store.get(mine[0].id)
            return silence is not None and silence.ends_at <= datetime.now(UTC)

        await eventually(mute_expired, what="the mute expired at resolution")
        await eventually(lambda: "RESOLVED" in card_text(telegram, message_id), what="the resolved card")
        assert not silence_buttons(telegram, message_id), "a closed card has no Silence buttons"
        assert len([m for m in telegram.sent if name in m["text"]]) == 1
        outcome = await temporal_client.get_workflow_handle(workflow_id).result()  # grace 0: it ends
        assert outcome["status"] == "resolved"


def _card_of(telegram: TelegramLoopback, name: str) -> int | None:
    found = [mid for mid, texts in telegram.messages.items() if name in texts[0]]
    return found[0] if found else None


async def test_amtool_silence_add_makes_the_next_alert_cardless_and_expire_brings_its_card(
        temporal_client: Client, valkey_url: str, redis: Redis, task_queue: str, telegram: TelegramLoopback,
        tmp_path: Path) -> None:
    """Issue 20's walk-through with Debian's real amtool over TCP: silence add, the alert, silence expire."""
    binary = debian_binary("amtool")
    config = tmp_path / "http.yml"
    config.write_text(f"authorization:\n  credentials: {API_TOKEN}\n")
    name = f"Amtool{uuid.uuid4().hex[:8]}"
    settings = settings_for(valkey_url, task_queue, telegram, api_token=API_TOKEN)
    async with serving(temporal_client, settings) as api, httpx.AsyncClient(base_url=api.base_url) as http:
        code, out, err = await amtool(binary, api.base_url, "silence", "add", f"alertname={name}", "--duration=2h",
                                      "--comment=noisy tonight", "--author=oncall", config=config)
        assert code == 0, err
        sid = out.strip()
        answer = await http.post(ALERTMANAGER, content=alertmanager_body(name),
                                 headers={"content-type": "application/json"})
        assert answer.status_code == 200, answer.text
        handle = temporal_client.get_workflow_handle(answer.json()["alerts"][0]["workflow_id"])

        async def silenced() -> bool:
            return (await handle.describe()).typed_search_attributes.get(sa.SILENCED) == f"silence:{sid}"

        await eventually(silenced, what="Silenced in visibility")
        assert not [m for m in telegram.sent if name in m["text"]]
        code, _, err = await amtool(binary, api.base_url, "silence", "expire", sid, config=config)
        assert code == 0, err
        await eventually(lambda: [m for m in telegram.sent if name in m["text"]], what="the card after expire")
        assert len([m for m in telegram.sent if name in m["text"]]) == 1
        await handle.terminate("test over")

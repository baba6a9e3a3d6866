"""End to end on real Temporal, real Valkey and the Telegram loopback: a silence added through the
Alertmanager API makes the next matching alert card-less but visible (its workflow runs, is counted
and carries ``Silenced``); expiring the silence (DELETE, what ``amtool silence expire`` sends) brings
its card, once, through the ``silence_changed`` signal."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis
from temporalio.client import Client

from core import search_attributes as sa
from tests.alert_flow import ALERTMANAGER, alertmanager_body
from tests.harness import eventually, running, settings_for
from tests.loopback.telegram import TelegramLoopback

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

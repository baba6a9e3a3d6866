"""Issue 20's walk-through on the production process model (tests/stack.py: Temporal, Valkey,
``awoooi worker`` and ``awoooi api`` as separate processes) with the worker killed -9 in the middle:
a silence makes the alert card-less but counted, the worker dies, the silence is expired, the worker
dies again right after, and the alert's card still goes out exactly once."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client

from core import search_attributes as sa
from core.converter import data_converter
from tests.alert_flow import ALERTMANAGER, alertmanager_body
from tests.harness import eventually
from tests.loopback.sentry import SentryLoopback
from tests.loopback.telegram import TelegramLoopback
from tests.stack import WEBHOOK_TOKEN, Stack, kill9

API_TOKEN = "stack-api-token-silenced"
SILENCE_AUTH = {"authorization": f"Bearer {API_TOKEN}"}
HOOK_AUTH = {"authorization": f"Bearer {WEBHOOK_TOKEN}", "content-type": "application/json"}


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


@pytest.fixture
def servers():
    with TelegramLoopback() as telegram, SentryLoopback() as sentry:
        yield telegram, sentry


async def test_silence_and_expiry_hold_exactly_once_across_worker_kill9(tmp_path: Path, servers) -> None:
    telegram, sentry = servers
    stack = Stack(tmp_path, telegram, sentry, extra_env={"AWOOOI_API_TOKEN": API_TOKEN})
    stack.start()
    name = f"Faulty{uuid.uuid4().hex[:8]}"

    def cards() -> int:
        return len([m for m in telegram.sent if f"<b>{name}</b>" in m["text"]])

    try:
        client = await Client.connect(f"127.0.0.1:{stack.temporal_port}", data_converter=data_converter)
        async with httpx.AsyncClient(base_url=stack.base_url, timeout=10) as http:
            now = datetime.now(UTC)
            created = await http.post("/api/v2/silences", headers=SILENCE_AUTH, json={
                "matchers": [{"name": "alertname", "value": name, "isRegex": False, "isEqual": True}],
                "startsAt": _iso(now), "endsAt": _iso(now + timedelta(hours=1)), "createdBy": "oncall",
                "comment": "kill -9 drill"})
            assert created.status_code == 200, created.text
            sid = created.json()["silenceID"]
            body = alertmanager_body(name, fingerprint=uuid.uuid4().hex[:16])
            answer = await http.post(ALERTMANAGER, content=body, headers=HOOK_AUTH)
            assert answer.status_code == 200, answer.text
            handle = client.get_workflow_handle(answer.json()["alerts"][0]["workflow_id"])

            async def silenced() -> bool:
                return (await handle.describe()).typed_search_attributes.get(sa.SILENCED) == f"silence:{sid}"

            await eventually(silenced, timeout=60, what="Silenced")
            kill9(stack.worker)
            # Alertmanager re-sends it while no worker runs: taken, still no card.
            again = await http.post(ALERTMANAGER, content=body, headers=HOOK_AUTH)
            assert again.status_code == 200, again.text
            stack.worker.start(timeout=90)
            await asyncio.sleep(2)
            assert cards() == 0, "a silenced alert sends no card, before or after the crash"

            expired = await http.delete(f"/api/v2/silence/{sid}", headers=SILENCE_AUTH)
            assert expired.status_code == 200
            kill9(stack.worker)  # the signal is in Temporal; the step that sends the card runs on the next worker
            stack.worker.start(timeout=90)
            await eventually(lambda: cards() >= 1, timeout=90, what="the card after the expiry")
            await asyncio.sleep(5)
            assert cards() == 1, "exactly one card"
            assert (await handle.describe()).typed_search_attributes.get(sa.SILENCED) is None
            await handle.terminate("test over")
    finally:
        stack.stop()

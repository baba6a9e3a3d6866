"""Valkey kill -9 and restart (AOF, same port, same dir): the same clients carry on.

The clients built by worker/wiring.py's ``connect_redis`` find their pooled connections dead after
the restart; they must reconnect and retry instead of failing the first call (the ledger, the
learning API and /api/v1/health answering ok at once). And with alerts flowing through the real
worker while Valkey dies right after a card was sent: every card once, none lost.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from datetime import UTC, datetime

from activities.valkey.counter import RedisAnomalyCounter
from activities.valkey.ledger import RedisLedger
from tests.alert_flow import ALERTMANAGER, alertmanager_body, cards_per_title, titles
from tests.harness import eventually, running, settings_for
from tests.repair_support import API_TOKEN
from activities.connections import connect_redis

AUTH = {"Authorization": f"Bearer {API_TOKEN}"}


async def test_same_clients_answer_at_once_after_a_valkey_restart(temporal_client, own_valkey, task_queue) -> None:
    settings = settings_for(own_valkey.url, task_queue, api_token=API_TOKEN)
    redis = connect_redis(settings)
    try:
        ledger = RedisLedger(redis)
        await ledger.keep_comment("restart:probe", "kept")
        await RedisAnomalyCounter(redis).record("Restart:svc", "occ-1", datetime.now(UTC))
        async with running(temporal_client, settings, worker=False) as app:
            # No worker here, so health is "degraded" for that alone; Valkey's own answer is what counts.
            assert (await app.api.get("/api/v1/health")).json()["valkey"] == "ok"
            before = (await app.api.get("/api/v1/learning/summary/Restart:svc", headers=AUTH)).json()
            await asyncio.sleep(1.5)  # appendfsync everysec: what is older than a second is on disk
            own_valkey.restart()
            # The first call on each client after the restart succeeds: no "fails once".
            health = await app.api.get("/api/v1/health")
            assert health.json()["valkey"] == "ok", health.text
            assert health.json()["down"] == ["worker"], health.text
            summary = await app.api.get("/api/v1/learning/summary/Restart:svc", headers=AUTH)
            assert summary.status_code == 200, summary.text
            assert summary.json() == before
        assert await ledger.comment("restart:probe") == "kept"
    finally:
        await redis.aclose()


async def test_valkey_dies_after_a_card_was_sent_while_alerts_flow(temporal_client, own_valkey, task_queue,
                                                                    telegram) -> None:
    """Kill -9 right after the 5th card reached Telegram, restart 2 s later: 0 lost, 0 duplicates."""
    settings = settings_for(own_valkey.url, task_queue, telegram)
    expected = titles(uuid.uuid4().hex[:6], 12)

    def kill_then_restart(_message_id: int) -> None:
        own_valkey.kill()
        threading.Timer(2.0, own_valkey.start).start()

    async with running(temporal_client, settings) as app:
        for i, title in enumerate(expected):
            if i == 4:
                telegram.after_next_send(kill_then_restart)
            body = alertmanager_body(title)  # a retry re-sends the same alert, as Alertmanager does
            answer = await app.api.post(ALERTMANAGER, content=body, headers={"content-type": "application/json"})
            if answer.status_code != 200:  # Valkey down: the sender retries
                deadline = time.monotonic() + 20
                while answer.status_code != 200 and time.monotonic() < deadline:
                    await asyncio.sleep(0.5)
                    answer = await app.api.post(ALERTMANAGER, content=body,
                                                headers={"content-type": "application/json"})
            assert answer.status_code == 200, answer.text
        await eventually(lambda: telegram.sent_count() >= len(expected), timeout=60, what="every card")
        await asyncio.sleep(3)  # room for a duplicate to show up
    counts = cards_per_title(telegram.sent, expected)
    assert [t for t, n in counts.items() if n == 0] == [], "lost"
    assert [t for t, n in counts.items() if n > 1] == [], "duplicated"

"""Scale-out (issue 8): two API processes and two workers, one Temporal and one Valkey, one storm.

Alertmanager in HA sends every notification from each replica, here to different APIs; each API
has its own group-commit lanes, and both workers take the same incidents' tasks. Nothing may be
duplicated: exactly one incident per alert, each shown in exactly one message (its own card, or
its line of the storm digest: digest-v1, threshold 5), every occurrence counted once, every
resolution shown, at most 2 Telegram calls per incident per minute. Separate processes (tests/stack.py), Telegram counted at the loopback.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
import uuid

import httpx
from redis.asyncio import Redis

from activities.valkey import keys as redis_keys
from tests.harness import eventually
from tests.loopback.sentry import SentryLoopback
from tests.alert_flow import occurrence_body
from tests.loopback.telegram import TelegramLoopback
from tests.stack import DIGEST_MARK, WEBHOOK_TOKEN, Stack

AUTH = {"authorization": f"Bearer {WEBHOOK_TOKEN}", "content-type": "application/json"}
ALERTS = 30
ROUNDS = 8
# 30 new incidents in a minute: the first 5 get their own cards, the rest are digest lines.
THRESHOLD = 5


def _body(run: str, i: int, n: int, status: str = "firing") -> bytes:
    return occurrence_body(f"{run}{i:04d}", {"alertname": "ScaleOutStorm", "instance": f"node-{run}-{i}",
                                             "severity": "warning"},
                           "storm against two APIs", f"2026-12-02T08:00:{n:02d}Z", status)


async def _post_all(clients: list[httpx.AsyncClient], bodies: list[bytes]) -> list[dict]:
    """Every body to every API (Alertmanager HA), 16 senders; a 5xx is retried like Alertmanager does."""
    jobs = [(client, body) for body in bodies for client in clients]
    random.Random(7).shuffle(jobs)
    answers: list[dict] = []

    async def sender() -> None:
        while jobs:
            client, body = jobs.pop()
            for _ in range(20):
                response = await client.post("/api/v1/webhooks/alertmanager", content=body, headers=AUTH)
                if response.status_code < 500:
                    break
                await asyncio.sleep(0.5)
            assert response.status_code == 200, response.text
            answers.extend(response.json()["alerts"])

    await asyncio.gather(*(sender() for _ in range(16)))
    return answers


async def test_two_apis_and_two_workers_take_one_storm_without_a_duplicate(tmp_path) -> None:
    run = uuid.uuid4().hex[:6]
    with TelegramLoopback() as telegram, SentryLoopback() as sentry:
        stack = Stack(tmp_path, telegram, sentry, apis=2, workers=2, task_queue=f"scale-{run}",
                      extra_env={"AWOOOI_CARD_EDIT_INTERVAL": "1", "AWOOOI_DIGEST_THRESHOLD": str(THRESHOLD)})
        stack.start()
        clients = [httpx.AsyncClient(base_url=url, timeout=15) for url in stack.base_urls]
        redis = Redis.from_url(stack.redis_url, decode_responses=True)
        try:
            started = time.monotonic()
            firing = [_body(run, i, n) for n in range(ROUNDS) for i in range(ALERTS)]
            answers = await _post_all(clients, firing)
            assert len(answers) == 2 * ALERTS * ROUNDS
            assert {a["status"] for a in answers} <= {"started", "updated", "spooled", "duplicate"}
            incidents = {a["incident_id"] for a in answers}
            assert len(incidents) == ALERTS

            async def all_counted() -> bool:
                for incident_id in incidents:
                    record = await redis.hgetall(redis_keys.incident(incident_id))
                    if record.get("occurrences") != str(ROUNDS):
                        return False
                return True

            await eventually(all_counted, timeout=90, what=f"{ROUNDS} occurrences per incident, each once")
            await _post_all(clients, [_body(run, i, ROUNDS - 1, "resolved") for i in range(ALERTS)])

            async def all_resolved() -> bool:
                records = [await redis.hgetall(redis_keys.incident(i)) for i in incidents]
                return all(r.get("status") == "resolved" for r in records)

            await eventually(all_resolved, timeout=90, what="every resolution reflected")
            labels = [re.compile(rf"node-{run}-{i}(?!\d)") for i in range(ALERTS)]

            def shown_resolved(label: re.Pattern[str]) -> bool:
                """Its one message (card, or the digest line naming it) says resolved."""
                showing = [texts[-1] for texts in list(telegram.messages.values()) if label.search(texts[-1])]
                if len(showing) != 1:
                    return False
                if DIGEST_MARK not in showing[0]:
                    return "RESOLVED" in showing[0].upper()
                return any(label.search(line) and "RESOLVED" in line.upper() for line in showing[0].split("\n"))

            await eventually(lambda: all(shown_resolved(label) for label in labels),
                             timeout=60, what="every alert shown once, resolved")
            cards = stack.cards_per_incident()
            assert set(cards) <= incidents and len(cards) == THRESHOLD, cards
            assert set(cards.values()) == {1}, f"duplicate cards: {[k for k, v in cards.items() if v > 1]}"
            assert not telegram.violations, telegram.violations
            calls = len(telegram.sent) + len(telegram.edits)
            minutes = max(1.0, (time.monotonic() - started) / 60)
            assert calls <= 2 * ALERTS * minutes, f"{calls} Telegram calls for {ALERTS} incidents in {minutes:.1f} min"
            assert await redis.xlen("awoooi:spool") == 0
        finally:
            await redis.aclose()
            for client in clients:
                await client.aclose()
            stack.stop()

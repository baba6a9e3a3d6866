"""Faults as production has them, on the real stack in separate processes (issue 11).

Each test runs Temporal, Valkey, `awoooi worker` and `awoooi api` as child processes (tests/stack.py),
sends real webhook deliveries over TCP, kills or stops a part by its PID mid-run, and then counts
what reached the Telegram and Sentry loopbacks: every alert answered 200 must become exactly one
card (lost 0), and duplicates must stay within what the issue allows. The figures are printed and
written to RELIABILITY.md by hand from a run.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import time
import uuid
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from tests.conftest import fixture_bytes
from tests.harness import eventually
from tests.loopback.sentry import SentryLoopback
from tests.loopback.telegram import TelegramLoopback
from tests.stack import SENTRY_SECRET, WEBHOOK_TOKEN, Stack, kill9, terminate

AUTH = {"authorization": f"Bearer {WEBHOOK_TOKEN}", "content-type": "application/json"}
# Temporal's outage in the spool test; the issue's figure is 60 s.
OUTAGE_SECONDS = float(os.environ.get("FAULT_OUTAGE_SECONDS", "60"))


def alert_groups(groups: int, size: int) -> list[bytes]:
    """``groups`` Alertmanager deliveries of ``size`` distinct firing alerts each."""
    template = json.loads(fixture_bytes("alertmanager_v4_firing_grouped.json"))
    tag = uuid.uuid4().hex[:8]
    bodies = []
    for g in range(groups):
        payload = dict(template)
        alerts = []
        for i in range(size):
            alert = json.loads(json.dumps(template["alerts"][0]))
            alert["fingerprint"] = f"f{tag}{g:03d}{i:02d}"
            alert["labels"]["instance"] = f"node-{g}-{i}:9100"
            alerts.append(alert)
        payload["alerts"] = alerts
        bodies.append(json.dumps(payload).encode())
    return bodies


def sentry_issues(count: int) -> list[bytes]:
    template = json.loads(fixture_bytes("sentry_issue_alert_triggered.json"))
    bodies = []
    for _ in range(count):
        payload = json.loads(json.dumps(template))
        issue = str(uuid.uuid4().int % 10**12)
        event = payload["data"]["event"]
        event |= {"issue_id": issue, "issue_url": f"https://sentry.io/api/0/issues/{issue}/",
                  "event_id": uuid.uuid4().hex}
        bodies.append(json.dumps(payload).encode())
    return bodies


def sentry_headers(raw: bytes) -> dict[str, str]:
    return {"content-type": "application/json", "sentry-hook-resource": "event_alert",
            "sentry-hook-timestamp": str(int(time.time())), "request-id": str(uuid.uuid4()),
            "sentry-hook-signature": hmac.new(SENTRY_SECRET.encode(), raw, hashlib.sha256).hexdigest()}


class Sender:
    """Posts deliveries like Alertmanager and Sentry do: retry on 5xx and transport errors, never on 4xx."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.AsyncClient(base_url=base_url, timeout=httpx.Timeout(10.0))
        self.answers: list[dict[str, Any]] = []
        self.latencies: list[float] = []
        self.retries = 0

    async def post(self, path: str, raw: bytes, headers: dict[str, str]) -> None:
        for attempt in range(60):
            started = time.monotonic()
            try:
                response = await self.http.post(path, content=raw, headers=headers)
            except httpx.TransportError:
                self.retries += 1
                await asyncio.sleep(0.5)
                continue
            self.latencies.append(time.monotonic() - started)
            if response.status_code >= 500:
                self.retries += 1
                await asyncio.sleep(0.5)
                continue
            assert response.status_code == 200, response.text
            self.answers += response.json()["alerts"]
            return
        raise AssertionError(f"{path}: no 200 after 60 attempts")

    def incidents(self) -> set[str]:
        return {a["incident_id"] for a in self.answers}

    async def close(self) -> None:
        await self.http.aclose()


@asynccontextmanager
async def running_stack(tmp_path: Path, telegram: TelegramLoopback, sentry: SentryLoopback):  # noqa: ANN201
    """The four processes started, a sender pointed at the API; everything stopped afterwards."""
    stack = Stack(tmp_path, telegram, sentry)
    stack.start()
    sender = Sender(stack.base_url)
    try:
        yield stack, sender
    finally:
        await sender.close()
        stack.stop()


@pytest.fixture
def stack_servers():
    with TelegramLoopback() as telegram, SentryLoopback() as sentry:
        yield telegram, sentry


async def _send_all(sender: Sender, groups: list[bytes], issues: list[bytes], pace: float) -> None:
    jobs = [("/api/v1/webhooks/alertmanager", raw, AUTH) for raw in groups]
    jobs += [("/api/v1/webhooks/sentry", raw, sentry_headers(raw)) for raw in issues]
    jobs.sort(key=lambda _: uuid.uuid4().hex)  # interleave sources

    async def one(i: int, job: tuple[str, bytes, dict[str, str]]) -> None:
        await asyncio.sleep(i * pace)
        await sender.post(*job)

    await asyncio.gather(*(one(i, job) for i, job in enumerate(jobs)))


def _report(name: str, **figures: Any) -> None:
    print(f"\nRELIABILITY {name}: " + ", ".join(f"{k}={v}" for k, v in figures.items()))


@pytest.mark.parametrize("how", ["sigterm", "kill9"])
async def test_worker_restarts_lose_nothing(tmp_path: Path, stack_servers, how: str) -> None:
    """Worker SIGTERM x10 (a rollout) or kill -9 x10 (a crash) during 200 alerts and 20 Sentry issues."""
    telegram, sentry = stack_servers
    kills = 10
    async with running_stack(tmp_path, telegram, sentry) as (stack, sender):
        sending = asyncio.create_task(_send_all(sender, alert_groups(20, 10), sentry_issues(20), pace=0.5))
        for _ in range(kills):
            await asyncio.sleep(1.5)
            if how == "sigterm":
                assert await asyncio.to_thread(terminate, stack.worker) == 0, "the worker drains and exits 0"
            else:
                kill9(stack.worker)
            await asyncio.to_thread(stack.worker.start, 90)
        await sending
        expected = sender.incidents()
        assert len(expected) == 220
        await eventually(lambda: set(stack.cards_per_incident()) >= expected, timeout=180,
                         what="a card for every incident")
        await eventually(lambda: len(sentry.comments) == 20, timeout=120, what="a comment on every Sentry issue")
        await asyncio.sleep(2)  # late duplicates, if any, would arrive now
        cards = stack.cards_per_incident()
        duplicates = sum(n - 1 for n in cards.values())
        lost = len(expected - set(cards))
        double_comments = sum(len(texts) - 1 for texts in sentry.comments.values())
        _report(f"worker {how} x{kills}", incidents=len(expected), lost=lost, duplicate_cards=duplicates,
                duplicate_comments=double_comments, sender_retries=sender.retries)
        assert lost == 0
        assert double_comments == 0
        if how == "sigterm":
            assert duplicates == 0, cards.most_common(5)
        else:
            assert duplicates <= kills, f"at most one card per chat per kill: {cards.most_common(5)}"


async def test_valkey_kill9_and_restart_loses_nothing(tmp_path: Path, stack_servers) -> None:
    """Valkey kill -9 mid-run and back 6 s later from its AOF: no card lost or doubled, counters kept."""
    telegram, sentry = stack_servers
    async with running_stack(tmp_path, telegram, sentry) as (stack, sender):
        sending = asyncio.create_task(_send_all(sender, alert_groups(10, 10), [], pace=0.6))
        await asyncio.sleep(2.5)
        kill9(stack.valkey)
        await asyncio.sleep(6)
        await asyncio.to_thread(stack.valkey.start)
        await sending
        expected = sender.incidents()
        await eventually(lambda: set(stack.cards_per_incident()) >= expected, timeout=180,
                         what="a card for every incident")
        await asyncio.sleep(2)
        cards = stack.cards_per_incident()
        duplicates = sum(n - 1 for n in cards.values())
        redis = Redis.from_url(stack.redis_url, decode_responses=True)
        try:
            keys = {a["anomaly_key"] for a in sender.answers}
            counts = [int(await redis.hget(f"awoooi:anomaly:{key}", "count") or 0) for key in keys]
            records = [await redis.hgetall(f"awoooi:incident:{a['incident_id']}") for a in sender.answers]
        finally:
            await redis.aclose()
        _report("valkey kill9 6s", incidents=len(expected), lost=len(expected - set(cards)),
                duplicate_cards=duplicates, sender_retries=sender.retries,
                counted=sum(counts), records=sum(1 for r in records if r))
        assert set(cards) >= expected and duplicates == 0, cards.most_common(5)
        assert sum(counts) == len(expected), "every occurrence counted once, none lost with the AOF"
        assert all(records), "every incident record survived"


async def test_temporal_stopped_deliveries_are_spooled_then_started(tmp_path: Path, stack_servers) -> None:
    """Temporal stopped for a minute: every delivery answered 200 "spooled" within 1 s, all started after."""
    telegram, sentry = stack_servers
    async with running_stack(tmp_path, telegram, sentry) as (stack, sender):
        await asyncio.to_thread(stack.temporal.stop)
        groups, issues = alert_groups(10, 5), sentry_issues(10)
        started = time.monotonic()
        await _send_all(sender, groups, issues, pace=OUTAGE_SECONDS * 0.8 / 20)
        await asyncio.sleep(max(OUTAGE_SECONDS - (time.monotonic() - started), 0))
        statuses = {a["status"] for a in sender.answers}
        slowest = max(sender.latencies)
        await asyncio.to_thread(stack.temporal.start)
        expected = sender.incidents()
        await eventually(lambda: set(stack.cards_per_incident()) >= expected, timeout=180,
                         what="a card for every spooled incident")
        cards = stack.cards_per_incident()
        _report(f"temporal stopped {OUTAGE_SECONDS:.0f}s", incidents=len(expected),
                lost=len(expected - set(cards)), duplicate_cards=sum(n - 1 for n in cards.values()),
                slowest_answer_ms=round(slowest * 1000), statuses=sorted(statuses), sender_retries=sender.retries)
        assert statuses == {"spooled"}
        assert sender.retries == 0 and slowest < 1.0
        assert len(expected) == 60 and set(cards) >= expected
        assert all(n == 1 for n in cards.values())

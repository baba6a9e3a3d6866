"""The intake spool: Temporal slow or down never costs an alert, and never turns into a 503.

Real servers only: a Temporal dev server of the test's own, stopped and started again by its PID
on the same port and database, and the real Valkey with AOF.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime, timezone

import pytest
from temporalio.client import Client
from core.converter import data_converter

from activities.valkey.spool import RedisSpool
from core.errors import UpstreamError
from core.identity import incident_ref
from core.models import AlertDelivery, SpooledDelivery
from starter.embedded import free_port, temporal_dev_server
from starter.parsers import parse_alertmanager
from tests.conftest import fixture_bytes
from tests.harness import eventually, running, settings_for

ALERTMANAGER = "/api/v1/webhooks/alertmanager"


def _group(tag: str, status: str = "firing") -> bytes:
    payload = json.loads(fixture_bytes("alertmanager_v4_firing_grouped.json"))
    for alert in payload["alerts"]:
        alert["fingerprint"] = f"{alert['fingerprint']}-{tag}"
        if status == "resolved":
            alert |= {"status": "resolved", "endsAt": "2026-11-30T10:05:00Z"}
    payload["status"] = status
    return json.dumps(payload).encode()


def _item(n: int) -> SpooledDelivery:
    alert = parse_alertmanager(json.loads(_group(f"unit{n}"))).alerts[0].alert
    now = datetime.now(timezone.utc)
    return SpooledDelivery(ref=incident_ref(alert), delivery=AlertDelivery(delivery_id=f"d{n}", alert=alert,
                                                                          received_at=now), spooled_at=now)


async def test_spool_keeps_arrival_order_and_one_lease_holder(redis) -> None:
    spool = RedisSpool(redis)
    ids = [await spool.push(_item(n)) for n in range(3)]
    assert [item.delivery.delivery_id for _, item in await spool.oldest(10)] == ["d0", "d1", "d2"]
    stats = await spool.stats()
    assert stats.depth == 3 and stats.oldest_age_seconds is not None and stats.oldest_age_seconds < 5
    await spool.remove(ids[0])
    assert [item.delivery.delivery_id for _, item in await spool.oldest(10)] == ["d1", "d2"]
    # The drainer reads on from where it was: only what arrived after that entry.
    assert [item.delivery.delivery_id for _, item in await spool.oldest(10, after=ids[1])] == ["d2"]
    assert await spool.oldest(10, after=ids[2]) == []
    assert await spool.acquire_lease("a", 5) and await spool.acquire_lease("a", 5)
    assert not await spool.acquire_lease("b", 5), "one drainer at a time"
    await spool.release_lease("b")  # not the holder: nothing happens
    assert not await spool.acquire_lease("b", 5)
    await spool.release_lease("a")
    assert await spool.acquire_lease("b", 5)


async def test_spool_refuses_to_promise_without_aof(redis) -> None:
    """Without AOF the spool cannot be durable: it fails, and the API answers 503 (sender retries)."""
    spool = RedisSpool(redis)
    await redis.config_set("appendonly", "no")
    try:
        with pytest.raises(UpstreamError, match="appendonly"):
            await spool.push(_item(9))
    finally:
        await redis.config_set("appendonly", "yes")


async def test_deliveries_spooled_while_temporal_is_down_start_in_order_when_it_is_back(
        tmp_path, valkey_url, redis, telegram) -> None:
    port = free_port()
    temporal = temporal_dev_server(tmp_path / "temporal", port=port, ui_port=None)
    temporal.start()
    try:
        client = await Client.connect(f"127.0.0.1:{port}", data_converter=data_converter)
        settings = settings_for(valkey_url, f"spool-{uuid.uuid4()}", telegram)
        async with running(client, settings) as app:
            temporal.stop()
            tag = uuid.uuid4().hex[:8]
            answers = []
            for raw in (_group(tag), _group(tag, "resolved")):
                started = time.monotonic()
                response = await app.api.post(ALERTMANAGER, content=raw)
                assert time.monotonic() - started < 1.0
                assert response.status_code == 200, response.text
                answers += response.json()["alerts"]
            assert [a["status"] for a in answers] == ["spooled"] * 6
            assert await redis.xlen("awoooi:spool") == 6
            temporal.start()
            # Each incident opens with its firing and then resolves: order kept, nothing lost.
            await eventually(lambda: len(telegram.sent) == 3, timeout=60, what="three cards after Temporal is back")
            await eventually(lambda: all("Resolved" in texts[-1] for texts in telegram.messages.values()),
                             timeout=60, what="every card resolved")
            assert len(telegram.sent) == 3
            assert await redis.xlen("awoooi:spool") == 0
            assert "awoooi_spool_started_total 6.0" in (await app.api.get("/metrics")).text
    finally:
        temporal.stop()


async def test_a_group_of_2000_alerts_is_taken_whole_within_alertmanagers_patience(
        tmp_path, valkey_url, redis) -> None:
    """One delivery of 2,000 alerts: bounded concurrency towards Temporal, the spool for whatever is
    slow, and one 200 well inside Alertmanager's 10 s; every alert becomes its workflow."""
    port = free_port()
    temporal = temporal_dev_server(tmp_path / "temporal", port=port, ui_port=None)
    temporal.start()
    try:
        client = await Client.connect(f"127.0.0.1:{port}", data_converter=data_converter)
        template = json.loads(_group("big"))
        one = template["alerts"][0]
        # Small alerts, so the group stays under AWOOOI_MAX_BODY_BYTES (1 MiB) as a real one would.
        template["alerts"] = [{"status": "firing", "fingerprint": f"big-{i:04d}", "startsAt": one["startsAt"],
                               "labels": {"alertname": "BigGroup", "instance": f"n{i}", "severity": "warning"},
                               "annotations": {"summary": "one of many"}} for i in range(2000)]
        raw = json.dumps(template).encode()
        async with running(client, settings_for(valkey_url, f"big-{uuid.uuid4()}"), worker=False) as app:
            started = time.monotonic()
            response = await app.api.post(ALERTMANAGER, content=raw, timeout=30)
            elapsed = time.monotonic() - started
            assert response.status_code == 200, response.text[:500]
            statuses = [a["status"] for a in response.json()["alerts"]]
            assert len(statuses) == 2000 and set(statuses) <= {"started", "spooled"}, set(statuses)
            assert elapsed < 10, f"2,000 alerts took {elapsed:.1f}s: Alertmanager gives up after 10 s"
            print(f"\n2,000-alert group answered in {elapsed:.2f} s: {sorted(set(statuses))}")

            async def all_started() -> bool:
                return (await client.count_workflows()).count == 2000 and await redis.xlen("awoooi:spool") == 0

            await eventually(all_started, timeout=150, what="2,000 workflows")
            print(f"all started after {time.monotonic() - started:.1f} s")
            # Alertmanager's retry of the same group takes nothing twice: each alert updates its own.
            again = await app.api.post(ALERTMANAGER, content=raw, timeout=30)
            assert again.status_code == 200
            assert {a["status"] for a in again.json()["alerts"]} <= {"updated", "spooled"}
            await eventually(all_started, timeout=150, what="still 2,000 workflows")
            print(f"retry taken after {time.monotonic() - started:.1f} s")
    finally:
        temporal.stop()

"""The Redis/Valkey adapters against the real Valkey: counting, windows, ledger, learning log, incidents.

Every adapter must turn a dead server into ``core.errors.UpstreamError(retryable=True)`` (so the
activity retries), never leak a redis library exception.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError

from activities.valkey import keys as redis_keys
from activities.valkey.counter import RedisAnomalyCounter
from activities.valkey.incidents import LEARNING_KEEP, LEARNING_TTL, RedisIncidentRepository, RedisOccurrenceLog
from activities.valkey.ledger import DEFAULT_TTL, RedisLedger
from activities.valkey.messages import RedisMessageRefs
from core.chat import MessageKey
from core.errors import UpstreamError
from starter.embedded import free_port

# Whole seconds, so timestamps survive the float round trip through Redis exactly.
NOW = datetime.now(UTC).replace(microsecond=0)


# ---------------------------------------------------------------------------------- anomaly counter


async def test_an_occurrence_id_is_counted_once(redis: Redis) -> None:
    counter = RedisAnomalyCounter(redis)
    first = await counter.record("diskfull:db", "occ-1", NOW)
    again = await counter.record("diskfull:db", "occ-1", NOW)  # an activity retried after a timeout
    assert first.count == 1
    assert again.count == 1
    assert again.last_1h == 1 and again.last_24h == 1
    assert await redis.zcard(redis_keys.anomaly_occurrences("diskfull:db")) == 1
    other = await counter.record("diskfull:db", "occ-2", NOW)
    assert other.count == 2


async def test_windows_count_only_recent_occurrences(redis: Redis) -> None:
    counter = RedisAnomalyCounter(redis)
    offsets = {
        "m59": timedelta(minutes=59),
        "h2": timedelta(hours=2),
        "h23": timedelta(hours=23),
        "h25": timedelta(hours=25),
    }
    for occurrence_id, ago in offsets.items():
        await counter.record("cpu:api", occurrence_id, NOW - ago)
    frequency = await counter.frequency("cpu:api", NOW)
    assert frequency.count == 4
    assert frequency.last_1h == 1, "only now-59min is within the last hour"
    assert frequency.last_24h == 3, "now-59min, now-2h and now-23h are within the last 24 hours"
    assert frequency.first_seen == NOW - offsets["h25"]
    assert frequency.last_seen == NOW - offsets["m59"]


async def test_windows_move_with_now(redis: Redis) -> None:
    counter = RedisAnomalyCounter(redis)
    await counter.record("cpu:api", "a", NOW)
    later = await counter.frequency("cpu:api", NOW + timedelta(hours=2))
    assert (later.count, later.last_1h, later.last_24h) == (1, 0, 1)
    much_later = await counter.frequency("cpu:api", NOW + timedelta(hours=25))
    assert (much_later.count, much_later.last_1h, much_later.last_24h) == (1, 0, 0)


async def test_first_and_last_seen_with_out_of_order_records(redis: Redis) -> None:
    counter = RedisAnomalyCounter(redis)
    middle, earliest, latest = NOW - timedelta(minutes=30), NOW - timedelta(hours=3), NOW - timedelta(minutes=1)
    await counter.record("mem:worker", "middle", middle)
    await counter.record("mem:worker", "latest", latest)
    await counter.record("mem:worker", "earliest", earliest)  # arrives last, happened first
    frequency = await counter.frequency("mem:worker", NOW)
    assert frequency.first_seen == earliest
    assert frequency.last_seen == latest
    assert frequency.count == 3
    # A retried (already counted) old occurrence moves nothing.
    await counter.record("mem:worker", "earliest", earliest - timedelta(hours=1))
    again = await counter.frequency("mem:worker", NOW)
    assert again.first_seen == earliest and again.count == 3


async def test_unknown_anomaly_has_an_empty_frequency(redis: Redis) -> None:
    frequency = await RedisAnomalyCounter(redis).frequency("never:seen", NOW)
    assert (frequency.count, frequency.last_1h, frequency.last_24h) == (0, 0, 0)
    assert frequency.first_seen is None and frequency.last_seen is None


async def test_anomaly_keys_are_independent(redis: Redis) -> None:
    counter = RedisAnomalyCounter(redis)
    await counter.record("a:svc", "same-id", NOW)
    other = await counter.record("b:svc", "same-id", NOW)
    assert other.count == 1


# ------------------------------------------------------------------------------------------- ledger


async def test_the_idempotency_ledger_remembers_each_kind_once_under_its_old_key(redis: Redis) -> None:
    ledger = RedisLedger(redis)
    assert await ledger.delivery_handled("x") is False
    await ledger.mark_handled(["x", "y"], "inc-1")
    assert await ledger.deliveries_handled(["x", "y", "z"]) == [True, True, False]
    # The keys the one "delivery ledger" wrote before the split: an upgrade still finds them.
    assert await redis.get("awoooi:ledger:delivery:x") == "inc-1"
    assert await ledger.first_update("7") is True
    assert await ledger.first_update("7") is False, "a re-sent update is taken once"
    await ledger.forget_update("7")
    assert await ledger.first_update("7") is True
    await ledger.register_approval("tok", "incident-a")
    assert await ledger.approval("tok") == "incident-a" and await redis.get("awoooi:ledger:approval:tok")
    await ledger.keep_repair_result("r1", "{}")
    await ledger.keep_comment("42:x", "posted")
    await ledger.pin_scale("r1", "3")
    assert (await ledger.repair_result("r1"), await ledger.comment("42:x"), await ledger.scale_pin("r1")) == \
        ("{}", "posted", "3")


async def test_message_references_are_kept_per_message_key_and_overwritten(redis: Redis) -> None:
    refs = RedisMessageRefs(redis)
    card = MessageKey.card("inc-1:lc")
    assert await refs.get(card) is None
    await refs.put(card, "42")
    await refs.put(card, "43")
    assert await refs.get(card) == "43", "put overwrites (a replacement card)"
    assert await redis.get("awoooi:ledger:card:inc-1:lc") == "43"
    assert await refs.get(MessageKey.digest("-100", 3)) is None


async def test_ledger_and_message_keys_expire(redis: Redis) -> None:
    await RedisLedger(redis).mark_handled(["y"], "inc")
    await RedisMessageRefs(redis).put(MessageKey.card("y"), "7")
    for key in (redis_keys.delivery_handled("y"), redis_keys.message_ref(MessageKey.card("y"))):
        ttl = await redis.ttl(key)
        assert 0 < ttl <= DEFAULT_TTL.total_seconds()
        assert ttl > DEFAULT_TTL.total_seconds() - 60
    await RedisMessageRefs(redis, ttl=timedelta(minutes=5)).put(MessageKey.card("z"), "1")
    assert 0 < await redis.ttl(redis_keys.message_ref(MessageKey.card("z"))) <= 300


# ---------------------------------------------------------------------------- occurrence log (learning)


async def test_occurrence_log_appends_once_per_record_id(redis: Redis) -> None:
    log = RedisOccurrenceLog(redis)
    record = {"incident_id": "inc-1", "at": NOW.isoformat(), "severity": "critical"}
    assert await log.append("disk:db", "rec-1", record) is True
    assert await log.append("disk:db", "rec-1", record) is False
    assert await log.recent("disk:db") == [record]


async def test_occurrence_log_keeps_the_last_100(redis: Redis) -> None:
    log = RedisOccurrenceLog(redis)
    total = LEARNING_KEEP + 5
    for i in range(total):
        await log.append("disk:db", f"rec-{i}", {"n": i})
    assert LEARNING_KEEP == 100
    assert await redis.llen(redis_keys.learning_occurrences("disk:db")) == 100
    recent = await log.recent("disk:db")
    assert len(recent) == 100
    assert recent[0] == {"n": total - 1}, "newest first"
    assert recent[-1] == {"n": total - 100}, "the oldest five were dropped"
    assert [r["n"] for r in await log.recent("disk:db", limit=3)] == [total - 1, total - 2, total - 3]


async def test_occurrence_log_expires_after_about_90_days(redis: Redis) -> None:
    log = RedisOccurrenceLog(redis)
    await log.append("disk:db", "rec-1", {"n": 1})
    ttl = await redis.ttl(redis_keys.learning_occurrences("disk:db"))
    ninety_days = timedelta(days=90).total_seconds()
    assert LEARNING_TTL.total_seconds() == ninety_days
    assert ninety_days - 60 < ttl <= ninety_days


# ---------------------------------------------------------------------------------------- incidents


async def test_incident_record_round_trip(redis: Redis) -> None:
    repo = RedisIncidentRepository(redis)
    fields = {"status": "open", "occurrences": "1", "title": "磁碟空間不足 ✓", "anomaly_key": "disk:db"}
    await repo.save(fields, "alertmanager-abc")
    assert await repo.get("alertmanager-abc") == fields
    await repo.save({"status": "resolved", "occurrences": "2"}, "alertmanager-abc")
    assert await repo.get("alertmanager-abc") == fields | {"status": "resolved", "occurrences": "2"}
    assert await redis.ttl(redis_keys.incident("alertmanager-abc")) > 0
    assert await repo.get("missing") == {}


# ------------------------------------------------------------------------------------- dead server


@pytest.fixture
async def dead_redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", decode_responses=True, socket_connect_timeout=2)
    try:
        yield client
    finally:
        await client.aclose()


def _calls(dead: Redis):  # noqa: ANN202
    counter, ledger = RedisAnomalyCounter(dead), RedisLedger(dead)
    log, repo = RedisOccurrenceLog(dead), RedisIncidentRepository(dead)
    return {
        "counter.record": lambda: counter.record("a:b", "occ", NOW),
        "counter.frequency": lambda: counter.frequency("a:b", NOW),
        "ledger.delivery_handled": lambda: ledger.delivery_handled("k"),
        "ledger.first_update": lambda: ledger.first_update("k"),
        "ledger.approval": lambda: ledger.approval("k"),
        "ledger.mark_handled": lambda: ledger.mark_handled(["k"], "v"),
        "refs.get": lambda: RedisMessageRefs(dead).get(MessageKey.card("k")),
        "log.append": lambda: log.append("a:b", "rec", {"n": 1}),
        "log.recent": lambda: log.recent("a:b"),
        "incidents.save": lambda: repo.save({"status": "open"}, "inc"),
        "incidents.get": lambda: repo.get("inc"),
    }


@pytest.mark.parametrize(
    "name",
    ["counter.record", "counter.frequency", "ledger.delivery_handled", "ledger.first_update", "ledger.approval",
     "ledger.mark_handled", "refs.get", "log.append", "log.recent", "incidents.save", "incidents.get"],
)
async def test_dead_redis_raises_retryable_upstream_error(dead_redis: Redis, name: str) -> None:
    call = _calls(dead_redis)[name]
    with pytest.raises(UpstreamError) as info:
        await call()
    assert not isinstance(info.value, RedisError)
    assert info.value.retryable is True
    assert str(info.value).startswith("redis:")
    assert isinstance(info.value.__cause__, RedisError), "the library error is kept as the cause"

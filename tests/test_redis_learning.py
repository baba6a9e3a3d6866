"""The learning repository against the real Valkey: key names, trimming, TTLs, idempotency,
per-action totals in the anomaly hash, failure streaks, playbooks, and a dead server.

The key names are asserted as literal strings on purpose: ``learning:repair:...`` is the seed's
key and must not drift, or the records it wrote become unreadable.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError

from activities.valkey import keys as redis_keys
from activities.valkey.counter import RedisAnomalyCounter
from activities.valkey.learning import RECORD_TTL, RedisLearningRepository
from core.errors import UpstreamError
from core.learning import RECORDS_KEPT, ActionStats, Playbook, RepairRecord
from core.models import RepairAction
from starter.embedded import free_port

NOW = datetime.now(UTC).replace(microsecond=0)
NINETY_DAYS = timedelta(days=90).total_seconds()
RESTART = RepairAction.RESTART_POD
DELETE = RepairAction.DELETE_POD
_ids = itertools.count()


def record(key: str = "disk:db", action: RepairAction = RESTART, success: bool = True, **extra: object) -> RepairRecord:
    fields: dict[str, object] = {
        "repair_id": f"rep-{next(_ids)}",
        "incident_id": "inc-1",
        "anomaly_key": key,
        "action": action,
        "success": success,
        "execution_seconds": 1.5,
        "executor": "dry-run",
        "at": NOW,
    }
    return RepairRecord.model_validate(fields | extra)


@pytest.fixture
def repo(redis: Redis) -> RedisLearningRepository:
    return RedisLearningRepository(redis)


def _assert_about_ninety_days(ttl: int) -> None:
    assert NINETY_DAYS - 60 < ttl <= NINETY_DAYS


# ------------------------------------------------------------------------------------ records


async def test_record_is_pushed_to_the_seeds_key_as_json(redis: Redis, repo: RedisLearningRepository) -> None:
    rec = record(root_cause="logs filled the disk")
    assert await repo.add_repair_result(rec) is True
    assert redis_keys.learning_repair("disk:db", "restart_pod") == "learning:repair:disk:db:restart_pod"
    raw = await redis.lrange("learning:repair:disk:db:restart_pod", 0, -1)
    assert len(raw) == 1
    assert RepairRecord.model_validate(json.loads(raw[0])) == rec
    assert await repo.recent_records("disk:db", RESTART, 20) == [rec]


async def test_records_keep_the_last_100_newest_first(redis: Redis, repo: RedisLearningRepository) -> None:
    assert RECORDS_KEPT == 100
    records = [record(execution_seconds=float(i)) for i in range(RECORDS_KEPT + 5)]
    for rec in records:
        await repo.add_repair_result(rec)
    assert await redis.llen("learning:repair:disk:db:restart_pod") == 100
    kept = await repo.recent_records("disk:db", RESTART, 1000)
    assert kept == records[::-1][:100], "newest first, the oldest five trimmed"
    assert await repo.recent_records("disk:db", RESTART, 3) == records[::-1][:3]
    assert await repo.recent_records("disk:db", RESTART, 0) == []
    stats = await repo.action_stats("disk:db")
    assert stats == [ActionStats(action=RESTART, total=105, successes=105)], "totals are not trimmed"


async def test_records_marker_and_streaks_expire_after_about_90_days(redis: Redis, repo: RedisLearningRepository) -> None:
    assert RECORD_TTL.total_seconds() == NINETY_DAYS
    rec = record(success=False)
    await repo.add_repair_result(rec)
    _assert_about_ninety_days(await redis.ttl("learning:repair:disk:db:restart_pod"))
    _assert_about_ninety_days(await redis.ttl(f"awoooi:learning:recorded:{rec.repair_id}"))
    _assert_about_ninety_days(await redis.ttl("awoooi:learning:streaks:restart_pod"))


async def test_a_repair_id_is_recorded_once(redis: Redis, repo: RedisLearningRepository) -> None:
    rec = record(success=False)
    assert await repo.add_repair_result(rec) is True
    assert await repo.add_repair_result(rec) is False, "a retried activity"
    assert await redis.llen("learning:repair:disk:db:restart_pod") == 1
    assert await repo.action_stats("disk:db") == [ActionStats(action=RESTART, total=1, successes=0)]
    assert await repo.failure_streaks("disk:db") == {RESTART: 1}, "the streak counted the failure once"


async def test_records_that_do_not_parse_are_skipped(redis: Redis, repo: RedisLearningRepository) -> None:
    rec = record()
    await repo.add_repair_result(rec)
    await redis.lpush("learning:repair:disk:db:restart_pod", '{"action": "restart_pod", "execution_time": 3}')
    assert await repo.recent_records("disk:db", RESTART, 20) == [rec]


# --------------------------------------------------------------------- totals in the anomaly hash


async def test_per_action_totals_live_in_the_anomaly_counters_hash(redis: Redis, repo: RedisLearningRepository) -> None:
    counter = RedisAnomalyCounter(redis)
    await counter.record("disk:db", "occ-1", NOW)
    await counter.record("disk:db", "occ-2", NOW)
    for success in (True, False, True):
        await repo.add_repair_result(record(success=success))
    await repo.add_repair_result(record(action=DELETE, success=False))

    fields = await redis.hgetall("awoooi:anomaly:disk:db")
    assert redis_keys.anomaly_hash("disk:db") == "awoooi:anomaly:disk:db"
    assert fields["repair:restart_pod:total"] == "3"
    assert fields["repair:restart_pod:successes"] == "2"
    assert fields["repair:delete_pod:total"] == "1"
    assert fields["repair:delete_pod:successes"] == "0"
    assert fields["count"] == "2", "the counter's own fields are untouched"
    assert (await counter.frequency("disk:db", NOW)).count == 2
    assert await repo.occurrences("disk:db") == 2
    assert await repo.action_stats("disk:db") == [
        ActionStats(action=RESTART, total=3, successes=2),
        ActionStats(action=DELETE, total=1, successes=0),
    ]


async def test_unknown_key_has_no_stats_no_streaks_no_occurrences(repo: RedisLearningRepository) -> None:
    assert await repo.action_stats("never:seen") == []
    assert await repo.failure_streaks("never:seen") == {}
    assert await repo.occurrences("never:seen") == 0
    assert await repo.recent_records("never:seen", RESTART, 20) == []


# ----------------------------------------------------------------------------- failure streaks


async def test_failures_count_up_and_a_success_on_the_same_key_resets(repo: RedisLearningRepository) -> None:
    await repo.add_repair_result(record(success=False))
    await repo.add_repair_result(record(success=False))
    assert await repo.failure_streaks("disk:db") == {RESTART: 2}
    await repo.add_repair_result(record(success=True))
    assert await repo.failure_streaks("disk:db") == {}
    await repo.add_repair_result(record(success=False))
    assert await repo.failure_streaks("disk:db") == {RESTART: 1}


async def test_a_success_anywhere_clears_the_actions_streaks_on_every_key(
    redis: Redis, repo: RedisLearningRepository
) -> None:
    for key in ("disk:db", "disk:db", "cpu:api"):
        await repo.add_repair_result(record(key=key, success=False))
    await repo.add_repair_result(record(key="disk:db", action=DELETE, success=False))
    assert await redis.hgetall("awoooi:learning:streaks:restart_pod") == {"disk:db": "2", "cpu:api": "1"}

    await repo.add_repair_result(record(key="mem:worker", success=True))

    assert await repo.failure_streaks("disk:db") == {DELETE: 1}, "only restart_pod's streaks were cleared"
    assert await repo.failure_streaks("cpu:api") == {}
    assert await redis.exists("awoooi:learning:streaks:restart_pod") == 0


# ------------------------------------------------------------------------------------ playbooks


def playbook(key: str, action: RepairAction = RESTART, rate: float = 0.8, executions: int = 5) -> Playbook:
    return Playbook(
        anomaly_key=key, root_cause="logs", action=action, description="d", success_rate=rate,
        executions=executions, updated_at=NOW,
    )


async def test_playbooks_round_trip_one_per_key(repo: RedisLearningRepository) -> None:
    assert await repo.get_playbook("disk:db") is None
    assert await repo.playbooks() == []
    await repo.save_playbook(playbook("disk:db"))
    await repo.save_playbook(playbook("cpu:api"))
    replaced = playbook("disk:db", DELETE, rate=1.0, executions=6)
    await repo.save_playbook(replaced)
    assert await repo.get_playbook("disk:db") == replaced
    assert [p.anomaly_key for p in await repo.playbooks()] == ["cpu:api", "disk:db"]


# ---------------------------------------------------------------------------------- dead server


@pytest.fixture
async def dead_redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", decode_responses=True, socket_connect_timeout=2)
    try:
        yield client
    finally:
        await client.aclose()


CALLS = {
    "add_repair_result": lambda r: r.add_repair_result(record()),
    "action_stats": lambda r: r.action_stats("a:b"),
    "recent_records": lambda r: r.recent_records("a:b", RESTART, 20),
    "failure_streaks": lambda r: r.failure_streaks("a:b"),
    "occurrences": lambda r: r.occurrences("a:b"),
    "get_playbook": lambda r: r.get_playbook("a:b"),
    "save_playbook": lambda r: r.save_playbook(playbook("a:b")),
    "playbooks": lambda r: r.playbooks(),
}


@pytest.mark.parametrize("name", sorted(CALLS))
async def test_dead_redis_raises_retryable_upstream_error(dead_redis: Redis, name: str) -> None:
    with pytest.raises(UpstreamError) as info:
        await CALLS[name](RedisLearningRepository(dead_redis))
    assert info.value.retryable is True
    assert str(info.value).startswith("redis:")
    assert isinstance(info.value.__cause__, RedisError), "the library error is kept as the cause"

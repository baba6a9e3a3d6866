"""The learning repository (seed phase G) on Redis/Valkey.

Keys (all in ``activities.valkey.keys``):

- ``learning:repair:{anomaly_key}:{action}``: list of RepairRecord JSON, newest first, the last
  RECORDS_KEPT, expiring RECORD_TTL_DAYS after the last write. The seed's key, unprefixed.
- ``awoooi:anomaly:{anomaly_key}`` (the anomaly counter's hash): fields ``repair:{action}:total``
  and ``repair:{action}:successes`` next to the counter's ``count``.
- ``awoooi:learning:streaks:{action}``: hash ``anomaly_key -> consecutive failures``. A failure
  adds one for its key; a success of the action on any key deletes the whole hash, which is the
  rule "blocked until it succeeds elsewhere" (and resets the key it succeeded on).
- ``awoooi:learning:recorded:{repair_id}``: the idempotency marker.
- ``awoooi:learning:playbooks``: hash ``anomaly_key -> Playbook JSON``.

One Lua script does the whole recording, guarded by the marker, so an activity retried after a
timeout records once and a crash can never leave the list, the totals and the streaks disagreeing.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import ValidationError
from redis.asyncio import Redis
from redis.exceptions import RedisError

from activities.valkey import keys as redis_keys
from activities.valkey.incidents import RedisOccurrenceLog
from core.errors import UpstreamError
from core.learning_service import LearningService
from core.learning import RECORD_TTL_DAYS, RECORDS_KEPT, ActionStats, Playbook, RepairRecord
from core.models import RepairAction

__all__ = ["RECORD_TTL", "RedisLearningRepository"]

RECORD_TTL = timedelta(days=RECORD_TTL_DAYS)

# KEYS: marker, record list, anomaly hash, streak hash of the action.
# ARGV: record JSON, records kept, ttl seconds, action, "1"/"0" success, anomaly key.
_RECORD_ONCE = """
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[3]) then
  return 0
end
redis.call('LPUSH', KEYS[2], ARGV[1])
redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[2]) - 1)
redis.call('EXPIRE', KEYS[2], ARGV[3])
local success = ARGV[5] == '1'
redis.call('HINCRBY', KEYS[3], 'repair:' .. ARGV[4] .. ':total', 1)
redis.call('HINCRBY', KEYS[3], 'repair:' .. ARGV[4] .. ':successes', success and 1 or 0)
if success then
  redis.call('DEL', KEYS[4])
else
  redis.call('HINCRBY', KEYS[4], ARGV[6], 1)
  redis.call('EXPIRE', KEYS[4], ARGV[3])
end
return 1
"""


def _failed(what: str, exc: RedisError) -> UpstreamError:
    return UpstreamError(f"redis: {what} failed ({type(exc).__name__})", retryable=True)


def _total_field(action: RepairAction) -> str:
    return f"repair:{action.value}:total"


def _successes_field(action: RepairAction) -> str:
    return f"repair:{action.value}:successes"


def _stats_from_hash(fields: dict[str, str]) -> list[ActionStats]:
    """Per-action totals out of the anomaly hash, in RepairAction order, only actions tried."""
    stats = []
    for action in RepairAction:
        total = int(fields.get(_total_field(action), 0))
        if total:
            stats.append(ActionStats(action=action, total=total, successes=int(fields.get(_successes_field(action), 0))))
    return stats


def _parse_records(raw: list[str]) -> list[RepairRecord]:
    """Records that do not parse (an older writer's shape) are skipped rather than failing the
    read: they only feed timing averages, and one odd entry must not hide all the others."""
    records = []
    for item in raw:
        try:
            records.append(RepairRecord.model_validate_json(item))
        except ValidationError:
            continue
    return records


class RedisLearningRepository:
    """``core.learning.LearningRepository`` on Redis; every RedisError becomes a retryable
    ``UpstreamError`` so the calling activity retries."""

    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._record_once = redis.register_script(_RECORD_ONCE)

    async def add_repair_result(self, record: RepairRecord) -> bool:
        keys = [
            redis_keys.learning_recorded(record.repair_id),
            redis_keys.learning_repair(record.anomaly_key, record.action.value),
            redis_keys.anomaly_hash(record.anomaly_key),
            redis_keys.learning_streaks(record.action.value),
        ]
        args = [
            record.model_dump_json(),
            RECORDS_KEPT,
            int(RECORD_TTL.total_seconds()),
            record.action.value,
            "1" if record.success else "0",
            record.anomaly_key,
        ]
        try:
            return bool(await self._record_once(keys=keys, args=args))
        except RedisError as exc:
            raise _failed("recording repair result", exc) from exc

    async def action_stats(self, anomaly_key: str) -> list[ActionStats]:
        try:
            fields = await self._redis.hgetall(redis_keys.anomaly_hash(anomaly_key))
        except RedisError as exc:
            raise _failed("reading action stats", exc) from exc
        return _stats_from_hash(fields)

    async def recent_records(self, anomaly_key: str, action: RepairAction, limit: int) -> list[RepairRecord]:
        if limit <= 0:
            return []
        try:
            raw = await self._redis.lrange(redis_keys.learning_repair(anomaly_key, action.value), 0, limit - 1)
        except RedisError as exc:
            raise _failed("reading repair records", exc) from exc
        return _parse_records(raw)

    async def failure_streaks(self, anomaly_key: str) -> dict[RepairAction, int]:
        """Nonzero streaks only. One HGET per action (a handful), pipelined in one round trip."""
        actions = list(RepairAction)
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for action in actions:
                    pipe.hget(redis_keys.learning_streaks(action.value), anomaly_key)
                values = await pipe.execute()
        except RedisError as exc:
            raise _failed("reading failure streaks", exc) from exc
        return {action: int(value) for action, value in zip(actions, values, strict=True) if value and int(value)}

    async def occurrences(self, anomaly_key: str) -> int:
        try:
            count = await self._redis.hget(redis_keys.anomaly_hash(anomaly_key), "count")
        except RedisError as exc:
            raise _failed("reading occurrences", exc) from exc
        return int(count or 0)

    async def get_playbook(self, anomaly_key: str) -> Playbook | None:
        try:
            raw = await self._redis.hget(redis_keys.learning_playbooks(), anomaly_key)
        except RedisError as exc:
            raise _failed("reading playbook", exc) from exc
        return Playbook.model_validate_json(raw) if raw else None

    async def save_playbook(self, playbook: Playbook) -> None:
        try:
            await self._redis.hset(redis_keys.learning_playbooks(), playbook.anomaly_key, playbook.model_dump_json())
        except RedisError as exc:
            raise _failed("saving playbook", exc) from exc

    async def playbooks(self) -> list[Playbook]:
        try:
            raw = await self._redis.hvals(redis_keys.learning_playbooks())
        except RedisError as exc:
            raise _failed("listing playbooks", exc) from exc
        return sorted((Playbook.model_validate_json(item) for item in raw), key=lambda p: p.anomaly_key)


def learning_service(redis: Redis) -> LearningService:
    """The learning service on Valkey: its repair records and the occurrence log it reads hints from."""
    return LearningService(RedisLearningRepository(redis), RedisOccurrenceLog(redis))

"""Incident records and the learning occurrence log on Redis/Valkey.

The incident hash is what an operator (and later the API) reads about an incident without going
through Temporal; the occurrence log is the raw material of the learning service: the last 100
occurrences per anomaly key, kept 90 days.
"""

from __future__ import annotations

import json
from datetime import timedelta

from redis.asyncio import Redis
from redis.exceptions import RedisError

from activities.valkey import keys as redis_keys
from core.errors import UpstreamError

LEARNING_KEEP = 100
LEARNING_TTL = timedelta(days=90)
INCIDENT_TTL = timedelta(days=90)

_APPEND_ONCE = """
if redis.call('SET', KEYS[2], '1', 'NX', 'EX', ARGV[3]) then
  redis.call('LPUSH', KEYS[1], ARGV[1])
  redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[2]) - 1)
  redis.call('EXPIRE', KEYS[1], ARGV[3])
  return 1
end
return 0
"""


def _failed(what: str, exc: RedisError) -> UpstreamError:
    return UpstreamError(f"redis: {what} failed ({type(exc).__name__})", retryable=True)


class RedisIncidentRepository:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def save(self, fields: dict[str, str], incident_id: str) -> None:
        key = redis_keys.incident(incident_id)
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.hset(key, mapping=fields)
                pipe.expire(key, int(INCIDENT_TTL.total_seconds()))
                await pipe.execute()
        except RedisError as exc:
            raise _failed("saving incident", exc) from exc

    async def get(self, incident_id: str) -> dict[str, str]:
        try:
            return await self._redis.hgetall(redis_keys.incident(incident_id))
        except RedisError as exc:
            raise _failed("reading incident", exc) from exc


class RedisOccurrenceLog:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._append = redis.register_script(_APPEND_ONCE)

    async def append(self, anomaly_key: str, record_id: str, record: dict[str, object]) -> bool:
        keys = [redis_keys.learning_occurrences(anomaly_key), redis_keys.occurrence_logged(record_id)]
        args = [json.dumps(record, sort_keys=True, default=str), LEARNING_KEEP, int(LEARNING_TTL.total_seconds())]
        try:
            return bool(await self._append(keys=keys, args=args))
        except RedisError as exc:
            raise _failed("appending learning record", exc) from exc

    async def recent(self, anomaly_key: str, limit: int = LEARNING_KEEP) -> list[dict[str, object]]:
        try:
            raw = await self._redis.lrange(redis_keys.learning_occurrences(anomaly_key), 0, limit - 1)
        except RedisError as exc:
            raise _failed("reading learning records", exc) from exc
        return [json.loads(item) for item in raw]

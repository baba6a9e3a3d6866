"""Anomaly counter and frequency (seed phases A and C) on Redis/Valkey.

Per anomaly key: a hash (count, first_seen, last_seen) and a sorted set of occurrence ids scored by
time. One Lua script counts an occurrence only when its id is new, so an activity retried after
a timeout never counts twice; the sorted set also answers "how many in the last 1h / 24h".
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from redis.asyncio import Redis
from redis.exceptions import RedisError

from activities.valkey import keys as redis_keys
from core.errors import UpstreamError
from core.models import Frequency

# Occurrence ids older than this are pruned; a retry never arrives that late.
RETENTION = timedelta(days=7)

# Every id ZADD NX, the count raised once by how many were new (INCRBY N); one id is a batch of one.
_RECORD_MANY = """
local added = 0
for i = 3, #ARGV do
  added = added + redis.call('ZADD', KEYS[2], 'NX', ARGV[1], ARGV[i])
end
if added > 0 then
  redis.call('HINCRBY', KEYS[1], 'count', added)
  local first = redis.call('HGET', KEYS[1], 'first_seen')
  if (not first) or tonumber(ARGV[1]) < tonumber(first) then
    redis.call('HSET', KEYS[1], 'first_seen', ARGV[1])
  end
  local last = redis.call('HGET', KEYS[1], 'last_seen')
  if (not last) or tonumber(ARGV[1]) > tonumber(last) then
    redis.call('HSET', KEYS[1], 'last_seen', ARGV[1])
  end
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', tonumber(ARGV[1]) - tonumber(ARGV[2]))
return added
"""


def _ts(value: str | None) -> datetime | None:
    return datetime.fromtimestamp(float(value), tz=timezone.utc) if value else None


class RedisAnomalyCounter:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._record_many = redis.register_script(_RECORD_MANY)

    async def record(self, anomaly_key: str, occurrence_id: str, at: datetime) -> Frequency:
        return await self.record_many(anomaly_key, [occurrence_id], at)

    async def record_many(self, anomaly_key: str, occurrence_ids: list[str], at: datetime) -> Frequency:
        if occurrence_ids:
            keys = [redis_keys.anomaly_hash(anomaly_key), redis_keys.anomaly_occurrences(anomaly_key)]
            try:
                await self._record_many(keys=keys, args=[at.timestamp(), RETENTION.total_seconds(), *occurrence_ids])
            except RedisError as exc:
                raise UpstreamError(f"redis: counting occurrences failed ({type(exc).__name__})",
                                    retryable=True) from exc
        return await self.frequency(anomaly_key, at)

    async def frequency(self, anomaly_key: str, now: datetime) -> Frequency:
        stamp = now.timestamp()
        occurrences = redis_keys.anomaly_occurrences(anomaly_key)
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.hgetall(redis_keys.anomaly_hash(anomaly_key))
                pipe.zcount(occurrences, stamp - 3600, "+inf")
                pipe.zcount(occurrences, stamp - 86400, "+inf")
                summary, last_1h, last_24h = await pipe.execute()
        except RedisError as exc:
            raise UpstreamError(f"redis: reading frequency failed ({type(exc).__name__})", retryable=True) from exc
        return Frequency(
            count=int(summary.get("count", 0)),
            first_seen=_ts(summary.get("first_seen")),
            last_seen=_ts(summary.get("last_seen")),
            last_1h=int(last_1h),
            last_24h=int(last_24h),
        )

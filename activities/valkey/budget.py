"""The repair budget per anomaly key (AWOOOI_REPAIR_MAX_PER_HOUR / _PER_DAY) on Redis/Valkey.

A sorted set of repair ids scored by time. Reserving is one Lua script: it counts the last hour
and day and adds the id only when both are under their limit. Reserving an id that is already in
the set answers "allowed" without counting it again, so a retried activity never spends twice.
"""

from __future__ import annotations

from datetime import datetime

from redis.asyncio import Redis
from redis.exceptions import RedisError

from activities.valkey import keys as redis_keys
from core.errors import UpstreamError
from core.inputs import BudgetStatus

_HOUR, _DAY = 3600, 86400

_RESERVE = """
local now = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - 86400 * 2)
if redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  return {1, redis.call('ZCOUNT', KEYS[1], now - 3600, '+inf'), redis.call('ZCOUNT', KEYS[1], now - 86400, '+inf')}
end
local hour = redis.call('ZCOUNT', KEYS[1], now - 3600, '+inf')
local day = redis.call('ZCOUNT', KEYS[1], now - 86400, '+inf')
if hour >= tonumber(ARGV[3]) or day >= tonumber(ARGV[4]) then
  return {0, hour, day}
end
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('EXPIRE', KEYS[1], 86400 * 2)
return {1, hour + 1, day + 1}
"""


class RedisRepairBudget:
    def __init__(self, redis: Redis, *, max_per_hour: int, max_per_day: int) -> None:
        self._redis = redis
        self._max_hour = max_per_hour
        self._max_day = max_per_day
        self._reserve = redis.register_script(_RESERVE)

    async def status(self, anomaly_key: str, at: datetime) -> BudgetStatus:
        """How much of the budget is spent; ``allowed`` says whether one more repair fits."""
        key, now = redis_keys.repair_budget(anomaly_key), at.timestamp()
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                pipe.zcount(key, now - _HOUR, "+inf")
                pipe.zcount(key, now - _DAY, "+inf")
                hour, day = await pipe.execute()
        except RedisError as exc:
            raise UpstreamError(f"redis: reading the repair budget failed ({type(exc).__name__})",
                                retryable=True) from exc
        return self._status(hour < self._max_hour and day < self._max_day, hour, day)

    async def reserve(self, anomaly_key: str, repair_id: str, at: datetime) -> BudgetStatus:
        """Spend one repair of the budget for ``repair_id`` if it fits (idempotent per id)."""
        try:
            allowed, hour, day = await self._reserve(
                keys=[redis_keys.repair_budget(anomaly_key)],
                args=[repair_id, at.timestamp(), self._max_hour, self._max_day],
            )
        except RedisError as exc:
            raise UpstreamError(f"redis: reserving the repair budget failed ({type(exc).__name__})",
                                retryable=True) from exc
        return self._status(bool(allowed), int(hour), int(day))

    def _status(self, allowed: bool, hour: int, day: int) -> BudgetStatus:
        return BudgetStatus(allowed=allowed, last_hour=int(hour), last_day=int(day),
                            max_per_hour=self._max_hour, max_per_day=self._max_day)

"""The alert chain's outage record in Valkey (implements ``activities.probe.activities.OutageStore``).

One hash while the chain is broken; absent while it is whole. ``announced`` is set only after the
direct message went out, so a chat that was itself down is told on the first run that can reach it.
"""

from __future__ import annotations

from redis.asyncio import Redis
from redis.exceptions import RedisError

from activities.valkey import keys as redis_keys
from core.errors import UpstreamError


class RedisOutageStore:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis

    async def get(self) -> dict[str, str]:
        try:
            return await self._redis.hgetall(redis_keys.probe_outage())
        except RedisError as exc:
            raise UpstreamError(f"valkey probe outage read: {type(exc).__name__}", retryable=True) from exc

    async def start(self, since: str, links: str) -> None:
        try:
            key = redis_keys.probe_outage()
            await self._redis.hsetnx(key, "since", since)
            await self._redis.hset(key, "links", links)
        except RedisError as exc:
            raise UpstreamError(f"valkey probe outage write: {type(exc).__name__}", retryable=True) from exc

    async def mark_announced(self) -> None:
        try:
            await self._redis.hset(redis_keys.probe_outage(), "announced", "1")
        except RedisError as exc:
            raise UpstreamError(f"valkey probe outage write: {type(exc).__name__}", retryable=True) from exc

    async def clear(self) -> None:
        try:
            await self._redis.delete(redis_keys.probe_outage())
        except RedisError as exc:
            raise UpstreamError(f"valkey probe outage clear: {type(exc).__name__}", retryable=True) from exc

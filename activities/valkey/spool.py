"""The intake spool on Redis/Valkey: a stream of deliveries Temporal could not take in time.

Why a stream: entries keep arrival order (the drainer must start a firing before its resolution),
entry ids carry their arrival time (the spool's age, for /health and the probe), and XDEL removes
exactly the entry that was started. A push is durable before it returns: WAITAOF waits until the
local AOF has fsynced it, so a 200 "spooled" survives a Valkey crash. A server without AOF cannot
promise that, and the push fails (the API then answers 503 and the sender retries).
"""

from __future__ import annotations

import time

from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from activities.valkey import keys as redis_keys
from core.errors import UpstreamError
from core.models import SpooledDelivery, SpoolStats

# How long a push waits for the fsync before it counts as failed.
FSYNC_TIMEOUT_MS = 400

_TAKE_LEASE = """
local holder = redis.call('GET', KEYS[1])
if (not holder) or holder == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0
"""

_RELEASE_LEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class RedisSpool:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._take = redis.register_script(_TAKE_LEASE)
        self._release = redis.register_script(_RELEASE_LEASE)

    async def push(self, item: SpooledDelivery) -> str:
        return (await self.push_many([item]))[0]

    async def push_many(self, items: list[SpooledDelivery]) -> list[str]:
        """Append a batch in arrival order and wait for one fsync covering all of it (group commit:
        the cost of durability is paid per batch, not per delivery)."""
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for item in items:
                    pipe.xadd(redis_keys.spool(), {"d": item.model_dump_json()})
                pipe.execute_command("WAITAOF", 1, 0, FSYNC_TIMEOUT_MS)
                *entry_ids, (local, _replicas) = await pipe.execute()
        except ResponseError as exc:
            # "WAITAOF cannot be used when numlocal is set but appendonly is disabled."
            raise UpstreamError("redis: the spool needs appendonly yes (AOF) to be durable",
                                retryable=True) from exc
        except RedisError as exc:
            raise UpstreamError(f"redis: spool push failed ({type(exc).__name__})", retryable=True) from exc
        if int(local) < 1:
            raise UpstreamError("redis: spool entry not fsynced in time", retryable=True)
        return [str(entry_id) for entry_id in entry_ids]

    async def depth(self) -> int:
        return int(await self._call("xlen", redis_keys.spool()))

    async def oldest(self, limit: int, after: str | None = None) -> list[tuple[str, SpooledDelivery]]:
        """Up to ``limit`` entries in arrival order, from the first (or the first after ``after``)."""
        rows = await self._call("xrange", redis_keys.spool(), f"({after}" if after else "-", "+", count=limit)
        return [(str(entry_id), SpooledDelivery.model_validate_json(fields["d"])) for entry_id, fields in rows]

    async def remove(self, entry_id: str) -> None:
        await self._call("xdel", redis_keys.spool(), entry_id)

    async def remove_many(self, entry_ids: list[str]) -> None:
        if entry_ids:
            await self._call("xdel", redis_keys.spool(), *entry_ids)

    async def stats(self) -> SpoolStats:
        depth = await self.depth()
        if depth == 0:
            return SpoolStats(depth=0)
        first = await self._call("xrange", redis_keys.spool(), "-", "+", count=1)
        age = None
        if first:
            millis = int(str(first[0][0]).split("-", 1)[0])
            age = max(time.time() - millis / 1000, 0.0)
        return SpoolStats(depth=depth, oldest_age_seconds=age)

    async def acquire_lease(self, owner: str, ttl_seconds: float) -> bool:
        try:
            return bool(await self._take(keys=[redis_keys.spool_lease()], args=[owner, int(ttl_seconds * 1000)]))
        except RedisError as exc:
            raise UpstreamError(f"redis: spool lease failed ({type(exc).__name__})", retryable=True) from exc

    async def release_lease(self, owner: str) -> None:
        try:
            await self._release(keys=[redis_keys.spool_lease()], args=[owner])
        except RedisError as exc:
            raise UpstreamError(f"redis: spool lease release failed ({type(exc).__name__})", retryable=True) from exc

    async def _call(self, command: str, *args: object, **kwargs: object):  # noqa: ANN202
        try:
            return await getattr(self._redis, command)(*args, **kwargs)
        except RedisError as exc:
            raise UpstreamError(f"redis: spool {command} failed ({type(exc).__name__})", retryable=True) from exc

"""The delivery ledger: idempotency keys for deliveries and side effects, on Redis/Valkey.

"Has this delivery been handled?", "which Telegram message is this incident's card?", "was this
comment posted?" Each key expires (default 30 days) so the ledger does not grow forever.
"""

from __future__ import annotations

from datetime import timedelta

from redis.asyncio import Redis
from redis.exceptions import RedisError

from activities.valkey import keys as redis_keys
from core.errors import UpstreamError

DEFAULT_TTL = timedelta(days=30)


class RedisLedger:
    def __init__(self, redis: Redis, ttl: timedelta = DEFAULT_TTL) -> None:
        self._redis = redis
        self._ttl = int(ttl.total_seconds())

    async def seen(self, key: str) -> bool:
        return await self._call("exists", redis_keys.ledger(key)) == 1

    async def seen_many(self, keys: list[str]) -> list[bool]:
        if not keys:
            return []
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for key in keys:
                    pipe.exists(redis_keys.ledger(key))
                return [found == 1 for found in await pipe.execute()]
        except RedisError as exc:
            raise UpstreamError(f"redis: ledger seen_many failed ({type(exc).__name__})", retryable=True) from exc

    async def remember(self, key: str, value: str = "1") -> bool:
        return bool(await self._call("set", redis_keys.ledger(key), value, nx=True, ex=self._ttl))

    async def get(self, key: str) -> str | None:
        return await self._call("get", redis_keys.ledger(key))

    async def put(self, key: str, value: str) -> None:
        await self._call("set", redis_keys.ledger(key), value, ex=self._ttl)

    async def put_many(self, items: dict[str, str]) -> None:
        if not items:
            return
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for key, value in items.items():
                    pipe.set(redis_keys.ledger(key), value, ex=self._ttl)
                await pipe.execute()
        except RedisError as exc:
            raise UpstreamError(f"redis: ledger put_many failed ({type(exc).__name__})", retryable=True) from exc

    async def forget(self, key: str) -> None:
        await self._call("delete", redis_keys.ledger(key))

    async def _call(self, command: str, *args: object, **kwargs: object):  # noqa: ANN202
        try:
            return await getattr(self._redis, command)(*args, **kwargs)
        except RedisError as exc:
            raise UpstreamError(f"redis: ledger {command} failed ({type(exc).__name__})", retryable=True) from exc

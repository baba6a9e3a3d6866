"""The idempotency ledger on Valkey: what has already happened, so a retry does not do it again.

"Has this delivery been handled?", "did this repair run, and what did it do?", "was this comment
posted?", "was this button tap taken?", "which workflow does this approval button decide for?".
Each entry expires (default 30 days) so the ledger does not grow forever. Where awoooi's messages
are in the chat is a store of its own (activities/valkey/messages.py).
"""

from __future__ import annotations

from datetime import timedelta

from redis.asyncio import Redis
from redis.exceptions import RedisError

from activities.valkey import keys
from core.errors import UpstreamError

DEFAULT_TTL = timedelta(days=30)


class RedisLedger:
    """Implements ``core.ports.IdempotencyLedger``."""

    def __init__(self, redis: Redis, ttl: timedelta = DEFAULT_TTL) -> None:
        self._redis = redis
        self._ttl = int(ttl.total_seconds())

    async def delivery_handled(self, delivery_id: str) -> bool:
        return await self._call("exists", keys.delivery_handled(delivery_id)) == 1

    async def deliveries_handled(self, delivery_ids: list[str]) -> list[bool]:
        if not delivery_ids:
            return []
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for delivery_id in delivery_ids:
                    pipe.exists(keys.delivery_handled(delivery_id))
                return [found == 1 for found in await pipe.execute()]
        except RedisError as exc:
            raise UpstreamError(f"redis: ledger read failed ({type(exc).__name__})", retryable=True) from exc

    async def mark_handled(self, delivery_ids: list[str], incident_id: str) -> None:
        if not delivery_ids:
            return
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for delivery_id in delivery_ids:
                    pipe.set(keys.delivery_handled(delivery_id), incident_id, ex=self._ttl)
                await pipe.execute()
        except RedisError as exc:
            raise UpstreamError(f"redis: ledger write failed ({type(exc).__name__})", retryable=True) from exc

    async def repair_result(self, repair_id: str) -> str | None:
        return await self._call("get", keys.repair_result(repair_id))

    async def keep_repair_result(self, repair_id: str, result_json: str) -> None:
        await self._call("set", keys.repair_result(repair_id), result_json, ex=self._ttl)

    async def scale_pin(self, repair_id: str) -> str | None:
        return await self._call("get", keys.scale_pin(repair_id))

    async def pin_scale(self, repair_id: str, replicas: str) -> None:
        await self._call("set", keys.scale_pin(repair_id), replicas, ex=self._ttl)

    async def comment(self, comment_key: str) -> str | None:
        return await self._call("get", keys.comment(comment_key))

    async def keep_comment(self, comment_key: str, outcome: str) -> None:
        await self._call("set", keys.comment(comment_key), outcome, ex=self._ttl)

    async def register_approval(self, token: str, workflow_id: str) -> None:
        await self._call("set", keys.approval(token), workflow_id, ex=self._ttl)

    async def approval(self, token: str) -> str | None:
        return await self._call("get", keys.approval(token))

    async def first_update(self, update_id: str) -> bool:
        return bool(await self._call("set", keys.chat_update(update_id), "1", nx=True, ex=self._ttl))

    async def first_observation(self, once_key: str) -> bool:
        """True the first time a metric is observed under ``once_key`` (SET NX), False after."""
        return bool(await self._call("set", keys.metric_observed(once_key), "1", nx=True, ex=self._ttl))

    async def forget_update(self, update_id: str) -> None:
        await self._call("delete", keys.chat_update(update_id))

    async def _call(self, command: str, *args: object, **kwargs: object):  # noqa: ANN202
        try:
            return await getattr(self._redis, command)(*args, **kwargs)
        except RedisError as exc:
            raise UpstreamError(f"redis: ledger {command} failed ({type(exc).__name__})", retryable=True) from exc

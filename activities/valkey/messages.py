"""Where awoooi's messages are in the chat, on Valkey: the reference each message got.

Read before every send and written right after the chat took it (activities/chat/cards.py), so a
retried activity finds the card, digest or escalation it already sent instead of sending a second
one. Entries expire with the ledger's 30 days.
"""

from __future__ import annotations

from datetime import timedelta

from redis.asyncio import Redis
from redis.exceptions import RedisError

from activities.valkey import keys
from activities.valkey.ledger import DEFAULT_TTL
from core.chat import MessageKey
from core.errors import UpstreamError


class RedisMessageRefs:
    """Implements ``core.ports.MessageRefs``."""

    def __init__(self, redis: Redis, ttl: timedelta = DEFAULT_TTL) -> None:
        self._redis = redis
        self._ttl = int(ttl.total_seconds())

    async def get(self, key: MessageKey) -> str | None:
        try:
            return await self._redis.get(keys.message_ref(key))
        except RedisError as exc:
            raise UpstreamError(f"redis: message reference read failed ({type(exc).__name__})", retryable=True) from exc

    async def put(self, key: MessageKey, ref: str) -> None:
        try:
            await self._redis.set(keys.message_ref(key), ref, ex=self._ttl)
        except RedisError as exc:
            raise UpstreamError(f"redis: message reference write failed ({type(exc).__name__})", retryable=True) from exc

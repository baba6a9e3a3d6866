"""Once-marks of the Postmortem button's documents on Valkey (docs/adr/0026, "The Postmortem button").

A tap claims the token with ``SET NX`` ("sending", a short expiry) before it reads the histories and
sends; after the chat took the document the mark becomes "sent:<message id>" for as long as the
ledger keeps anything. A second tap, a re-sent webhook or a second person finds the mark and sends
nothing. A send the chat refused (an error status) releases the claim so the next tap tries again. A crash (or a
timeout that may hide a delivered document) leaves "sending" until it expires; then a tap sends
again, saying the document may repeat an earlier one (the "attempted" mark tells it so): a second
copy of a draft is a smaller harm than none.
"""

from __future__ import annotations

from datetime import timedelta

from redis.asyncio import Redis
from redis.exceptions import RedisError

from activities.valkey import keys
from activities.valkey.ledger import DEFAULT_TTL
from core.errors import UpstreamError
from core.postmortem_button import Claim

__all__ = ["RedisPostmortemMarks", "SENDING_TTL"]

# Long enough for the histories to be read and a document uploaded; a crash costs this much wait.
SENDING_TTL = timedelta(minutes=2)
_SENDING = "sending"
_SENT = "sent:"


class RedisPostmortemMarks:
    """Implements ``core.ports.PostmortemMarks``."""

    def __init__(self, redis: Redis, ttl: timedelta = DEFAULT_TTL, sending_ttl: timedelta = SENDING_TTL) -> None:
        self._redis = redis
        self._ttl = int(ttl.total_seconds())
        self._sending_ttl = max(int(sending_ttl.total_seconds()), 1)

    async def claim(self, token: str) -> Claim:
        try:
            if await self._redis.set(keys.postmortem_sent(token), _SENDING, nx=True, ex=self._sending_ttl):
                first = await self._redis.set(keys.postmortem_attempted(token), "1", nx=True, ex=self._ttl)
                return Claim.MINE if first else Claim.MINE_MAY_REPEAT
            held = await self._redis.get(keys.postmortem_sent(token))
        except RedisError as exc:
            raise UpstreamError(f"redis: postmortem mark failed ({type(exc).__name__})", retryable=True) from exc
        held = held.decode() if isinstance(held, bytes) else held
        return Claim.SENT if held and str(held).startswith(_SENT) else Claim.SENDING

    async def sent(self, token: str, message_id: str) -> None:
        try:
            await self._redis.set(keys.postmortem_sent(token), _SENT + message_id, ex=self._ttl)
        except RedisError as exc:
            raise UpstreamError(f"redis: postmortem mark failed ({type(exc).__name__})", retryable=True) from exc

    async def release(self, token: str) -> None:
        """The chat refused the document (or it was never sent): nothing reached the chat, so the next
        tap tries again as if first."""
        try:
            await self._redis.delete(keys.postmortem_sent(token), keys.postmortem_attempted(token))
        except RedisError as exc:
            raise UpstreamError(f"redis: postmortem mark failed ({type(exc).__name__})", retryable=True) from exc

"""The per-chat sender gate: at most one Telegram message in flight per chat, across all workers.

Telegram's sendMessage has no idempotency key. A worker that dies after Telegram accepted a card
and before the card's message id reached the ledger leaves a retry that must send again; nothing
on our side can tell whether the first send arrived (docs/adr/0011-chat-gate.md). The gate bounds
that window instead of pretending to close it:

- a short-TTL lock per chat in Valkey (``awoooi:chat:{chat_id}:sender``), held from "is this card
  sent already?" to "its message id is stored", so one crash can duplicate at most the one card
  each chat had in flight; a crashed holder's lock expires after ``hold``;
- an in-flight marker per send (``awoooi:inflight:{send_key}``), written right before the send and
  removed once the outcome is known, so the retry that finds it can say on the card that it may
  repeat an earlier one.

Telegram's pacing (about 1 msg/s per chat, 20/min in a group, 30/s overall, PROTOCOLS.md) runs in
:meth:`ChatGate._admit` while the chat's lock is held, and in :meth:`ChatGate.pace` for edits
(activities/chat/pacing.py).
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from activities.valkey import keys as redis_keys
from activities.chat.pacing import TelegramPacer
from core.errors import UpstreamError

__all__ = ["ChatGate"]

log = structlog.get_logger(__name__)

# Longer than one send can take (httpx's 10 s timeout plus Valkey round trips), short enough that
# a crashed holder stalls its chat only briefly.
DEFAULT_HOLD = timedelta(seconds=15)
# How long a send waits for its chat before the activity gives up and Temporal retries it. The
# wait, the send (10 s at most) and the bookkeeping must fit in post_card's 30 s start-to-close:
# an attempt still running when Temporal starts the next one could send twice.
DEFAULT_WAIT = timedelta(seconds=10)
# A marker outlives every retry of the activity that wrote it (schedule-to-close is minutes).
MARKER_TTL = timedelta(days=1)

# Delete the lock only if it is still ours: after a long stall it may belong to the next holder.
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


def _failed(what: str, exc: RedisError) -> UpstreamError:
    return UpstreamError(f"redis: chat gate {what} failed ({type(exc).__name__})", retryable=True)


class ChatGate:
    def __init__(self, redis: Redis, *, hold: timedelta = DEFAULT_HOLD, wait: timedelta = DEFAULT_WAIT,
                 poll_seconds: float = 0.05, pacer: TelegramPacer | None = None) -> None:
        self._redis = redis
        self._pacer = pacer
        self._hold_ms = int(hold.total_seconds() * 1000)
        self._wait = wait.total_seconds()
        self._poll = poll_seconds
        self._release = redis.register_script(_RELEASE)

    @asynccontextmanager
    async def turn(self, chat_id: str) -> AsyncIterator[None]:
        """Hold the chat's sender lock for one send and its bookkeeping.

        Raises a retryable UpstreamError when the chat stays busy for ``wait`` or Valkey cannot be
        reached: nothing was sent, so the activity's retry is safe."""
        key = redis_keys.chat_sender(chat_id)
        token = uuid.uuid4().hex
        started = time.monotonic()
        await self._acquire(key, token)
        try:
            await self._admit(chat_id, budget=max(self._wait - (time.monotonic() - started), 0.0))
            yield
        finally:
            try:
                await self._release(keys=[key], args=[token])
            except RedisError as exc:  # it expires after ``hold`` anyway
                log.warning("chat lock not released; it expires by itself", error=type(exc).__name__)

    async def begin(self, send_key: str) -> bool:
        """Mark ``send_key`` in flight; True when an earlier attempt's marker was still there, i.e.
        that attempt may have reached Telegram and the message about to go out may repeat it."""
        try:
            fresh = await self._redis.set(redis_keys.send_in_flight(send_key), "1", nx=True,
                                          ex=int(MARKER_TTL.total_seconds()))
        except RedisError as exc:
            raise _failed("marking a send in flight", exc) from exc
        return not fresh

    async def settled(self, send_key: str) -> None:
        """The send's outcome is known (its message id stored, or Telegram refused it): drop the
        marker. Best effort: a marker left behind only makes an unlikely later retry say
        "may repeat"."""
        try:
            await self._redis.delete(redis_keys.send_in_flight(send_key))
        except RedisError as exc:
            log.warning("in-flight marker not removed", send_key=send_key, error=type(exc).__name__)

    async def _acquire(self, key: str, token: str) -> None:
        deadline = time.monotonic() + self._wait
        while True:
            try:
                if await self._redis.set(key, token, nx=True, px=self._hold_ms):
                    return
            except RedisError as exc:
                raise _failed("acquiring the chat lock", exc) from exc
            if time.monotonic() >= deadline:
                raise UpstreamError("telegram: chat busy (another card is being sent); will retry", retryable=True)
            await asyncio.sleep(self._poll * (0.5 + random.random()))  # noqa: S311 - jitter, not crypto

    async def _admit(self, chat_id: str, *, budget: float) -> None:
        """Telegram's limits (activities/chat/pacing.py), urgently: a send waits for its slot
        within what is left of the gate's wait, else raises a retryable error with nothing sent."""
        if self._pacer is not None:
            await self._pacer.admit(chat_id, urgent=True, budget=budget)

    async def pace(self, chat_id: str, *, urgent: bool) -> bool:
        """A slot for a call that needs no sender lock (an edit). False: a best-effort call found
        none soon; urgent ones wait up to the gate's wait and then raise a retryable error."""
        if self._pacer is None:
            return True
        return await self._pacer.admit(chat_id, urgent=urgent, budget=self._wait)

    async def rate_limited(self, chat_id: str, retry_after: float) -> None:
        """Telegram answered 429: hold the chat for every worker."""
        if self._pacer is not None:
            await self._pacer.hold(chat_id, retry_after)

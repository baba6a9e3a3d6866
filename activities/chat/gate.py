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

Who goes next is not a race: waiting sends queue in Valkey (``chat:{id}:queue``), and the lock goes
to the one with the lowest priority key (core/priority.py: the probe, then critical first words, then
other first words, then state edits, then re-asks), and among those to the sender group served least
recently, round-robin (``chat:{id}:turns``), then to the oldest. So a backlog of one group's cards
never holds back another group's first card, nor a critical one (docs/adr/0022-first-words-first.md).
A waiter polls as often as its place warrants (the next few every 50 ms, the far ones up to once a
second) and refreshes its heartbeat each time; one not seen for WAITER_STALE (a crashed worker) is
dropped from the queue by whoever polls next.
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
from activities.chat.place import ANYONE
from core.priority import QueuePlace

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

# A waiter polls at least this often; one not seen for WAITER_STALE is taken for dead and dropped.
MAX_PAUSE = 1.0
WAITER_STALE = timedelta(seconds=5)
# Priority keys are small integers; the score packs (priority, enqueue time in ms).
_PRIORITY_SCALE = 10**13

# Take the chat's lock if it is free and this waiter is next; else answer how many are ahead of it.
# KEYS: lock, queue (member -> priority*scale + enqueue ms), heartbeats (member -> ms), turns (hash:
# group -> turns served; field "" holds the virtual clock). ARGV: member, token, hold ms, now ms,
# stale ms, scale, the member's score. A member is "<enqueue ns, 20 digits>|<token>|<group>", so two
# waiters enqueued in the same millisecond still go oldest first (the ns order breaks the tie); it joins the queue
# here (again, if it was dropped as stale after a stall of its own), never in a separate call that a
# crash could leave without a heartbeat.
_TAKE = """
local lock, queue, beats, turns = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local me, token, hold, now, stale, scale = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]),
  tonumber(ARGV[5]), tonumber(ARGV[6])
redis.call('ZADD', queue, 'NX', ARGV[7], me)
for _, dead in ipairs(redis.call('ZRANGEBYSCORE', beats, '-inf', now - stale)) do
  if dead ~= me then
    redis.call('ZREM', queue, dead)
    redis.call('ZREM', beats, dead)
  end
end
redis.call('ZADD', beats, now, me)
local myscore = tonumber(ARGV[7])
local mypri = math.floor(myscore / scale)
local clock = tonumber(redis.call('HGET', turns, '') or '0')
local served = {}
local function turns_of(group)
  local n = served[group]
  if n == nil then
    n = math.max(tonumber(redis.call('HGET', turns, 'g:' .. group) or '0'), clock)
    served[group] = n
  end
  return n
end
local mygroup = string.match(me, '^[^|]*|[^|]*|(.*)$')
local mine = turns_of(mygroup)
local ahead = 0
local same = redis.call('ZRANGEBYSCORE', queue, '-inf', '(' .. ((mypri + 1) * scale), 'WITHSCORES')
for i = 1, #same, 2 do
  local other, score = same[i], tonumber(same[i + 1])
  if other ~= me then
    if math.floor(score / scale) < mypri then
      ahead = ahead + 1
    else
      local theirs = turns_of(string.match(other, '^[^|]*|[^|]*|(.*)$'))
      if theirs < mine or (theirs == mine and (score < myscore or (score == myscore and other < me))) then
        ahead = ahead + 1
      end
    end
  end
end
if ahead > 0 then return ahead end
if redis.call('SET', lock, token, 'NX', 'PX', hold) then
  redis.call('ZREM', queue, me)
  redis.call('ZREM', beats, me)
  redis.call('HSET', turns, 'g:' .. mygroup, mine + 1, '', mine)
  redis.call('PEXPIRE', turns, 3600000)
  return -1
end
return 0
"""

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
        self._take = redis.register_script(_TAKE)

    @asynccontextmanager
    async def turn(self, chat_id: str, place: QueuePlace = ANYONE) -> AsyncIterator[None]:
        """Hold the chat's sender lock for one send and its bookkeeping, taking turns in ``place``'s
        order (the module docstring).

        Raises a retryable UpstreamError when the chat stays busy for ``wait`` or Valkey cannot be
        reached: nothing was sent, so the activity's retry is safe."""
        key = redis_keys.chat_sender(chat_id)
        token = uuid.uuid4().hex
        started = time.monotonic()
        await self._acquire(chat_id, key, token, place)
        try:
            await self._admit(chat_id, budget=max(self._wait - (time.monotonic() - started), 0.0),
                              priority_key=place.priority_key)
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

    async def _acquire(self, chat_id: str, key: str, token: str, place: QueuePlace) -> None:
        deadline = time.monotonic() + self._wait
        queue, beats = redis_keys.chat_queue(chat_id), redis_keys.chat_waiting(chat_id)
        member = f"{time.time_ns():020d}|{token}|{place.fairness_key.replace('|', '/')}"
        score = place.priority_key * _PRIORITY_SCALE + int(time.time() * 1000)
        try:
            while True:
                ahead = await self._take(
                    keys=[key, queue, beats, redis_keys.chat_turns(chat_id)],
                    args=[member, token, self._hold_ms, int(time.time() * 1000),
                          int(WAITER_STALE.total_seconds() * 1000), _PRIORITY_SCALE, score])
                if ahead == -1:
                    return
                if time.monotonic() >= deadline:
                    raise UpstreamError("telegram: chat busy (other cards go first); will retry", retryable=True)
                await asyncio.sleep(self._pause(max(int(ahead), 0)))
        except RedisError as exc:
            await self._leave(queue, beats, member)
            raise _failed("acquiring the chat lock", exc) from exc
        except BaseException:
            # Gave up, cancelled or failed: out of the queue, so nobody waits behind a ghost.
            await self._leave(queue, beats, member)
            raise

    def _pause(self, ahead: int) -> float:
        """How long to wait before asking again: the next few often, the far ones rarely (each ask
        is a Valkey round trip that scans the queue)."""
        base = self._poll * (1 + ahead / 2)
        return min(base, MAX_PAUSE) * (0.75 + random.random() / 2)  # noqa: S311 - jitter, not crypto

    async def _leave(self, queue: str, beats: str, member: str) -> None:
        try:
            await self._redis.zrem(queue, member)
            await self._redis.zrem(beats, member)
        except RedisError:
            pass  # a dead waiter is dropped after WAITER_STALE anyway

    async def _admit(self, chat_id: str, *, budget: float, priority_key: int) -> None:
        """Telegram's limits (activities/chat/pacing.py), urgently: a send waits for its slot
        within what is left of the gate's wait, else raises a retryable error with nothing sent."""
        if self._pacer is not None:
            await self._pacer.admit(chat_id, urgent=True, budget=budget, priority_key=priority_key)

    async def pace(self, chat_id: str, *, urgent: bool, place: QueuePlace = ANYONE) -> bool:
        """A slot for a call that needs no sender lock (an edit), in ``place``'s priority. False: a
        best-effort call found none soon; urgent ones wait up to the gate's wait and then raise a
        retryable error."""
        if self._pacer is None:
            return True
        return await self._pacer.admit(chat_id, urgent=urgent, budget=self._wait, priority_key=place.priority_key)

    async def rate_limited(self, chat_id: str, retry_after: float) -> None:
        """Telegram answered 429: hold the chat for every worker."""
        if self._pacer is not None:
            await self._pacer.hold(chat_id, retry_after)

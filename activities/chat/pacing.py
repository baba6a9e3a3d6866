"""Telegram's flood limits, kept by every worker together through Valkey.

Telegram documents about one message per second per chat, 20 per minute in a group and 30 per
second overall (PROTOCOLS.md); beyond that it answers 429 with ``retry_after``, and a storm would
meet a wall of them. One Lua script (one round trip, Valkey's own clock, so workers' clocks do not
matter) either reserves a slot under all three limits or says how long until one frees up. A 429
that still happens sets the chat's "not before" for every worker.

Urgent calls (a new card, a state change) wait up to their budget and then raise a retryable
error: nothing was sent, Temporal retries. Best-effort calls (a count-only edit) wait briefly and
give up: the workflow shows the count at its next interval. Both wait only for free slots, so a
best-effort edit never delays a card more than one slot.

When slots are scarce (a group chat's 20 a minute in a storm), they go by priority key
(core/priority.py), not to whoever asks first after one frees up: each waiting call is listed with
its key (``tg:{chat}:waiting``), and a slot is not given to a call while one with a lower key has
asked within WAITER_STALE. So a critical card or the probe's takes the next slot, not the tenth
(docs/adr/0022-first-words-first.md). Waiting calls ask at least every MAX_PAUSE.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from activities.valkey import keys as redis_keys
from core.errors import UpstreamError
from core.metrics import Metrics
from core.priority import FIRST_WORDS

log = structlog.get_logger(__name__)

# A waiting call asks again at least this often, and one not heard from for WAITER_STALE_MS no
# longer holds back calls with a higher key.
MAX_PAUSE = 1.0
WAITER_STALE_MS = 2500

# KEYS: chat's next-slot key, chat's minute window (ZSET), the global second window (ZSET), the chat's
# waiting calls (ZSET: "<key>|<id>" -> last ask ms). ARGV: member, chat interval ms, group cap (0: not
# a group), global cap, window ms, waiter ("<key>|<id>"), priority key, stale ms.
# Returns 0 when a slot was reserved, else the milliseconds to wait before asking again.
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local mine = tonumber(ARGV[7])
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now - tonumber(ARGV[8]))
redis.call('ZADD', KEYS[4], now, ARGV[6])
redis.call('PEXPIRE', KEYS[4], 60000)
for _, other in ipairs(redis.call('ZRANGE', KEYS[4], 0, -1)) do
  if tonumber(string.match(other, '^(%d+)|')) < mine then return 50 end
end
local next_at = tonumber(redis.call('GET', KEYS[1]) or '0')
if now < next_at then return next_at - now end
local group_cap = tonumber(ARGV[3])
local window = tonumber(ARGV[5])
if group_cap > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
  if redis.call('ZCARD', KEYS[2]) >= group_cap then
    local oldest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
    return math.max(tonumber(oldest[2]) + window - now, 1)
  end
end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - 1000)
if redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[4]) then
  local oldest = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
  return math.max(tonumber(oldest[2]) + 1000 - now, 1)
end
local interval = tonumber(ARGV[2])
if interval > 0 then redis.call('SET', KEYS[1], now + interval, 'PX', interval) end
if group_cap > 0 then
  redis.call('ZADD', KEYS[2], now, ARGV[1])
  redis.call('PEXPIRE', KEYS[2], window)
end
redis.call('ZADD', KEYS[3], now, ARGV[1])
redis.call('PEXPIRE', KEYS[3], 1000)
redis.call('ZREM', KEYS[4], ARGV[6])
return 0
"""

# Hold a chat for Telegram's retry_after (ms), never shortening a longer hold already set.
_HOLD = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local until_at = now + tonumber(ARGV[1])
if until_at > tonumber(redis.call('GET', KEYS[1]) or '0') then
  redis.call('SET', KEYS[1], until_at, 'PX', ARGV[1])
end
return 1
"""


@dataclass(frozen=True)
class PacingLimits:
    chat_interval_seconds: float = 1.0
    group_per_minute: int = 20
    global_per_second: int = 30
    best_effort_wait_seconds: float = 1.0
    window_seconds: float = 60.0  # the group limit's window; tests shrink it


class TelegramPacer:
    def __init__(self, redis: Redis, limits: PacingLimits, metrics: Metrics | None = None) -> None:
        self._redis = redis
        self._limits = limits
        self._metrics = metrics
        self._reserve = redis.register_script(_RESERVE)
        self._hold = redis.register_script(_HOLD)

    async def admit(self, chat_id: str, *, urgent: bool, budget: float, priority_key: int = FIRST_WORDS) -> bool:
        """Reserve a slot for one call to ``chat_id``, ahead of waiting calls with a higher
        ``priority_key``. Urgent: wait up to ``budget`` seconds, then raise a retryable UpstreamError.
        Best effort: False when none frees up soon."""
        limits = self._limits
        patience = budget if urgent else min(budget, limits.best_effort_wait_seconds)
        started = time.monotonic()
        group = limits.group_per_minute if chat_id.startswith("-") else 0
        waiting = redis_keys.telegram_waiting(chat_id)
        keys = [redis_keys.telegram_next(chat_id), redis_keys.telegram_window(chat_id),
                redis_keys.telegram_global(), waiting]
        waiter = f"{priority_key}|{time.time_ns()}:{random.random()}"  # noqa: S311 - a unique id, not crypto
        try:
            while True:
                member = f"{time.time_ns()}:{random.random()}"  # noqa: S311 - a unique member, not crypto
                try:
                    wait_ms = int(await self._reserve(keys=keys, args=[
                        member, int(limits.chat_interval_seconds * 1000), group, limits.global_per_second,
                        int(limits.window_seconds * 1000), waiter, priority_key, WAITER_STALE_MS]))
                except RedisError as exc:
                    raise UpstreamError(f"redis: telegram pacing failed ({type(exc).__name__})",
                                        retryable=True) from exc
                waited = time.monotonic() - started
                if wait_ms == 0:
                    self._observe("urgent" if urgent else "best_effort", waited)
                    return True
                if waited + wait_ms / 1000 > patience:
                    if not urgent:
                        if self._metrics is not None:
                            self._metrics.telegram_paced_skipped.inc()
                        await self._leave(waiting, waiter)
                        return False
                    raise UpstreamError(f"telegram: chat {'group ' if group else ''}rate limit busy; will retry",
                                        retryable=True)
                await asyncio.sleep(min(wait_ms / 1000, MAX_PAUSE) * (1 + random.random() * 0.1))  # noqa: S311
        except BaseException:
            await self._leave(waiting, waiter)
            raise

    async def _leave(self, waiting: str, waiter: str) -> None:
        try:
            await self._redis.zrem(waiting, waiter)
        except RedisError:
            pass  # it goes stale by itself

    async def hold(self, chat_id: str, retry_after: float) -> None:
        """Telegram said 429: every worker leaves this chat alone for ``retry_after`` seconds."""
        try:
            await self._hold(keys=[redis_keys.telegram_next(chat_id)], args=[max(int(retry_after * 1000), 1)])
        except RedisError as exc:
            log.warning("telegram hold not recorded", error=type(exc).__name__)

    def _observe(self, priority: str, waited: float) -> None:
        if self._metrics is not None:
            self._metrics.telegram_paced_seconds.labels(priority=priority).observe(waited)

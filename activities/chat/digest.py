"""The storm digest's state in Valkey: who gets an own card, which digest message holds which line.

A storm of distinct alerts would post one card per incident; a group chat takes about 20 messages a
minute (PROTOCOLS.md), so the 11th card of a minute and every one after it waits behind 429s. This
module decides, for every placement of an incident in a chat, whether it gets its own card or a
line in the chat's current digest message, and keeps those lines (docs/adr/0016-digest-cards.md):

- the storm count: a ZSET per chat of the new incidents placed in the last ``window``, scored by
  Valkey's own clock (TIME: every worker agrees on it), each card key once (ZADD NX). While it holds
  at most ``threshold`` keys a new incident gets its own card; from the ``threshold + 1``-th on,
  lines. A line that asks again (re-ask) gets its card once the chat is out of the storm, out of at
  most ``threshold`` grants per window. An incident given its own card is marked so and keeps it (a
  retry decides the same way);
- digest slots: each digest message is a numbered slot with its lines (card key -> line), their
  order, a ``version`` bumped by every change and ``rendered``, the highest version a send or an
  edit has shown. A slot takes lines up to ``max_bytes`` (UTF-8 bytes, never fewer than the UTF-16
  units Telegram counts), and a new one starts when it is full or when no line was added for a
  ``window`` (the storm is over: the next storm's digest goes to the bottom of the chat);
- one edit lock per slot: at most one worker sends or edits a digest message at a time, and an edit
  starts at most every ``edit_interval``, so 25 lines arriving together cost one send and an edit.

Every script runs atomically on one Valkey (awoooi's deployment; the slot's keys are built inside
the scripts from ``redis_keys.digest_slot``'s prefix, which a Valkey cluster would refuse).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta
from enum import IntEnum

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from activities.valkey import keys as redis_keys
from core.errors import UpstreamError

__all__ = ["Digest", "Snapshot", "Want"]

log = structlog.get_logger(__name__)

DEFAULT_WINDOW = timedelta(seconds=60)
# Telegram allows 4096 UTF-16 units of visible text; the header and tags need far less than the rest.
DEFAULT_MAX_BYTES = 3500
# A digest message's first send waits for this many lines (or one edit interval).
DEFAULT_FILL = 20
# Digest keys outlive any storm; the ledger keeps the message ids longer (30 days).
KEY_TTL = timedelta(days=1)
OWN_TTL = timedelta(days=30)
# Longer than the chat gate's wait plus one send (10 s + 10 s): a crashed holder frees the slot then.
EDIT_HOLD = timedelta(seconds=25)

_NOW_MS = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
"""

# KEYS: placements, own marker, granted, critical placements. ARGV: card_key, window_ms, threshold, want
# (see Want), own_ttl_s, critical (1: a critical incident). Only a new incident (OWN) counts towards the
# storm. A critical new incident gets its own card while at most ``threshold`` critical ones were placed
# in the window, whatever storm of other severities is on: a storm of warnings never turns a critical
# alert into a line (docs/adr/0022-first-words-first.md); a storm of criticals is digested like any.
# A re-ask gets its card while the chat is not in a storm and fewer than ``threshold`` cards were
# granted in the window, so the end of a storm gives the waiting incidents their cards at the
# threshold's pace, and never delays a new incident's card.
_PLACE = _NOW_MS + """
local window = tonumber(ARGV[2])
local threshold = tonumber(ARGV[3])
local want = tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - window)
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', now - window)
local critical = false
if want == 1 then
  redis.call('ZADD', KEYS[1], 'NX', now, ARGV[1])
  if ARGV[6] == '1' then
    redis.call('ZADD', KEYS[4], 'NX', now, ARGV[1])
    redis.call('PEXPIRE', KEYS[4], window * 2)
    critical = redis.call('ZCARD', KEYS[4]) <= threshold
  end
end
redis.call('PEXPIRE', KEYS[1], window * 2)
local count = redis.call('ZCARD', KEYS[1])
if redis.call('EXISTS', KEYS[2]) == 1 then
  return {1, count}
end
local grant = want == 2 or (want == 1 and (count <= threshold or critical))
  or (want == 3 and count <= threshold and redis.call('ZCARD', KEYS[3]) < threshold)
if grant then
  redis.call('SET', KEYS[2], '1', 'EX', tonumber(ARGV[5]))
  redis.call('ZADD', KEYS[3], 'NX', now, ARGV[1])
  redis.call('PEXPIRE', KEYS[3], window * 2)
  return {1, count}
end
return {0, count}
"""

# KEYS: where, current, seq. ARGV: card_key, line, window_ms, max_bytes, ttl_s, slot key prefix, first
# (1: a critical line, listed above every other line of its message, in arrival order).
# A ``where`` value "-N" remembers a line removed from slot N (see _REMOVE): it holds no line.
_UPSERT = _NOW_MS + """
local key, line, pre, ttl = ARGV[1], ARGV[2], ARGV[6], tonumber(ARGV[5])
local slot = redis.call('HGET', KEYS[1], key)
local old = false
if slot and string.sub(slot, 1, 1) ~= '-' then
  old = redis.call('HGET', pre .. slot .. ':lines', key)
  if old == line then
    return {slot, tonumber(redis.call('HGET', pre .. slot, 'version') or '0'), 0}
  end
else
  slot = redis.call('GET', KEYS[2])
  local fresh = not slot
  if slot then
    local bytes = tonumber(redis.call('HGET', pre .. slot, 'bytes') or '0')
    local added = tonumber(redis.call('HGET', pre .. slot, 'added_ms') or '0')
    fresh = bytes + #line + 1 > tonumber(ARGV[4]) or now - added > tonumber(ARGV[3])
  end
  if fresh then
    slot = tostring(redis.call('INCR', KEYS[3]))
    redis.call('SET', KEYS[2], slot, 'EX', ttl)
    redis.call('HSET', pre .. slot, 'created_ms', now)
  end
  redis.call('HSET', KEYS[1], key, slot)
  local rank = redis.call('HINCRBY', pre .. slot, 'added', 1)
  if ARGV[7] == '1' then rank = rank - 1000000000 end
  redis.call('ZADD', pre .. slot .. ':order', rank, key)
end
local s = pre .. slot
redis.call('HSET', s .. ':lines', key, line)
if old then
  redis.call('HINCRBY', s, 'bytes', #line - #old)
else
  redis.call('HINCRBY', s, 'bytes', #line + 1)
  redis.call('HSET', s, 'added_ms', now)
end
local version = redis.call('HINCRBY', s, 'version', 1)
for _, k in ipairs({KEYS[1], s, s .. ':lines', s .. ':order'}) do redis.call('EXPIRE', k, ttl) end
return {slot, version, old and 1 or 2}
"""

# KEYS: where. ARGV: card_key, slot key prefix. Returns {slot, version} the removal needs shown, or
# nothing when the incident never had a line. Idempotent: a retry gets the same slot back.
_REMOVE = """
local key, pre = ARGV[1], ARGV[2]
local slot = redis.call('HGET', KEYS[1], key)
if not slot then return false end
if string.sub(slot, 1, 1) == '-' then
  slot = string.sub(slot, 2)
  return {slot, tonumber(redis.call('HGET', pre .. slot, 'version') or '0'), 0}
end
local s = pre .. slot
local old = redis.call('HGET', s .. ':lines', key)
redis.call('HDEL', s .. ':lines', key)
redis.call('ZREM', s .. ':order', key)
redis.call('HSET', KEYS[1], key, '-' .. slot)
if old then redis.call('HINCRBY', s, 'bytes', -(#old + 1)) end
return {slot, redis.call('HINCRBY', s, 'version', 1), 1}
"""

# KEYS: slot, lines, order. Returns {version, line...} in the order the lines were added.
_SNAPSHOT = """
local out = {tonumber(redis.call('HGET', KEYS[1], 'version') or '0')}
for _, key in ipairs(redis.call('ZRANGE', KEYS[3], 0, -1)) do
  local line = redis.call('HGET', KEYS[2], key)
  if line then out[#out + 1] = line end
end
return out
"""

# KEYS: slot. ARGV: version, touch (1: a send or edit went out now). Keeps the highest version shown.
_RENDERED = _NOW_MS + """
if tonumber(redis.call('HGET', KEYS[1], 'rendered') or '0') < tonumber(ARGV[1]) then
  redis.call('HSET', KEYS[1], 'rendered', ARGV[1])
end
if ARGV[2] == '1' then redis.call('HSET', KEYS[1], 'edited_ms', now) end
return 1
"""

# KEYS: slot, editing lock. ARGV: interval_ms, token, hold_ms, fill (lines a first send waits for, up
# to fill_ms after the slot began; 0: send now). 0: the caller holds the lock and may send or edit now;
# > 0: ms until the edit interval has passed (or the slot is full enough); < 0: another caller is
# rendering (its lock's remaining ms, negated), so the line may show any moment.
_CLAIM = _NOW_MS + """
local held = redis.call('PTTL', KEYS[2])
if held > 0 then return -held end
local since = now - tonumber(redis.call('HGET', KEYS[1], 'edited_ms') or '0')
local interval = tonumber(ARGV[1])
if since < interval then return interval - since end
local fill = tonumber(ARGV[4])
if fill > 0 and tonumber(redis.call('HGET', KEYS[1], 'added') or '0') < fill then
  local age = now - tonumber(redis.call('HGET', KEYS[1], 'created_ms') or '0')
  if age < tonumber(ARGV[5]) then return math.min(tonumber(ARGV[5]) - age, 200) end
end
redis.call('SET', KEYS[2], ARGV[2], 'PX', tonumber(ARGV[3]))
return 0
"""

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class Want(IntEnum):
    """What the placement asks for (the workflow's ``own_card``/``force_own``/``reask``, or the repair's buttons)."""

    LINE = 0
    # A new incident's first placement: it counts towards the storm.
    OWN = 1
    FORCE = 2
    # An incident already shown as a line asks again (the window passed, or its state changed).
    REASK = 3


@dataclass(frozen=True)
class Snapshot:
    """One consistent read of a digest message's lines: render it, then report ``version`` shown."""

    version: int
    lines: list[str]


@dataclass(frozen=True)
class LineChange:
    slot: int
    version: int
    # "added", "updated", "unchanged" or "removed".
    change: str


def _failed(what: str, exc: RedisError) -> UpstreamError:
    return UpstreamError(f"redis: digest {what} failed ({type(exc).__name__})", retryable=True)


class Digest:
    def __init__(self, redis: Redis, *, threshold: int, edit_interval: timedelta,
                 window: timedelta = DEFAULT_WINDOW, max_bytes: int = DEFAULT_MAX_BYTES,
                 edit_hold: timedelta = EDIT_HOLD, fill: int = DEFAULT_FILL) -> None:
        self._redis = redis
        self.threshold = threshold
        self.fill = fill
        self._window_ms = int(window.total_seconds() * 1000)
        self._interval_ms = int(edit_interval.total_seconds() * 1000)
        self._max_bytes = max_bytes
        self._hold_ms = int(edit_hold.total_seconds() * 1000)
        self._place = redis.register_script(_PLACE)
        self._upsert = redis.register_script(_UPSERT)
        self._remove = redis.register_script(_REMOVE)
        self._snapshot = redis.register_script(_SNAPSHOT)
        self._rendered = redis.register_script(_RENDERED)
        self._claim = redis.register_script(_CLAIM)
        self._release = redis.register_script(_RELEASE)

    @property
    def max_line_bytes(self) -> int:
        """A line's cap: a tenth of a digest message, so one holds at least ten."""
        return self._max_bytes // 10

    async def place(self, chat_id: str, card_key: str, want: Want, *, critical: bool = False) -> bool:
        """Count the placement in the chat's storm window; True when the incident gets its own card."""
        try:
            own, count = await self._place(
                keys=[redis_keys.digest_placements(chat_id), redis_keys.digest_own(card_key),
                      redis_keys.digest_granted(chat_id), redis_keys.digest_critical(chat_id)],
                args=[card_key, self._window_ms, self.threshold, int(want), int(OWN_TTL.total_seconds()),
                      1 if critical else 0])
        except RedisError as exc:
            raise _failed("placing", exc) from exc
        log.debug("placed", card_key=card_key, own=bool(own), in_window=count)
        return bool(own)

    async def upsert(self, chat_id: str, card_key: str, line: str, *, first: bool = False) -> LineChange:
        """Store the incident's line in the digest message that holds it (or the chat's current one);
        ``first``: a critical line, shown above the others (docs/adr/0022-first-words-first.md)."""
        try:
            slot, version, change = await self._upsert(
                keys=[redis_keys.digest_where(chat_id), redis_keys.digest_current(chat_id),
                      redis_keys.digest_seq(chat_id)],
                args=[card_key, line, self._window_ms, self._max_bytes, int(KEY_TTL.total_seconds()),
                      redis_keys.digest_slot(chat_id, ""), 1 if first else 0])
        except RedisError as exc:
            raise _failed("storing a line", exc) from exc
        return LineChange(int(slot), int(version), ("unchanged", "updated", "added")[int(change)])

    async def remove(self, chat_id: str, card_key: str) -> LineChange | None:
        """Take the incident's line out of its digest (it has its own card now); None: it had none."""
        try:
            found = await self._remove(keys=[redis_keys.digest_where(chat_id)],
                                       args=[card_key, redis_keys.digest_slot(chat_id, "")])
        except RedisError as exc:
            raise _failed("removing a line", exc) from exc
        if not found:
            return None
        slot, version, fresh = found
        return LineChange(int(slot), int(version), "removed" if int(fresh) else "unchanged")

    async def snapshot(self, chat_id: str, slot: int) -> Snapshot:
        try:
            version, *lines = await self._snapshot(keys=[redis_keys.digest_slot(chat_id, slot),
                                                         redis_keys.digest_lines(chat_id, slot),
                                                         redis_keys.digest_order(chat_id, slot)])
        except RedisError as exc:
            raise _failed("reading a digest", exc) from exc
        return Snapshot(int(version), list(lines))

    async def rendered(self, chat_id: str, slot: int) -> int:
        """The highest version of the slot that a send or an edit has shown."""
        try:
            value = await self._redis.hget(redis_keys.digest_slot(chat_id, slot), "rendered")
        except RedisError as exc:
            raise _failed("reading a digest", exc) from exc
        return int(value or 0)

    async def mark_rendered(self, chat_id: str, slot: int, version: int) -> None:
        """A send or edit showing ``version`` went out now: the next edit waits ``edit_interval``."""
        try:
            await self._rendered(keys=[redis_keys.digest_slot(chat_id, slot)], args=[version, 1])
        except RedisError as exc:
            raise _failed("recording a render", exc) from exc

    async def claim(self, chat_id: str, slot: int, *, first_send: bool = False,
                    urgent: bool = False) -> tuple[str | None, float]:
        """Try to become the one sender/editor of the slot's message: (token, 0) when this caller
        may go now, else (None, seconds until the next edit may start; 0 while another caller is
        rendering, whose render may show the line at any moment). The first send does not wait for
        the interval, but fills: it waits until the slot holds ``fill`` lines or one edit interval
        has passed since its first line, so a storm's message does not go out with one line while
        dozens follow (each call is one of the ~20 a group chat allows a minute). ``urgent`` (a
        critical line) sends at once."""
        token = uuid.uuid4().hex
        fill = self.fill if first_send and not urgent else 0
        try:
            wait_ms = await self._claim(
                keys=[redis_keys.digest_slot(chat_id, slot), redis_keys.digest_editing(chat_id, slot)],
                args=[0 if first_send else self._interval_ms, token, self._hold_ms, fill, self._interval_ms])
        except RedisError as exc:
            raise _failed("claiming an edit", exc) from exc
        if int(wait_ms) == 0:
            return token, 0.0
        return None, max(int(wait_ms), 0) / 1000

    async def release(self, chat_id: str, slot: int, token: str) -> None:
        """Best effort: an unreleased claim expires after ``edit_hold``."""
        try:
            await self._release(keys=[redis_keys.digest_editing(chat_id, slot)], args=[token])
        except RedisError as exc:
            log.warning("digest edit claim not released; it expires by itself", error=type(exc).__name__)

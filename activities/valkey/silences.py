"""Silences in Valkey (docs/adr/0024-where-silences-live.md): one hash of every silence, one sorted
set of their ends, and per silence the workflows it silenced.

A verdict reads one number: every write increments ``awoooi:silences:version``, and each process
keeps the silences that were live (give or take a day) at the version it last read, so while nobody
edits silences a verdict costs one GET however many there are (bench/silences.py). A changed version
is one script call (the version and the JSON of every silence ending after the cutoff, atomically);
expired silences never cost a read.
Expired silences are kept five days after their end (Alertmanager's default retention) and pruned on
the next write. An edit is read-modify-write under WATCH, retried when another writer got there first.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from pydantic import ValidationError
from redis.asyncio import Redis
from redis.exceptions import RedisError, WatchError

from activities.valkey import keys as redis_keys
from core.errors import UpstreamError
from core.silences import Silence

EXPIRED_RETENTION = timedelta(days=5)
# A card's Silence buttons stay usable this long after the verdict that registered them.
BUTTON_TTL = timedelta(days=30)
_CHUNK = 500
_EDIT_ATTEMPTS = 20

# A process's copy reaches back this far before now, so a verdict asked "as of" a little earlier
# (a workflow's now lags the wall clock) is still answered from it.
_COPY_REACH = timedelta(days=1)

# KEYS: hash, ends zset, version. ARGV: cutoff (ms). The version, then the JSON of every silence
# ending after the cutoff.
_LIVE = """
local ids = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. ARGV[1], '+inf')
local out = {redis.call('GET', KEYS[3]) or '0'}
for i = 1, #ids, 500 do
  local chunk = {}
  for j = i, math.min(i + 499, #ids) do chunk[#chunk + 1] = ids[j] end
  local values = redis.call('HMGET', KEYS[1], unpack(chunk))
  for _, v in ipairs(values) do if v then out[#out + 1] = v end end
end
return out
"""


def _ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def _failed(what: str, exc: RedisError) -> UpstreamError:
    return UpstreamError(f"valkey: {what} failed ({type(exc).__name__})", retryable=True)


def _parse(raw: str | bytes | None) -> Silence | None:
    if raw is None:
        return None
    try:
        return Silence.model_validate_json(raw)
    except ValidationError:
        return None  # a record no version of ours wrote: not a silence


class _Copy:
    """The silences ending after ``cutoff``, as they were at ``version``."""

    def __init__(self, version: str, cutoff: datetime, silences: list[Silence]) -> None:
        self.version = version
        self.cutoff = cutoff
        self.silences = silences


class RedisSilenceStore:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._live = redis.register_script(_LIVE)
        self._copy: _Copy | None = None

    async def live(self, now: datetime) -> list[Silence]:
        """Every silence not yet expired at ``now`` (active and pending)."""
        try:
            version = await self._redis.get(redis_keys.silences_version()) or "0"
            copy = self._copy
            if copy is None or copy.version != version or now < copy.cutoff:
                cutoff = now - _COPY_REACH
                raw = await self._live(keys=[redis_keys.silences(), redis_keys.silence_ends(),
                                             redis_keys.silences_version()], args=[_ms(cutoff)])
                copy = _Copy(str(raw[0]), cutoff, [s for s in map(_parse, raw[1:]) if s is not None])
                self._copy = copy
        except RedisError as exc:
            raise _failed("reading live silences", exc) from exc
        return [s for s in copy.silences if s.ends_at > now]

    async def all(self) -> list[Silence]:
        try:
            raw = await self._redis.hvals(redis_keys.silences())
        except RedisError as exc:
            raise _failed("reading silences", exc) from exc
        return [s for s in map(_parse, raw) if s is not None]

    async def get(self, silence_id: str) -> Silence | None:
        try:
            return _parse(await self._redis.hget(redis_keys.silences(), silence_id))
        except RedisError as exc:
            raise _failed("reading a silence", exc) from exc

    async def put(self, silences: list[Silence], now: datetime) -> None:
        """Write these silences (by their ids) and prune what ended more than five days ago."""
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                self._write(pipe, silences)
                await pipe.execute()
            await self._prune(now)
        except RedisError as exc:
            raise _failed("writing silences", exc) from exc

    async def edit(self, silence_id: str, decide: Callable[[Silence | None], Awaitable[list[Silence]] | list[Silence]],
                   now: datetime) -> list[Silence]:
        """Read ``silence_id``, let ``decide`` say what to write, write it unless the hash changed
        meanwhile (then read and decide again). Returns what was written."""
        key = redis_keys.silences()
        try:
            for _ in range(_EDIT_ATTEMPTS):
                async with self._redis.pipeline(transaction=True) as pipe:
                    try:
                        await pipe.watch(key)
                        current = _parse(await pipe.hget(key, silence_id)) if silence_id else None
                        writes = decide(current)
                        if not isinstance(writes, list):
                            writes = await writes
                        if not writes:
                            await pipe.unwatch()
                            return []
                        pipe.multi()
                        self._write(pipe, writes)
                        await pipe.execute()
                    except WatchError:
                        continue
                await self._prune(now)
                return writes
        except RedisError as exc:
            raise _failed("editing a silence", exc) from exc
        raise UpstreamError("valkey: silences kept changing under an edit; try again", retryable=True)

    async def watch(self, silence_ids: list[str], workflow_id: str, until: datetime) -> None:
        """Remember that these silences silence ``workflow_id`` (kept until their end plus retention)."""
        if not silence_ids or not workflow_id:
            return
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for sid in silence_ids:
                    key = redis_keys.silence_watchers(sid)
                    pipe.sadd(key, workflow_id)
                    pipe.expireat(key, until + EXPIRED_RETENTION)
                await pipe.execute()
        except RedisError as exc:
            raise _failed("recording a silenced workflow", exc) from exc

    async def watchers(self, silence_id: str) -> list[str]:
        """The workflows this silence silenced: to tell when it is expired or edited."""
        try:
            return sorted(await self._redis.smembers(redis_keys.silence_watchers(silence_id)))
        except RedisError as exc:
            raise _failed("reading silenced workflows", exc) from exc

    async def remember_button(self, token: str, workflow_id: str) -> None:
        try:
            await self._redis.set(redis_keys.silence_button(token), workflow_id, ex=BUTTON_TTL)
        except RedisError as exc:
            raise _failed("registering silence buttons", exc) from exc

    async def button(self, token: str) -> str | None:
        try:
            found = await self._redis.get(redis_keys.silence_button(token))
        except RedisError as exc:
            raise _failed("reading a silence button", exc) from exc
        return found.decode() if isinstance(found, bytes) else found

    @staticmethod
    def _write(pipe, silences: list[Silence]) -> None:  # noqa: ANN001 - a redis pipeline
        for silence in silences:
            pipe.hset(redis_keys.silences(), silence.id, silence.model_dump_json(by_alias=True))
            pipe.zadd(redis_keys.silence_ends(), {silence.id: _ms(silence.ends_at)})
        pipe.incr(redis_keys.silences_version())

    async def _prune(self, now: datetime) -> None:
        cutoff = _ms(now - EXPIRED_RETENTION)
        old = await self._redis.zrangebyscore(redis_keys.silence_ends(), "-inf", f"({cutoff}", start=0, num=_CHUNK)
        if old:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.hdel(redis_keys.silences(), *old)
                pipe.zrem(redis_keys.silence_ends(), *old)
                pipe.incr(redis_keys.silences_version())
                await pipe.execute()

"""Telegram's flood limits, kept by two workers together through one real Valkey, with cards sent
over HTTP to the Telegram loopback. Counts and order are checked; elapsed time only as a lower bound
that the limits themselves impose."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import timedelta

import pytest
from redis.asyncio import Redis

from activities.chat.gate import ChatGate
from activities.valkey import keys as redis_keys
from core import priority
from activities.chat.pacing import PacingLimits, TelegramPacer
from core.errors import UpstreamError


def _pacer(redis: Redis, **limits: float) -> TelegramPacer:
    return TelegramPacer(redis, PacingLimits(**limits))


async def test_two_workers_share_one_chats_spacing_and_group_cap(valkey_url: str) -> None:
    clients = [Redis.from_url(valkey_url, decode_responses=True) for _ in range(2)]
    try:
        pacers = [_pacer(c, chat_interval_seconds=0.1, group_per_minute=4, window_seconds=1.0) for c in clients]
        chat = f"-100{uuid.uuid4().int % 10**9}"
        admitted: list[float] = []

        async def one(pacer: TelegramPacer) -> None:
            await pacer.admit(chat, urgent=True, budget=5)
            admitted.append(time.monotonic())

        started = time.monotonic()
        await asyncio.gather(*(one(pacers[i % 2]) for i in range(8)))
        admitted.sort()
        gaps = [b - a for a, b in zip(admitted, admitted[1:], strict=False)]
        assert min(gaps) >= 0.08, f"spacing kept across workers: {gaps}"
        # 4 per 1 s window: the fifth waits for the first to leave the window.
        assert admitted[4] - started >= 0.9
    finally:
        for c in clients:
            await c.aclose()


async def test_best_effort_gives_up_and_urgent_raises_retryable_when_the_budget_is_short(redis: Redis) -> None:
    pacer = _pacer(redis, chat_interval_seconds=2.0, best_effort_wait_seconds=0.1)
    chat = f"{uuid.uuid4().int % 10**9}"
    assert await pacer.admit(chat, urgent=True, budget=1)
    assert await pacer.admit(chat, urgent=False, budget=10) is False, "a count edit does not wait 2 s"
    with pytest.raises(UpstreamError) as caught:
        await pacer.admit(chat, urgent=True, budget=0.5)
    assert caught.value.retryable


async def test_a_slot_goes_to_the_waiting_call_with_the_lowest_priority_key(valkey_url: str) -> None:
    """When slots are scarce, the critical card that asked last takes the next one, not whichever
    call polls first after it frees (docs/adr/0022-first-words-first.md); a waiter that left (gave
    up, crashed) holds nobody back."""
    clients = [Redis.from_url(valkey_url, decode_responses=True) for _ in range(2)]
    try:
        pacers = [_pacer(c, chat_interval_seconds=0.4) for c in clients]
        chat = f"{uuid.uuid4().int % 10**9}"
        assert await pacers[0].admit(chat, urgent=True, budget=1)  # the slot is taken for 0.4 s
        order: list[str] = []

        async def one(name: str, pacer: TelegramPacer, key: int) -> None:
            await pacer.admit(chat, urgent=True, budget=10, priority_key=key)
            order.append(name)

        edits = [asyncio.create_task(one(f"edit{i}", pacers[i % 2], priority.STATE_CHANGE)) for i in range(3)]
        await asyncio.sleep(0.1)
        critical = asyncio.create_task(one("critical", pacers[1], priority.CRITICAL))
        await asyncio.gather(*edits, critical)
        assert order[0] == "critical", order
        assert not await clients[0].zcard(redis_keys.telegram_waiting(chat)), "every waiter left the list"
        # A best-effort call that gave up is off the list: a later call with a higher key is not held.
        assert await pacers[0].admit(chat, urgent=False, budget=0.05, priority_key=priority.PROBE) is False
        started = time.monotonic()
        await pacers[1].admit(chat, urgent=True, budget=5, priority_key=priority.DEFERRED)
        assert time.monotonic() - started < 2.0
    finally:
        for c in clients:
            await c.aclose()


async def test_a_429_holds_the_chat_for_every_worker(valkey_url: str) -> None:
    clients = [Redis.from_url(valkey_url, decode_responses=True) for _ in range(2)]
    try:
        first, second = (_pacer(c, chat_interval_seconds=0) for c in clients)
        chat = f"{uuid.uuid4().int % 10**9}"
        await first.hold(chat, retry_after=0.6)
        started = time.monotonic()
        await second.admit(chat, urgent=True, budget=5)
        assert time.monotonic() - started >= 0.5
    finally:
        for c in clients:
            await c.aclose()


async def test_the_chat_gate_paces_its_sends(redis: Redis) -> None:
    gate = ChatGate(redis, wait=timedelta(seconds=5), poll_seconds=0.01,
                    pacer=_pacer(redis, chat_interval_seconds=0.2))
    chat = f"{uuid.uuid4().int % 10**9}"
    times = []
    for _ in range(3):
        async with gate.turn(chat):
            times.append(time.monotonic())
    assert times[2] - times[0] >= 0.35
    assert await gate.pace(chat, urgent=False) in (True, False)

"""The per-chat sender gate on real Valkey: one holder per chat across clients (workers), a
crashed holder's lock expires, other chats are not held up; the "may repeat" line renders and
fits in both locales."""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta

import pytest
from redis.asyncio import Redis

from activities.valkey import keys as redis_keys
from activities.chat.gate import ChatGate
from activities.chat.telegram.render import CARD_LIMIT, render_card, render_escalation
from activities.words import LABELS
from core import priority
from core.errors import UpstreamError
from core.priority import QueuePlace
from tests.loopback.telegram import parse_telegram_html, utf16_len
from tests.test_render import UTC_TZ, make_view


async def test_one_sender_per_chat_across_workers(valkey_url, redis) -> None:
    clients = [Redis.from_url(valkey_url, decode_responses=True) for _ in range(3)]
    gates = [ChatGate(client, poll_seconds=0.01) for client in clients]
    inside = 0
    most = 0

    async def send(gate: ChatGate) -> None:
        nonlocal inside, most
        async with gate.turn("-100"):
            inside += 1
            most = max(most, inside)
            await asyncio.sleep(0.02)
            inside -= 1

    try:
        await asyncio.gather(*(send(gates[i % 3]) for i in range(15)))
    finally:
        for client in clients:
            await client.aclose()
    assert most == 1
    assert await redis.exists(redis_keys.chat_sender("-100")) == 0


async def test_a_crashed_holder_frees_the_chat_after_its_hold(redis) -> None:
    gate = ChatGate(redis, hold=timedelta(milliseconds=400), wait=timedelta(seconds=5), poll_seconds=0.01)
    # A worker that died holding the lock left only the key behind.
    await redis.set(redis_keys.chat_sender("-200"), "dead-worker", px=400)
    loop = asyncio.get_running_loop()
    started = loop.time()
    async with gate.turn("-200"):
        waited = loop.time() - started
    assert 0.2 < waited < 2.0
    # Another chat was never held up.
    async with gate.turn("-201"):
        pass


async def test_a_busy_chat_fails_retryably_without_sending(redis) -> None:
    gate = ChatGate(redis, wait=timedelta(milliseconds=200), poll_seconds=0.01)
    await redis.set(redis_keys.chat_sender("-300"), "someone", px=5000)
    with pytest.raises(UpstreamError, match="chat busy") as caught:
        async with gate.turn("-300"):
            pytest.fail("entered a busy chat")
    assert caught.value.retryable


async def test_the_in_flight_marker_tells_a_retry(redis) -> None:
    gate = ChatGate(redis)
    assert await gate.begin("card:x") is False
    assert await gate.begin("card:x") is True  # the retry of a send whose outcome is unknown
    await gate.settled("card:x")
    assert await gate.begin("card:x") is False


@pytest.mark.parametrize("locale", ["en", "zh-TW"])
def test_may_repeat_line_renders_first_and_fits(locale: str) -> None:
    huge = "x" * 5000
    card = render_card(make_view(root_cause=huge, impact=huge, fix=huge, description=huge), locale=locale,
                       tz=UTC_TZ, may_repeat=True)
    plain = parse_telegram_html(card)
    assert plain.startswith(LABELS[locale]["may_repeat"])
    assert utf16_len(plain) <= CARD_LIMIT and utf16_len(card) <= CARD_LIMIT
    assert LABELS[locale]["may_repeat"] not in render_card(make_view(), locale=locale, tz=UTC_TZ)
    escalation = parse_telegram_html(render_escalation(make_view(), "blocked", locale=locale, may_repeat=True))
    assert escalation.startswith(LABELS[locale]["may_repeat"])


async def _queued(redis, chat: str, count: int) -> None:
    """Until ``count`` sends wait in the chat's queue."""
    for _ in range(200):
        if await redis.zcard(redis_keys.chat_queue(chat)) >= count:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{count} waiters never queued")


async def test_the_chat_goes_to_the_lowest_priority_key_then_round_robin_among_sender_groups(redis) -> None:
    """A backlog of one group's cards holds back neither a critical card nor another group's first card
    (docs/adr/0022-first-words-first.md)."""
    gate = ChatGate(redis, wait=timedelta(seconds=10), poll_seconds=0.01)
    order: list[str] = []

    async def send(name: str, place: QueuePlace) -> None:
        async with gate.turn("-300", place):
            order.append(name)
            await asyncio.sleep(0.01)

    storm = QueuePlace(priority.FIRST_WORDS, "alertmanager:HighCPU")
    async with gate.turn("-300"):  # the chat is busy while everyone queues, in this order
        waiting = [asyncio.create_task(send(f"storm{i}", storm)) for i in range(4)]
        await _queued(redis, "-300", 4)
        waiting.append(asyncio.create_task(send("fresh", QueuePlace(priority.FIRST_WORDS, "alertmanager:DiskFull"))))
        waiting.append(asyncio.create_task(send("edit", QueuePlace(priority.STATE_CHANGE, "alertmanager:HighCPU"))))
        waiting.append(asyncio.create_task(send("critical", QueuePlace(priority.CRITICAL, "alertmanager:NodeDown"))))
        await _queued(redis, "-300", 7)
    await asyncio.gather(*waiting)
    assert order[0] == "critical"
    # The new group's first card goes second among the first words, not fifth.
    assert order[1:6] == ["storm0", "fresh", "storm1", "storm2", "storm3"]
    assert order[6] == "edit"
    assert await redis.zcard(redis_keys.chat_queue("-300")) == 0


async def test_a_dead_waiter_is_dropped_and_one_that_gives_up_leaves_the_queue(redis) -> None:
    gate = ChatGate(redis, wait=timedelta(milliseconds=300), poll_seconds=0.01)
    # A worker that died while waiting, at the head of the queue, last seen 10 s ago.
    now_ms = int(time.time() * 1000)
    dead = f"{now_ms - 10_000}|dead|g"
    await redis.zadd(redis_keys.chat_queue("-301"), {dead: priority.PROBE * 10**13 + now_ms - 10_000})
    await redis.zadd(redis_keys.chat_waiting("-301"), {dead: now_ms - 10_000})
    async with gate.turn("-301", QueuePlace(priority.DEFERRED, "g")):
        pass
    assert await redis.zcard(redis_keys.chat_queue("-301")) == 0
    # One that gives up (the chat stays busy past its wait) leaves nothing behind to wait on.
    await redis.set(redis_keys.chat_sender("-301"), "someone", px=5000)
    with pytest.raises(UpstreamError):
        async with gate.turn("-301"):
            pass
    assert await redis.zcard(redis_keys.chat_queue("-301")) == 0
    assert await redis.zcard(redis_keys.chat_waiting("-301")) == 0

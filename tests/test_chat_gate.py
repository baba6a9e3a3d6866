"""The per-chat sender gate on real Valkey: one holder per chat across clients (workers), a
crashed holder's lock expires, other chats are not held up; the "may repeat" line renders and
fits in both locales."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from redis.asyncio import Redis

from activities.valkey import keys as redis_keys
from activities.chat.gate import ChatGate
from activities.chat.telegram.render import CARD_LIMIT, render_card, render_escalation
from activities.words import LABELS
from core.errors import UpstreamError
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

"""Side effects exactly once when Valkey dies between the send and the bookkeeping write.

Each test runs its own Valkey (tests/valkey_faults.py) and kills it by PID from inside the Telegram
or Sentry loopback, right after the message or comment was accepted and before the answer reaches
awoooi: the activity must return what was sent (Temporal's history is the record), never raise and
so never send again on a retry. The loopbacks count what really arrived.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis
from structlog.testing import capture_logs
from temporalio.testing import ActivityEnvironment

from activities.chat.gate import ChatGate
from activities.chat.cards import CardSettings, CardActivities
from activities.chat.telegram.renderer import TelegramRenderer
from activities.valkey.ledger import RedisLedger
from activities.valkey.messages import RedisMessageRefs
from activities.words import LABELS
from activities.sentry.client import SentryClient
from activities.sentry.comments import CommentSettings, SentryActivities
from activities.chat.telegram.client import TelegramClient
from core.inputs import SentryCommentInput
from core.legacy_inputs import CardInput, EditCardInput, EscalateInput
from core.metrics import Metrics
from core.models import SentryRef
from core.settings import Settings
from tests.harness import CHAT_ID
from tests.loopback.telegram import TelegramLoopback
from tests.test_render import T1, UTC_TZ, make_view
from tests.valkey_faults import OwnValkey
from activities.connections import connect_redis

MAY_REPEAT = LABELS["en"]["may_repeat"]


def telegram_activities(telegram: TelegramLoopback, redis: Redis, http: httpx.AsyncClient,
                        metrics: Metrics) -> CardActivities:
    return CardActivities(TelegramClient(http, telegram.token, telegram.base_url), TelegramRenderer(locale="en", tz=UTC_TZ), RedisMessageRefs(redis),
                              CardSettings(chat_id=CHAT_ID), metrics,
                              # A lock left by the killed Valkey's AOF frees the chat in 2 s.
                              ChatGate(redis, hold=timedelta(seconds=2)))


def kill_on_send(telegram: TelegramLoopback, valkey: OwnValkey) -> None:
    telegram.after_next_send(lambda _message_id: valkey.kill())


def counter(metrics: Metrics, kind: str) -> float:
    return metrics.registry.get_sample_value("awoooi_telegram_messages_total", {"kind": kind}) or 0.0


async def test_card_sent_before_valkey_died_is_returned_not_resent(own_valkey, own_redis, telegram, http) -> None:
    metrics = Metrics(CollectorRegistry())
    acts = telegram_activities(telegram, own_redis, http, metrics)
    kill_on_send(telegram, own_valkey)
    with capture_logs() as logs:
        message_id = await ActivityEnvironment().run(acts.post_card, CardInput(view=make_view(), card_key="inc:1"))
    assert telegram.sent_count() == 1 and message_id == "1"
    assert any(e["event"] == "message sent but its reference not kept" and e["log_level"] == "error"
               for e in logs)
    assert counter(metrics, "unrecorded") == 1 and counter(metrics, "sent") == 1


async def test_replacement_card_and_escalation_are_returned_not_resent(own_valkey, own_redis, telegram, http) -> None:
    metrics = Metrics(CollectorRegistry())
    acts = telegram_activities(telegram, own_redis, http, metrics)
    env = ActivityEnvironment()
    # A card id the loopback never issued: "message to edit not found", so a replacement is sent.
    kill_on_send(telegram, own_valkey)
    replaced = await env.run(acts.edit_card, EditCardInput(view=make_view(), message_id=999, card_key="inc:1"))
    assert replaced == "1" and telegram.sent_count() == 1
    own_valkey.start()
    kill_on_send(telegram, own_valkey)
    escalated = await env.run(acts.escalate, EscalateInput(view=make_view(), escalation_key="inc:1:x",
                                                           reason="blocked", reply_to=1))
    assert escalated == "2" and telegram.sent_count() == 2


async def test_sentry_comment_posted_before_valkey_died_is_returned(own_valkey, own_redis, sentry, http) -> None:
    metrics = Metrics(CollectorRegistry())
    acts = SentryActivities(SentryClient(http, sentry.base_url, sentry.token), RedisLedger(own_redis),
                            CommentSettings(org=sentry.org, locale="en", tz=UTC_TZ), metrics)
    view = make_view()
    view = view.model_copy(update={"alert": view.alert.model_copy(update={"sentry": SentryRef(issue_id="42")})})
    sentry.after_next_comment(own_valkey.kill)
    with capture_logs() as logs:
        outcome = await ActivityEnvironment().run(acts.post_comment,
                                                  SentryCommentInput(view=view, comment_key="42:x", at=T1))
    assert outcome == "posted" and len(sentry.comments["42"]) == 1
    assert any(e["event"] == "sentry comment posted but not kept in the ledger" for e in logs)


async def test_retry_after_an_unknown_outcome_says_it_may_repeat(own_redis, telegram, http) -> None:
    """A send whose answer never came (timeout) leaves its in-flight marker: the retry's card says
    it may repeat an earlier one; a send Telegram refused (429) does not."""
    metrics = Metrics(CollectorRegistry())
    client = httpx.AsyncClient(timeout=httpx.Timeout(0.5))
    acts = CardActivities(TelegramClient(client, telegram.token, telegram.base_url), TelegramRenderer(locale="en", tz=UTC_TZ), RedisMessageRefs(own_redis),
                              CardSettings(chat_id=CHAT_ID), metrics, ChatGate(own_redis))
    env = ActivityEnvironment()
    try:
        telegram.stall_next("sendMessage", 1.5)
        with pytest.raises(Exception, match="ReadTimeout"):
            await env.run(acts.post_card, CardInput(view=make_view(), card_key="inc:timeout"))
        assert await env.run(acts.post_card, CardInput(view=make_view(), card_key="inc:timeout")) == "2"
        assert MAY_REPEAT not in telegram.sent[0]["text"] and MAY_REPEAT in telegram.sent[1]["text"]

        telegram.fail_next("sendMessage", 429, {"ok": False, "error_code": 429, "description": "Too Many Requests",
                                                "parameters": {"retry_after": 1}})
        with pytest.raises(Exception, match="429"):
            await env.run(acts.post_card, CardInput(view=make_view(), card_key="inc:429"))
        assert await env.run(acts.post_card, CardInput(view=make_view(), card_key="inc:429")) == "3"
        assert MAY_REPEAT not in telegram.sent[2]["text"]
        # Once the id is kept, a retry returns it without sending.
        assert await env.run(acts.post_card, CardInput(view=make_view(), card_key="inc:429")) == "3"
        assert telegram.sent_count() == 3
    finally:
        await client.aclose()


async def test_more_concurrent_commands_than_connections_wait_for_one_instead_of_failing(own_valkey) -> None:
    """A storm's card activities (200 slots) outnumber the Valkey pool: redis-py's default pool raised
    MaxConnectionsError at its limit, which failed place_card (bench phase 1); the bounded pool waits."""
    client = connect_redis(Settings(redis_url=own_valkey.url, redis_socket_timeout_seconds=5, redis_max_connections=4))
    watcher = Redis.from_url(own_valkey.url, decode_responses=True)
    try:
        commands = asyncio.gather(*(client.blpop([f"awoooi:test:nothing:{i}"], timeout=0.2) for i in range(40)))
        seen = 0
        while not commands.done():
            seen = max(seen, len(await watcher.client_list()) - 1)  # the watcher's own connection
            await asyncio.sleep(0.05)
        assert await commands == [None] * 40
        assert 0 < seen <= 4, f"{seen} connections open at once"
    finally:
        await client.aclose()
        await watcher.aclose()

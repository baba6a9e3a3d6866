"""The renotify and observe_incident activities against the loopback Telegram and a real Valkey:
a re-notification replies to the card, an escalation goes to the escalation chat, each is sent once
per key whatever the retries (and a killed Valkey), and a metric is observed once per once-key."""

from __future__ import annotations

from datetime import timedelta

import httpx
from prometheus_client import CollectorRegistry
from redis.asyncio import Redis
from temporalio.testing import ActivityEnvironment

from activities.chat.cards import CardActivities, CardSettings
from activities.chat.gate import ChatGate
from activities.chat.renotify import RenotifyActivities, RenotifySettings
from activities.chat.telegram.client import TelegramClient
from activities.chat.telegram.render import render_card
from activities.chat.telegram.renderer import TelegramRenderer
from activities.incident.observe import ObserveActivities
from activities.valkey.ledger import RedisLedger
from activities.valkey.messages import RedisMessageRefs
from core.inputs import ObserveInput, RenotifyInput
from core.metrics import Metrics
from core.models import Acknowledgement
from tests.harness import CHAT_ID
from tests.test_render import T1, UTC_TZ, make_view

ESCALATION_CHAT = "-100777"


def _activities(telegram, redis: Redis, http: httpx.AsyncClient, metrics: Metrics,  # noqa: ANN001
                locale: str = "en") -> RenotifyActivities:
    channel = TelegramClient(http, telegram.token, telegram.base_url)
    render = TelegramRenderer(locale=locale, tz=UTC_TZ)
    cards = CardActivities(channel, render, RedisMessageRefs(redis), CardSettings(chat_id=CHAT_ID), metrics,
                           ChatGate(redis, hold=timedelta(seconds=2)), tokens=RedisLedger(redis))
    return RenotifyActivities(cards, channel, render, RenotifySettings(chat_id=CHAT_ID,
                                                                       escalation_chat_id=ESCALATION_CHAT), metrics)


def _inp(n: int, *, escalation: bool = False) -> RenotifyInput:
    what = "escalation" if escalation else f"renotify:{n}"
    return RenotifyInput(view=make_view(), notify_key=f"inc:life:{what}", n=n, escalation=escalation, reply_to="5",
                         unacked_seconds=15 * 60)


async def test_each_renotification_is_a_reply_sent_once_and_the_escalation_goes_to_its_chat(
        own_valkey, own_redis, telegram, http) -> None:
    metrics = Metrics(CollectorRegistry())
    acts = _activities(telegram, own_redis, http, metrics)
    env = ActivityEnvironment()
    first = await env.run(acts.renotify, _inp(1))
    assert await env.run(acts.renotify, _inp(1)) == first, "a retry finds the message it sent"
    second = await env.run(acts.renotify, _inp(2))
    escalated = await env.run(acts.renotify, _inp(0, escalation=True))
    assert len({first, second, escalated}) == 3 and telegram.sent_count() == 3
    reply, _, escalation = telegram.sent
    assert reply["chat_id"] == CHAT_ID and reply["reply_parameters"]["message_id"] == 5
    assert "Still unacknowledged after 15 min" in reply["text"] and "/ack" in reply["text"]
    assert escalation["chat_id"] == ESCALATION_CHAT and "reply_parameters" not in escalation
    assert "Escalated: unacknowledged for 15 min" in escalation["text"]
    sample = metrics.registry.get_sample_value
    assert sample("awoooi_incident_renotifications_total", {"severity": "critical", "kind": "renotify"}) == 2
    assert sample("awoooi_incident_renotifications_total", {"severity": "critical", "kind": "escalation"}) == 1


async def test_a_renotification_sent_before_valkey_died_is_returned_not_resent(own_valkey, own_redis, telegram,
                                                                               http) -> None:
    acts = _activities(telegram, own_redis, http, Metrics(CollectorRegistry()))
    telegram.after_next_send(lambda _message_id: own_valkey.kill())
    assert await ActivityEnvironment().run(acts.renotify, _inp(1)) == "1"
    assert telegram.sent_count() == 1


async def test_zh_tw_renotification_and_the_card_acked_line() -> None:
    view = make_view()
    text = TelegramRenderer(locale="zh-TW", tz=UTC_TZ).renotify(view, 3600).text
    assert "1 h 後仍無人確認" in text and "/ack" in text
    acked = view.model_copy(update={"ackable": True, "acked": Acknowledgement(by="@alice", via="telegram", at=T1)})
    assert "@alice 於" in render_card(acked, locale="zh-TW", tz=UTC_TZ) and "確認" in render_card(acked, locale="zh-TW",
                                                                                                  tz=UTC_TZ)
    en = TelegramRenderer(locale="en", tz=UTC_TZ)
    assert "Acked by @alice at" in en.card(acked, None).text and en.card(acked, None).buttons == []
    open_card = en.card(view.model_copy(update={"ackable": True}), None)
    assert open_card.buttons[-1][0].label.startswith("Ack") and open_card.buttons[-1][0].data.startswith("ak:")
    assert en.card(view, None).buttons == [], "runs without acks: no button"
    zh = TelegramRenderer(locale="zh-TW", tz=UTC_TZ).card(view.model_copy(update={"ackable": True}), None)
    assert zh.buttons[-1][0].label == "Ack ✋ 確認"


async def test_a_metric_is_observed_once_per_key(own_redis) -> None:
    metrics = Metrics(CollectorRegistry())
    acts = ObserveActivities(RedisLedger(own_redis), metrics)
    env = ActivityEnvironment()
    labels = {"service": "checkout", "severity": "critical", "source": "alertmanager"}
    inp = ObserveInput(once_key="inc:life:ack", metric="time_to_acknowledge", labels=labels, value=300)
    assert await env.run(acts.observe, inp) is True
    assert await env.run(acts.observe, inp) is False, "a retry or a replay observes nothing"
    sample = metrics.registry.get_sample_value
    assert sample("awoooi_incident_time_to_acknowledge_seconds_count", labels) == 1
    assert sample("awoooi_incident_time_to_acknowledge_seconds_sum", labels) == 300
    outcome = ObserveInput(once_key="inc:life:repair:r1", metric="repair_outcome",
                           labels={"service": "checkout", "action": "scale_up", "outcome": "verified"})
    assert await env.run(acts.observe, outcome) and not await env.run(acts.observe, outcome)
    assert sample("awoooi_repair_outcomes_total", {"service": "checkout", "action": "scale_up",
                                                   "outcome": "verified"}) == 1

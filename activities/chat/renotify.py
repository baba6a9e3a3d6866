"""Re-notifications and escalations of unacknowledged incidents (docs/adr/0025-acks-and-escalation.md).

A re-notification is a short message replying to the incident's card, so phones ring again where
the card is; an escalation is one message to AWOOOI_ESCALATION_CHAT_ID. Each is named by its
``notify_key`` (incident, lifecycle, n-th re-notification or "escalation") and sent through the card
activities' ``send_once``: under the chat's gate and Telegram's pacer like every other call, looked
up before sending and stored right after, so a retry or a worker restart neither repeats nor loses it.
"""

from __future__ import annotations

from dataclasses import dataclass

import structlog
from temporalio import activity

from activities.chat.cards import CardActivities
from activities.failures import to_application_error
from core.chat import MessageKey
from core.errors import UpstreamError
from core.inputs import RenotifyInput
from core.metrics import Metrics
from core.ports import CardRenderer, ChatChannel

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class RenotifySettings:
    chat_id: str | None
    # None: no escalation chat, so an escalation is logged and nothing is sent.
    escalation_chat_id: str | None = None


class RenotifyActivities:
    def __init__(self, cards: CardActivities, channel: ChatChannel | None, render: CardRenderer,
                 settings: RenotifySettings, metrics: Metrics) -> None:
        self._cards = cards
        self._channel = channel
        self._render = render
        self._settings = settings
        self._metrics = metrics

    @activity.defn(name="renotify")
    async def renotify(self, inp: RenotifyInput) -> str | None:
        """Send the re-notification (or the escalation) once; its reference, None when not sent."""
        chat = self._settings.escalation_chat_id if inp.escalation else self._settings.chat_id
        bound = log.bind(incident_id=inp.view.incident_id, notify_key=inp.notify_key, n=inp.n)
        if self._channel is None or not chat:
            bound.info("no chat for this re-notification; nothing sent", escalation=inp.escalation)
            return None
        channel = self._channel
        # An escalation goes to another chat: it cannot reply to the card.
        reply_to = None if inp.escalation else inp.reply_to
        try:
            ref, sent = await self._cards.send_once(
                chat, MessageKey.renotify(inp.notify_key),
                lambda may_repeat: self._render.renotify(inp.view, inp.unacked_seconds, escalation=inp.escalation,
                                                         may_repeat=may_repeat),
                lambda message: channel.send(chat, message, reply_to=reply_to), bound)
        except UpstreamError as exc:
            self._metrics.telegram_messages.labels(kind="failed").inc()
            raise to_application_error(exc) from exc
        if sent:
            kind = "escalation" if inp.escalation else "renotify"
            self._metrics.renotifications.labels(severity=inp.view.alert.severity.value, kind=kind).inc()
            self._metrics.telegram_messages.labels(kind=kind).inc()
            bound.warning("escalated: nobody acknowledged" if inp.escalation else "re-notified: nobody acknowledged")
        return ref

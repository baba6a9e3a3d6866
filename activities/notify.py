"""The Telegram card: one message per incident, edited in place as the incident changes.

A retried post never sends a second message: the card's message id is stored in the ledger right
after Telegram accepts it and looked up before every send. The one window left is a crash between
Telegram's answer and that write (docs/adr/0004-side-effect-idempotency.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

import structlog
from temporalio import activity

from activities.failures import to_application_error
from activities.render import approval_keyboard, render_card, render_escalation
from core.errors import UpstreamError
from core.inputs import CardInput, EditCardInput, EscalateInput
from core.metrics import Metrics
from core.ports import DeliveryLedger, TelegramApi

log = structlog.get_logger(__name__)

# Telegram's answer when the card was deleted from the chat.
_MESSAGE_GONE = "message to edit not found"


@dataclass(frozen=True)
class CardSettings:
    chat_id: str | None
    locale: str
    tz: ZoneInfo
    # Alert-chain probe cards go here; None: a probe's notify step completes without sending.
    probe_chat_id: str | None = None


def card_ledger_key(card_key: str) -> str:
    return f"card:{card_key}"


class TelegramActivities:
    def __init__(
        self, api: TelegramApi | None, ledger: DeliveryLedger, settings: CardSettings, metrics: Metrics
    ) -> None:
        self._api = api
        self._ledger = ledger
        self._settings = settings
        self._metrics = metrics

    def _chat(self, probe: bool) -> str | None:
        return self._settings.probe_chat_id if probe else self._settings.chat_id

    @activity.defn(name="post_card")
    async def post_card(self, inp: CardInput) -> int | None:
        """Send the incident's card once; return its message id (None when Telegram is not set up)."""
        chat = self._chat(inp.probe)
        if self._api is None or not chat:
            log.info("telegram not configured, card skipped", incident_id=inp.view.incident_id)
            self._metrics.telegram_messages.labels(kind="skipped").inc()
            return None
        try:
            known = await self._ledger.get(card_ledger_key(inp.card_key))
            if known is not None:
                log.info("card already sent", incident_id=inp.view.incident_id, message_id=known)
                return int(known)
            text = render_card(inp.view, locale=self._settings.locale, tz=self._settings.tz, repair=inp.repair)
            markup = approval_keyboard(inp.repair, locale=self._settings.locale)
            message_id = await self._api.send_message(chat, text, reply_markup=markup)
            await self._ledger.put(card_ledger_key(inp.card_key), str(message_id))
        except UpstreamError as exc:
            self._metrics.telegram_messages.labels(kind="failed").inc()
            raise to_application_error(exc) from exc
        self._metrics.telegram_messages.labels(kind="sent").inc()
        log.info("card sent", incident_id=inp.view.incident_id, message_id=message_id)
        return message_id

    @activity.defn(name="edit_card")
    async def edit_card(self, inp: EditCardInput) -> int | None:
        """Edit the card in place; if it was deleted in the chat, send a replacement once and
        return its message id (None when the edit went through)."""
        chat = self._chat(inp.probe)
        if self._api is None or not chat:
            return None
        text = render_card(inp.view, locale=self._settings.locale, tz=self._settings.tz, repair=inp.repair)
        markup = approval_keyboard(inp.repair, locale=self._settings.locale)
        try:
            await self._api.edit_message(chat, inp.message_id, text, reply_markup=markup)
        except UpstreamError as exc:
            if inp.card_key and not inp.probe and exc.status_code == 400 and _MESSAGE_GONE in str(exc).lower():
                return await self._replace(inp, text)
            self._metrics.telegram_messages.labels(kind="failed").inc()
            raise to_application_error(exc) from exc
        self._metrics.telegram_messages.labels(kind="edited").inc()
        log.info("card edited", incident_id=inp.view.incident_id, message_id=inp.message_id, status=inp.view.status)
        return None

    async def _replace(self, inp: EditCardInput, text: str) -> int:
        assert self._api is not None and self._settings.chat_id
        key = card_ledger_key(f"{inp.card_key}:replacing:{inp.message_id}")
        try:
            known = await self._ledger.get(key)
            if known is not None:
                return int(known)
            markup = approval_keyboard(inp.repair, locale=self._settings.locale)
            message_id = await self._api.send_message(self._settings.chat_id, text, reply_markup=markup)
            await self._ledger.put(key, str(message_id))
        except UpstreamError as exc:
            self._metrics.telegram_messages.labels(kind="failed").inc()
            raise to_application_error(exc) from exc
        self._metrics.telegram_messages.labels(kind="sent").inc()
        log.warning("card was deleted in the chat; sent a replacement", incident_id=inp.view.incident_id,
                    old_message_id=inp.message_id, message_id=message_id)
        return message_id

    @activity.defn(name="escalate")
    async def escalate(self, inp: EscalateInput) -> int | None:
        """Ask people to step in: one message per escalation key, replying to the card."""
        if self._api is None or not self._settings.chat_id:
            log.warning("escalation with no chat configured", incident_id=inp.view.incident_id, reason=inp.reason)
            return None
        key = f"escalation:{inp.escalation_key}"
        try:
            known = await self._ledger.get(key)
            if known is not None:
                return int(known)
            text = render_escalation(inp.view, inp.reason, locale=self._settings.locale)
            message_id = await self._api.send_message(self._settings.chat_id, text, reply_to=inp.reply_to)
            await self._ledger.put(key, str(message_id))
        except UpstreamError as exc:
            self._metrics.telegram_messages.labels(kind="failed").inc()
            raise to_application_error(exc) from exc
        self._metrics.telegram_messages.labels(kind="escalation").inc()
        log.warning("escalated", incident_id=inp.view.incident_id, reason=inp.reason, message_id=message_id)
        return message_id

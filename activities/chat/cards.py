"""The Telegram card: one message per incident, edited in place as the incident changes.

A retried post never sends a second message: the card's message id is stored in the ledger right
after Telegram accepts it and looked up before every send. Once Telegram has accepted a message
the activity returns its id even if that ledger write fails (Temporal's history is the record;
raising would send it again). The one window left is a crash between Telegram's answer and the
write: the chat gate holds one send per chat at a time, so a crash repeats at most one card per
chat, and the retry says on the card that it may repeat an earlier one
(docs/adr/0004-side-effect-idempotency.md, docs/adr/0011-chat-gate.md).

In a storm of distinct alerts, place_card shows an incident as a line of the chat's digest
message instead of its own card (activities/chat/digest.py, docs/adr/0016-digest-cards.md).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.chat.gate import ChatGate
from activities.chat.digest import Digest, Want
from activities.chat.digest_show import DigestShows
from activities.failures import to_application_error
from activities.chat.telegram.render import approval_keyboard, render_card, render_escalation
from activities.chat.telegram.render_digest import render_digest_line
from core.errors import RateLimited, UpstreamError
from core.inputs import CardPlacement, EditCardInput, EscalateInput, PlaceCardInput
from core.legacy_inputs import CardInput
from core.metrics import Metrics
from core.models import IncidentView
from core.ports import DeliveryLedger, TelegramApi
from core.repair import RepairPhase, RepairState

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


def _refused(exc: UpstreamError) -> bool:
    """Telegram answered with an error status (4xx, 429, 5xx): it did not take the message, so a
    retry cannot repeat it. A transport error (timeout, reset) or an odd 200 may hide a message
    that did arrive."""
    return isinstance(exc, RateLimited) or (exc.status_code is not None and exc.status_code != 200)


class TelegramActivities:
    def __init__(
        self, api: TelegramApi | None, ledger: DeliveryLedger, settings: CardSettings, metrics: Metrics,
        gate: ChatGate, digest: Digest | None = None,
    ) -> None:
        self._api = api
        self._ledger = ledger
        self._settings = settings
        self._metrics = metrics
        self._gate = gate
        # None: every card is its own (no storm digest).
        self._digest = digest
        self._shows = (DigestShows(digest, api, ledger, metrics, self._send_digest_once, getattr(gate, "pace", None),
                                   locale=settings.locale)
                       if digest is not None and api is not None else None)

    async def _send_once(self, chat_id: str, key: str, render: Callable[[bool], str],
                         send: Callable[[str], Awaitable[int]], bound: structlog.BoundLogger) -> tuple[int, bool]:
        """Send under ``chat_id``'s gate unless ``key`` already holds a message id; return the id and
        whether this call sent it. ``render(may_repeat)`` builds the text."""
        async with self._gate.turn(chat_id):
            known = await self._ledger.get(key)
            if known is not None:
                return int(known), False
            may_repeat = await self._gate.begin(key)
            if may_repeat:
                bound.warning("an earlier attempt may have reached Telegram; sending with a repeat note")
            try:
                message_id = await send(render(may_repeat))
            except UpstreamError as exc:
                if _refused(exc):
                    await self._gate.settled(key)
                if isinstance(exc, RateLimited):
                    await self._gate.rate_limited(chat_id, exc.retry_after)
                raise
            try:
                await self._ledger.put(key, str(message_id))
            except UpstreamError as exc:
                # Telegram has the message: report its id. Raising would retry, i.e. send it twice.
                self._metrics.telegram_messages.labels(kind="unrecorded").inc()
                bound.error("message sent but its id not kept in the ledger", message_id=message_id, error=str(exc))
                return message_id, True
            await self._gate.settled(key)
            return message_id, True

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
        return await self._own_card(chat, inp.view, inp.card_key, inp.repair)

    async def _own_card(self, chat: str, view: IncidentView, card_key: str, repair: RepairState | None) -> int:
        assert self._api is not None
        api = self._api
        bound = log.bind(incident_id=view.incident_id)
        markup = approval_keyboard(repair, locale=self._settings.locale)

        def render(may_repeat: bool) -> str:
            return render_card(view, locale=self._settings.locale, tz=self._settings.tz, repair=repair,
                               may_repeat=may_repeat)

        try:
            message_id, sent = await self._send_once(
                chat, card_ledger_key(card_key), render,
                lambda text: api.send_message(chat, text, reply_markup=markup), bound)
        except UpstreamError as exc:
            self._metrics.telegram_messages.labels(kind="failed").inc()
            raise to_application_error(exc) from exc
        if not sent:
            bound.info("card already sent", message_id=message_id)
            return message_id
        self._metrics.telegram_messages.labels(kind="sent").inc()
        bound.info("card sent", message_id=message_id)
        return message_id

    @activity.defn(name="place_card")
    async def place_card(self, inp: PlaceCardInput) -> CardPlacement:
        """Show the incident once in its chat: its own card (as post_card), or in a storm its line in
        the chat's digest message (docs/adr/0016-digest-cards.md).

        Own card: on demand (``force_own``), for a probe, while a repair awaits approval (its
        buttons), or when the workflow wants one and the chat is not in a storm. Getting its own
        card takes the incident's line out of its digest. A line is stored before anything is
        sent, so a retry (e.g. after "digest not shown yet") only waits for the next render."""
        chat = self._chat(inp.probe)
        if self._api is None or not chat:
            log.info("telegram not configured, card skipped", incident_id=inp.view.incident_id)
            self._metrics.telegram_messages.labels(kind="skipped").inc()
            return CardPlacement()
        if inp.probe or self._digest is None or self._shows is None:
            return CardPlacement(message_id=await self._own_card(chat, inp.view, inp.card_key, inp.repair))
        awaiting = inp.repair is not None and inp.repair.phase is RepairPhase.AWAITING_APPROVAL
        want = (Want.FORCE if inp.force_own or awaiting else Want.LINE if not inp.own_card
                else Want.REASK if inp.reask else Want.OWN)
        try:
            own = await self._digest.place(chat, inp.card_key, want)
        except UpstreamError as exc:
            raise to_application_error(exc) from exc
        bound = log.bind(incident_id=inp.view.incident_id, card_key=inp.card_key)
        if own:
            message_id = await self._own_card(chat, inp.view, inp.card_key, inp.repair)
            await self._shows.unlist(chat, inp.card_key, bound)
            return CardPlacement(message_id=message_id)
        line = render_digest_line(inp.view, locale=self._settings.locale, max_bytes=self._digest.max_line_bytes)
        try:
            digest_id = await self._shows.show_line(chat, inp.card_key, line, bound)
        except UpstreamError as exc:
            raise to_application_error(exc) from exc
        return CardPlacement(digest_message_id=digest_id)

    async def _send_digest_once(self, chat: str, key: str, render: Callable[[bool], str],
                                bound: structlog.BoundLogger) -> tuple[int, bool]:
        assert self._api is not None
        api = self._api
        return await self._send_once(chat, key, render, lambda text: api.send_message(chat, text), bound)

    @activity.defn(name="edit_card")
    async def edit_card(self, inp: EditCardInput) -> str | None:
        """Edit the card in place; if it was deleted in the chat, send a replacement once and
        return its message id (None when the edit went through)."""
        chat = self._chat(inp.probe)
        if self._api is None or not chat:
            return None
        text = render_card(inp.view, locale=self._settings.locale, tz=self._settings.tz, repair=inp.repair)
        markup = approval_keyboard(inp.repair, locale=self._settings.locale)
        try:
            if not await self._gate.pace(chat, urgent=not inp.best_effort):
                self._metrics.telegram_messages.labels(kind="paced").inc()
                # Non-retryable: the workflow keeps the card dirty and edits at its next interval.
                raise ApplicationError("telegram paced: count edit skipped", type="Paced", non_retryable=True)
            await self._api.edit_message(chat, int(inp.message_id), text, reply_markup=markup)
        except UpstreamError as exc:
            if isinstance(exc, RateLimited):
                await self._gate.rate_limited(chat, exc.retry_after)
            if inp.card_key and not inp.probe and exc.status_code == 400 and _MESSAGE_GONE in str(exc).lower():
                return str(await self._replace(inp))
            self._metrics.telegram_messages.labels(kind="failed").inc()
            raise to_application_error(exc) from exc
        self._metrics.telegram_messages.labels(kind="edited").inc()
        log.info("card edited", incident_id=inp.view.incident_id, message_id=inp.message_id, status=inp.view.status)
        return None

    async def _replace(self, inp: EditCardInput) -> int:
        assert self._api is not None and self._settings.chat_id
        api, chat_id = self._api, self._settings.chat_id
        bound = log.bind(incident_id=inp.view.incident_id, old_message_id=inp.message_id)
        markup = approval_keyboard(inp.repair, locale=self._settings.locale)

        def render(may_repeat: bool) -> str:
            return render_card(inp.view, locale=self._settings.locale, tz=self._settings.tz, repair=inp.repair,
                               may_repeat=may_repeat)

        try:
            message_id, sent = await self._send_once(
                chat_id, card_ledger_key(f"{inp.card_key}:replacing:{inp.message_id}"), render,
                lambda text: api.send_message(chat_id, text, reply_markup=markup), bound)
        except UpstreamError as exc:
            self._metrics.telegram_messages.labels(kind="failed").inc()
            raise to_application_error(exc) from exc
        if sent:
            self._metrics.telegram_messages.labels(kind="sent").inc()
            bound.warning("card was deleted in the chat; sent a replacement", message_id=message_id)
        return message_id

    @activity.defn(name="escalate")
    async def escalate(self, inp: EscalateInput) -> str | None:
        """Ask people to step in: one message per escalation key, replying to the card."""
        if self._api is None or not self._settings.chat_id:
            log.warning("escalation with no chat configured", incident_id=inp.view.incident_id, reason=inp.reason)
            return None
        api, chat_id = self._api, self._settings.chat_id
        bound = log.bind(incident_id=inp.view.incident_id, reason=inp.reason)

        def render(may_repeat: bool) -> str:
            return render_escalation(inp.view, inp.reason, locale=self._settings.locale, may_repeat=may_repeat)

        try:
            message_id, sent = await self._send_once(
                chat_id, f"escalation:{inp.escalation_key}", render,
                lambda text: api.send_message(chat_id, text, reply_to=int(inp.reply_to) if inp.reply_to else None), bound)
        except UpstreamError as exc:
            self._metrics.telegram_messages.labels(kind="failed").inc()
            raise to_application_error(exc) from exc
        if sent:
            self._metrics.telegram_messages.labels(kind="escalation").inc()
            bound.warning("escalated", message_id=message_id)
        return str(message_id)

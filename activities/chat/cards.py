"""The incident's card in the chat: one message per incident, edited in place as the incident changes.

Chat-neutral: it speaks to a ``ChatChannel`` (Telegram today, activities/chat/telegram/) in messages a
``CardRenderer`` worded, and keeps references as strings (docs/adr/0021-chat-port.md).

A retried post never sends a second message: the card's reference is stored right after the chat
accepts it and looked up before every send (activities/valkey/messages.py). Once the chat has
accepted a message the activity returns its reference even if that write fails (Temporal's history
is the record; raising would send it again). The one window left is a crash between the chat's answer
and the write: the chat gate holds one send per chat at a time, so a crash repeats at most one card
per chat, and the retry says on the card that it may repeat an earlier one
(docs/adr/0004-side-effect-idempotency.md, docs/adr/0011-chat-gate.md).

In a storm of distinct alerts, place_card shows an incident as a line of the chat's digest message
instead of its own card (activities/chat/digest.py, docs/adr/0016-digest-cards.md).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.chat.digest import Digest, Want
from activities.chat.digest_show import DigestShows
from activities.chat.gate import ChatGate
from activities.chat.place import activity_place
from activities.failures import to_application_error
from core.chat import ChatMessage, MessageKey
from core.errors import MessageGone, RateLimited, UpstreamError
from core.inputs import CardPlacement, EditCardInput, EscalateInput, PlaceCardInput
from core.legacy_inputs import CardInput
from core.metrics import Metrics
from core.models import IncidentView, Severity
from core.priority import QueuePlace
from core.acks import ack_token, ledger_token
from core.postmortem_button import ledger_token as postmortem_ledger_token, postmortem_token, wants_postmortem_button
from core.identity import workflow_id_for
from core.ports import CardRenderer, ChatChannel, IdempotencyLedger, MessageRefs
from core.repair import RepairPhase, RepairState

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class CardSettings:
    chat_id: str | None
    # Alert-chain probe cards go here; None: a probe's notify step completes without sending.
    probe_chat_id: str | None = None


def _refused(exc: UpstreamError) -> bool:
    """The chat answered with an error status (4xx, 429, 5xx): it did not take the message, so a
    retry cannot repeat it. A transport error (timeout, reset) or an odd 200 may hide a message
    that did arrive."""
    return isinstance(exc, RateLimited) or (exc.status_code is not None and exc.status_code != 200)


class CardActivities:
    def __init__(self, channel: ChatChannel | None, render: CardRenderer, refs: MessageRefs, settings: CardSettings,
                 metrics: Metrics, gate: ChatGate, digest: Digest | None = None,
                 tokens: IdempotencyLedger | None = None) -> None:
        self._channel = channel
        # Where an Ack button's token is registered before a card carrying it is sent (None: the
        # button is shown but no tap can find its incident; tests without Valkey).
        self._tokens = tokens
        self._render = render
        self._refs = refs
        self._settings = settings
        self._metrics = metrics
        self._gate = gate
        # None: every card is its own (no storm digest).
        self._digest = digest
        self._shows = (DigestShows(digest, channel, render, refs, metrics, self._send_digest_once,
                                   getattr(gate, "pace", None))
                       if digest is not None and channel is not None else None)

    async def send_once(self, chat: str, key: MessageKey, render: Callable[[bool], ChatMessage],
                        send: Callable[[ChatMessage], Awaitable[str]], bound: structlog.BoundLogger,
                        place: QueuePlace | None = None) -> tuple[str, bool]:
        """Send under ``chat``'s gate unless ``key`` already has a reference; return the reference and
        whether this call sent it. ``render(may_repeat)`` builds the message; ``place`` is where it
        waits for the chat (default: the running activity's priority)."""
        async with self._gate.turn(chat, place or activity_place()):
            known = await self._refs.get(key)
            if known is not None:
                return known, False
            may_repeat = await self._gate.begin(key.name)
            if may_repeat:
                bound.warning("an earlier attempt may have reached the chat; sending with a repeat note")
            try:
                ref = await send(render(may_repeat))
            except UpstreamError as exc:
                if _refused(exc):
                    await self._gate.settled(key.name)
                if isinstance(exc, RateLimited):
                    await self._gate.rate_limited(chat, exc.retry_after)
                raise
            try:
                await self._refs.put(key, ref)
            except UpstreamError as exc:
                # The chat has the message: report it. Raising would retry, i.e. send it twice.
                self._metrics.telegram_messages.labels(kind="unrecorded").inc()
                bound.error("message sent but its reference not kept", message_id=ref, error=str(exc))
                return ref, True
            await self._gate.settled(key.name)
            return ref, True

    def _chat(self, probe: bool) -> str | None:
        return self._settings.probe_chat_id if probe else self._settings.chat_id

    @activity.defn(name="post_card")
    async def post_card(self, inp: CardInput) -> str | None:
        """Generation 1 only (before its digest): send the card once; its reference."""
        chat = self._chat(inp.probe)
        if self._channel is None or not chat:
            log.info("chat not configured, card skipped", incident_id=inp.view.incident_id)
            self._metrics.telegram_messages.labels(kind="skipped").inc()
            return None
        return await self._own_card(chat, inp.view, inp.card_key, inp.repair)

    async def _register_tokens(self, view: IncidentView) -> None:
        await self._register_ack(view)
        await self._register_postmortem(view)

    async def _register_postmortem(self, view: IncidentView) -> None:
        """A resolved card's Postmortem token -> its incident (docs/adr/0026), like the Ack's."""
        if self._tokens is None or not wants_postmortem_button(view):
            return
        token = postmortem_token(view.incident_id, view.resolved_at)
        await self._tokens.register_approval(postmortem_ledger_token(token), view.incident_id)

    async def _register_ack(self, view: IncidentView) -> None:
        """The Ack button's token -> its workflow, before any card carrying it can be tapped
        (an idempotent SET, so every card call may repeat it)."""
        if self._tokens is None or not view.ackable or view.acked is not None:
            return
        workflow_id = workflow_id_for(view.incident_id)
        await self._tokens.register_approval(ledger_token(ack_token(workflow_id)), workflow_id)

    async def _own_card(self, chat: str, view: IncidentView, card_key: str, repair: RepairState | None) -> str:
        assert self._channel is not None
        channel = self._channel
        bound = log.bind(incident_id=view.incident_id)
        try:
            await self._register_tokens(view)
            ref, sent = await self.send_once(
                chat, MessageKey.card(card_key), lambda may_repeat: self._render.card(view, repair, may_repeat=may_repeat),
                lambda message: channel.send(chat, message), bound)
        except UpstreamError as exc:
            self._metrics.telegram_messages.labels(kind="failed").inc()
            raise to_application_error(exc) from exc
        if not sent:
            bound.info("card already sent", message_id=ref)
            return ref
        self._metrics.telegram_messages.labels(kind="sent").inc()
        bound.info("card sent", message_id=ref)
        return ref

    @activity.defn(name="place_card")
    async def place_card(self, inp: PlaceCardInput) -> CardPlacement:
        """Show the incident once in its chat: its own card, or in a storm its line in the chat's
        digest message (docs/adr/0016-digest-cards.md).

        Own card: on demand (``force_own``), for a probe, while a repair awaits approval (its
        buttons), or when the workflow wants one and the chat is not in a storm. Getting its own
        card takes the incident's line out of its digest. A line is stored before anything is
        sent, so a retry (e.g. after "digest not shown yet") only waits for the next render."""
        chat = self._chat(inp.probe)
        if self._channel is None or not chat:
            log.info("chat not configured, card skipped", incident_id=inp.view.incident_id)
            self._metrics.telegram_messages.labels(kind="skipped").inc()
            return CardPlacement()
        if inp.probe or self._digest is None or self._shows is None:
            return CardPlacement(message_id=await self._own_card(chat, inp.view, inp.card_key, inp.repair))
        awaiting = inp.repair is not None and inp.repair.phase is RepairPhase.AWAITING_APPROVAL
        want = (Want.FORCE if inp.force_own or awaiting else Want.LINE if not inp.own_card
                else Want.REASK if inp.reask else Want.OWN)
        try:
            own = await self._digest.place(chat, inp.card_key, want,
                                           critical=inp.view.alert.severity is Severity.CRITICAL)
        except UpstreamError as exc:
            raise to_application_error(exc) from exc
        bound = log.bind(incident_id=inp.view.incident_id, card_key=inp.card_key)
        if own:
            ref = await self._own_card(chat, inp.view, inp.card_key, inp.repair)
            await self._shows.unlist(chat, inp.card_key, bound)
            return CardPlacement(message_id=ref)
        line = self._render.digest_line(inp.view, max_bytes=self._digest.max_line_bytes)
        try:
            digest_ref = await self._shows.show_line(chat, inp.card_key, line, bound,
                                                     critical=inp.view.alert.severity is Severity.CRITICAL)
        except UpstreamError as exc:
            raise to_application_error(exc) from exc
        return CardPlacement(digest_message_id=digest_ref)

    async def _send_digest_once(self, chat: str, key: MessageKey, render: Callable[[bool], ChatMessage],
                                bound: structlog.BoundLogger, place: QueuePlace | None = None) -> tuple[str, bool]:
        assert self._channel is not None
        channel = self._channel
        return await self.send_once(chat, key, render, lambda message: channel.send(chat, message), bound, place)

    @activity.defn(name="edit_card")
    async def edit_card(self, inp: EditCardInput) -> str | None:
        """Edit the card in place; if it was deleted in the chat, send a replacement once and
        return its reference (None when the edit went through)."""
        chat = self._chat(inp.probe)
        if self._channel is None or not chat:
            return None
        message = self._render.card(inp.view, inp.repair)
        try:
            await self._register_tokens(inp.view)
            if not await self._gate.pace(chat, urgent=not inp.best_effort, place=activity_place()):
                self._metrics.telegram_messages.labels(kind="paced").inc()
                # Non-retryable: the workflow keeps the card dirty and edits at its next interval.
                raise ApplicationError("chat paced: count edit skipped", type="Paced", non_retryable=True)
            await self._channel.edit(chat, inp.message_id, message)
        except MessageGone as exc:
            if inp.card_key and not inp.probe:
                return await self._replace(chat, inp)
            self._metrics.telegram_messages.labels(kind="failed").inc()
            raise to_application_error(exc) from exc
        except UpstreamError as exc:
            if isinstance(exc, RateLimited):
                await self._gate.rate_limited(chat, exc.retry_after)
            self._metrics.telegram_messages.labels(kind="failed").inc()
            raise to_application_error(exc) from exc
        self._metrics.telegram_messages.labels(kind="edited").inc()
        log.info("card edited", incident_id=inp.view.incident_id, message_id=inp.message_id, status=inp.view.status)
        return None

    async def _replace(self, chat: str, inp: EditCardInput) -> str:
        assert self._channel is not None
        channel = self._channel
        bound = log.bind(incident_id=inp.view.incident_id, old_message_id=inp.message_id)
        try:
            ref, sent = await self.send_once(
                chat, MessageKey.replacement(inp.card_key, inp.message_id),
                lambda may_repeat: self._render.card(inp.view, inp.repair, may_repeat=may_repeat),
                lambda message: channel.send(chat, message), bound)
        except UpstreamError as exc:
            self._metrics.telegram_messages.labels(kind="failed").inc()
            raise to_application_error(exc) from exc
        if sent:
            self._metrics.telegram_messages.labels(kind="sent").inc()
            bound.warning("card was deleted in the chat; sent a replacement", message_id=ref)
        return ref

    @activity.defn(name="escalate")
    async def escalate(self, inp: EscalateInput) -> str | None:
        """Ask people to step in: one message per escalation key, replying to the card."""
        chat = self._settings.chat_id
        if self._channel is None or not chat:
            log.warning("escalation with no chat configured", incident_id=inp.view.incident_id, reason=inp.reason)
            return None
        channel = self._channel
        bound = log.bind(incident_id=inp.view.incident_id, reason=inp.reason)
        try:
            ref, sent = await self.send_once(
                chat, MessageKey.escalation(inp.escalation_key),
                lambda may_repeat: self._render.escalation(inp.view, inp.reason, may_repeat=may_repeat),
                lambda message: channel.send(chat, message, reply_to=inp.reply_to), bound)
        except UpstreamError as exc:
            self._metrics.telegram_messages.labels(kind="failed").inc()
            raise to_application_error(exc) from exc
        if sent:
            self._metrics.telegram_messages.labels(kind="escalation").inc()
            bound.warning("escalated", message_id=ref)
        return ref

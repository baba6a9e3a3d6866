"""Approve/Reject/Ack/Silence/Postmortem taps and chat commands from Telegram: updates to POST /api/v1/webhooks/telegram.

A callback_query is a button tap (Approve/Reject decide a repair; Ack acknowledges the incident,
docs/adr/0025); a message starting with "/" in the operators' chat is a command
(starter/chat_commands.py). Every other update is ignored.

Checks, in order, each with the answer the tapper sees:
1. the setWebhook secret in X-Telegram-Bot-Api-Secret-Token (else 401, nothing read further);
2. the update_id, once (Telegram re-sends an update until it gets a 2xx);
3. the tapper is one of AWOOOI_TELEGRAM_APPROVER_IDS (else "not allowed", logged with the id);
4. the button is ours and its approval is still known;
then the decision goes to the workflow, and the callback query is answered with what it said.
When Temporal cannot be reached the update is forgotten and 503 makes Telegram send it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import structlog
from temporalio.client import Client

from core.acks import AckRequest, ledger_token, parse_ack_callback
from core.errors import DecisionRefused, IntakeUnavailable, NotFound, PayloadError, UpstreamError
from core.metrics import Metrics
from core.ports import ChatChannel, IdempotencyLedger, SilenceRepository
from core.repair import Decision, parse_callback_data
from core.settings import Settings
from core.postmortem_button import parse_postmortem_data
from core.silence_buttons import parse_silence_data
from starter.approvals import send_ack, send_decision
from starter.chat_commands import ChatCommand, ChatCommands, parse_command
from starter.postmortem_taps import PostmortemTaps
from starter.silence_taps import silence_tap

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Tap:
    update_id: int
    callback_id: str
    user_id: int
    who: str
    data: str
    # The tapped message (the card) and its chat, when Telegram says (it may not for very old ones).
    chat_id: str | None = None
    message_id: str | None = None


def parse_tap(update: Any) -> Tap | None:
    """The callback_query of an update, or None for any other kind of update (ignored)."""
    if not isinstance(update, dict) or not isinstance(update.get("update_id"), int):
        raise PayloadError("not a Telegram update: update_id (integer) is required")
    query = update.get("callback_query")
    if query is None:
        return None
    sender = query.get("from") if isinstance(query, dict) else None
    if not isinstance(query, dict) or not isinstance(query.get("id"), str) or not isinstance(sender, dict) \
            or not isinstance(sender.get("id"), int):
        raise PayloadError("callback_query needs id (string) and from.id (integer)")
    username = sender.get("username")
    who = f"@{username}" if username else " ".join(
        str(sender.get(k)) for k in ("first_name", "last_name") if sender.get(k)) or str(sender["id"])
    message = query.get("message") if isinstance(query.get("message"), dict) else {}
    chat = message.get("chat") if isinstance(message.get("chat"), dict) else {}
    chat_id = str(chat["id"]) if isinstance(chat.get("id"), int) else None
    message_id = str(message["message_id"]) if isinstance(message.get("message_id"), int) else None
    return Tap(update["update_id"], query["id"], sender["id"], who[:100], str(query.get("data") or ""),
               chat_id, message_id)


class TelegramUpdates:
    def __init__(self, settings: Settings, temporal: Client, ledger: IdempotencyLedger, chat: ChatChannel | None,
                 metrics: Metrics, silences: SilenceRepository | None = None,
                 commands: ChatCommands | None = None, postmortems: PostmortemTaps | None = None) -> None:
        self._settings = settings
        self._postmortems = postmortems
        self._silences = silences
        self._commands = commands
        self._temporal = temporal
        self._ledger = ledger
        self._chat = chat
        self._metrics = metrics

    async def handle(self, update: Any) -> dict[str, str]:
        tap = parse_tap(update)
        command: ChatCommand | None = None
        if tap is None:
            command = parse_command(update) if self._commands is not None else None
            if command is None or self._commands is None or not self._commands.operators_chat(command):
                return {"status": "ignored", "reason": "not a button tap or a command in the operators' chat"}
        update_id = tap.update_id if tap is not None else command.update_id  # type: ignore[union-attr]
        user_id = tap.user_id if tap is not None else command.user_id  # type: ignore[union-attr]
        bound = log.bind(update_id=update_id, telegram_user_id=user_id)
        try:
            first = await self._ledger.first_update(str(update_id))
        except UpstreamError as exc:
            raise IntakeUnavailable("ledger unavailable") from exc
        if not first:
            bound.info("telegram update already handled")
            return {"status": "duplicate"}
        try:
            if command is not None:
                assert self._commands is not None
                return await self._commands.handle(command)
            assert tap is not None
            status, text = await self._decide(tap, bound)
        except IntakeUnavailable:
            await self._forget(update_id)  # Telegram re-sends it: the retry is taken, not dropped
            raise
        await self._answer(tap, text, alert=status != "accepted")
        return {"status": status, "detail": text}

    async def _decide(self, tap: Tap, bound: Any) -> tuple[str, str]:
        ack_token = parse_ack_callback(tap.data)
        if ack_token is not None:
            return await self._ack(tap, ack_token, bound)
        postmortem = parse_postmortem_data(tap.data)
        if postmortem is not None:
            return await self._postmortem(tap, postmortem, bound)
        silence = parse_silence_data(tap.data)
        if tap.user_id not in self._settings.telegram_approver_ids:
            if silence is not None:  # not a repair decision: the repair metric does not count it
                bound.warning("silence refused: not an approver", who=tap.who)
                return "refused", "You are not allowed to silence incidents."
            bound.warning("repair decision refused: not an approver", who=tap.who)
            self._metrics.repair_decisions.labels(outcome="unauthorized", via="telegram").inc()
            return "refused", "You are not allowed to approve or reject repairs."
        if silence is not None:
            return await silence_tap(self._temporal, self._silences, kind=silence[0], token=silence[1], who=tap.who,
                                     user_id=tap.user_id, timeout=self._settings.temporal_rpc_timeout_seconds,
                                     bound=bound)
        parsed = parse_callback_data(tap.data)
        if parsed is None:
            return "ignored", "This button is not an awoooi repair button."
        approve, token = parsed
        try:
            workflow_id = await self._ledger.approval(token)
        except UpstreamError as exc:
            raise IntakeUnavailable("ledger unavailable") from exc
        if workflow_id is None:
            return "refused", "This approval request is no longer known."
        decision = Decision(approve=approve, by=tap.who, by_id=str(tap.user_id), via="telegram",
                            at=datetime.now(timezone.utc), approval_token=token)
        try:
            answer = await send_decision(self._temporal, workflow_id, decision,
                                         timeout=self._settings.temporal_rpc_timeout_seconds)
        except (DecisionRefused, NotFound) as exc:
            bound.info("repair decision refused by the workflow", reason=str(exc))
            self._metrics.repair_decisions.labels(outcome="refused", via="telegram").inc()
            return "refused", str(exc)[:200]
        self._metrics.repair_decisions.labels(outcome="approved" if approve else "rejected", via="telegram").inc()
        bound.info("repair decision accepted", approve=approve, who=tap.who, workflow_id=workflow_id)
        return "accepted", answer.message

    async def _ack(self, tap: Tap, token: str, bound: Any) -> tuple[str, str]:
        """The card's Ack button (docs/adr/0025): only the approver allowlist may ack from the chat."""
        if tap.user_id not in self._settings.telegram_approver_ids:
            bound.warning("ack refused: not an approver", who=tap.who)
            return "refused", "You are not allowed to acknowledge incidents."
        try:
            workflow_id = await self._ledger.approval(ledger_token(token))
        except UpstreamError as exc:
            raise IntakeUnavailable("ledger unavailable") from exc
        if workflow_id is None:
            return "refused", "This incident is no longer known."
        request = AckRequest(by=tap.who, by_id=str(tap.user_id), via="telegram", at=datetime.now(timezone.utc))
        try:
            answer = await send_ack(self._temporal, workflow_id, request,
                                    timeout=self._settings.temporal_rpc_timeout_seconds)
        except (DecisionRefused, NotFound) as exc:
            bound.info("ack refused by the workflow", reason=str(exc))
            return "refused", str(exc)[:200]
        bound.info("incident acknowledged", who=tap.who, workflow_id=workflow_id)
        return "accepted", answer.message[:200]

    async def _postmortem(self, tap: Tap, token: str, bound: Any) -> tuple[str, str]:
        """A resolved card's Postmortem button (docs/adr/0026): the approver allowlist only."""
        if tap.user_id not in self._settings.telegram_approver_ids:
            bound.warning("postmortem refused: not an approver", who=tap.who)
            return "refused", "You are not allowed to request postmortems."
        if self._postmortems is None:
            return "refused", "Postmortems are not available here."
        return await self._postmortems.tap(token, chat=tap.chat_id, reply_to=tap.message_id, bound=bound)

    async def _answer(self, tap: Tap, text: str, *, alert: bool) -> None:
        """Best effort: the spinner stops by itself after a while; the decision stands either way."""
        if self._chat is None:
            return
        try:
            await self._chat.answer(tap.callback_id, text, alert=alert)
        except UpstreamError as exc:
            log.warning("answerCallbackQuery failed", update_id=tap.update_id, error=str(exc))

    async def _forget(self, update_id: int) -> None:
        try:
            await self._ledger.forget_update(str(update_id))
        except UpstreamError:
            log.warning("could not forget a telegram update; its retry will be dropped", update_id=update_id)


__all__ = ["TelegramUpdates", "parse_tap"]

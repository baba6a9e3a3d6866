"""A tap on a resolved card's "📝 Postmortem" button: the postmortem draft, sent once to the chat as a
Markdown document replying to the card (docs/adr/0026-timelines-from-histories.md, "The Postmortem
button").

It runs here, in the API, not in the workflow: the draft is read from the incident's histories
(starter/timeline_reader.py, the same as ``awoooi postmortem <id>``), which outlive the run, so the
button works after the run has ended, for as long as the namespace keeps closed runs. Once: the
token is claimed in Valkey (``SET NX``) before anything is read or sent and marked sent after the
chat took the document (activities/valkey/postmortems.py says what a crash in between costs).
"""

from __future__ import annotations

from typing import Any

from temporalio.client import Client

from core.errors import IntakeUnavailable, NotFound, RateLimited, UpstreamError
from core.metrics import Metrics
from core.ports import DocumentChannel, IdempotencyLedger, PostmortemMarks
from core.postmortem_button import Claim, document_name, ledger_token
from core.settings import Settings
from core.timeline.postmortem import postmortem
from starter.timeline_reader import read_timeline

__all__ = ["PostmortemTaps"]

_CAPTION = {"en": "📝 Postmortem draft for {id}", "zh-TW": "📝 事後檢討草稿：{id}"}
_MAY_REPEAT = {"en": "(may repeat an earlier copy: awoooi was interrupted while sending it)",
               "zh-TW": "（可能與先前的一份重複：awoooi 傳送時曾中斷）"}
ALREADY_SENT = "The postmortem was already sent."
BEING_SENT = "The postmortem is being sent (already sent or on its way)."


class PostmortemTaps:
    def __init__(self, settings: Settings, temporal: Client, ledger: IdempotencyLedger, marks: PostmortemMarks,
                 documents: DocumentChannel | None, metrics: Metrics) -> None:
        self._settings = settings
        self._metrics = metrics
        self._temporal = temporal
        self._ledger = ledger
        self._marks = marks
        self._documents = documents

    async def tap(self, token: str, *, chat: str | None, reply_to: str | None, bound: Any) -> tuple[str, str]:
        """(status, answer for the tapper). IntakeUnavailable when Valkey or Temporal cannot answer
        (the update is then forgotten and Telegram re-sends it: not counted, its retry is)."""
        status, answer, outcome = await self._tap(token, chat=chat, reply_to=reply_to, bound=bound)
        self._metrics.postmortems.labels(outcome=outcome).inc()
        return status, answer

    async def _tap(self, token: str, *, chat: str | None, reply_to: str | None,
                   bound: Any) -> tuple[str, str, str]:
        chat = chat or self._settings.telegram_chat_id
        if self._documents is None or not chat:
            return "refused", "No chat is configured to send the postmortem to.", "refused"
        try:
            incident_id = await self._ledger.approval(ledger_token(token))
            if incident_id is None:
                return "refused", "This incident is no longer known.", "refused"
            claim = await self._marks.claim(token)
        except UpstreamError as exc:
            raise IntakeUnavailable("ledger unavailable") from exc
        bound = bound.bind(incident_id=incident_id)
        if claim is Claim.SENT:
            bound.info("postmortem already sent")
            return "already_sent", ALREADY_SENT, "already_sent"
        if claim is Claim.SENDING:
            bound.info("postmortem being sent by an earlier tap")
            return "already_sent", BEING_SENT, "already_sent"
        try:
            timeline = await read_timeline(self._temporal, incident_id)
        except (NotFound, IntakeUnavailable) as exc:
            await self._release(token, bound)
            if isinstance(exc, IntakeUnavailable):
                raise
            return "refused", "The incident's history is no longer kept by Temporal.", "refused"
        locale = self._settings.locale
        caption = _CAPTION.get(locale, _CAPTION["en"]).format(id=incident_id)
        if claim is Claim.MINE_MAY_REPEAT:
            caption = f"{caption}\n{_MAY_REPEAT.get(locale, _MAY_REPEAT['en'])}"
        document = postmortem(timeline, locale=locale, tz=self._settings.tz).encode()
        try:
            ref = await self._documents.send_document(chat, document_name(incident_id), document,
                                                      caption=caption[:1024], reply_to=reply_to)
        except UpstreamError as exc:
            if isinstance(exc, RateLimited) or (exc.status_code is not None and exc.status_code != 200):
                await self._release(token, bound)  # the chat did not take it: the next tap tries again
                bound.warning("postmortem refused by the chat", error=str(exc))
                return "refused", "The chat did not take the postmortem; tap again later.", "failed"
            # A timeout may hide a document that did arrive: keep the claim until it expires.
            bound.warning("postmortem send unconfirmed", error=str(exc))
            return ("refused", "The postmortem may not have been sent; tap again in a few minutes if it does not appear.",
                    "unconfirmed")
        try:
            await self._marks.sent(token, ref)
        except UpstreamError as exc:
            # The chat has it: report success. The claim expires, so a later tap may send a copy
            # that says it may repeat this one.
            bound.error("postmortem sent but not marked", message_id=ref, error=str(exc))
        bound.info("postmortem sent", message_id=ref, bytes=len(document))
        return "accepted", "Postmortem sent.", "sent"

    async def _release(self, token: str, bound: Any) -> None:
        try:
            await self._marks.release(token)
        except UpstreamError as exc:
            bound.warning("postmortem claim not released; it expires by itself", error=str(exc))

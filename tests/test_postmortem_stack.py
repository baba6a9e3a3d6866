"""The resolved card's Postmortem button end to end on the Temporal dev server, real Valkey and the
loopback Telegram: the incident resolves and its run ends, an approver taps the button, the API reads
the histories and sends the draft once as a Markdown document replying to the card; a second tap, a
re-sent webhook update and a stranger's tap send nothing more (docs/adr/0026)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
import structlog
from prometheus_client import CollectorRegistry
from temporalio.client import Client

from activities.chat.telegram.client import TelegramClient
from activities.valkey.ledger import RedisLedger
from activities.valkey.postmortems import RedisPostmortemMarks
from core.metrics import Metrics
from core.postmortem_button import ledger_token, parse_postmortem_data
from starter.postmortem_taps import ALREADY_SENT, BEING_SENT, PostmortemTaps
from tests.harness import CHAT_ID, eventually, running
from tests.loopback.telegram import TelegramLoopback
from tests.repair_support import HPA_ALERT, STRANGER_ID, TELEGRAM_HOOK, alertmanager, card_text, hook_headers, tap
from tests.test_repairs import AM, _open, repair_settings


def _postmortem_button(telegram: TelegramLoopback, message_id: int) -> str | None:
    rows = (telegram.keyboard(message_id) or {}).get("inline_keyboard", [])
    found = [b["callback_data"] for row in rows for b in row if parse_postmortem_data(b["callback_data"])]
    return found[0] if found else None


def _tap_on_card(data: str, message_id: int, **kwargs: object) -> dict:
    update = tap(data, message_id, **kwargs)  # type: ignore[arg-type]
    update["callback_query"]["message"]["chat"] = {"id": int(CHAT_ID), "title": "ops", "type": "supergroup"}
    return update


async def test_the_postmortem_button_sends_the_draft_once(temporal_client: Client, valkey_url, redis, task_queue,
                                                          telegram, tmp_path) -> None:
    fingerprint = uuid.uuid4().hex[:16]
    settings = repair_settings(valkey_url, task_queue, telegram, None, tmp_path)
    async with running(temporal_client, settings) as app:
        workflow_id, message_id = await _open(app, telegram, alertmanager(HPA_ALERT, fingerprint=fingerprint))
        incident = workflow_id.removeprefix("incident-")
        assert _postmortem_button(telegram, message_id) is None, "an open card has no Postmortem button"
        await app.api.post(AM, content=alertmanager(HPA_ALERT, "resolved", fingerprint=fingerprint,
                                                    ends_at="2026-11-25T10:05:00Z"))
        await eventually(lambda: "RESOLVED" in card_text(telegram, message_id), what="the resolved card")
        await eventually(lambda: _postmortem_button(telegram, message_id) is not None, what="the Postmortem button")
        data = _postmortem_button(telegram, message_id)
        assert data is not None and len(data.encode()) <= 64
        outcome = await temporal_client.get_workflow_handle(workflow_id).result()
        assert outcome["status"] == "resolved", "the run has ended: the button reads its history"

        stranger = await app.api.post(TELEGRAM_HOOK, json=_tap_on_card(data, message_id, user_id=STRANGER_ID),
                                      headers=hook_headers())
        assert stranger.json() == {"status": "refused", "detail": "You are not allowed to request postmortems."}
        assert telegram.documents == []

        telegram.fail_next("sendDocument", 500, {"ok": False, "error_code": 500, "description": "Internal Server Error"})
        refused = await app.api.post(TELEGRAM_HOOK, json=_tap_on_card(data, message_id), headers=hook_headers())
        assert refused.json()["status"] == "refused" and "tap again later" in refused.json()["detail"]
        assert telegram.documents == [], "the chat did not take it: the claim is released"

        first = _tap_on_card(data, message_id)
        answer = await app.api.post(TELEGRAM_HOOK, json=first, headers=hook_headers())
        assert answer.json() == {"status": "accepted", "detail": "Postmortem sent."}, answer.text
        resent = await app.api.post(TELEGRAM_HOOK, json=first, headers=hook_headers())  # Telegram re-sends it
        assert resent.json() == {"status": "duplicate"}
        again = await app.api.post(TELEGRAM_HOOK, json=_tap_on_card(data, message_id), headers=hook_headers())
        assert again.json() == {"status": "already_sent", "detail": ALREADY_SENT}

        (document,) = telegram.documents
        assert document["chat_id"] == CHAT_ID
        assert document["reply_parameters"]["message_id"] == message_id
        assert incident in document["caption"] and len(document["caption"]) <= 1024
        assert "may repeat" not in document["caption"], "the refused attempt reached nobody"
        upload = document["document"]
        assert upload["filename"] == f"postmortem-{incident}.md"
        markdown = upload["content"].decode()
        assert f"`{incident}`" in markdown and "## Timeline" in markdown
        for kind in ("fired", "resolved"):
            assert f"| {kind} |" in markdown, kind
        answers = [a["text"] for a in telegram.answers()]
        assert "Postmortem sent." in answers and ALREADY_SENT in answers
        assert not telegram.violations
        # Counted once per approver's tap that was handled (a stranger's and Telegram's re-send are not).
        counted = {outcome: app.metrics.registry.get_sample_value("awoooi_postmortems_total", {"outcome": outcome})
                   for outcome in ("sent", "already_sent", "failed")}
        assert counted == {"sent": 1.0, "already_sent": 1.0, "failed": 1.0}, counted
        await _an_unconfirmed_send_holds_then_repeats_with_a_note(settings, temporal_client, redis, telegram,
                                                                  incident, message_id)


async def _an_unconfirmed_send_holds_then_repeats_with_a_note(settings, temporal_client, redis,  # noqa: ANN001
                                                              telegram: TelegramLoopback, incident: str,
                                                              card: int) -> None:
    """The document arrives but its answer never does (the client times out): the claim holds, so
    a second tap sends nothing; once the claim expired (as after a crash), a tap sends again and
    says it may repeat an earlier copy."""
    token = "0123456789abcdef01234567"
    ledger = RedisLedger(redis)
    await ledger.register_approval(ledger_token(token), incident)
    marks = RedisPostmortemMarks(redis, sending_ttl=timedelta(seconds=30))
    before = len(telegram.documents)
    async with httpx.AsyncClient(timeout=0.3) as http:
        metrics = Metrics(CollectorRegistry())
        taps = PostmortemTaps(settings, temporal_client, ledger, marks,
                              TelegramClient(http, telegram.token, telegram.base_url), metrics)
        bound = structlog.get_logger("test")
        telegram.stall_next("sendDocument", 1.0)
        status, text = await taps.tap(token, chat=CHAT_ID, reply_to=str(card), bound=bound)
        assert status == "refused" and "may not have been sent" in text
        await eventually(lambda: len(telegram.documents) == before + 1, what="the document that did arrive")
        assert await taps.tap(token, chat=CHAT_ID, reply_to=str(card), bound=bound) == ("already_sent", BEING_SENT)
        await redis.pexpire(f"awoooi:ledger:postmortem:{token}", 1)  # the claim's expiry, sooner
        await eventually(lambda: _gone(redis, token), what="the claim expired")
        status, _ = await taps.tap(token, chat=CHAT_ID, reply_to=str(card), bound=bound)
    assert status == "accepted" and len(telegram.documents) == before + 2
    assert metrics.registry.get_sample_value("awoooi_postmortems_total", {"outcome": "unconfirmed"}) == 1.0
    assert "may repeat an earlier copy" in telegram.documents[-1]["caption"]


async def _gone(redis, token: str) -> bool:  # noqa: ANN001
    return not await redis.exists(f"awoooi:ledger:postmortem:{token}")

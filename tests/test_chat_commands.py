"""The operators' chat commands through the real Telegram webhook route, on real Temporal and real
Valkey with the Telegram loopback: /silence /silences /expire /incidents /status, refusals with a
clear answer and nothing changed. Plus the parsing, without a server."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from redis.asyncio import Redis
from temporalio.client import Client

from activities.valkey.silences import RedisSilenceStore
from core.probe import LinkResult, ProbeReport
from starter.chat_commands import CommandRefused, parse_command
from starter.chat_silences import parse_silence_command, split_args
from starter.chat_status import incident_line, order_incidents, report_lines
from tests.alert_flow import ALERTMANAGER, alertmanager_body
from tests.harness import CHAT_ID, eventually, running, settings_for
from tests.loopback.telegram import TelegramLoopback
from tests.repair_support import APPROVER_ID, STRANGER_ID, TELEGRAM_HOOK, WEBHOOK_SECRET, hook_headers

_update_ids = itertools.count(880001000)
NOW = datetime(2026, 12, 6, 20, 0, tzinfo=UTC)


def message(text: str, *, user_id: int = APPROVER_ID, chat_id: str = CHAT_ID, update_id: int | None = None
            ) -> dict[str, Any]:
    """A message update in the shape Telegram sends a bot in a supergroup."""
    sender = {"id": user_id, "is_bot": False, "first_name": "Bijoy", "username": "bijoyvbabu123"} \
        if user_id == APPROVER_ID else {"id": user_id, "is_bot": False, "first_name": "Mallory", "username": "mallory"}
    return {"update_id": update_id if update_id is not None else next(_update_ids),
            "message": {"message_id": 4000 + (update_id or 0) % 1000, "from": sender, "date": 1765051200,
                        "chat": {"id": int(chat_id), "title": "ops", "type": "supergroup"}, "text": text,
                        "entities": [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]}}


# -- parsing, no server -------------------------------------------------------------------------

def test_words_keep_quoted_spaces_and_a_command_names_itself_with_or_without_the_bot() -> None:
    assert split_args('alertname="Disk full" env=~"prod|stage" 2h swap disks') == [
        'alertname="Disk full"', 'env=~"prod|stage"', "2h", "swap", "disks"]
    command = parse_command(message("/silence@awoooi_bot alertname=X 1h"))
    assert command is not None and command.name == "silence" and command.args == "alertname=X 1h"
    assert parse_command({"update_id": 1, "message": {"text": "hello", "chat": {"id": 1}}}) is None
    assert parse_command({"update_id": 1, "edited_message": {}}) is None


def test_a_silence_command_is_alertmanagers_matchers_a_duration_and_a_comment() -> None:
    silence = parse_silence_command('{alertname="DiskFull",env=~"prod.*"} instance!=db1 1d12h swap tonight',
                                    "@alice", NOW)
    assert [str(m) for m in silence.matchers] == ['alertname="DiskFull"', 'env=~"prod.*"', 'instance!="db1"']
    assert silence.ends_at - silence.starts_at == timedelta(days=1, hours=12)
    assert silence.comment == "swap tonight" and silence.created_by == "@alice"
    assert parse_silence_command("alertname=X 30m", "@bob", NOW).comment == "silenced from the chat by @bob"
    for bad, why in (("", "matchers"), ("alertname=X", "matchers"), ("1h", "matchers"),
                     ('alertname="X 1h', "duration"), ("alertname=~\"(\" 1h", "regular expression"),
                     ('env=~".*" 1h', "must not match the empty string"), ("9alert=x 1h", "bad matcher")):
        with pytest.raises(CommandRefused) as refused:
            parse_silence_command(bad, "@alice", NOW)
        assert why in str(refused.value), (bad, str(refused.value))


def test_incidents_unacked_first_when_acks_are_known_and_a_probe_report_per_link() -> None:
    rows = [{"id": "a", "started_at": "2026-12-06T10:00", "acked": "false"},
            {"id": "b", "started_at": "2026-12-06T11:00", "acked": "true"},
            {"id": "c", "started_at": "2026-12-06T09:00", "acked": "false"}]
    assert [r["id"] for r in order_incidents(rows)] == ["a", "c", "b"]
    plain = [{k: v for k, v in r.items() if k != "acked"} for r in rows]
    assert [r["id"] for r in order_incidents(plain)] == ["b", "a", "c"]
    # As `awoooi incidents` rows say it ("yes"/"no"; "-" for a run that records no acks).
    cli = [{**r, "acked": {"true": "yes", "false": "no"}[r["acked"]]} for r in rows] + \
          [{"id": "d", "started_at": "2026-12-06T12:00", "acked": "-"}]
    assert [r["id"] for r in order_incidents(cli)] == ["a", "c", "d", "b"]
    assert "<b>not acked</b>" in incident_line(cli[0]) and "acked" in incident_line(cli[1])
    assert "acked" not in incident_line(cli[3])
    report = ProbeReport(links=[LinkResult(link="api", ok=True, seconds=0.2),
                                LinkResult(link="sentry", ok=False, seconds=3, error="no card <in time>")])
    assert report_lines(report) == ["✅ api 0.2s", "❌ sentry 3.0s — no card &lt;in time&gt;"]


# -- through the webhook ------------------------------------------------------------------------

def _replies(telegram: TelegramLoopback) -> list[str]:
    return [m["text"] for m in telegram.sent if "reply_parameters" in m]


async def test_chat_commands_silence_list_expire_and_refuse(temporal_client: Client, valkey_url: str, redis: Redis,
                                                            task_queue: str, telegram: TelegramLoopback) -> None:
    name = f"Chat{uuid.uuid4().hex[:8]}"
    settings = settings_for(valkey_url, task_queue, telegram, telegram_approver_ids=[APPROVER_ID],
                            telegram_webhook_secret=WEBHOOK_SECRET)
    store = RedisSilenceStore(redis)

    async def send(update: dict[str, Any]) -> dict[str, Any]:
        answer = await app.api.post(TELEGRAM_HOOK, json=update, headers=hook_headers())
        assert answer.status_code == 200, answer.text
        return answer.json()

    def mine() -> list:
        return [s for s in silences if any(m.value == name for m in s.matchers)]

    async with running(temporal_client, settings) as app:
        before = len(await store.all())
        refused = await send(message(f"/silence alertname={name} 1h", user_id=STRANGER_ID))
        assert refused["status"] == "refused" and "not allowed" in refused["detail"]
        bad = await send(message("/silence alertname=X"))
        assert bad["status"] == "refused" and "Usage: <code>/silence &lt;matchers&gt;" in bad["detail"]
        unknown = await send(message("/frobnicate"))
        assert unknown["status"] == "refused" and "/silences" in unknown["detail"]
        elsewhere = await send(message(f"/silence alertname={name} 1h", chat_id="-100999"))
        assert elsewhere["status"] == "ignored"
        assert len(await store.all()) == before, "nothing written by a refusal"
        await eventually(lambda: len(_replies(telegram)) == 3, what="three answers (not the other chat's)")
        assert "not allowed" in _replies(telegram)[0]

        update = message(f'/silence alertname={name} 2h disk swap "tonight"')
        added = await send(update)
        assert added["status"] == "accepted"
        assert (await send(update)) == {"status": "duplicate"}, "Telegram's re-send of the same update"
        silences = await store.all()
        assert len(mine()) == 1 and mine()[0].created_by == "@bijoyvbabu123"
        assert mine()[0].comment == 'disk swap "tonight"'
        sid = mine()[0].id
        listed = await send(message("/silences"))
        assert sid in listed["detail"] or sid in _replies(telegram)[-1]

        answer = await app.api.post(ALERTMANAGER, content=alertmanager_body(name),
                                    headers={"content-type": "application/json"})
        workflow_id = answer.json()["alerts"][0]["workflow_id"]

        async def silenced() -> bool:
            state = await temporal_client.get_workflow_handle(workflow_id).query("state")
            return state is not None and bool(state["silenced"])

        await eventually(silenced, what="the alert silenced")

        async def listed_silenced() -> bool:
            await send(message("/incidents"))
            return any(name in r and "🔕 silenced" in r for r in _replies(telegram)[-1:])

        await eventually(listed_silenced, what="/incidents lists it as silenced")
        assert not [m for m in telegram.sent if f"<b>{name}</b>" in m["text"]], "no card while silenced"

        expired = await send(message(f"/expire {sid}"))
        assert expired["status"] == "accepted" and "expired" in expired["detail"]
        await eventually(lambda: [m for m in telegram.sent if f"<b>{name}</b>" in m["text"]], what="its card")
        silences = await store.all()
        assert mine()[0].ends_at <= datetime.now(UTC)
        again = await send(message("/expire no-such-silence"))
        assert again["status"] == "refused" and "no silence no-such-silence" in again["detail"]

        status = await send(message("/status"))
        assert status["status"] == "accepted" and "probe run" in status["detail"]
        await temporal_client.get_workflow_handle(workflow_id).terminate("test over")


async def test_a_new_silence_reaches_the_open_card_of_the_alert_it_names(
        temporal_client: Client, valkey_url: str, redis: Redis, task_queue: str, telegram: TelegramLoopback) -> None:
    """/silence (or amtool) on an alert whose incident is open with its card: the incident is told, asks
    the verdict, and its card says who silenced it; no second card."""
    name = f"Open{uuid.uuid4().hex[:8]}"
    settings = settings_for(valkey_url, task_queue, telegram, telegram_approver_ids=[APPROVER_ID],
                            telegram_webhook_secret=WEBHOOK_SECRET)
    async with running(temporal_client, settings) as app:
        answer = await app.api.post(ALERTMANAGER, content=alertmanager_body(name),
                                    headers={"content-type": "application/json"})
        workflow_id = answer.json()["alerts"][0]["workflow_id"]
        await eventually(lambda: [m for m in telegram.sent if f"<b>{name}</b>" in m["text"]], what="the card")
        message_id = max(mid for mid, texts in telegram.messages.items() if f"<b>{name}</b>" in texts[0])

        async def listed() -> bool:  # visibility is eventually consistent: the new incident must be listed
            rows = [e async for e in temporal_client.list_workflows(f'WorkflowId="{workflow_id}"')]
            return bool(rows)

        await eventually(listed, what="the incident in visibility")
        added = await app.api.post(TELEGRAM_HOOK, json=message(f"/silence alertname={name} 1h"),
                                   headers=hook_headers())
        assert added.json()["status"] == "accepted"
        await eventually(lambda: "Silenced" in telegram.messages[message_id][-1], what="the card says silenced")
        assert "by @bijoyvbabu123 until" in telegram.messages[message_id][-1]
        assert len([m for m in telegram.sent if f"<b>{name}</b>" in m["text"]]) == 1
        await temporal_client.get_workflow_handle(workflow_id).terminate("test over")

"""The resolved card's Postmortem button: drawn only on resolved cards, callback data that fits
Telegram and never reads as another button, and its once-marks on real Valkey (docs/adr/0026)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from activities.valkey.postmortems import RedisPostmortemMarks
from activities.chat.telegram.renderer import TelegramRenderer
from core.acks import parse_ack_callback
from core.models import IncidentStatus
from core.postmortem_button import (
    Claim,
    document_name,
    parse_postmortem_data,
    postmortem_data,
    postmortem_token,
)
from core.repair import parse_callback_data
from core.silence_buttons import parse_silence_data
from tests.test_render import make_view

RESOLVED_AT = datetime(2026, 12, 6, 9, 30, tzinfo=UTC)


def _postmortem_rows(locale: str, **view: object) -> list[list[tuple[str, str]]]:
    card = TelegramRenderer(locale=locale, tz=ZoneInfo("UTC")).card(make_view(**view), None)  # type: ignore[arg-type]
    return [[(b.label, b.data) for b in row] for row in card.buttons if any(b.data.startswith("pm:") for b in row)]


@pytest.mark.parametrize(("locale", "label"), [("en", "📝 Postmortem"), ("zh-TW", "📝 Postmortem 事後檢討")])
def test_only_a_resolved_card_carries_the_button(locale: str, label: str) -> None:
    rows = _postmortem_rows(locale, status=IncidentStatus.RESOLVED, resolved_at=RESOLVED_AT)
    assert len(rows) == 1 and len(rows[0]) == 1
    shown, data = rows[0][0]
    assert shown == label
    assert len(data.encode()) <= 64
    view = make_view(status=IncidentStatus.RESOLVED, resolved_at=RESOLVED_AT)
    assert parse_postmortem_data(data) == postmortem_token(view.incident_id, RESOLVED_AT)
    assert _postmortem_rows(locale) == []  # open
    assert _postmortem_rows(locale, status=IncidentStatus.EXPIRED) == []


def test_a_probe_card_gets_no_button() -> None:
    assert _postmortem_rows("en", status=IncidentStatus.RESOLVED, resolved_at=RESOLVED_AT,
                            labels={"alertname": "Watchdog", "awoooi_probe": "true"}) == []


def test_each_resolution_has_its_own_token_and_no_other_button_parses_it() -> None:
    first = postmortem_token("alertmanager-HighMemory-api-fp", RESOLVED_AT)
    again = postmortem_token("alertmanager-HighMemory-api-fp", RESOLVED_AT + timedelta(hours=2))
    assert first != again and len(first) == 24
    data = postmortem_data(first)
    assert parse_callback_data(data) is None and parse_ack_callback(data) is None and parse_silence_data(data) is None
    for bad in ("pm:", "pm:" + first + "0", "pm:" + first.upper(), "ak:" + first, "sil:1h:" + first, ""):
        assert parse_postmortem_data(bad) is None


def test_the_document_name_is_safe() -> None:
    assert document_name("alertmanager-HighMemory-api-72a2") == "postmortem-alertmanager-HighMemory-api-72a2.md"
    assert document_name('sentry-a b"c/d') == "postmortem-sentry-a_b_c_d.md"


async def test_claim_once_then_sent_then_released(redis) -> None:  # noqa: ANN001
    marks = RedisPostmortemMarks(redis, sending_ttl=timedelta(seconds=1))
    assert await marks.claim("t1") is Claim.MINE
    assert await marks.claim("t1") is Claim.SENDING  # a second tap while the first sends
    await marks.sent("t1", "42")
    assert await marks.claim("t1") is Claim.SENT
    # The chat refused: released, nothing reached the chat, the next tap tries again as if first.
    assert await marks.claim("t2") is Claim.MINE
    await marks.release("t2")
    assert await marks.claim("t2") is Claim.MINE


async def test_a_crashed_send_expires_and_the_next_one_may_repeat(redis) -> None:  # noqa: ANN001
    marks = RedisPostmortemMarks(redis, sending_ttl=timedelta(seconds=1))
    assert await marks.claim("t3") is Claim.MINE
    # ... the API dies here: no "sent", no release. The claim expires by itself.
    assert await redis.ttl("awoooi:ledger:postmortem:t3") <= 1
    await redis.pexpire("awoooi:ledger:postmortem:t3", 1)
    await asyncio.sleep(0.05)
    assert await marks.claim("t3") is Claim.MINE_MAY_REPEAT

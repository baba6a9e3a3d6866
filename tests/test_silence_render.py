"""The Silence buttons and the "silenced by X until T" line, pure (no server)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from activities.chat.telegram.render import render_card
from activities.chat.telegram.renderer import TelegramRenderer
from core.incident.silencing import button_token
from core.models import IncidentStatus
from core.repair import parse_callback_data
from core.silence_buttons import KINDS, parse_silence_data, silence_data
from tests.test_render import make_view

TOKEN = button_token("0c6a1c2e-93a4-4b1e-8d0f-5b8e2f0d9a11")
UTC_TZ = ZoneInfo("UTC")


def test_callback_data_round_trips_fits_telegram_and_never_reads_as_an_approval() -> None:
    assert len(TOKEN) == 24
    for kind in KINDS:
        data = silence_data(kind, TOKEN)
        assert len(data.encode()) <= 64 and parse_silence_data(data) == (kind, TOKEN)
        assert parse_callback_data(data) is None
    for bad in ("sil:2h:" + TOKEN, "sil:1h:", "sil:1h:XYZ", "rp:a:" + TOKEN, "sil:1h:" + TOKEN + ":x", ""):
        assert parse_silence_data(bad) is None


@pytest.mark.parametrize(("locale", "first"), [("en", "🔕 Silence 1h"), ("zh-TW", "🔕 Silence 1h 靜音 1 小時")])
def test_an_open_card_with_a_token_carries_the_three_buttons(locale: str, first: str) -> None:
    renderer = TelegramRenderer(locale=locale, tz=UTC_TZ)
    view = make_view().model_copy(update={"silence_token": TOKEN})
    rows = renderer.card(view, None).buttons
    assert [b.label for b in rows[-1]][0] == first and len(rows[-1]) == 3
    assert [parse_silence_data(b.data) for b in rows[-1]] == [(k, TOKEN) for k in KINDS]
    assert renderer.card(make_view(), None).buttons == []  # no token: silences off for its run
    closed = view.model_copy(update={"status": IncidentStatus.RESOLVED})
    # A resolved card keeps only its Postmortem button (tests/test_postmortem_button.py).
    assert not [b for row in renderer.card(closed, None).buttons for b in row if parse_silence_data(b.data)]
    assert renderer.card(view.model_copy(update={"status": IncidentStatus.EXPIRED}), None).buttons == []


def test_the_card_says_who_silenced_it_until_when() -> None:
    until = datetime(2026, 12, 6, 15, 0, tzinfo=UTC)
    view = make_view().model_copy(update={"silenced": "silence:abc", "silenced_by": "@alice", "silenced_until": until})
    assert "🔕 <b>Silenced</b> by @alice until 2026-12-06 15:00 UTC" in render_card(view, locale="en", tz=UTC_TZ)
    muted = view.model_copy(update={"silenced_until_resolved": True})
    assert "by @alice until it resolves" in render_card(muted, locale="en", tz=UTC_TZ)
    window = make_view().model_copy(update={"silenced": "window:nightly", "silenced_until": None})
    assert "🔕 <b>Silenced</b> until further notice" in render_card(window, locale="en", tz=UTC_TZ)
    assert "Silenced" not in render_card(make_view(), locale="en", tz=UTC_TZ)

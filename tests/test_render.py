"""Rendering: escaping, the 4096 limit under hostile sizes (checked with the loopback's Telegram HTML
validator and over real HTTP), localisation, time zones and determinism."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import httpx
import pytest

from activities.chat.telegram.render import render_card
from activities.sentry.render import COMMENT_HEADING, render_comment
from activities.chat.telegram.client import TelegramClient
from core.chat import ChatMessage
from core.models import (
    Alert,
    AlertStatus,
    Analysis,
    Frequency,
    IncidentStatus,
    IncidentView,
    Link,
    RecommendedRepair,
    RepairAction,
    Severity,
    Source,
)
from tests.loopback.telegram import TelegramLoopback, parse_telegram_html, utf16_len

UTC_TZ = ZoneInfo("UTC")
TAIPEI = ZoneInfo("Asia/Taipei")
T0 = datetime(2026, 1, 2, 3, 4, tzinfo=UTC)
T1 = datetime(2026, 1, 2, 5, 6, tzinfo=UTC)


def make_view(
    *,
    title: str = "HighMemory on api",
    description: str = "Memory above 90% for 10m",
    severity: Severity = Severity.CRITICAL,
    status: IncidentStatus = IncidentStatus.OPEN,
    root_cause: str = "Memory leak in cache",
    impact: str = "Requests slow down",
    fix: str = "Restart the pod",
    links: list[Link] | None = None,
    labels: dict[str, str] | None = None,
    resolved_at: datetime | None = None,
) -> IncidentView:
    alert = Alert(
        source=Source.ALERTMANAGER,
        fingerprint="fp-1",
        status=AlertStatus.RESOLVED if status is IncidentStatus.RESOLVED else AlertStatus.FIRING,
        severity=severity,
        title=title,
        service="api",
        labels=labels or {"alertname": "HighMemory"},
        annotations={"description": description} if description else {},
        links=links if links is not None else [Link(title="Runbook", url="https://runbooks.example/mem?a=1&b=2")],
    )
    analysis = Analysis(
        category="resource",
        root_cause=root_cause,
        impact=impact,
        fix_suggestion=fix,
        prevention="Set memory limits",
        confidence=0.853,
        analyzed_by="rules",
        recommended_repair=RecommendedRepair(action=RepairAction.RESTART_POD, tier=1, reason="frees memory"),
    )
    return IncidentView(
        incident_id="inc-20260102-abc",
        anomaly_key="alertmanager:api:HighMemory",
        status=status,
        alert=alert,
        analysis=analysis,
        occurrences=7,
        frequency=Frequency(count=9, first_seen=T0, last_seen=T1, last_1h=3, last_24h=9),
        first_seen=T0,
        last_seen=T1,
        resolved_at=resolved_at,
    )


def test_card_contents() -> None:
    card = render_card(make_view(), locale="en", tz=UTC_TZ)
    parse_telegram_html(card)
    assert card.startswith("🔴 <b>OPEN</b>")
    for expected in (
        "HighMemory on api", "Memory above 90% for 10m", "alertmanager", "api", "Critical",
        "<b>Occurrences:</b> 7", "last 1h 3", "last 24h 9", "2026-01-02 03:04 UTC", "2026-01-02 05:06 UTC",
        "resource", "Memory leak in cache", "Requests slow down", "Restart the pod", "85%", "rules",
        "restart_pod (tier 1)", '<a href="https://runbooks.example/mem?a=1&amp;b=2">Runbook</a>',
        "<code>inc-20260102-abc</code>",
    ):
        assert expected in card, expected
    assert "Resolved at" not in card


@pytest.mark.parametrize(
    ("severity", "emoji"),
    [(Severity.CRITICAL, "🔴"), (Severity.ERROR, "🟠"), (Severity.WARNING, "🟡"), (Severity.INFO, "🔵")],
)
def test_severity_emoji(severity: Severity, emoji: str) -> None:
    assert render_card(make_view(severity=severity), locale="en", tz=UTC_TZ).startswith(emoji)


def test_html_is_escaped() -> None:
    hostile = '<script>alert("x")</script> & <b>'
    view = make_view(
        title=hostile, description=hostile, root_cause=hostile, fix=hostile,
        links=[Link(title=hostile, url='https://x.example/?q="><script>&y=1')],
    )
    card = render_card(view, locale="en", tz=UTC_TZ)
    assert "<script>" not in card
    assert "&lt;script&gt;" in card and "&amp;" in card
    assert 'href="https://x.example/?q=&quot;&gt;&lt;script&gt;&amp;y=1"' in card
    assert hostile in parse_telegram_html(card)


def test_huge_inputs_stay_within_limit_and_valid() -> None:
    blob = "<script>&" * 12_000  # ~100 KB, every char expands when escaped
    view = make_view(
        title="T&<" * 5000,
        description=blob,
        root_cause="root " * 20_000,
        impact="😀" * 30_000,  # astral: 2 UTF-16 units each
        fix=blob,
        labels={f"label{i}": "v" * 100 for i in range(500)},
        links=[Link(title=f"link {i} <&>", url=f"https://example.com/{i}?a=1&b=<2>") for i in range(50)],
    )
    card = render_card(view, locale="en", tz=UTC_TZ)
    assert len(card) <= 4096
    assert utf16_len(card) <= 4096
    plain = parse_telegram_html(card)
    assert "…" in plain
    assert "+40 more" in card
    assert "<code>inc-20260102-abc</code>" in card  # the tail survives
    assert "restart_pod (tier 1)" in card


def test_overlong_and_non_http_links_are_counted_not_cut() -> None:
    links = [Link(title="long", url="https://e.example/" + "a" * 2000), Link(title="js", url="javascript:alert(1)")]
    card = render_card(make_view(links=links), locale="en", tz=UTC_TZ)
    assert "+2 more" in card and "href" not in card
    parse_telegram_html(card)


def test_short_fields_are_kept_whole_when_others_are_huge() -> None:
    card = render_card(make_view(description="d" * 100_000, fix="keep this fix"), locale="en", tz=UTC_TZ)
    assert "keep this fix" in card and "Memory leak in cache" in card
    assert len(card) <= 4096


async def test_huge_card_is_accepted_by_loopback_telegram() -> None:
    view = make_view(description="<&>" * 40_000, root_cause="r" * 50_000, links=[
        Link(title=f"l{i}", url=f"https://e.example/{i}") for i in range(50)
    ])
    with TelegramLoopback() as telegram:
        async with httpx.AsyncClient(timeout=5) as http:
            client = TelegramClient(http, telegram.token, telegram.base_url)
            message_id = await client.send("1", ChatMessage(text=render_card(view, locale="en", tz=UTC_TZ)))
            await client.edit("1", message_id, ChatMessage(text=render_card(view, locale="zh-TW", tz=TAIPEI)))
    assert telegram.violations == []
    assert len(telegram.messages[int(message_id)]) == 2


def test_zh_tw_labels() -> None:
    card = render_card(make_view(), locale="zh-TW", tz=UTC_TZ)
    for label in ("嚴重度", "來源", "服務", "發生次數", "根本原因", "影響", "修復建議", "信心度", "建議動作", "處理中"):
        assert label in card, label
    assert "Severity" not in card
    comment = render_comment(make_view(), locale="zh-TW", tz=UTC_TZ, at=T1)
    assert "根本原因" in comment and "預防措施" in comment


def test_unknown_locale_falls_back_to_english() -> None:
    assert render_card(make_view(), locale="fr", tz=UTC_TZ) == render_card(make_view(), locale="en", tz=UTC_TZ)


def test_resolved_card_shows_resolved_time() -> None:
    resolved = datetime(2026, 1, 2, 6, 30, tzinfo=UTC)
    card = render_card(make_view(status=IncidentStatus.RESOLVED, resolved_at=resolved), locale="en", tz=TAIPEI)
    assert card.startswith("✅ <b>RESOLVED</b>")
    assert "Resolved at:</b> 2026-01-02 14:30 CST" in card
    parse_telegram_html(card)


def test_expired_card() -> None:
    card = render_card(make_view(status=IncidentStatus.EXPIRED), locale="en", tz=UTC_TZ)
    assert card.startswith("⌛ <b>EXPIRED</b>")


def test_timezone_is_applied() -> None:
    card = render_card(make_view(), locale="en", tz=TAIPEI)
    assert "2026-01-02 11:04 CST" in card and "2026-01-02 13:06 CST" in card
    assert "03:04" not in card
    naive = make_view()
    naive.frequency.first_seen = datetime(2026, 1, 2, 3, 4)  # naive = UTC
    assert "2026-01-02 11:04 CST" in render_card(naive, locale="en", tz=TAIPEI)


def test_rendering_is_deterministic() -> None:
    assert render_card(make_view(), locale="en", tz=TAIPEI) == render_card(make_view(), locale="en", tz=TAIPEI)
    first = render_comment(make_view(), locale="en", tz=TAIPEI, at=T1)
    assert first == render_comment(make_view(), locale="en", tz=TAIPEI, at=T1)
    assert first != render_comment(make_view(), locale="en", tz=TAIPEI, at=T0)


def test_comment_contents() -> None:
    comment = render_comment(make_view(), locale="en", tz=TAIPEI, at=T1)
    assert comment.startswith(f"### {COMMENT_HEADING}")
    for expected in (
        "Memory leak in cache", "Requests slow down", "Restart the pod", "Set memory limits", "85%",
        "rules", "`restart_pod` (tier 1)", "2026-01-02 13:06 CST", "inc-20260102-abc",
    ):
        assert expected in comment, expected
    assert "<b>" not in comment


def test_comment_bounds_huge_fields() -> None:
    comment = render_comment(make_view(root_cause="x" * 100_000), locale="en", tz=UTC_TZ, at=T1)
    assert len(comment) < 10_000 and "…" in comment

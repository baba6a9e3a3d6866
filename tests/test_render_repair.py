"""The repair section of the card, its Approve/Reject keyboard and the escalation message.

For every phase: its label, the note, the plan (confidence, "based on N"), who decided and when,
at most three operations; buttons only while a decision is awaited, with callback data that fits
Telegram's 64 bytes and parses back. Hostile sizes still give valid Telegram HTML within 4096
UTF-16 units (checked with the loopback's validator, and over HTTP against the loopback Bot API).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from activities.chat.telegram.render import approval_keyboard, render_card, render_escalation
from activities.chat.telegram.client import TelegramClient
from activities.chat.telegram.renderer import TelegramRenderer
from core.learning import SmartRecommendation
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
from core.repair import (
    Decision,
    RepairPhase,
    RepairResult,
    RepairState,
    RepairStatus,
    RepairTarget,
    parse_callback_data,
)
from tests.loopback.telegram import TelegramLoopback, parse_telegram_html, utf16_len

UTC_TZ = ZoneInfo("UTC")
TAIPEI = ZoneInfo("Asia/Taipei")
T0 = datetime(2026, 1, 2, 3, 4, tzinfo=UTC)
TOKEN = uuid.UUID(int=0xDEADBEEF).hex  # what the workflow makes: workflow.uuid4().hex
LOCALES = ("en", "zh-TW")

PHASE_LABELS = {
    "en": {
        RepairPhase.AWAITING_APPROVAL: "Awaiting approval", RepairPhase.RUNNING: "Running",
        RepairPhase.VERIFYING: "Verifying", RepairPhase.SUCCEEDED: "Repaired",
        RepairPhase.FAILED: "Repair failed", RepairPhase.SIMULATED: "Simulated (dry-run)",
        RepairPhase.REJECTED: "Rejected", RepairPhase.TIMED_OUT: "No decision",
        RepairPhase.NOT_NEEDED: "Not needed", RepairPhase.ESCALATED: "Escalated",
        RepairPhase.MANUAL: "Needs a human",
    },
    "zh-TW": {
        RepairPhase.AWAITING_APPROVAL: "等待核准", RepairPhase.RUNNING: "執行中",
        RepairPhase.VERIFYING: "驗證中", RepairPhase.SUCCEEDED: "已修復",
        RepairPhase.FAILED: "修復失敗", RepairPhase.SIMULATED: "模擬（dry-run）",
        RepairPhase.REJECTED: "已拒絕", RepairPhase.TIMED_OUT: "未決定",
        RepairPhase.NOT_NEEDED: "不需要", RepairPhase.ESCALATED: "已升級",
        RepairPhase.MANUAL: "需要人工處理",
    },
}
OPEN_PHASES = {RepairPhase.AWAITING_APPROVAL, RepairPhase.VERIFYING}


def make_view(*, title: str = "HighMemory on api", description: str = "Memory above 90% for 10m",
              root_cause: str = "Memory leak in cache", links: list[Link] | None = None,
              incident_id: str = "alertmanager-1a2b3c", service: str = "api", reason: str = "frees memory",
              category: str = "resource", analyzed_by: str = "rules") -> IncidentView:
    alert = Alert(
        source=Source.ALERTMANAGER, fingerprint="fp-1", status=AlertStatus.FIRING, severity=Severity.CRITICAL,
        title=title, service=service, labels={"alertname": "HighMemory", "pod": "api-7d9f8b6c5d-x2x4q"},
        annotations={"description": description},
        links=links if links is not None else [Link(title="Runbook", url="https://runbooks.example/mem")],
    )
    analysis = Analysis(
        category=category, root_cause=root_cause, impact="Requests slow down", fix_suggestion="Restart the pod",
        prevention="Set memory limits", confidence=0.7, analyzed_by=analyzed_by,
        recommended_repair=RecommendedRepair(action=RepairAction.RESTART_POD, tier=1, reason=reason),
    )
    return IncidentView(
        incident_id=incident_id, anomaly_key="alertmanager:api:HighMemory", status=IncidentStatus.OPEN,
        alert=alert, analysis=analysis, occurrences=4,
        frequency=Frequency(count=4, first_seen=T0, last_seen=T0, last_1h=2, last_24h=4),
        first_seen=T0, last_seen=T0,
    )


def make_plan(*, confidence: float = 0.853, based_on: int = 12,
              source: str = "learning", action: RepairAction = RepairAction.RESTART_POD) -> SmartRecommendation:
    return SmartRecommendation(anomaly_key="alertmanager:api:HighMemory", action=action, tier=action.tier,
                               confidence=confidence, based_on=based_on, source=source)  # type: ignore[arg-type]


def make_state(phase: RepairPhase, *, plan: SmartRecommendation | None = None, token: str | None = TOKEN,
               note: str = "", decision: Decision | None = None, operations: list[str] | None = None,
               deadline: datetime | None = T0 + timedelta(minutes=30)) -> RepairState:
    result = None
    if operations is not None:
        result = RepairResult(repair_id="rep-1", action=RepairAction.RESTART_POD, executor="dry-run",
                              status=RepairStatus.SIMULATED, operations=operations)
    return RepairState(
        repair_id="rep-1", plan=plan or make_plan(), phase=phase, mode="approval",
        target=RepairTarget(namespace="default", pod="api-7d9f8b6c5d-x2x4q", deployment="api"),
        approval_token=token, requested_at=T0, deadline=deadline, decision=decision, result=result, note=note,
    )


def decided(approve: bool, by: str = "@alice", minutes: int = 6) -> Decision:
    return Decision(approve=approve, by=by, via="telegram", at=T0 + timedelta(minutes=minutes))


def card_text(repair: RepairState | None, *, locale: str = "en", tz: ZoneInfo = UTC_TZ,
              view: IncidentView | None = None) -> str:
    """Render, check it is Telegram-valid and within 4096 units, return what the reader sees."""
    card = render_card(view or make_view(), locale=locale, tz=tz, repair=repair)
    assert utf16_len(card) <= 4096
    return parse_telegram_html(card)


def repair_section(plain: str) -> list[str]:
    """The lines from the 🔧 head to the blank line that ends the section."""
    lines = plain.split("\n")
    start = next(i for i, line in enumerate(lines) if line.startswith("🔧"))
    end = lines.index("", start)
    return lines[start:end]


# -- phase, note, plan ----------------------------------------------------------------------------


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("phase", list(RepairPhase))
def test_every_phase_shows_its_label_and_note(phase: RepairPhase, locale: str) -> None:
    note = f"why it is {phase.value}"
    section = repair_section(card_text(make_state(phase, note=note), locale=locale))

    status = section[1]
    assert PHASE_LABELS[locale][phase] in status
    assert status.endswith(f" — {note}")


@pytest.mark.parametrize("phase", list(RepairPhase))
def test_the_deadline_shows_only_while_the_phase_is_open(phase: RepairPhase) -> None:
    status = repair_section(card_text(make_state(phase), tz=TAIPEI))[1]

    if phase in OPEN_PHASES:
        assert status.endswith("until 2026-01-02 11:34 CST")
    else:
        assert "until" not in status


def test_the_plan_shows_action_tier_confidence_evidence_and_source() -> None:
    head = repair_section(card_text(make_state(RepairPhase.AWAITING_APPROVAL)))[0]

    assert head == "🔧 Repair: restart_pod (tier 1) · 85% · based on 12 · from learning"


def test_the_plan_in_zh_tw() -> None:
    head = repair_section(card_text(make_state(RepairPhase.RUNNING, plan=make_plan(source="merged")),
                                    locale="zh-TW"))[0]

    assert head == "🔧 修復: restart_pod (等級 1) · 85% · 依據 12 次 · 來自學習 + 分析"


@pytest.mark.parametrize("locale", LOCALES)
def test_no_evidence_means_no_based_on(locale: str) -> None:
    plan = make_plan(based_on=0, confidence=0.7, source="analysis", action=RepairAction.SCALE_UP)
    head = repair_section(card_text(make_state(RepairPhase.AWAITING_APPROVAL, plan=plan), locale=locale))[0]

    assert "scale_up" in head and "70%" in head
    assert "based on" not in head and "依據" not in head


def test_the_card_without_a_repair_has_no_repair_section() -> None:
    plain = card_text(None)

    assert "🔧" not in plain and "Repair:" not in plain
    assert approval_keyboard(None, locale="en") is None


# -- who decided ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("locale", "approve", "expected"),
    [
        ("en", True, "Approved by @alice at 2026-01-02 11:10 CST"),
        ("en", False, "Rejected by @alice at 2026-01-02 11:10 CST"),
        ("zh-TW", True, "@alice 於 2026-01-02 11:10 CST 核准"),
        ("zh-TW", False, "@alice 於 2026-01-02 11:10 CST 拒絕"),
    ],
)
def test_who_decided_and_when(locale: str, approve: bool, expected: str) -> None:
    phase = RepairPhase.RUNNING if approve else RepairPhase.REJECTED
    section = repair_section(card_text(make_state(phase, decision=decided(approve)), locale=locale, tz=TAIPEI))

    assert section[2] == expected


def test_an_undecided_repair_names_nobody() -> None:
    section = repair_section(card_text(make_state(RepairPhase.AWAITING_APPROVAL)))

    assert len(section) == 2
    assert not any(word in " ".join(section) for word in ("Approved by", "Rejected by"))


# -- operations -----------------------------------------------------------------------------------


def test_at_most_three_operations_then_a_count() -> None:
    ops = [f"PATCH apps/v1 deployments default/api op-{i}" for i in range(5)]
    card = render_card(make_view(), locale="en", tz=UTC_TZ,
                       repair=make_state(RepairPhase.SIMULATED, operations=ops))
    section = repair_section(parse_telegram_html(card))

    assert section[2:] == [*ops[:3], "+2 more"]
    for op in ops[:3]:
        assert f"<code>{op}</code>" in card
    assert "op-3" not in card and "op-4" not in card


@pytest.mark.parametrize("count", [0, 1, 3])
def test_three_or_fewer_operations_are_all_shown(count: int) -> None:
    ops = [f"DELETE v1 pods default/api-{i}" for i in range(count)]
    section = repair_section(card_text(make_state(RepairPhase.SUCCEEDED, operations=ops)))

    assert section[2:] == ops


def test_operations_in_zh_tw_count_the_rest_in_zh_tw() -> None:
    ops = [f"op-{i}" for i in range(7)]
    section = repair_section(card_text(make_state(RepairPhase.SIMULATED, operations=ops), locale="zh-TW"))

    assert section[-1] == "另有 4 個"


def test_decision_and_operations_together_in_order() -> None:
    state = make_state(RepairPhase.FAILED, note="not resolved within 10 min", decision=decided(True, "bob (api)"),
                       operations=["DELETE v1 pods default/api-1"])
    section = repair_section(card_text(state))

    assert section[1] == "❌ Repair failed — not resolved within 10 min"
    assert section[2] == "Approved by bob (api) at 2026-01-02 03:10 UTC"
    assert section[3] == "DELETE v1 pods default/api-1"


# -- escaping -------------------------------------------------------------------------------------


@pytest.mark.parametrize("locale", LOCALES)
def test_free_text_of_the_repair_is_escaped(locale: str) -> None:
    note = 'rolled back <b>v2</b> & "v3" </code>'
    by = "<i>Tom</i> & Jerry"
    op = 'PATCH <x> a&b "c" </code><b>'
    state = make_state(RepairPhase.RUNNING, note=note, decision=decided(True, by), operations=[op])
    plain = card_text(state, locale=locale)

    assert note in plain and by in plain and op in plain


# -- keyboard -------------------------------------------------------------------------------------


@pytest.mark.parametrize("phase", list(RepairPhase))
def test_buttons_only_while_awaiting_approval(phase: RepairPhase) -> None:
    keyboard = approval_keyboard(make_state(phase), locale="en")

    assert (keyboard is not None) is (phase is RepairPhase.AWAITING_APPROVAL)


def test_no_buttons_without_a_token() -> None:
    # The approval could not be registered: the API and CLI still work, a tap would find nothing.
    assert approval_keyboard(make_state(RepairPhase.AWAITING_APPROVAL, token=None), locale="en") is None


@pytest.mark.parametrize(
    ("locale", "approve_text", "reject_text"),
    [("en", "✅ Approve restart_pod", "❌ Reject"), ("zh-TW", "✅ 核准 restart_pod", "❌ 拒絕")],
)
def test_buttons_round_trip_through_parse_callback_data(locale: str, approve_text: str, reject_text: str) -> None:
    keyboard = approval_keyboard(make_state(RepairPhase.AWAITING_APPROVAL), locale=locale)

    assert keyboard is not None
    [[approve, reject]] = keyboard["inline_keyboard"]  # type: ignore[misc]
    assert (approve["text"], reject["text"]) == (approve_text, reject_text)
    for button, expected in ((approve, (True, TOKEN)), (reject, (False, TOKEN))):
        assert 1 <= len(button["callback_data"].encode("utf-8")) <= 64
        assert parse_callback_data(button["callback_data"]) == expected


@pytest.mark.parametrize("action", list(RepairAction))
def test_every_action_fits_the_button(action: RepairAction) -> None:
    token = uuid.uuid4().hex
    keyboard = approval_keyboard(make_state(RepairPhase.AWAITING_APPROVAL, plan=make_plan(action=action),
                                            token=token), locale="en")

    assert keyboard is not None
    [[approve, reject]] = keyboard["inline_keyboard"]  # type: ignore[misc]
    assert action.value in approve["text"]
    assert parse_callback_data(approve["callback_data"]) == (True, token)
    assert parse_callback_data(reject["callback_data"]) == (False, token)
    assert max(len(b["callback_data"].encode()) for b in (approve, reject)) <= 64


# -- hostile sizes --------------------------------------------------------------------------------


def huge_view() -> IncidentView:
    return make_view(
        title="<&>" * 5000, description="😀&" * 20_000, root_cause="<" * 50_000, service="&" * 500,
        incident_id="&" * 1000, reason="&" * 5000, category="<" * 500, analyzed_by="&" * 500,
        links=[Link(title="&" * 100, url="https://x.example/" + "&" * 90) for _ in range(30)],
    )


def huge_state(phase: RepairPhase, by: str = "@alice") -> RepairState:
    return make_state(
        phase, plan=make_plan(based_on=10**6, source="merged"), note="&😀<" * 20_000,
        decision=decided(phase is not RepairPhase.REJECTED, by), operations=["&<😀>" * 5000] * 50,
    )


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("phase", list(RepairPhase))
def test_huge_notes_operations_and_alert_text_still_give_a_valid_card(phase: RepairPhase, locale: str) -> None:
    card = render_card(huge_view(), locale=locale, tz=TAIPEI, repair=huge_state(phase))

    assert utf16_len(card) <= 4096
    section = repair_section(parse_telegram_html(card))
    assert PHASE_LABELS[locale][phase] in section[1]
    assert section[1].endswith("…")  # the note is cut, visibly
    assert len([line for line in section if line.startswith("&<😀>")]) == 3
    assert render_card(huge_view(), locale=locale, tz=TAIPEI, repair=huge_state(phase)) == card


def test_a_decider_name_of_escapable_characters_does_not_overflow_the_card() -> None:
    card = render_card(huge_view(), locale="en", tz=TAIPEI, repair=huge_state(RepairPhase.RUNNING, by="&" * 100))

    assert utf16_len(card) <= 4096
    parse_telegram_html(card)


async def test_a_huge_card_with_buttons_is_accepted_by_the_loopback_bot_api(
    telegram: TelegramLoopback, http: httpx.AsyncClient
) -> None:
    client = TelegramClient(http, telegram.token, telegram.base_url)
    render = TelegramRenderer(locale="zh-TW", tz=TAIPEI)
    waiting = huge_state(RepairPhase.AWAITING_APPROVAL)
    keyboard = approval_keyboard(waiting, locale="zh-TW")

    message_id = await client.send("42", render.card(huge_view(), waiting))
    done = huge_state(RepairPhase.SUCCEEDED)
    await client.edit("42", message_id, render.card(huge_view(), done))

    assert telegram.violations == []
    assert len(telegram.messages[int(message_id)]) == 2
    assert telegram.sent[0]["reply_markup"] == keyboard


# -- escalation -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("locale", "label"), [("en", "Escalated"), ("zh-TW", "已升級")])
def test_escalation_names_the_incident_and_the_reason(locale: str, label: str) -> None:
    view = make_view(title="Disk <full> & slow")
    text = render_escalation(view, "budget spent: 3/3 repairs in the last hour", locale=locale)

    assert parse_telegram_html(text) == (
        f"⚠️ {label} · Disk <full> & slow\n"
        "budget spent: 3/3 repairs in the last hour\n"
        "alertmanager-1a2b3c"
    )


@pytest.mark.parametrize("locale", LOCALES)
def test_a_huge_escalation_is_valid_and_bounded(locale: str) -> None:
    text = render_escalation(make_view(title="<&>" * 5000, incident_id="&" * 1000), "😀<&" * 20_000, locale=locale)

    plain = parse_telegram_html(text)
    assert utf16_len(text) <= 4096
    title, reason, incident = plain.split("\n")
    assert utf16_len(reason) <= 1000 and reason.endswith("…")
    assert incident.endswith("…")

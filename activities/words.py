"""The words awoooi shows people, in English and Traditional Chinese (AWOOOI_LOCALE), shared by every
renderer: the chat's cards (activities/chat/telegram/render.py) and the Sentry comment
(activities/sentry/render.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

_TIME_FORMAT = "%Y-%m-%d %H:%M %Z"

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "open": "OPEN", "resolved": "RESOLVED", "expired": "EXPIRED",
        "critical": "Critical", "error": "Error", "warning": "Warning", "info": "Info",
        "source": "Source", "service": "Service", "severity": "Severity",
        "occurrences": "Occurrences", "frequency": "Frequency", "last_1h": "last 1h", "last_24h": "last 24h",
        "first_seen": "First seen", "last_seen": "Last seen",
        "analysis": "Analysis", "category": "Category", "root_cause": "Root cause", "impact": "Impact",
        "fix": "Fix suggestion", "prevention": "Prevention", "confidence": "Confidence",
        "analyzed_by": "Analyzed by", "action": "Recommended action", "tier": "tier",
        "links": "Links", "more": "+{n} more", "incident": "Incident",
        "resolved_at": "Resolved at", "analyzed_at": "Analyzed at",
        "repair": "Repair", "based_on": "based on {n}", "from": "from {source}", "until": "until {time}",
        "approved_by": "Approved by {who} at {time}", "rejected_by": "Rejected by {who} at {time}",
        "approve": "✅ Approve {action}", "reject": "❌ Reject",
        "learning": "learning", "merged": "learning + analysis",
        "awaiting_approval": "Awaiting approval", "running": "Running", "verifying": "Verifying",
        "succeeded": "Repaired", "failed": "Repair failed", "simulated": "Simulated (dry-run)",
        "rejected": "Rejected", "timed_out": "No decision", "not_needed": "Not needed",
        "escalated": "Escalated", "manual": "Needs a human",
        "may_repeat": "⚠️ This card may repeat an earlier one: awoooi was interrupted while sending it.",
        "ack": "Ack ✋", "acked_by": "👀 Acked by {who} at {time}",
        "renotify": "🔔 Still unacknowledged after {span}", "escalate_unacked": "🚨 Escalated: unacknowledged for {span}",
        "ack_hint": "Ack it on the card, or /ack {id}",
        "silence_1h": "🔕 Silence 1h", "silence_4h": "🔕 Silence 4h", "silence_mr": "🔕 Mute until resolved",
        "silenced": "Silenced", "silenced_by": "by {who}", "until_resolved": "until it resolves",
        "until_further": "until further notice",
        "postmortem": "📝 Postmortem",
        "flapping": "🔁 Flapping: fired {n} times in the last {span}",
        "stable_again": "🟢 Stable again: no re-fire for {span}",
    },
    "zh-TW": {
        "open": "處理中", "resolved": "已解決", "expired": "已過期",
        "critical": "嚴重", "error": "錯誤", "warning": "警告", "info": "資訊",
        "source": "來源", "service": "服務", "severity": "嚴重度",
        "occurrences": "發生次數", "frequency": "頻率", "last_1h": "近 1 小時", "last_24h": "近 24 小時",
        "first_seen": "首次發生", "last_seen": "最後發生",
        "analysis": "分析", "category": "類別", "root_cause": "根本原因", "impact": "影響",
        "fix": "修復建議", "prevention": "預防措施", "confidence": "信心度",
        "analyzed_by": "分析者", "action": "建議動作", "tier": "等級",
        "links": "連結", "more": "另有 {n} 個", "incident": "事件",
        "resolved_at": "解決時間", "analyzed_at": "分析時間",
        "repair": "修復", "based_on": "依據 {n} 次", "from": "來自{source}", "until": "截止 {time}",
        "approved_by": "{who} 於 {time} 核准", "rejected_by": "{who} 於 {time} 拒絕",
        "approve": "✅ 核准 {action}", "reject": "❌ 拒絕",
        "learning": "學習", "merged": "學習 + 分析",
        "awaiting_approval": "等待核准", "running": "執行中", "verifying": "驗證中",
        "succeeded": "已修復", "failed": "修復失敗", "simulated": "模擬（dry-run）",
        "rejected": "已拒絕", "timed_out": "未決定", "not_needed": "不需要",
        "escalated": "已升級", "manual": "需要人工處理",
        "may_repeat": "⚠️ 此卡片可能與先前的一則重複：awoooi 傳送時曾中斷。",
        "ack": "Ack ✋ 確認", "acked_by": "👀 {who} 於 {time} 確認（acked）",
        "renotify": "🔔 {span} 後仍無人確認", "escalate_unacked": "🚨 已升級：{span} 無人確認",
        "ack_hint": "在卡片上按 Ack，或 /ack {id}",
        "silence_1h": "🔕 Silence 1h 靜音 1 小時", "silence_4h": "🔕 Silence 4h 靜音 4 小時",
        "silence_mr": "🔕 Mute until resolved 靜音至解決",
        "silenced": "已靜音", "silenced_by": "由 {who}", "until_resolved": "直到解決",
        "until_further": "直到另行通知",
        "postmortem": "📝 Postmortem 事後檢討",
        "flapping": "🔁 Flapping 反覆觸發：近 {span} 內觸發 {n} 次",
        "stable_again": "🟢 Stable again 已穩定：{span} 內未再觸發",
    },
}


def labels(locale: str) -> dict[str, str]:
    """The label table for ``locale``; unknown locales fall back to English."""
    return LABELS.get(locale, LABELS["en"])


def format_time(value: datetime, tz: ZoneInfo) -> str:
    """Format in ``tz``; naive datetimes are taken as UTC (what the parsers produce)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(tz).strftime(_TIME_FORMAT)




def format_span(seconds: float) -> str:
    """A short duration: 40 s, 45 min, 2 h 5 min, 1 d 3 h (the same in both locales)."""
    if seconds < 60:
        return f"{max(int(seconds), 0)} s"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"

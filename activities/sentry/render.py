"""The Sentry comment: the analysis as markdown on the Sentry issue.

Deterministic for equal inputs (no clock; ``at`` comes from the workflow), which is what makes a
retried comment come back as Sentry's "already posted".
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from activities.words import format_time, labels
from core.models import IncidentView

COMMENT_HEADING = "awoooi analysis"  # not localized: it marks our own comments in Sentry webhooks
ELLIPSIS = "…"
_COMMENT_FIELD_LIMIT = 2000


def _clip(text: str, limit: int = _COMMENT_FIELD_LIMIT) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + ELLIPSIS


def render_comment(view: IncidentView, *, locale: str, tz: ZoneInfo, at: datetime) -> str:
    """The Sentry comment (markdown). Deterministic for equal inputs: it is the idempotency basis."""
    text = labels(locale)
    alert, analysis = view.alert, view.analysis
    repair = analysis.recommended_repair
    action = f"`{repair.action.value}` ({text['tier']} {repair.tier})"
    if repair.reason.strip():
        action += f" — {_clip(repair.reason, 500)}"
    lines = [
        f"### {COMMENT_HEADING}",
        f"**{_clip(alert.title, 300)}** · {text[alert.severity.value]} · {_clip(alert.service, 100)}",
        "",
        f"**{text['category']}:** {_clip(analysis.category, 100)}",
        f"**{text['root_cause']}:** {_clip(analysis.root_cause)}",
        f"**{text['impact']}:** {_clip(analysis.impact)}",
        f"**{text['fix']}:** {_clip(analysis.fix_suggestion)}",
        f"**{text['prevention']}:** {_clip(analysis.prevention)}",
        f"**{text['confidence']}:** {round(analysis.confidence * 100)}% · "
        f"**{text['analyzed_by']}:** {_clip(analysis.analyzed_by, 100)}",
        f"**{text['action']}:** {action}",
        "",
        f"**{text['incident']}:** `{_clip(view.incident_id, 150)}` · "
        f"**{text['analyzed_at']}:** {format_time(at, tz)}",
    ]
    return "\n".join(lines)



"""Pure rendering of the storm digest: one line per incident, and the message that lists them.

A line names the alert the way its card does (activities/chat/telegram/render.py: status emoji, status, severity,
title, service, occurrences, incident id) plus the labels that tell one alert of a storm from the
next (instance, pod, ...): 25 "HighLatency" lines that differ only in their instance must say so.
Every dynamic piece has a fixed cap, so a line stays under ``max_bytes`` UTF-8 bytes (Lua counts
bytes; a byte is never fewer than the UTF-16 units Telegram counts).
"""

from __future__ import annotations

import html

from activities.chat.telegram.render import CARD_LIMIT, fit, labels, status_emoji
from core.models import IncidentView

__all__ = ["digest_labels", "render_digest", "render_digest_line"]

# Labels that the line already shows (alertname, severity, service) or that only name the rule.
_SHOWN_ELSEWHERE = {"alertname", "severity", "service", "ruleId", "ruleSource", "alertstate", "__name__"}
# The labels that usually tell the alerts of one storm apart, in the order they are shown.
_DISTINGUISHING = ("instance", "pod", "namespace", "container", "node", "host", "job", "device", "mountpoint",
                   "deployment", "statefulset", "daemonset", "cluster", "region", "zone")
_MAX_LABELS = 4

TEXT: dict[str, dict[str, str]] = {
    "en": {
        "title": "Alert storm",
        "count": "{n} incidents in this message",
        "own": "Each keeps its own workflow; its own card: ",
        "hint": "awoooi card <incident_id>",
        "over": "The storm is over: every incident listed here has its own card now.",
    },
    "zh-TW": {
        "title": "告警風暴",
        "count": "本訊息列出 {n} 個事件",
        "own": "每個事件仍有自己的工作流程；要看它自己的卡片：",
        "hint": "awoooi card <incident_id>",
        "over": "風暴已過：這裡列過的每個事件現在都有自己的卡片。",
    },
}


def _text(locale: str) -> dict[str, str]:
    return TEXT.get(locale, TEXT["en"])


def digest_labels(view: IncidentView) -> list[tuple[str, str]]:
    """The alert's distinguishing labels: well-known ones first, then the rest by name, at most four."""
    alert = view.alert
    candidates = {key: value for key, value in alert.labels.items()
                  if key not in _SHOWN_ELSEWHERE and value.strip() and value != alert.service}
    known = [key for key in _DISTINGUISHING if key in candidates]
    rest = sorted(key for key in candidates if key not in _DISTINGUISHING)
    return [(key, candidates[key]) for key in (known + rest)[:_MAX_LABELS]]


def render_digest_line(view: IncidentView, *, locale: str, max_bytes: int = 350) -> str:
    """One incident's line (Telegram HTML) in at most ``max_bytes`` UTF-8 bytes: labels are dropped
    from the last one on, then the title and service are cut shorter, until it fits."""
    text = labels(locale)
    alert = view.alert
    pairs = [f"{fit(key, 20)}={fit(value, 40)}" for key, value in digest_labels(view)]
    for title_cap, service_cap in ((60, 40), (24, 20)):
        head = (f"{status_emoji(view)} <b>{html.escape(text[view.status.value], quote=False)}</b> · "
                f"{html.escape(text[alert.severity.value], quote=False)} · "
                f"<b>{fit(alert.title.strip() or alert.alertname, title_cap)}</b> · {fit(alert.service, service_cap)}")
        tail = f" · ×{view.occurrences} · <code>{fit(view.incident_id, 60)}</code>"
        shown = list(pairs)
        while True:
            line = head + (f" · {', '.join(shown)}" if shown else "") + tail
            if len(line.encode()) <= max_bytes or not shown:
                break
            shown.pop()
        if len(line.encode()) <= max_bytes:
            return line
    return line  # only a pathological locale/id could get here; Digest's byte bound still holds the message


def render_digest(lines: list[str], *, locale: str, may_repeat: bool = False) -> str:
    """The digest message: a header saying how many incidents it lists and how to get one's own card,
    then the lines in the order they were added."""
    text = _text(locale)
    if not lines:  # every line left for its incident's own card
        header = [f"🌩 <b>{html.escape(text['title'], quote=False)}</b>", html.escape(text["over"], quote=False)]
        if may_repeat:
            header.insert(0, f"<i>{html.escape(labels(locale)['may_repeat'], quote=False)}</i>")
        return "\n".join(header)
    header = [
        f"🌩 <b>{html.escape(text['title'], quote=False)}</b> · {html.escape(text['count'].format(n=len(lines)), quote=False)}",
        f"<i>{html.escape(text['own'], quote=False)}</i><code>{html.escape(text['hint'], quote=False)}</code>",
        "",
    ]
    if may_repeat:
        header.insert(0, f"<i>{html.escape(labels(locale)['may_repeat'], quote=False)}</i>")
    body = "\n".join(header + lines)
    if len(body.encode("utf-16-le")) // 2 > CARD_LIMIT:  # unreachable: Digest bounds a message's lines
        raise ValueError(f"digest of {len(lines)} lines exceeds {CARD_LIMIT} units")
    return body

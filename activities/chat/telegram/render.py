"""Pure rendering of an :class:`IncidentView` into a Telegram card (HTML), its escalation and buttons.

No I/O and no clock: the same view renders the same text, which is what makes a retried edit come
back as Telegram's "message is not modified" and a retried comment as Sentry's "already posted".

Telegram rejects a whole message over 4096 characters or with one broken tag, so the card is built
from escaped pieces whose sizes are budgeted up front: free text is cut on a character boundary
*before* it is escaped and wrapped, never the finished HTML. Sizes are counted in UTF-16 code units
(how Telegram counts), which is never less than Python's ``len``.
"""

from __future__ import annotations

import html
from zoneinfo import ZoneInfo

from core.alert_words import alert_links, alert_words
from activities.words import format_span, format_time, labels
from core.acks import ack_callback_data
from core.identity import workflow_id_for
from core.models import IncidentStatus, IncidentView, Severity
from activities.chat.telegram.silence_render import silenced_line
from core.repair import RepairPhase, RepairState, callback_data

CARD_LIMIT = 4096
ELLIPSIS = "…"
MAX_LINKS = 10
_LINKS_BUDGET = 1200
_MAX_HREF = 512

SEVERITY_EMOJI = {Severity.CRITICAL: "🔴", Severity.ERROR: "🟠", Severity.WARNING: "🟡", Severity.INFO: "🔵"}
_STATUS_EMOJI = {IncidentStatus.RESOLVED: "✅", IncidentStatus.EXPIRED: "⌛"}
_FREE_FIELDS = ("description", "root_cause", "impact", "fix")
_PHASE_EMOJI = {
    RepairPhase.AWAITING_APPROVAL: "⏳", RepairPhase.RUNNING: "▶️", RepairPhase.VERIFYING: "🔎",
    RepairPhase.SUCCEEDED: "✅", RepairPhase.FAILED: "❌", RepairPhase.SIMULATED: "🧪",
    RepairPhase.REJECTED: "🚫", RepairPhase.TIMED_OUT: "⌛", RepairPhase.NOT_NEEDED: "➖",
    RepairPhase.ESCALATED: "⚠️", RepairPhase.MANUAL: "👤",
}
_MAX_OPERATIONS = 3


def status_emoji(view: IncidentView) -> str:
    """The emoji a card (and its digest line) starts with: the status once closed, else the severity."""
    return _STATUS_EMOJI.get(view.status, SEVERITY_EMOJI.get(view.alert.severity, "🔵"))


def _u16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def fit(text: str, limit: int, *, quote: bool = False) -> str:
    """Escape ``text`` for Telegram HTML in at most ``limit`` UTF-16 units, cutting the *raw* text
    (so no entity is split) and marking the cut with an ellipsis."""
    escaped = html.escape(text, quote=quote)
    if _u16(escaped) <= limit:
        return escaped
    if limit <= 0:
        return ""
    pieces: list[str] = []
    used = 0
    for char in text:
        piece = html.escape(char, quote=quote)
        width = _u16(piece)
        if used + width > limit - 1:
            break
        pieces.append(piece)
        used += width
    return "".join(pieces).rstrip() + ELLIPSIS


def _share(needs: dict[str, int], budget: int) -> dict[str, int]:
    """Split ``budget`` among fields: short ones get all they need, the longest share the rest."""
    alloc: dict[str, int] = {}
    remaining = max(budget, 0)
    pending = sorted(needs, key=lambda key: needs[key])
    while pending:
        share = remaining // len(pending)
        if needs[pending[0]] <= share:
            key = pending.pop(0)
            alloc[key] = needs[key]
            remaining -= needs[key]
        else:
            alloc.update({key: share for key in pending})
            break
    return alloc


def _links(view: IncidentView, text: dict[str, str]) -> str:
    """Up to MAX_LINKS anchors within a fixed budget; the rest are counted as "+N more"."""
    shown: list[str] = []
    used = 0
    links = alert_links(view.alert)
    for link in links:
        if len(shown) >= MAX_LINKS:
            break
        href = html.escape(link.url.strip(), quote=True)
        if not link.url.strip().lower().startswith(("http://", "https://")) or _u16(href) > _MAX_HREF:
            continue  # Telegram rejects such hrefs, and a cut URL is a broken link
        anchor = f'<a href="{href}">{fit(link.title.strip() or link.url.strip(), 64)}</a>'
        if used + _u16(anchor) > _LINKS_BUDGET:
            break
        shown.append(anchor)
        used += _u16(anchor) + 3
    hidden = len(links) - len(shown)
    if hidden:
        shown.append(html.escape(text["more"].format(n=hidden), quote=False))
    return " · ".join(shown)


def _repair_lines(repair: RepairState, text: dict[str, str], tz: ZoneInfo) -> list[str]:
    """The repair section: what is recommended (and how sure, based on how much), where it stands,
    who decided, and what was run. Every piece has a fixed cap, like the rest of the card."""
    plan = repair.plan
    source = text["from"].format(source=text.get(plan.source, plan.source))
    head = (f"🔧 <b>{html.escape(text['repair'], quote=False)}:</b> <code>{plan.action.value}</code> "
            f"({text['tier']} {plan.tier}) · {round(plan.confidence * 100)}%")
    if plan.based_on:
        head += f" · {text['based_on'].format(n=plan.based_on)}"
    lines = [f"{head} · {html.escape(source, quote=False)}"]
    status = f"{_PHASE_EMOJI[repair.phase]} <b>{html.escape(text[repair.phase.value], quote=False)}</b>"
    if repair.phase.open and repair.deadline is not None:
        status += " " + html.escape(text["until"].format(time=format_time(repair.deadline, tz)), quote=False)
    if repair.note:
        status += f" — {fit(repair.note, 300)}"
    lines.append(status)
    if repair.decision is not None:
        verb = "approved_by" if repair.decision.approve else "rejected_by"
        when = html.escape(format_time(repair.decision.at, tz), quote=False)
        template = html.escape(text[verb], quote=False)
        line = template.format(who=fit(repair.decision.by, 100), time=when)
        if repair.decision.note.strip():
            line += f" — <i>{fit(repair.decision.note.strip(), 200)}</i>"
        lines.append(line)
    if repair.result is not None and repair.result.operations:
        shown = repair.result.operations[:_MAX_OPERATIONS]
        lines += [f"<code>{fit(op, 160)}</code>" for op in shown]
        if len(repair.result.operations) > len(shown):
            lines.append(html.escape(text["more"].format(n=len(repair.result.operations) - len(shown)), quote=False))
    return lines


def approval_keyboard(repair: RepairState | None, *, locale: str) -> dict[str, object] | None:
    """Approve/Reject under the card while (and only while) a decision is awaited."""
    if repair is None or repair.phase is not RepairPhase.AWAITING_APPROVAL or not repair.approval_token:
        return None
    text = labels(locale)
    return {"inline_keyboard": [[
        {"text": text["approve"].format(action=repair.plan.action.value),
         "callback_data": callback_data(True, repair.approval_token)},
        {"text": text["reject"], "callback_data": callback_data(False, repair.approval_token)},
    ]]}


def ack_button(view: IncidentView, *, locale: str) -> dict[str, str] | None:
    """"Ack" under an open card nobody has acknowledged yet, in runs that record acks (docs/adr/0025)."""
    if not view.ackable or view.acked is not None or view.status is not IncidentStatus.OPEN:
        return None
    return {"text": labels(locale)["ack"], "callback_data": ack_callback_data(workflow_id_for(view.incident_id))}


def render_renotify(view: IncidentView, unacked_seconds: float, *, locale: str, escalation: bool,
                    may_repeat: bool = False) -> str:
    """A short reminder replying to the card (or, escalated, a message of its own in another chat)."""
    text = labels(locale)
    span = format_span(unacked_seconds)
    head = text["escalate_unacked" if escalation else "renotify"].format(span=span)
    first = f"<i>{html.escape(text['may_repeat'], quote=False)}</i>\n" if may_repeat else ""
    lines = [f"{first}<b>{html.escape(head, quote=False)}</b>",
             f"{SEVERITY_EMOJI.get(view.alert.severity, '🔵')} {text[view.alert.severity.value]} · "
             f"{fit(view.alert.title.strip() or view.alert.alertname, 300)} · {fit(view.alert.service, 100)}",
             html.escape(text["ack_hint"], quote=False).format(id=f"<code>{fit(view.incident_id, 150)}</code>")]
    return "\n".join(lines)


def _card(view: IncidentView, text: dict[str, str], tz: ZoneInfo, free: dict[str, str], has_desc: bool,
          repair_state: RepairState | None = None, may_repeat: bool = False) -> str:
    """Assemble the card from escaped ``free`` text; every other dynamic piece has a fixed cap."""
    alert, analysis, freq = view.alert, view.analysis, view.frequency
    repair = analysis.recommended_repair
    emoji = status_emoji(view)

    def row(label: str, value: str) -> str:
        return f"<b>{html.escape(text[label], quote=False)}:</b> {value}"

    lines = [
        f"{emoji} <b>{html.escape(text[view.status.value], quote=False)}</b> · {text[alert.severity.value]}",
        f"<b>{fit(alert.title.strip() or alert.alertname, 300)}</b>",
    ]
    if may_repeat:
        lines.insert(0, f"<i>{html.escape(text['may_repeat'], quote=False)}</i>")
    if has_desc:
        lines.append(f"<i>{free['description']}</i>")
    lines += [
        f"{row('source', fit(alert.source.value, 40))} · {row('service', fit(alert.service, 100))}",
        row("severity", text[alert.severity.value]),
        row("occurrences", str(view.occurrences)),
        row("frequency", f"{text['last_1h']} {freq.last_1h} · {text['last_24h']} {freq.last_24h}"),
        row("first_seen", format_time(freq.first_seen or view.first_seen, tz))
        + " · "
        + row("last_seen", format_time(freq.last_seen or view.last_seen, tz)),
        "",
        f"<b>{html.escape(text['analysis'], quote=False)}</b>",
        row("category", fit(analysis.category, 100)),
        row("root_cause", free["root_cause"]),
        row("impact", free["impact"]),
        row("fix", free["fix"]),
        f"{row('confidence', f'{round(analysis.confidence * 100)}%')} · {row('analyzed_by', fit(analysis.analyzed_by, 100))}"
        + (f" ({fit(analysis.fallback_reason, 200)})" if analysis.fallback_reason else ""),
        row("action", f"{repair.action.value} ({text['tier']} {repair.tier})")
        + (f" — {fit(repair.reason.strip(), 300)}" if repair.reason.strip() else ""),
        "",
    ]
    if repair_state is not None:
        lines += [*_repair_lines(repair_state, text, tz), ""]
    if view.acked is not None:
        when = html.escape(format_time(view.acked.at, tz), quote=False)
        lines.append(html.escape(text["acked_by"], quote=False).format(who=fit(view.acked.by, 100), time=when))
    links = _links(view, text)
    if links:
        lines.append(row("links", links))
    lines.append(row("incident", f"<code>{fit(view.incident_id, 150)}</code>"))
    silenced = silenced_line(view, text, tz)
    if silenced:
        lines.append(silenced)
    if view.flapping or view.stable_again:  # core/incident/flapping.py
        span = format_span(view.flap_window_seconds)
        line = text["flapping"].format(n=view.flapping, span=span) if view.flapping else \
            text["stable_again"].format(span=span)
        lines.append(html.escape(line, quote=False))
    if view.status is IncidentStatus.RESOLVED:
        lines.append(f"✅ {row('resolved_at', format_time(view.resolved_at or view.last_seen, tz))}")
    return "\n".join(lines)


def render_card(view: IncidentView, *, locale: str, tz: ZoneInfo, repair: RepairState | None = None,
                may_repeat: bool = False) -> str:
    """The Telegram HTML card: at most 4096 UTF-16 units, only b/i/code/a tags, all text escaped.

    ``may_repeat`` puts a first line saying this card may repeat an earlier one: a retry that found
    the previous attempt's in-flight marker cannot know whether Telegram got it (docs/adr/0011)."""
    text = labels(locale)
    raw = {
        "description": alert_words(view.alert),
        "root_cause": view.analysis.root_cause.strip(),
        "impact": view.analysis.impact.strip(),
        "fix": view.analysis.fix_suggestion.strip(),
    }
    has_desc = bool(raw["description"])
    skeleton = _card(view, text, tz, dict.fromkeys(_FREE_FIELDS, ""), has_desc, repair, may_repeat)
    needs = {key: _u16(html.escape(raw[key], quote=False)) for key in _FREE_FIELDS}
    alloc = _share(needs, CARD_LIMIT - _u16(skeleton))
    card = _card(view, text, tz, {key: fit(raw[key], alloc[key]) for key in _FREE_FIELDS}, has_desc, repair,
                 may_repeat)
    if _u16(card) > CARD_LIMIT:  # unreachable by construction: the fixed caps sum to well under 4096
        raise ValueError(f"card for {view.incident_id} exceeds {CARD_LIMIT} units")
    return card


def render_escalation(view: IncidentView, reason: str, *, locale: str, may_repeat: bool = False) -> str:
    """The one message that asks people to step in (a reply to the card)."""
    text = labels(locale)
    first = f"<i>{html.escape(text['may_repeat'], quote=False)}</i>\n" if may_repeat else ""
    return first + (f"⚠️ <b>{html.escape(text['escalated'], quote=False)}</b> · {fit(view.alert.title, 300)}\n"
            f"{fit(reason, 1000)}\n<code>{fit(view.incident_id, 150)}</code>")

"""A postmortem draft in Markdown, in the card's language (AWOOOI_LOCALE): what the history says,
and empty follow-up items for the humans. A draft: it states what was recorded and says where
nothing was (no acknowledgement recorded, not resolved), it never guesses.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from core.timeline import model as k
from core.timeline.episodes import Episode, episodes
from core.timeline.model import Timeline
from core.timeline.render import as_markdown, when

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Postmortem (draft): {name} on {service}", "summary": "Summary",
        "summary_text": "{name} ({severity}) fired on {service} at {fired}, {occurrences} occurrence(s){state}.",
        "resolved_state": "; resolved at {at}", "expired_state": "; it expired unresolved at {at}",
        "open_state": "; not resolved when this draft was written", "reopened": " It re-opened {n} time(s).",
        "impact": "Impact window", "window": "From first fired to resolved: {span} ({start} to {end}).",
        "no_window": "Not resolved: the window is still open (first fired {start}).",
        "unacked": "Unacknowledged for {span} (until {who} acknowledged at {at}).",
        "no_ack": "No acknowledgement recorded.", "first_human": " The first human action came after {span}.",
        "timeline": "Timeline", "when": "When", "what": "What", "who": "Who", "detail": "Detail",
        "analysis": "Analysis", "no_analysis": "No analysis recorded.",
        "category": "Category", "root_cause": "Root cause", "impact_line": "Impact", "fix": "Fix suggestion",
        "confidence": "Confidence", "by": "Analysed by",
        "done": "What was done, and by whom", "nothing_done": "Nothing was done beyond the card.",
        "learning": "What learning recorded", "nothing_learned": "Nothing: no repair changed anything.",
        "follow_up": "Follow-up items", "owner": "owner", "due": "due",
    },
    "zh-TW": {
        "title": "事後檢討（草稿）：{service} 上的 {name}", "summary": "摘要",
        "summary_text": "{name}（{severity}）於 {fired} 在 {service} 觸發，共 {occurrences} 次{state}。",
        "resolved_state": "；於 {at} 解決", "expired_state": "；於 {at} 過期，未解決",
        "open_state": "；撰寫此草稿時尚未解決", "reopened": "重新開啟 {n} 次。",
        "impact": "影響時段", "window": "從首次觸發到解決：{span}（{start} 至 {end}）。",
        "no_window": "尚未解決：時段仍未結束（首次觸發 {start}）。",
        "unacked": "未確認時間 {span}（直到 {who} 於 {at} 確認）。",
        "no_ack": "沒有確認紀錄。", "first_human": "第一個人工動作在 {span} 之後。",
        "timeline": "時間軸", "when": "時間", "what": "事件", "who": "執行者", "detail": "細節",
        "analysis": "分析", "no_analysis": "沒有分析紀錄。",
        "category": "類別", "root_cause": "根本原因", "impact_line": "影響", "fix": "修復建議",
        "confidence": "信心度", "by": "分析者",
        "done": "採取的行動與執行者", "nothing_done": "除了卡片之外沒有採取其他行動。",
        "learning": "學習紀錄", "nothing_learned": "無：沒有任何修復改變了狀態。",
        "follow_up": "後續待辦", "owner": "負責人", "due": "期限",
    },
}

_DONE = frozenset({k.APPROVED, k.REJECTED, k.ACKED, k.SILENCED, k.EXECUTED, k.DRY_RUN, k.REPAIR_FAILED, k.NOT_RUN,
                   k.ESCALATED, k.APPROVAL_TIMED_OUT, k.REPAIR_NOT_NEEDED, k.VERIFIED, k.INEFFECTIVE,
                   k.CARD_REQUESTED, k.TERMINATED})


def span(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h {minutes:02d}m {secs:02d}s" if hours else f"{minutes}m {secs:02d}s"


def postmortem(timeline: Timeline, *, locale: str, tz: ZoneInfo) -> str:
    w = WORDS.get(locale, WORDS["en"])
    found = episodes(timeline)
    episode = found[-1] if found else None
    lines = [f"# {w['title'].format(name=episode.alertname if episode else timeline.incident_id, service=episode.service if episode else '-')}",
             "", f"`{timeline.incident_id}`", ""]
    lines += [f"## {w['summary']}", "", _summary(episode, w, tz) if episode else "-", ""]
    lines += [f"## {w['impact']}", ""] + (_impact(episode, w, tz) if episode else ["-"]) + [""]
    lines.append(as_markdown(timeline, tz, heading=f"## {w['timeline']}",
                             columns=(w["when"], w["what"], w["who"], w["detail"])))
    lines += ["", f"## {w['analysis']}", ""] + _analysis(timeline, w)
    lines += ["", f"## {w['done']}", ""] + _done(timeline, w, tz)
    lines += ["", f"## {w['learning']}", ""] + _learned(timeline, w)
    lines += ["", f"## {w['follow_up']}", "", f"- [ ]  ({w['owner']}: , {w['due']}: )",
              f"- [ ]  ({w['owner']}: , {w['due']}: )", ""]
    return "\n".join(lines)


def _summary(episode: Episode, w: dict[str, str], tz: ZoneInfo) -> str:
    if episode.resolved_at:
        state = w["resolved_state"].format(at=when(episode.resolved_at, tz))
    elif episode.expired_at:
        state = w["expired_state"].format(at=when(episode.expired_at, tz))
    else:
        state = w["open_state"]
    text = w["summary_text"].format(name=episode.alertname, severity=episode.severity, service=episode.service,
                                    fired=when(episode.fired_at, tz), occurrences=episode.occurrences, state=state)
    return text + (w["reopened"].format(n=episode.reopened) if episode.reopened else "")


def _impact(episode: Episode, w: dict[str, str], tz: ZoneInfo) -> list[str]:
    start = when(episode.fired_at, tz)
    if episode.resolved_at:
        window = w["window"].format(span=span(episode.resolved_at - episode.fired_at), start=start,
                                    end=when(episode.resolved_at, tz))
    else:
        window = w["no_window"].format(start=start)
    if episode.acked_at:
        ack = w["unacked"].format(span=span(episode.acked_at - episode.fired_at), who=episode.acked_by,
                                  at=when(episode.acked_at, tz))
    else:
        ack = w["no_ack"]
        if episode.first_human_at:
            ack += w["first_human"].format(span=span(episode.first_human_at - episode.fired_at))
    return [f"- {window}", f"- {ack}"]


def _analysis(timeline: Timeline, w: dict[str, str]) -> list[str]:
    entry = timeline.last(k.ANALYSED)
    if entry is None:
        return [w["no_analysis"]]
    facts = entry.facts
    confidence = facts.get("confidence")
    sure = f"{round(float(confidence) * 100)}%" if isinstance(confidence, int | float) else "-"
    return [f"- **{w['category']}:** {facts.get('category')}", f"- **{w['root_cause']}:** {facts.get('root_cause')}",
            f"- **{w['impact_line']}:** {facts.get('impact')}", f"- **{w['fix']}:** {facts.get('fix_suggestion')}",
            f"- **{w['confidence']}:** {sure}", f"- **{w['by']}:** {entry.actor}"]


def _done(timeline: Timeline, w: dict[str, str], tz: ZoneInfo) -> list[str]:
    done = [f"- {_short(e.at, tz)} — **{e.kind.replace('_', ' ')}** — {e.actor}"
            f"{f' ({e.via})' if e.via else ''}: {e.detail}" for e in timeline.entries if e.kind in _DONE]
    return done or [w["nothing_done"]]


def _learned(timeline: Timeline, w: dict[str, str]) -> list[str]:
    learned = [f"- {e.detail}" for e in timeline.entries if e.kind == k.LEARNED]
    return learned or [w["nothing_learned"]]


def _short(at: datetime, tz: ZoneInfo) -> str:
    return when(at, tz)

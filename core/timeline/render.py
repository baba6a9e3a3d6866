"""A timeline as text (a terminal), Markdown (a postmortem, a ticket) or JSON (anything else).

Every time is shown twice, UTC and AWOOOI_TIMEZONE (skipped when that is UTC), as the issue asks:
the history's clock is UTC, the people reading it live somewhere.
"""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

from core.timeline.model import Timeline, TimelineEntry

UTC_NAME = "UTC"


def when(at: datetime, tz: ZoneInfo) -> str:
    utc = at.strftime("%Y-%m-%d %H:%M:%S UTC")
    if tz.key == UTC_NAME:
        return utc
    return f"{utc} ({at.astimezone(tz).strftime('%Y-%m-%d %H:%M:%S %Z')})"


def _who(entry: TimelineEntry) -> str:
    return f"{entry.actor} via {entry.via}" if entry.via else entry.actor


def _times(entry: TimelineEntry) -> str:
    return f" ×{entry.count}" if entry.count > 1 else ""


def as_text(timeline: Timeline, tz: ZoneInfo) -> str:
    lines = [f"incident {timeline.incident_id}: {len(timeline.entries)} entries from {len(timeline.runs)} run(s)"]
    for entry in timeline.entries:
        kind = entry.kind.replace("_", " ") + _times(entry)
        lines.append(f"{when(entry.at, tz)}  {kind:<20} {_who(entry):<24} {entry.detail}")
    lines.extend(_footer(timeline))
    return "\n".join(lines)


def as_markdown(timeline: Timeline, tz: ZoneInfo, *, heading: str | None = None,
                columns: tuple[str, str, str, str] = ("When", "What", "Who", "Detail")) -> str:
    lines = [heading or f"## Timeline of `{timeline.incident_id}`", "",
             f"| {' | '.join(columns)} |", "|---|---|---|---|"]
    for entry in timeline.entries:
        cells = [when(entry.at, tz), entry.kind.replace("_", " ") + _times(entry), _who(entry), entry.detail]
        lines.append("| " + " | ".join(_cell(cell) for cell in cells) + " |")
    footer = _footer(timeline)
    if footer:
        lines += [""] + [f"- {line.strip()}" for line in footer]
    return "\n".join(lines)


def as_json(timeline: Timeline, tz: ZoneInfo) -> str:
    body = timeline.model_dump(mode="json")
    for entry, raw in zip(timeline.entries, body["entries"], strict=True):
        raw["at_local"] = entry.at.astimezone(tz).isoformat()
    body["timezone"] = tz.key
    return json.dumps(body, ensure_ascii=False)


def _footer(timeline: Timeline) -> list[str]:
    retries = sum(run.retries for run in timeline.runs)
    continued = sum(run.ended == "continued_as_new" for run in timeline.runs)
    notes = []
    if retries:
        notes.append(f"  {retries} activity retr{'y' if retries == 1 else 'ies'} (attempts after the first), "
                     f"summarised in the entries above")
    timers = sum(run.timers for run in timeline.runs)
    if timers:
        notes.append(f"  {timers} timer(s) armed (card pacing, deadlines, the grace): waits, not listed")
    if continued:
        notes.append(f"  continued as new {continued} time(s); read as one story")
    if timeline.unknown:
        notes.append(f"  {len(timeline.unknown)} event(s) this decoder does not know: listed as 'unknown'")
    return notes


def _cell(value: str) -> str:
    return value.replace("|", "\\|").replace("\n", " ")

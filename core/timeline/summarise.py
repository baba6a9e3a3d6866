"""Summarise what repeats: paced-out card edits and the same activity giving up again, in a row.

A storm can pace out dozens of count-only edits and a flaky upstream can fail the same call many
times; a person reading the timeline needs "12 paced out between 10:01 and 10:09", not twelve lines.
"""

from __future__ import annotations

from core.timeline import model as k
from core.timeline.model import TimelineEntry

_SUMMARISED = frozenset({k.PACED, k.ACTIVITY_FAILED})


def summarise(entries: list[TimelineEntry]) -> list[TimelineEntry]:
    out: list[TimelineEntry] = []
    first_at: dict[int, TimelineEntry] = {}
    for entry in entries:
        last = out[-1] if out else None
        if (last is not None and entry.kind in _SUMMARISED and last.kind == entry.kind
                and last.facts.get("activity") == entry.facts.get("activity")):
            head = first_at.setdefault(id(last), last.model_copy())
            last.count += entry.count
            what = "count edits paced out" if entry.kind == k.PACED else f"{entry.facts.get('activity')} failures"
            last.detail = (f"{last.count} {what} between {head.at.isoformat()} and {entry.at.isoformat()}; "
                           f"the last: {entry.detail}")[:400]
            continue
        out.append(entry.model_copy())
    return out

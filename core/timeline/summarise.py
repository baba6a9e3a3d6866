"""Summarise what repeats: paced-out card edits and the same activity giving up again.

A storm can pace out dozens of count-only edits and a flaky upstream can fail the same call many
times; a person reading the timeline needs "12 count edits paced out between 10:01 and 10:09", not
twelve lines. A repeat folds into the earlier entry of its kind while only occurrence counts came
between them (the storm that caused the pacing); a state change in between starts a new summary.
The summary keeps the first one's place and time, and says when the last one was.
"""

from __future__ import annotations

from core.timeline import model as k
from core.timeline.model import TimelineEntry

_SUMMARISED = frozenset({k.PACED, k.ACTIVITY_FAILED})
# What may come between two repeats that are still one summary.
_PASSING = frozenset({k.OCCURRENCES, k.PACED, k.ACTIVITY_FAILED})


def summarise(entries: list[TimelineEntry]) -> list[TimelineEntry]:
    out: list[TimelineEntry] = []
    firsts: dict[int, TimelineEntry] = {}
    for entry in entries:
        earlier = _earlier(out, entry) if entry.kind in _SUMMARISED else None
        if earlier is None:
            out.append(entry.model_copy())
            continue
        first = firsts.setdefault(id(earlier), earlier.model_copy())
        earlier.count += entry.count
        what = "count edits paced out" if entry.kind == k.PACED else f"{entry.facts.get('activity')} failures"
        earlier.detail = (f"{earlier.count} {what} between {first.at.isoformat()} and {entry.at.isoformat()}; "
                          f"the last: {entry.detail}")[:400]
    return out


def _earlier(out: list[TimelineEntry], entry: TimelineEntry) -> TimelineEntry | None:
    for candidate in reversed(out):
        if candidate.kind == entry.kind and candidate.facts.get("activity") == entry.facts.get("activity"):
            return candidate
        if candidate.kind not in _PASSING:
            return None
    return None

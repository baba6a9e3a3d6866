"""An incident's lifecycles, read from its timeline: when it fired, was acknowledged, was resolved,
and what was done about it. What the postmortem and the report measure.

What counts (docs/adr/0026-timelines-from-histories.md):
- **acknowledged**: the first ``acked`` entry only. A decision on a repair or an on-demand card is
  a human at work, but not an acknowledgement; until the workflow records acknowledgements, no
  episode has one and MTTA is "no acknowledgement recorded". ``first_human_at`` is kept apart.
- **resolved**: the alert's own resolution reached awoooi (``resolved``). An incident that expired
  (no resolution within the idle timeout) is not resolved and has no time to resolve; a
  re-opened one is resolved by its last resolution. A silenced one counts like any other: a silence
  mutes the chat, not the alert.
- **auto-resolved**: resolved with no repair that changed something (``executed``) before it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from core.timeline import model as k
from core.timeline.model import Timeline, TimelineEntry

_HUMAN = frozenset({k.ACKED, k.APPROVED, k.REJECTED, k.SILENCED, k.CARD_REQUESTED})


@dataclass
class RepairOutcome:
    action: str
    # executed / dry_run / failed / not_run / rejected / timed_out / not_needed / manual / pending
    result: str = "pending"
    # For an executed repair: True verified, False ineffective, None not known (expired, still verifying).
    worked: bool | None = None
    decided_by: str | None = None
    via: str | None = None


@dataclass
class Episode:
    incident_id: str
    fired_at: datetime
    service: str = "unknown"
    alertname: str = ""
    anomaly_key: str = ""
    severity: str = ""
    acked_at: datetime | None = None
    acked_by: str | None = None
    first_human_at: datetime | None = None
    resolved_at: datetime | None = None
    expired_at: datetime | None = None
    reopened: int = 0
    silenced: bool = False
    occurrences: int = 1
    repairs: list[RepairOutcome] = field(default_factory=list)
    entries: list[TimelineEntry] = field(default_factory=list)

    @property
    def time_to_ack(self) -> timedelta | None:
        return self.acked_at - self.fired_at if self.acked_at else None

    @property
    def time_to_resolve(self) -> timedelta | None:
        return self.resolved_at - self.fired_at if self.resolved_at else None

    @property
    def executed(self) -> bool:
        return any(repair.result == "executed" for repair in self.repairs)

    @property
    def auto_resolved(self) -> bool:
        return self.resolved_at is not None and not self.executed


def episodes(timeline: Timeline) -> list[Episode]:
    """One episode per lifecycle: each ``fired`` (or first-heard ``resolved``) of a fresh run starts one."""
    found: list[Episode] = []
    current: Episode | None = None
    for entry in timeline.entries:
        if entry.kind == k.FIRED or (current is None and entry.kind == k.RESOLVED):
            current = Episode(incident_id=timeline.incident_id, fired_at=entry.at,
                              service=str(entry.facts.get("service") or "unknown"),
                              alertname=str(entry.facts.get("alertname") or ""),
                              anomaly_key=str(entry.facts.get("anomaly_key") or ""),
                              severity=str(entry.facts.get("severity") or ""))
            found.append(current)
        if current is None:
            continue
        current.entries.append(entry)
        _apply(current, entry)
    return found


def _apply(episode: Episode, entry: TimelineEntry) -> None:
    kind = entry.kind
    if kind in _HUMAN and episode.first_human_at is None:
        episode.first_human_at = entry.at
    if kind == k.ACKED and episode.acked_at is None:
        episode.acked_at, episode.acked_by = entry.at, entry.actor
    elif kind == k.SILENCED:
        episode.silenced = True
    elif kind == k.RESOLVED:
        episode.resolved_at = entry.at
    elif kind == k.REOPENED:
        episode.reopened += 1
        episode.resolved_at = None
    elif kind == k.EXPIRED:
        episode.expired_at = entry.at
    elif kind == k.DUPLICATE:
        episode.resolved_at = None
    if isinstance(entry.facts.get("occurrences"), int):
        episode.occurrences = max(episode.occurrences, int(entry.facts["occurrences"]))
    _repair(episode, entry)


_RESULTS = {k.EXECUTED: "executed", k.DRY_RUN: "dry_run", k.REPAIR_FAILED: "failed", k.NOT_RUN: "not_run",
            k.REJECTED: "rejected", k.APPROVAL_TIMED_OUT: "timed_out", k.REPAIR_NOT_NEEDED: "not_needed"}


def _repair(episode: Episode, entry: TimelineEntry) -> None:
    kind = entry.kind
    if kind == k.REPAIR_PROPOSED:
        manual = entry.facts.get("mode") == "manual"
        episode.repairs.append(RepairOutcome(action=str(entry.facts.get("action") or "unknown"),
                                             result="manual" if manual else "pending"))
        return
    if not episode.repairs:
        return
    repair = episode.repairs[-1]
    if kind in (k.APPROVED, k.REJECTED):
        repair.decided_by, repair.via = entry.actor, entry.via
    if kind in _RESULTS and repair.result in ("pending", "executed") and not (
            kind == k.REJECTED and repair.result == "executed"):
        repair.result = _RESULTS[kind]
    elif kind == k.VERIFIED:
        repair.worked = True
    elif kind == k.INEFFECTIVE:
        repair.worked = False

"""What a timeline is made of: entries read from an incident's histories, and the runs they came from.

Plain pydantic models so the CLI, the API and the report speak the same JSON. An entry's ``at`` is
the time of the history event it was read from (UTC); renderers add the AWOOOI_TIMEZONE time.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

# The kinds an entry can have, in the words of issue 21. A decoder that meets something it does not
# know writes UNKNOWN with what it met, instead of failing the whole timeline.
FIRED = "fired"
OCCURRENCES = "occurrences"
ANALYSED = "analysed"
CARD_SHOWN = "card_shown"
CARD_EDITED = "card_edited"
CARD_REQUESTED = "card_requested"
RENOTIFIED = "renotified"
ACKED = "acked"
SILENCED = "silenced"
ESCALATED = "escalated"
REPAIR_PROPOSED = "repair_proposed"
APPROVED = "approved"
REJECTED = "rejected"
APPROVAL_TIMED_OUT = "approval_timed_out"
REPAIR_NOT_NEEDED = "repair_not_needed"
EXECUTED = "executed"
DRY_RUN = "dry_run"
REPAIR_FAILED = "repair_failed"
NOT_RUN = "not_run"
VERIFIED = "verified"
INEFFECTIVE = "ineffective"
LEARNED = "learned"
COMMENTED = "commented"
RESOLVED = "resolved"
REOPENED = "reopened"
EXPIRED = "expired"
DUPLICATE = "duplicate"
TERMINATED = "terminated"
PACED = "paced"
ACTIVITY_FAILED = "activity_failed"
UNKNOWN = "unknown"


class TimelineEntry(BaseModel):
    at: datetime
    kind: str
    actor: str = "awoooi"
    # How a human's action reached awoooi: telegram / api / cli (None for awoooi's own doings).
    via: str | None = None
    detail: str = ""
    # Entries summarised into this one (paced-out edits in a row); 1 for a plain entry.
    count: int = 1
    # Where it was read: the run and the history event (the first one, for a summary).
    run_id: str = ""
    event_id: int = 0
    generation: int = 2
    # Structured facts the postmortem and the report use (action, status, occurrences...).
    facts: dict[str, str | int | float | bool | None] = Field(default_factory=dict)


class RunInfo(BaseModel):
    """One run of the incident's workflow: a lifecycle starts with a fresh run, continue-as-new adds one."""

    workflow_id: str
    run_id: str
    workflow_type: str
    generation: int
    started_at: datetime | None = None
    closed_at: datetime | None = None
    # completed / continued_as_new / terminated / failed / timed_out / running
    ended: str = "running"
    events: int = 0
    # Activity attempts beyond the first, summed over the run (retries are summarised, not listed).
    retries: int = 0
    # Timers the run armed (card intervals, deadlines): waits, not events.
    timers: int = 0


class Timeline(BaseModel):
    incident_id: str
    runs: list[RunInfo] = Field(default_factory=list)
    entries: list[TimelineEntry] = Field(default_factory=list)

    @property
    def unknown(self) -> list[TimelineEntry]:
        return [entry for entry in self.entries if entry.kind == UNKNOWN]

    def first(self, kind: str) -> TimelineEntry | None:
        return next((entry for entry in self.entries if entry.kind == kind), None)

    def last(self, kind: str) -> TimelineEntry | None:
        return next((entry for entry in reversed(self.entries) if entry.kind == kind), None)

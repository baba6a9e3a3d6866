"""What the deliveries of a signal did to the incident, told the way the core tells it.

The incident core (core/incident/core.py) drops a delivery it has seen, counts a new firing of an
open incident, re-opens a resolved one, resolves an open one. Its decisions are not written to the
history as such (its saves are local activities, whose inputs are not recorded), so the decoder
repeats those few rules over the signals' payloads to say what was counted when. The rules are
small and fixed per generation; both generations share them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

OPEN, RESOLVED, EXPIRED = "open", "resolved", "expired"


@dataclass
class Change:
    """One thing a delivery changed: ``kind`` is fired / occurrences / resolved / reopened."""

    kind: str
    delivery: dict[str, Any]
    counted: int = 0
    resent: int = 0


@dataclass
class IncidentTrack:
    """The few facts of the incident the rules need, carried across runs like the workflow's state."""

    status: str | None = None
    occurrences: int = 0
    seen_deliveries: set[str] = field(default_factory=set)
    seen_occurrences: set[str] = field(default_factory=set)

    def carry(self, state: dict[str, Any]) -> None:
        """A continued run's state: the workflow's own word wins over what was decoded before it."""
        self.status = state.get("status") or self.status
        self.occurrences = int(state.get("occurrences") or self.occurrences)
        self.seen_deliveries |= set(state.get("seen_deliveries") or [])
        self.seen_occurrences |= set(state.get("seen_occurrences") or [])

    def reset(self) -> None:
        self.status, self.occurrences = None, 0
        self.seen_deliveries, self.seen_occurrences = set(), set()

    def apply(self, deliveries: list[dict[str, Any]]) -> list[Change]:
        changes: list[Change] = []
        fold = Change("occurrences", {})
        for delivery in deliveries:
            alert = delivery.get("alert") if isinstance(delivery.get("alert"), dict) else {}
            delivery_id = str(delivery.get("delivery_id") or "")
            occurrence = delivery.get("occurrence_id")
            firing = alert.get("status") == "firing"
            if self.status is None:
                self._flush(fold, changes)
                fold = Change("occurrences", {})
                self._remember(delivery_id, occurrence)
                self.status, self.occurrences = (OPEN, 1) if firing else (RESOLVED, 0)
                changes.append(Change("fired" if firing else "resolved", delivery, counted=int(firing)))
                continue
            if delivery_id in self.seen_deliveries:
                continue
            self.seen_deliveries.add(delivery_id)
            if occurrence is not None and occurrence in self.seen_occurrences:
                if self.status == OPEN:
                    fold.resent += 1
                continue
            if firing and self.status == OPEN:
                self._remember(None, occurrence)
                self.occurrences += 1
                fold.counted += 1
                fold.delivery = delivery
                continue
            self._flush(fold, changes)
            fold = Change("occurrences", {})
            if firing:
                self._remember(None, occurrence)
                self.status = OPEN
                self.occurrences += 1
                changes.append(Change("reopened", delivery, counted=1))
            elif self.status == OPEN:
                self.status = RESOLVED
                changes.append(Change("resolved", delivery))
        self._flush(fold, changes)
        return changes

    def _remember(self, delivery_id: str | None, occurrence: Any) -> None:
        if delivery_id:
            self.seen_deliveries.add(delivery_id)
        if isinstance(occurrence, str):
            self.seen_occurrences.add(occurrence)

    @staticmethod
    def _flush(fold: Change, changes: list[Change]) -> None:
        if fold.counted:
            changes.append(fold)

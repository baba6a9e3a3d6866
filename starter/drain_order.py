"""In which order the spool drainer starts what the spool holds (starter/spool_drainer.py).

The spool is a log in arrival order; starting it in that order would put an alert that arrived during
a 2,000-alert storm behind all of it, and the probe's alerts with it. The drainer starts incidents in
the order every other queue uses (core/priority.py, docs/adr/0022-first-words-first.md):

- the lowest priority key first (the probe, then critical alerts, then the rest);
- among equals, the sender groups (fairness keys) take turns, round-robin;
- within a group, the incident waiting longest first.

What must stay in arrival order does: one incident's deliveries go in one signal, oldest first, and
an incident's later entries wait until its batch in flight is done (a resolution never overtakes the
firing it resolves).

A storm's repeats (entries spooled ``held``, starter/storm_gauge.py) wait so that their incident's
next repeats leave with them as one signal: a signal and its workflow task are what a storm costs, so
a batch is filled by count, not by a time that a slow sender fills with fewer
(docs/adr/0023-storm-cost-per-sender.md, docs/adr/0032-storm-batches-by-count.md). An incident's
entries become ready together, in order, as soon as one of them is not held (a resolution, a first
delivery, anything spooled because Temporal was slow), there are ``ripe`` of them, no held entry of
any incident came for ``quiet_seconds`` (the storm is over: counts should not lag any longer), or the
oldest is ``hold_seconds`` old (the bound on how late a count may show during a storm). The quiet gap
is the whole storm's, not one incident's: a sender that sends each incident's repeats at random
moments, or pauses a second or two (an httpx pool does), would otherwise cut batches short.
Pure: no I/O; the caller passes the time.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from core.models import SpooledDelivery
from core.priority import queue_place

__all__ = ["DrainOrder", "Batch"]

Entry = tuple[str, SpooledDelivery]
# An incident with this many held entries is ready without waiting out the hold (the default of
# AWOOOI_INTAKE_STORM_BATCH).
RIPE_COUNT = 50


@dataclass
class Batch:
    """One incident's entries, oldest first: one signal-with-start."""

    workflow_id: str
    priority_key: int
    fairness_key: str
    entries: list[Entry] = field(default_factory=list)


class DrainOrder:
    def __init__(self, hold_seconds: float = 0.0, *, quiet_seconds: float = 0.0, ripe: int = RIPE_COUNT) -> None:
        self._hold = timedelta(seconds=hold_seconds)
        self._quiet = timedelta(seconds=quiet_seconds) if quiet_seconds else None
        self._ripe = ripe
        # Incidents whose entries are all held: when they are ready at the latest.
        self._holding: dict[str, datetime] = {}
        # When the newest held entry of any incident was spooled: the storm is over once it is old.
        self._newest_held: datetime | None = None
        # Incidents ready to start: priority key -> fairness key -> workflow ids, oldest first.
        self._ready: dict[int, OrderedDict[str, deque[str]]] = {}
        self._batches: dict[str, Batch] = {}
        self._in_flight: set[str] = set()
        # Entries that arrived for an incident while its batch was in flight.
        self._later: dict[str, list[Entry]] = {}
        self._seen: set[str] = set()

    def __len__(self) -> int:
        """Entries not yet handed out."""
        return sum(len(b.entries) for b in self._batches.values()) + sum(len(v) for v in self._later.values())

    def add(self, entries: list[Entry]) -> None:
        """Take entries in arrival order (an entry already taken is ignored)."""
        for entry_id, item in entries:
            if entry_id in self._seen:
                continue
            self._seen.add(entry_id)
            workflow_id = item.ref.workflow_id
            if workflow_id in self._in_flight:
                self._later.setdefault(workflow_id, []).append((entry_id, item))
                continue
            batch = self._batches.get(workflow_id)
            place = queue_place(item.delivery.alert)
            if item.held and (self._newest_held is None or item.spooled_at > self._newest_held):
                self._newest_held = item.spooled_at
            if batch is None:
                batch = Batch(workflow_id, place.priority_key, place.fairness_key)
                self._batches[workflow_id] = batch
                if item.held and self._hold and self._ripe > 1:
                    self._holding[workflow_id] = item.spooled_at + self._hold
                else:
                    self._enqueue(batch)
            elif workflow_id in self._holding:
                batch.priority_key = min(batch.priority_key, place.priority_key)
                if not item.held or len(batch.entries) + 1 >= self._ripe:
                    del self._holding[workflow_id]
                    self._enqueue(batch)
            elif place.priority_key < batch.priority_key:
                self._requeue(batch, place.priority_key)
            batch.entries.append((entry_id, item))

    def next(self, now: datetime | None = None) -> Batch | None:
        """The next incident to start, or None when none is ready (empty, all in flight, or held
        until after ``now``)."""
        if self._holding and now is not None:
            quiet = (self._quiet is not None and self._newest_held is not None
                     and self._newest_held + self._quiet <= now)
            for workflow_id, ready_at in list(self._holding.items()):
                if quiet or ready_at <= now:
                    del self._holding[workflow_id]
                    self._enqueue(self._batches[workflow_id])
        for key in sorted(self._ready):
            groups = self._ready[key]
            while groups:
                group, ids = next(iter(groups.items()))
                workflow_id = ids.popleft()
                if ids:
                    groups.move_to_end(group)  # round-robin: this group's next waits for the others
                else:
                    del groups[group]
                batch = self._batches.get(workflow_id)
                if batch is None or batch.priority_key != key:
                    continue  # moved to a lower key meanwhile, and handed out from there
                del self._batches[workflow_id]
                self._in_flight.add(workflow_id)
                return batch
            del self._ready[key]
        return None

    def done(self, workflow_id: str) -> None:
        """Its batch is started (or refused): the entries that arrived meanwhile become ready."""
        self._in_flight.discard(workflow_id)
        later = self._later.pop(workflow_id, [])
        for entry_id, _ in later:
            self._seen.discard(entry_id)
        self.add(later)

    def _enqueue(self, batch: Batch) -> None:
        self._ready.setdefault(batch.priority_key, OrderedDict()).setdefault(batch.fairness_key, deque()).append(
            batch.workflow_id)

    def _requeue(self, batch: Batch, priority_key: int) -> None:
        # The old position is skipped when reached (next() checks the key).
        batch.priority_key = priority_key
        self._enqueue(batch)

"""Which work goes first when the worker, Temporal's queues or the chat are backlogged.

One order, said once, read by every queue that can hold work back (docs/adr/0022-first-words-first.md):

- Temporal's task queues, through each workflow's and activity's ``Priority``: the lowest
  ``priority_key`` is dispatched first, and among equals the ``fairness_key`` (the sender's alert
  group) shares dispatch round-robin, so one 2,000-alert group cannot hold back an alert of another;
- the chat gate (activities/chat/gate.py), which hands the chat to the waiting send with the lowest
  key, then the oldest;
- the spool drainer (starter/drain_order.py), which starts spooled deliveries in the same order.

Keys, lowest first: the probe's synthetic alerts (a backlog must not fail the probe), then a new
incident's first words by severity, then changes of state on a card, repairs and comments, then what
can wait: count-only edits, re-asks, learning records.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.models import Alert, Severity
from core.probe import is_probe

__all__ = [
    "PROBE",
    "CRITICAL",
    "FIRST_WORDS",
    "STATE_CHANGE",
    "DEFERRED",
    "QueuePlace",
    "fairness_key",
    "queue_place",
    "start_priority",
]

PROBE = 1
CRITICAL = 2
FIRST_WORDS = 3  # the server's default (1..5, default 3): what carries no key lands here
STATE_CHANGE = 4
DEFERRED = 5

# Temporal's limit for a fairness key.
FAIRNESS_KEY_BYTES = 64


@dataclass(frozen=True)
class QueuePlace:
    """Where a delivery's workflow waits in Temporal's queues: its priority key and fairness key."""

    priority_key: int
    fairness_key: str


def start_priority(alert: Alert) -> int:
    """A new incident's priority: the probe first, then critical alerts, then the rest."""
    if is_probe(alert):
        return PROBE
    if alert.severity is Severity.CRITICAL:
        return CRITICAL
    return FIRST_WORDS


def fairness_key(alert: Alert) -> str:
    """The sender's group, as far as one alert tells it: its source and alert name.

    Alertmanager groups by alert name unless told otherwise, and a storm is nearly always one alert
    name firing on many targets: this keeps that storm's incidents in one share of the dispatch, so a
    different alert is not behind all of them. Cut to Temporal's 64 bytes on a character boundary."""
    key = f"{alert.source.value}:{alert.alertname}"
    raw = key.encode()
    if len(raw) <= FAIRNESS_KEY_BYTES:
        return key
    return raw[:FAIRNESS_KEY_BYTES].decode(errors="ignore")


def queue_place(alert: Alert) -> QueuePlace:
    return QueuePlace(start_priority(alert), fairness_key(alert))

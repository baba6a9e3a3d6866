"""Which work goes first under a backlog (core/priority.py): the keys a new incident starts with, and
where each of the core's commands waits (docs/adr/0022-first-words-first.md)."""

from __future__ import annotations

from core import priority
from core.incident.commands import (
    Analyze,
    Budget,
    Comment,
    EditCard,
    Escalate,
    Execute,
    LearnRepair,
    PlaceCard,
    Record,
    Recommend,
    Save,
    queue_priority,
)
from core.models import Alert, AlertStatus, Severity, Source
from core.probe import PROBE_LABEL


def alert(severity: Severity = Severity.WARNING, name: str = "HighCPU", **labels: str) -> Alert:
    return Alert(source=Source.ALERTMANAGER, fingerprint="f1", status=AlertStatus.FIRING, severity=severity,
                 title=name, labels={"alertname": name, **labels})


def test_the_probe_then_critical_then_the_rest() -> None:
    assert priority.start_priority(alert(Severity.CRITICAL, **{PROBE_LABEL: "true"})) == priority.PROBE
    assert priority.start_priority(alert(Severity.CRITICAL)) == priority.CRITICAL
    assert priority.start_priority(alert(Severity.WARNING)) == priority.FIRST_WORDS
    assert priority.start_priority(alert(Severity.INFO)) == priority.FIRST_WORDS
    assert priority.PROBE < priority.CRITICAL < priority.FIRST_WORDS < priority.STATE_CHANGE < priority.DEFERRED


def test_the_fairness_key_is_the_sender_group_within_64_bytes() -> None:
    assert priority.fairness_key(alert(name="HighCPU")) == "alertmanager:HighCPU"
    assert priority.fairness_key(alert(name="HighCPU")) != priority.fairness_key(alert(name="DiskFull"))
    long = priority.fairness_key(alert(name="磁碟" * 40))
    assert len(long.encode()) <= 64
    assert long.startswith("alertmanager:磁碟")  # cut on a character boundary, still valid UTF-8
    place = priority.queue_place(alert(Severity.CRITICAL, name="DiskFull"))
    assert place == priority.QueuePlace(priority.CRITICAL, "alertmanager:DiskFull")


def test_first_words_keep_the_incidents_own_priority_and_the_rest_wait() -> None:
    # The commands' inputs do not matter here.
    first = [Analyze(None), Save(None), Record(None), Recommend(None), Budget(None), PlaceCard(None)]  # type: ignore[arg-type]
    for command in first:
        assert queue_priority(command, priority.CRITICAL) == priority.CRITICAL, command
        assert queue_priority(command, priority.PROBE) == priority.PROBE, command
    for command in (EditCard(None), Comment(None), Execute(None)):  # type: ignore[arg-type]
        assert queue_priority(command, priority.CRITICAL) == priority.STATE_CHANGE, command
    for command in (Escalate(None), LearnRepair(None)):  # type: ignore[arg-type]
        assert queue_priority(command, priority.CRITICAL) == priority.DEFERRED, command
    # A count-only edit (best effort) always waits last, whoever's it is.
    assert queue_priority(EditCard(None, best_effort=True), priority.PROBE) == priority.DEFERRED  # type: ignore[arg-type]

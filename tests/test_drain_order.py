"""The spool drainer's order (starter/drain_order.py): the probe and critical alerts first, sender
groups in turn, each incident's entries together and in arrival order, an incident's later entries
held back while its batch is in flight."""

from __future__ import annotations

from datetime import UTC, datetime

from core.identity import incident_ref
from core.models import Alert, AlertDelivery, AlertStatus, Severity, Source, SpooledDelivery
from core.probe import PROBE_LABEL
from starter.drain_order import DrainOrder

NOW = datetime(2026, 12, 6, tzinfo=UTC)
_n = 0


def entry(name: str, fingerprint: str, *, severity: Severity = Severity.WARNING, resolved: bool = False,
          probe: bool = False) -> tuple[str, SpooledDelivery]:
    global _n
    _n += 1
    labels = {"alertname": name, **({PROBE_LABEL: "true"} if probe else {})}
    alert = Alert(source=Source.ALERTMANAGER, fingerprint=fingerprint, severity=severity, title=name, labels=labels,
                  status=AlertStatus.RESOLVED if resolved else AlertStatus.FIRING)
    delivery = AlertDelivery(delivery_id=f"d{_n}", alert=alert, received_at=NOW)
    return f"{_n}-0", SpooledDelivery(ref=incident_ref(alert), delivery=delivery, spooled_at=NOW)


def drain(order: DrainOrder) -> list[list[str]]:
    """Hand everything out, each batch done at once: the entry ids of each batch, in order."""
    out = []
    while (batch := order.next()) is not None:
        out.append([entry_id for entry_id, _ in batch.entries])
        order.done(batch.workflow_id)
    return out


def test_groups_take_turns_and_the_probe_and_critical_go_first() -> None:
    storm = [entry("HighCPU", f"s{i}") for i in range(5)]
    fresh = entry("DiskFull", "x1")
    critical = entry("NodeDown", "c1", severity=Severity.CRITICAL)
    probe = entry("AwoooiProbe", "p1", probe=True)
    order = DrainOrder()
    order.add([*storm, fresh, critical, probe])
    batches = drain(order)
    assert batches[0] == [probe[0]]
    assert batches[1] == [critical[0]]
    # Round-robin between the storm's group and the new alert's: the new one is second, not sixth.
    assert batches[2] == [storm[0][0]]
    assert batches[3] == [fresh[0]]
    assert [b[0] for b in batches[4:]] == [e[0] for e in storm[1:]]


def test_an_incidents_entries_go_together_in_arrival_order_and_later_ones_wait_for_it() -> None:
    firing, repeat = entry("HighCPU", "a"), entry("HighCPU", "a")
    other = entry("HighCPU", "b")
    order = DrainOrder()
    order.add([firing, other, repeat])
    first = order.next()
    assert first is not None and [e for e, _ in first.entries] == [firing[0], repeat[0]]
    # Its resolution arrives while the batch is in flight: it must not start beside it.
    resolution = entry("HighCPU", "a", resolved=True)
    order.add([resolution])
    second = order.next()
    assert second is not None and second.workflow_id == other[1].ref.workflow_id
    assert order.next() is None
    order.done(first.workflow_id)
    third = order.next()
    assert third is not None and [e for e, _ in third.entries] == [resolution[0]]


def test_an_entry_read_twice_is_taken_once_and_a_critical_repeat_moves_its_incident_up() -> None:
    warning = entry("HighCPU", "w")
    others = [entry("HighCPU", f"o{i}") for i in range(3)]
    order = DrainOrder()
    order.add([warning, *others])
    order.add([warning])  # a re-read of the spool
    assert len(order) == 4
    # The same incident's next delivery says critical: the incident goes ahead of the warnings.
    escalated = entry("HighCPU", "w", severity=Severity.CRITICAL)
    escalated[1].ref = warning[1].ref
    order.add([escalated])
    batches = drain(order)
    assert batches[0] == [warning[0], escalated[0]]
    assert len(batches) == 4


def held(name: str, fingerprint: str, *, resolved: bool = False, at: datetime = NOW) -> tuple[str, SpooledDelivery]:
    """A storm's repeat spooled by storm mode (docs/adr/0023): the drainer may hold it."""
    entry_id, item = entry(name, fingerprint, resolved=resolved)
    return entry_id, item.model_copy(update={"held": not resolved, "spooled_at": at})


def test_a_storms_repeats_wait_for_their_incidents_next_ones_up_to_the_hold() -> None:
    from datetime import timedelta

    from starter.drain_order import RIPE_COUNT

    order = DrainOrder(hold_seconds=5.0)
    first, second = held("HighCPU", "a"), held("HighCPU", "a", at=NOW + timedelta(seconds=1))
    order.add([first, second])
    assert order.next(NOW + timedelta(seconds=4)) is None, "held: its incident's next repeats may join"
    batch = order.next(NOW + timedelta(seconds=5))
    assert batch is not None and [e for e, _ in batch.entries] == [first[0], second[0]], "one signal, in order"
    order.done(batch.workflow_id)
    # A resolution (never held) takes its incident's held repeats with it at once, after them.
    repeat, resolution = held("HighCPU", "b"), held("HighCPU", "b", resolved=True)
    order.add([repeat])
    assert order.next(NOW) is None
    order.add([resolution])
    batch = order.next(NOW)
    assert batch is not None and [e for e, _ in batch.entries] == [repeat[0], resolution[0]]
    order.done(batch.workflow_id)
    # Enough held entries of one incident leave without waiting out the hold.
    many = [held("HighCPU", "c") for _ in range(RIPE_COUNT)]
    order.add(many)
    batch = order.next(NOW)
    assert batch is not None and len(batch.entries) == RIPE_COUNT
    # Without a hold (the default, and every entry spooled for any other reason) nothing waits.
    plain = DrainOrder()
    plain.add([held("HighCPU", "d")])
    assert plain.next(NOW) is not None

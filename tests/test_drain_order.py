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


def test_a_storms_repeats_leave_by_count_or_once_the_storm_goes_quiet() -> None:
    """docs/adr/0032: a slow sender's storm fills a batch as full as a fast one's; once the storm's
    repeats stop, counts do not lag longer than the quiet gap; the hold bounds how late a count may show."""
    from datetime import timedelta

    order = DrainOrder(30.0, quiet_seconds=3.0, ripe=5)
    # One repeat a second (a plain client's pace over 100 incidents): still arriving, so still held.
    order.add([held("HighCPU", "a", at=NOW + timedelta(seconds=s)) for s in range(4)])
    assert order.next(NOW + timedelta(seconds=5.9)) is None, "a repeat came 2.9 s ago: the storm goes on"
    order.add([last := held("HighCPU", "a", at=NOW + timedelta(seconds=6))])
    batch = order.next(NOW + timedelta(seconds=6))
    assert batch is not None and len(batch.entries) == 5, "ripe by count, whatever time it took"
    assert last[0] in [e for e, _ in batch.entries]
    order.done(batch.workflow_id)
    # One incident stops while another goes on: the storm is not over, so "b" waits (bounded by the hold).
    order.add([held("HighCPU", "b", at=NOW + timedelta(seconds=7))])
    order.add([held("DiskFull", "c", at=NOW + timedelta(seconds=s)) for s in (8, 10)])
    assert order.next(NOW + timedelta(seconds=12.9)) is None
    # Nothing held came for 3 s: the storm is over, and what waits leaves at once.
    ready = [order.next(NOW + timedelta(seconds=13)), order.next(NOW + timedelta(seconds=13))]
    assert sorted(len(b.entries) for b in ready if b is not None) == [1, 2]
    # Repeats that never stop and never fill a batch still leave when the oldest is hold_seconds old.
    steady = DrainOrder(30.0, quiet_seconds=3.0, ripe=1000)
    steady.add([held("HighCPU", "d", at=NOW + timedelta(seconds=s)) for s in range(0, 32, 2)])
    assert steady.next(NOW + timedelta(seconds=29.9)) is None
    batch = steady.next(NOW + timedelta(seconds=30))
    assert batch is not None and len(batch.entries) == 16

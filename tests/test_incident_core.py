"""The incident core without Temporal: decisions in microseconds (docs/adr/0020).

Each test scripts deliveries, decisions and wake-ups and reads the commands the core asked for; the
property tests run random sequences of them and check what must hold whatever happens.
"""

from __future__ import annotations

import ast
from datetime import timedelta
from pathlib import Path

from hypothesis import given, settings as hsettings, strategies as st

from core.incident.commands import (
    Analyze,
    CheckSeen,
    EditCard,
    Escalate,
    Execute,
    Log,
    PlaceCard,
    Publish,
    Recommend,
    Record,
    Save,
    SaveBatch,
    SetStatus,
)
from core.incident.core import CardRequest
from core.incident.state import IncidentSettings
from core.inputs import CardPlacement
from core.models import IncidentStatus, RepairAction
from core.repair import RepairPhase
from tests.incident_script import T0, Script, decision, failing, firing, resolved

ROOT = Path(__file__).resolve().parents[1]


def kinds(commands: list) -> list[str]:
    return [type(c).__name__ for c in commands if not isinstance(c, (Log, Publish))]


def test_the_core_imports_no_temporal_and_reads_no_clock() -> None:
    for path in sorted((ROOT / "core" / "incident").glob("*.py")):
        tree = ast.parse(path.read_text())
        modules = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module} | \
            {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        assert not {m for m in modules if m.split(".")[0] in ("temporalio", "asyncio", "time", "random")}, path
        source = path.read_text()
        assert ".now(" not in source and "utcnow" not in source, f"{path.name} reads a clock"


def test_a_new_incident_runs_every_quick_step_before_its_card_then_comments_nothing_without_sentry() -> None:
    script = Script()
    made = script.step(T0, [firing(0)])
    # Quick steps (local activities) first, then the regular ones: docs/adr/0020.
    assert kinds(made) == ["Analyze", "Save", "Record", "Recommend", "PlaceCard"]
    state = script.core.state
    assert state is not None and state.status is IncidentStatus.OPEN and state.occurrences == 1
    assert state.message_id == "1" and state.repair is not None
    assert state.repair.phase is RepairPhase.AWAITING_APPROVAL
    card = script.of(PlaceCard)[0].inp
    assert card.own_card and card.repair is state.repair  # the buttons go with the first card


def test_repeats_fold_into_one_save_and_the_count_waits_for_the_edit_interval() -> None:
    script = Script()
    script.step(T0, [firing(0)])
    made = script.step(T0 + timedelta(seconds=2), [firing(1), firing(2), firing(3), firing(3, "resend")])
    assert kinds(made) == ["SaveBatch", "Record"]  # no card call yet: the card was called 2 s ago
    save = script.of(SaveBatch)[0].inp
    assert len(save.counted) == 3 and save.seen == ["resend"]
    assert script.core.state.occurrences == 4 and script.core.state.card_dirty
    wake = script.core.next_wake()
    assert wake.at == T0 + timedelta(seconds=10) and "card edit" in wake.why
    made = script.wake()
    assert kinds(made) == ["EditCard"] and script.of(EditCard)[0].best_effort
    assert not script.core.state.card_dirty


def test_the_card_budget_holds_count_edits_to_two_calls_a_window_but_never_a_state_change() -> None:
    script = Script()
    script.step(T0, [firing(0)])                      # call 1 (the card)
    script.step(T0 + timedelta(seconds=11), [firing(1)])  # call 2 (a count edit)
    script.step(T0 + timedelta(seconds=22), [firing(2)])  # dirty: the budget is spent until T0 + 60 s
    assert script.core.next_wake().at == T0 + timedelta(seconds=60)
    made = script.step(T0 + timedelta(seconds=30), [resolved(2, 3, at=T0 + timedelta(seconds=30))])
    assert "EditCard" in kinds(made)  # the resolution goes at once
    assert script.core.state.status is IncidentStatus.RESOLVED


def test_a_paced_out_count_edit_gives_its_budget_stamp_back() -> None:
    script = Script(answers={EditCard: failing("Paced")})
    script.step(T0, [firing(0)])
    script.step(T0 + timedelta(seconds=11), [firing(1)])
    state = script.core.state
    assert state.card_dirty and len(state.card_calls) == 1  # the edit reached nothing: only the card counts


def test_a_resent_firing_counts_nothing_and_a_repeated_delivery_is_dropped() -> None:
    script = Script()
    first = firing(0, "same-id")
    script.step(T0, [first])
    script.step(T0 + timedelta(seconds=1), [first, firing(0, "a-resend")])
    assert script.core.state.occurrences == 1
    assert script.of(SaveBatch)[0].inp.seen == ["a-resend"]


def test_a_resolution_ends_the_run_after_the_grace_and_a_flap_inside_it_reopens_the_same_card() -> None:
    script = Script()
    script.step(T0, [firing(0)])
    at = T0 + timedelta(minutes=5)
    made = script.step(at, [resolved(0, 5, at=at)])
    assert SetStatus(IncidentStatus.RESOLVED.value) in made
    assert script.core.state.repair.phase is RepairPhase.NOT_NEEDED
    assert script.core.next_wake().at == at + timedelta(seconds=300)
    flap = at + timedelta(minutes=1)
    script.step(flap, [firing(6, at=flap)])
    assert script.core.state.status is IncidentStatus.OPEN and script.core.state.message_id == "1"
    assert script.core.outcome is None
    again = flap + timedelta(minutes=1)
    script.step(again, [resolved(6, 7, at=again)])
    assert script.core.outcome is None
    script.wake()
    assert script.core.outcome is not None and script.core.outcome.status == "resolved"
    assert len(script.of(PlaceCard)) == 1


def test_a_late_resend_of_the_resolved_firing_never_reopens() -> None:
    script = Script()
    script.step(T0, [firing(0)])
    script.step(T0 + timedelta(minutes=5), [resolved(0, 5)])
    script.step(T0 + timedelta(minutes=6), [firing(0, "late-retry")])
    assert script.core.state.status is IncidentStatus.RESOLVED


def test_a_resolution_of_an_ended_incident_is_a_duplicate_and_does_not_drop_what_follows() -> None:
    """The old ``if finished: return`` dropped the rest of the inbox: a firing after the duplicate
    resolution in the same batch now opens its incident."""
    script = Script(answers={CheckSeen: lambda c: True})
    made = script.step(T0, [resolved(0, 5), firing(9)])
    assert kinds(made)[:2] == ["CheckSeen", "SetStatus"]
    assert script.core.state is not None and script.core.state.status is IncidentStatus.OPEN
    assert SetStatus("open") in made  # the Web UI shows it open again, not "duplicate"
    assert script.core.outcome is None


def test_a_lone_duplicate_resolution_ends_the_run_as_duplicate() -> None:
    script = Script(answers={CheckSeen: lambda c: True})
    script.step(T0, [resolved(0, 5)])
    assert script.core.outcome.status == "duplicate"
    assert script.core.next_wake().at == T0


def test_the_probe_flag_survives_continue_as_new() -> None:
    """It was set only when an incident opened: after continue-as-new a probe's edits went to the
    operators' chat. Now it is part of the carried state."""
    script = Script()
    script.step(T0, [firing(0, awoooi_probe="true")])
    carried = script.core.state.model_copy(deep=True)
    again = Script()
    again.core.state = carried
    again.step(T0 + timedelta(seconds=11), [firing(1, awoooi_probe="true")])
    again.wake()
    edits = again.of(EditCard)
    assert edits and all(e.inp.probe for e in edits)
    assert not script.of(Recommend) and not script.of(Record)  # a probe plans no repair, teaches nothing


def test_an_idle_incident_expires_and_a_pending_approval_ends_with_it() -> None:
    script = Script(IncidentSettings(idle_timeout_seconds=600, policy={"approval_timeout_seconds": 3600}))
    script.step(T0, [firing(0)])
    assert script.core.next_wake().why == "idle expiry"
    made = script.wake()
    assert SetStatus(IncidentStatus.EXPIRED.value) in made
    state = script.core.state
    assert state.status is IncidentStatus.EXPIRED and state.repair.phase is RepairPhase.TIMED_OUT
    assert "expired before anyone decided" in state.repair.note
    assert script.core.outcome.status == "expired"


def test_no_decision_within_the_approval_timeout_escalates_once() -> None:
    script = Script(IncidentSettings(policy={"approval_timeout_seconds": 60}))
    script.step(T0, [firing(0)])
    assert script.core.next_wake().why == "approval deadline"
    script.wake()
    assert script.core.state.repair.phase is RepairPhase.TIMED_OUT
    assert len(script.of(Escalate)) == 1
    assert script.of(Escalate)[0].inp.reply_to == "1"


def test_an_approval_runs_the_repair_once_and_a_repeat_changes_nothing() -> None:
    script = Script()
    script.step(T0, [firing(0)])
    script.step(T0 + timedelta(seconds=30), decisions=[decision()])
    script.step(T0 + timedelta(seconds=31), decisions=[decision()])
    assert len(script.of(Execute)) == 1
    assert script.core.state.repair.phase is RepairPhase.SIMULATED


def test_a_decision_that_comes_second_is_refused_by_the_validator() -> None:
    script = Script()
    script.step(T0, [firing(0)])
    script.core.check_decision(decision(True, "alice"), [])
    try:
        script.core.check_decision(decision(False, "bob"), [decision(True, "alice")])
    except ValueError as exc:
        assert "already approved by alice" in str(exc)
    else:
        raise AssertionError("a second, different decision was accepted")


def test_an_own_card_request_places_the_card_of_a_digested_incident() -> None:
    script = Script(answers={PlaceCard: lambda c: CardPlacement(message_id="7") if c.inp.force_own
                             else CardPlacement(digest_message_id="3")})
    script.step(T0, [firing(0)])
    assert script.core.state.digest_message_id == "3" and script.core.state.message_id is None
    request = CardRequest()
    script.step(T0 + timedelta(seconds=1), card_requests=[request])
    assert request.done and request.placement.message_id == "7" and request.error is None


def test_a_digested_incident_asks_for_its_own_card_again_after_a_window_then_doubling() -> None:
    script = Script(IncidentSettings(digest_window_seconds=60, idle_timeout_seconds=86400),
                    answers={PlaceCard: lambda c: CardPlacement(digest_message_id="3")})
    script.step(T0, [firing(0)])
    waits = []
    for _ in range(3):
        wake = script.core.next_wake()
        waits.append((wake.at - script.core.state.own_asked_at).total_seconds())
        script.wake()
    assert waits == [60, 120, 240]


def test_analysis_and_save_failures_still_give_a_card_and_say_so() -> None:
    script = Script(answers={Analyze: failing(), Save: failing("UpstreamError")})
    made = script.step(T0, [firing(0)])
    assert script.core.state.analysis.analyzed_by == "fallback"
    assert any(isinstance(c, Log) and c.message == "incident record not saved" for c in made)
    assert script.core.state.message_id == "1"


def test_a_failed_card_is_tried_again_at_the_next_interval() -> None:
    calls = iter([Exception, None])

    def place(command):
        from core.incident.commands import Failed
        return Failed("TimeoutError", "down") if next(calls) is Exception else CardPlacement(message_id="5")

    script = Script(answers={PlaceCard: place})
    script.step(T0, [firing(0)])
    assert script.core.state.message_id is None and script.core.state.card_dirty
    script.wake()
    assert script.core.state.message_id == "5"


# -- properties over random histories ---------------------------------------------------------

_events = st.lists(
    st.one_of(
        st.tuples(st.just("fire"), st.integers(0, 4), st.sampled_from(["a", "b", "c", None])),
        st.tuples(st.just("resolve"), st.integers(0, 4), st.just(None)),
        st.tuples(st.just("approve"), st.booleans(), st.just(None)),
        st.tuples(st.just("wake"), st.just(0), st.just(None)),
    ),
    min_size=1, max_size=25,
)


@hsettings(max_examples=300, deadline=None)
@given(events=_events, batch=st.integers(1, 4), card_fails=st.booleans(), local_failures=st.booleans())
def test_random_histories_keep_the_promises(events, batch, card_fails, local_failures) -> None:
    """One card per incident; every delivery is handled (saved, marked seen, or dropped as a repeat of
    one handled); an occurrence is counted once; a resolution is undone only by a new firing."""
    answers = {}
    if card_fails:
        toggle = iter(range(1_000_000))
        answers[PlaceCard] = lambda c: failing()(c) if next(toggle) % 3 == 0 else CardPlacement(message_id="1")
    if local_failures:
        answers[Save] = failing("UpstreamError")
        answers[Record] = failing("UpstreamError")
    script = Script(answers=answers)
    now = T0
    pending, counted_occurrences, delivered = [], set(), []
    for n, (kind, value, resend) in enumerate(events):
        now += timedelta(seconds=7)
        if kind == "fire":
            delivery = firing(value, f"d{n}" if resend is None else f"r{resend}", at=now)
            pending.append(delivery)
        elif kind == "resolve":
            pending.append(resolved(value, value + 1, at=now))
        if len(pending) >= batch or kind in ("approve", "wake"):
            delivered += pending
            script.step(now, pending, decisions=[decision(value)] if kind == "approve" and script.core.state
                        and script.core.state.repair and script.core.state.repair.phase.open else None)
            pending = []
        if kind == "wake" and script.core.next_wake() is not None:
            wake = script.core.next_wake()
            if wake.at > now:
                now = wake.at
            script.step(now)
    if pending:
        delivered += pending
        script.step(now, pending)
    state = script.core.state
    # One card per incident: a place call only while it has none; never two card messages.
    places = script.of(PlaceCard)
    assert len({p.inp.card_key for p in places}) <= 1
    has_card = False
    for command, result in zip(script.commands, script.results, strict=True):
        if isinstance(command, PlaceCard):
            assert not has_card, "a second card was placed after the first one"
            has_card = isinstance(result, CardPlacement) and result.message_id is not None
    # Every delivery id is accounted for.
    handled = set()
    for command in script.commands:
        if isinstance(command, Save):
            handled.add(command.inp.delivery_id)
        elif isinstance(command, SaveBatch):
            handled.update(command.inp.counted, command.inp.seen)
        elif isinstance(command, CheckSeen):
            handled.add(command.inp.delivery_id)
    dropped = [d.delivery_id for d in delivered if d.delivery_id not in handled]
    if state is not None:
        for delivery_id in dropped:
            # Dropped only as a repeat of a delivery id already handled, or a late re-send after a resolution.
            assert delivery_id in state.seen_deliveries or delivery_id.startswith("r"), delivery_id
        # An occurrence is counted once.
        for d in delivered:
            if d.alert.status.value == "firing" and d.delivery_id in handled:
                counted_occurrences.add(d.occurrence_id)
        assert state.occurrences <= len(counted_occurrences) + 1
        assert len(set(state.seen_occurrences)) == len(state.seen_occurrences)
    # A resolution is only undone by a firing of a new occurrence.
    last_status = None
    for command in script.commands:
        if isinstance(command, SetStatus):
            last_status = command.status
    if state is not None and last_status is not None and state.status is not IncidentStatus.EXPIRED:
        assert last_status in (state.status.value, "duplicate")


def test_repair_action_tiers_used_here_exist() -> None:
    assert RepairAction.SCALE_UP.tier == 2

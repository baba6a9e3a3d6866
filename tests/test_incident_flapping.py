"""Flapping in the pure core, in simulated time (core/incident/flapping.py, docs/adr/0031): the mark,
edits at most once a window, no automatic repair, the re-notification waits, the quiet window that
clears it, and a re-fire after the resolve grace as a new lifecycle (issue 20)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from activities.chat.telegram.render import render_card
from core.console import current_details
from core.incident.commands import Analyze, EditCard, Execute, Log, PlaceCard, Recommend, SetStatus
from core.incident.flapping import SetFlapping
from core.incident.state import IncidentSettings
from core.inputs import RepairPlanAnswer
from core.learning import SmartRecommendation
from core.models import IncidentStatus, RepairAction
from core.repair import RepairPhase
from tests.incident_script import T0, Script, firing, resolved

MIN = 60.0
FLAP = dict(flap_count=3, flap_window_seconds=3600.0, new_lifecycle_after_grace=True, resolve_grace_seconds=300,
            card_edit_interval_seconds=10, card_budget_calls=2, idle_timeout_seconds=86400)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def _script(action: RepairAction = RepairAction.MANUAL_INTERVENTION, answers: dict | None = None,
            **overrides: object) -> Script:
    return Script(IncidentSettings(**{**FLAP, **overrides}), action=action, answers=answers)


def flap(script: Script, fired: int, resolve_at: float, refire_at: float) -> int:
    """The firing that started at minute ``fired`` resolves, and the alert fires again: the new
    firing's start minute."""
    script.step(at(resolve_at), [resolved(fired, int(resolve_at), at=at(resolve_at))])
    script.step(at(refire_at), [firing(int(refire_at), at=at(refire_at))])
    return int(refire_at)


def logged(script: Script, message: str) -> list[Log]:
    return [c for c in script.of(Log) if c.message == message]


def _flapping_after_four(script: Script) -> int:
    """Fired at 0, then resolved and fired again four times within 12 minutes (all within the grace)."""
    script.step(T0, [firing(0)])
    fired = 0
    for n in range(4):
        fired = flap(script, fired, 3 * n + 2, 3 * n + 3)
    return fired


def test_off_by_default_nothing_is_marked_and_every_flap_edits_the_card() -> None:
    script = Script(IncidentSettings(card_edit_interval_seconds=10, card_budget_calls=2, resolve_grace_seconds=300,
                                     idle_timeout_seconds=86400), action=RepairAction.MANUAL_INTERVENTION)
    _flapping_after_four(script)
    assert script.core.state.flapping == 0 and not logged(script, "incident flapping")
    assert not script.of(SetFlapping)
    assert len(script.of(EditCard)) == 8  # every resolve and every re-open
    assert all(not c.inp.view.flapping for c in script.of(EditCard))


def test_more_than_flap_count_refires_within_the_window_mark_it_once_on_the_card() -> None:
    script = _script()
    _flapping_after_four(script)
    state = script.core.state
    assert state.flapping == 4 and len(state.refires) == 4 and state.status is IncidentStatus.OPEN
    assert len(logged(script, "incident flapping")) == 1 and script.of(SetFlapping) == [SetFlapping(True)]
    edits = script.of(EditCard)
    assert [bool(c.inp.view.flapping) for c in edits] == [False] * 7 + [True]
    assert edits[-1].inp.view.flapping == 4 and edits[-1].inp.view.flap_window_seconds == 3600
    card = render_card(edits[-1].inp.view, locale="en", tz=ZoneInfo("UTC"))
    assert "🔁 Flapping: fired 4 times in the last 1 h" in card
    zh = render_card(edits[-1].inp.view, locale="zh-TW", tz=ZoneInfo("UTC"))
    assert "反覆觸發" in zh and "1 h" in zh
    assert "**Flapping:** fired 4 times in the last 3600 s" in current_details(edits[-1].inp.view, None)


def test_three_refires_are_not_flapping() -> None:
    script = _script()
    script.step(T0, [firing(0)])
    fired = 0
    for n in range(3):
        fired = flap(script, fired, 3 * n + 2, 3 * n + 3)
    assert script.core.state.flapping == 0 and not logged(script, "incident flapping")


def test_refires_older_than_the_window_do_not_count() -> None:
    script = _script(resolve_grace_seconds=3 * 3600)
    script.step(T0, [firing(0)])
    fired = 0
    for n in range(4):  # one flap every 25 minutes: never more than 3 within an hour
        fired = flap(script, fired, 25 * n + 20, 25 * n + 25)
    assert script.core.state.flapping == 0 and len(script.core.state.refires) == 3


def test_while_flapping_state_and_count_edits_are_shown_at_most_once_per_window() -> None:
    script = _script()
    fired = _flapping_after_four(script)
    marked = len(script.of(EditCard))
    # Resolves, re-fires and repeats for the rest of the window: not one card call.
    for n in range(5):
        fired = flap(script, fired, 14 + 3 * n, 15 + 3 * n)
        script.step(at(15.5 + 3 * n), [firing(fired, delivery_id=f"again-{n}", at=at(15.5 + 3 * n))])
    script.step(at(40), [resolved(fired, 40, at=at(40))])
    assert len(script.of(EditCard)) == marked and not script.of(PlaceCard)[1:]
    assert script.core.state.card_dirty
    # The held change goes out once, a window after the edit that marked it, with the counts then.
    wake = script.core.next_wake()
    assert wake.at == at(12 + 60)
    script.wake()
    edits = script.of(EditCard)
    assert len(edits) == marked + 1
    assert edits[-1].inp.view.status is IncidentStatus.RESOLVED and edits[-1].inp.view.flapping == 9
    assert not script.core.state.card_dirty


def test_the_mark_clears_after_a_quiet_window_with_one_edit_and_then_the_resolved_run_ends() -> None:
    script = _script()
    fired = _flapping_after_four(script)
    script.step(at(13), [resolved(fired, 13, at=at(13))])
    assert script.core.outcome is None
    # Resolved, but the grace (13 + 5 min) does not end the run while it is flapping.
    assert script.core.next_wake().at == at(12 + 60)
    before = len(script.of(EditCard))
    script.wake()  # the held resolution edit is due when the quiet window ends (minute 12 + 60 min)
    state = script.core.state
    assert state.flapping == 0 and state.stable_again and state.refires == []
    edits = script.of(EditCard)[before:]
    assert len(edits) == 1, "the held resolution and the all-clear are the same edit"
    assert edits[0].inp.view.stable_again and edits[0].inp.view.status is IncidentStatus.RESOLVED
    assert "🟢 Stable again: no re-fire for 1 h" in render_card(edits[0].inp.view, locale="en", tz=ZoneInfo("UTC"))
    assert len(logged(script, "incident stable again")) == 1
    assert script.of(SetFlapping) == [SetFlapping(True), SetFlapping(False)]
    assert script.core.outcome is not None and script.core.outcome.status == "resolved"


def test_a_flapping_incident_still_firing_after_a_quiet_window_is_stable_again() -> None:
    script = _script()
    _flapping_after_four(script)
    script.step(at(50), [firing(12, delivery_id="repeat", at=at(50))])  # a repeat is not a re-fire
    made = script.step(at(72))
    assert script.core.state.flapping == 0 and script.core.state.stable_again
    assert [c.inp.view.stable_again for c in made if isinstance(c, EditCard)] == [True]
    assert script.core.outcome is None and script.core.state.status is IncidentStatus.OPEN


def test_refires_while_flapping_do_not_restart_the_renotification_waits() -> None:
    script = _script(acks=True, renotify_seconds={"warning": [15 * MIN]})
    fired = _flapping_after_four(script)
    # Before the mark every re-open restarted the waits (minute 9); the marking one (12) did not.
    assert script.core.state.unacked_since == at(9)
    flap(script, fired, 14, 15)
    assert script.core.state.unacked_since == at(9)


def _sure(command: Recommend) -> RepairPlanAnswer:
    return RepairPlanAnswer(recommendation=SmartRecommendation(
        anomaly_key=command.inp.anomaly_key, action=RepairAction.RESTART_POD, tier=1, confidence=0.95,
        source="learning", sources={"action": "learning", "confidence": "learning"}), registered=True)


def test_a_plan_made_while_flapping_asks_instead_of_repairing_by_itself() -> None:
    script = _script(action=RepairAction.RESTART_POD, answers={Recommend: _sure})
    script.step(T0, [firing(0)])
    assert len(script.of(Execute)) == 1, "not flapping: learning is sure, it runs by itself"
    fired = 0
    for n in range(3):
        fired = flap(script, fired, 3 * n + 2, 3 * n + 3)
    # The fourth re-fire comes after the grace: a new lifecycle, marked flapping as it opens.
    script.step(at(20), [resolved(fired, 20, at=at(20))])
    script.step(at(30), [firing(30, at=at(30))])
    state = script.core.state
    assert state.flapping == 4 and len(script.of(PlaceCard)) == 2
    assert len(script.of(Execute)) == 1, "no automatic repair while flapping"
    assert state.repair.mode == "approval" and state.repair.phase is RepairPhase.AWAITING_APPROVAL
    assert state.repair.approval_token and "flapping" in state.repair.note
    assert script.of(PlaceCard)[-1].inp.view.flapping == 4


# -- a re-fire after the resolve grace (issue 20's second flapping sentence) -------------------

def _resolved_and_grace_over(script: Script) -> None:
    script.step(T0, [firing(0)])
    script.step(at(2), [resolved(0, 2, at=at(2))])
    script.step(at(7))  # the grace (5 min) ends: the run is over...
    assert script.core.outcome is not None and script.core.outcome.status == "resolved"


def test_a_refire_after_the_grace_is_a_new_incident_even_before_the_run_has_ended() -> None:
    # ...but it was still finishing a call (a paced card edit) when the alert fired again.
    script = _script(flap_count=0)
    _resolved_and_grace_over(script)
    first = script.core.state.lifecycle_id
    made = script.step(at(7.5), [firing(7, at=at(7.5))])
    state = script.core.state
    assert state.lifecycle_id != first and state.status is IncidentStatus.OPEN and state.occurrences == 1
    assert SetStatus(IncidentStatus.OPEN.value) in made
    assert len(script.of(Analyze)) == 2
    placed = [c for c in made if isinstance(c, PlaceCard)]
    assert len(placed) == 1 and placed[0].inp.card_key.endswith(state.lifecycle_id)
    assert not [c for c in made if isinstance(c, EditCard)], "the old card is not re-opened"
    assert script.core.outcome is None


def test_a_refire_received_within_the_grace_and_handled_after_it_reopens() -> None:
    """A worker that was down handles it late: when it reached us decides, not when it is handled."""
    script = _script(flap_count=0)
    _resolved_and_grace_over(script)
    first = script.core.state.lifecycle_id
    made = script.step(at(30), [firing(6, at=at(6))])
    assert script.core.state.lifecycle_id == first and script.core.state.status is IncidentStatus.OPEN
    assert [c for c in made if isinstance(c, EditCard)] and not [c for c in made if isinstance(c, PlaceCard)]


def test_gate_off_a_refire_after_the_grace_in_a_run_not_ended_still_reopens() -> None:
    """What a recorded history (settings without the gate) replays: the same commands as before."""
    script = _script(flap_count=0, new_lifecycle_after_grace=False)
    _resolved_and_grace_over(script)
    first = script.core.state.lifecycle_id
    made = script.step(at(7.5), [firing(7, at=at(7.5))])
    assert script.core.state.lifecycle_id == first and [c for c in made if isinstance(c, EditCard)]


def test_flaps_count_across_a_new_lifecycle_in_the_same_run() -> None:
    script = _script()
    script.step(T0, [firing(0)])
    flap(script, 0, 2, 3)  # within the grace: re-opens; the run now stays to count
    script.step(at(5), [resolved(3, 5, at=at(5))])
    script.step(at(10))  # the grace ends, the run does not
    assert script.core.outcome is None
    assert script.core.next_wake().at == at(3 + 60)
    first = script.core.state.lifecycle_id
    script.step(at(20), [firing(20, at=at(20))])
    state = script.core.state
    assert state.lifecycle_id != first and state.refires == [at(3), at(20)]
    # Quiet for a window after the last re-fire and resolved: the run ends.
    script.step(at(25), [resolved(20, 25, at=at(25))])
    script.step(at(80))
    assert script.core.outcome is not None and script.core.outcome.status == "resolved"


def test_the_flapping_line_keeps_the_largest_card_within_telegrams_limit() -> None:
    from tests.test_render import UTC_TZ, make_view, utf16_len

    blob = "<script>&" * 12_000
    view = make_view(title="T&<" * 5000, description=blob, root_cause="root " * 20_000, impact="😀" * 30_000,
                     fix=blob, labels={f"label{i}": "v" * 100 for i in range(500)})
    for locale in ("en", "zh-TW"):
        flapping = view.model_copy(update={"flapping": 1000, "flap_window_seconds": 7 * 86400.0,
                                           "silenced": "silence:" + "x" * 300, "silenced_by": "y" * 100})
        card = render_card(flapping, locale=locale, tz=UTC_TZ)
        assert utf16_len(card) <= 4096 and "🔁" in card

"""Acknowledgements, re-notification, escalation and incident metrics in the pure core, in simulated
time (docs/adr/0025): the backoff, the escalation, what stops them, and what is observed once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.acks import AckRequest
from core.incident.commands import EditCard, Observe, PlaceCard, Renotify, SetAcked
from core.incident.silencing import AskVerdict
from core.incident.state import IncidentSettings
from core.models import IncidentStatus, RepairAction
from core.silence_inputs import SilenceVerdict
from tests.incident_script import T0, Script, decision, firing, resolved

MIN = 60.0
ON = dict(acks=True, renotify_seconds={"warning": [15 * MIN, 30 * MIN, 60 * MIN, 120 * MIN]},
          escalate_after_seconds={"warning": 30 * MIN}, metrics=True, idle_timeout_seconds=86400,
          resolve_grace_seconds=300)


def _script(**overrides: object) -> Script:
    settings = IncidentSettings(**{**ON, **overrides})
    return Script(settings, action=RepairAction.MANUAL_INTERVENTION)


def ack(by: str = "alice", minute: float = 20, by_id: str | None = None) -> AckRequest:
    return AckRequest(by=by, by_id=by_id, via="api", at=T0 + timedelta(minutes=minute))


def at(minutes: float):  # noqa: ANN202
    return T0 + timedelta(minutes=minutes)


def test_with_acks_off_nothing_changes_and_an_ack_is_refused() -> None:
    script = Script(IncidentSettings(idle_timeout_seconds=86400), action=RepairAction.MANUAL_INTERVENTION)
    script.step(T0, [firing(0)])
    assert not script.of(SetAcked) and not script.core.state.ackable
    assert not script.of(PlaceCard)[0].inp.view.ackable
    with pytest.raises(ValueError, match="off"):
        script.core.check_ack(ack(), [])
    assert script.core.next_wake().why == "idle expiry"
    script.step(at(20), acks=[ack()])  # even if one got through, nothing is recorded
    script.step(at(30), [resolved(0, 30, at=at(30))])
    assert not script.of(SetAcked) and not script.of(Renotify) and not script.of(Observe)


def test_a_new_incident_is_listed_unacked_and_its_first_card_carries_the_ack_button() -> None:
    script = _script()
    made = script.step(T0, [firing(0)])
    kinds = [type(c).__name__ for c in made]
    assert kinds.index("SetAcked") < kinds.index("PlaceCard")
    assert script.of(SetAcked) == [SetAcked(False)]
    view = script.of(PlaceCard)[0].inp.view
    assert view.ackable and view.acked is None


def test_the_first_ack_is_recorded_on_the_card_the_same_person_changes_nothing_a_second_is_refused() -> None:
    script = _script()
    script.step(T0, [firing(0)])
    script.core.check_ack(ack(), [])
    assert "Acked by alice" in script.core.ack_answer(ack(), []).message
    made = script.step(at(20), acks=[ack()])
    assert SetAcked(True) in made
    edit = [c for c in made if isinstance(c, EditCard)][0]
    assert edit.inp.view.acked.by == "alice" and edit.inp.view.acked.at == at(20)
    # The same person again: accepted, same answer, nothing recorded.
    script.core.check_ack(ack(minute=25), [])
    answer = script.core.ack_answer(ack(minute=25), [])
    assert answer.by == "alice" and answer.at == at(20) and "Already acked" in answer.message
    script.step(at(25), acks=[ack(minute=25)])
    assert len(script.of(SetAcked)) == 2
    with pytest.raises(ValueError, match="already acked by alice"):
        script.core.check_ack(ack("bob", 26), [])


def test_a_second_person_racing_a_pending_ack_is_told_who_was_first() -> None:
    script = _script()
    script.step(T0, [firing(0)])
    with pytest.raises(ValueError, match="already acked by alice"):
        script.core.check_ack(ack("bob"), [ack("alice")])
    # The same Telegram user under another display name is the same person.
    script.core.check_ack(ack("@al", by_id="7"), [ack("alice", by_id="7")])


def test_an_ack_on_a_resolved_incident_is_refused_with_a_clear_message() -> None:
    script = _script()
    script.step(T0, [firing(0)])
    script.step(at(5), [resolved(0, 5, at=at(5))])
    with pytest.raises(ValueError, match="the incident is resolved: there is nothing to acknowledge"):
        script.core.check_ack(ack(), [])


def _renotifications(script: Script, until_minutes: float) -> list[tuple[float, int, bool]]:
    """Wake the core until then: (minute, n, escalation) of each re-notification sent."""
    sent = []
    while True:
        wake = script.core.next_wake()
        if wake is None or wake.at > at(until_minutes) or script.core.outcome is not None:
            return sent
        for command in script.step(wake.at):
            if isinstance(command, Renotify):
                sent.append(((wake.at - T0).total_seconds() / 60, command.inp.n, command.inp.escalation))


def test_an_unacked_incident_is_renotified_on_its_backoff_and_escalated_once() -> None:
    script = _script()
    script.step(T0, [firing(0)])
    sent = _renotifications(script, 6 * 60)
    assert sent == [(15, 1, False), (30, 0, True), (45, 2, False), (105, 3, False), (225, 4, False),
                    (345, 5, False)]
    inputs = [c.inp for c in script.of(Renotify)]
    assert len({i.notify_key for i in inputs}) == len(inputs), "one key per message: sent once each"
    assert all(i.notify_key.startswith(script.core.state.card_key) for i in inputs)
    assert inputs[0].reply_to == "1" and inputs[0].unacked_seconds == 15 * MIN


def test_an_ack_stops_renotification_and_escalation() -> None:
    script = _script()
    script.step(T0, [firing(0)])
    assert _renotifications(script, 20) == [(15, 1, False)]
    script.step(at(20), acks=[ack()])
    assert _renotifications(script, 12 * 60) == []
    assert script.core.next_wake().why == "idle expiry"


def test_a_resolution_stops_them_and_a_reopen_starts_the_waits_again() -> None:
    script = _script()
    script.step(T0, [firing(0)])
    _renotifications(script, 16)
    script.step(at(20), [resolved(0, 20, at=at(20))])
    assert script.core.state.status is IncidentStatus.RESOLVED
    assert "unacknowledged" not in script.core.next_wake().why
    script.step(at(22), [firing(21, at=at(22))])
    assert script.core.state.status is IncidentStatus.OPEN
    # The second wait (30 min) from the re-open; escalation 30 min after the re-open too.
    assert _renotifications(script, 60) == [(52, 0, True), (52, 2, False)]


def test_a_silenced_incident_is_not_renotified() -> None:
    script = _script()
    script.step(T0, [firing(0)])
    script.core.state.silenced = True
    assert _renotifications(script, 6 * 60) == []


def test_a_severity_without_waits_is_never_renotified_and_a_late_wake_sends_one_not_a_burst() -> None:
    script = _script(renotify_seconds={"critical": [60.0]}, escalate_after_seconds={})
    script.step(T0, [firing(0)])
    assert _renotifications(script, 24 * 60) == []
    script = _script(escalate_after_seconds={})
    script.step(T0, [firing(0)])
    made = script.step(at(300))  # the worker was down for five hours
    assert [c.inp.n for c in made if isinstance(c, Renotify)] == [1]


def test_time_to_acknowledge_and_to_resolve_are_observed_once_each_even_across_a_flap() -> None:
    script = _script()
    script.step(T0, [firing(0)])
    script.step(at(20), acks=[ack()])
    script.step(at(40), [resolved(0, 40, at=at(40))])
    script.step(at(41), [firing(41, at=at(41))])
    script.step(at(42), [resolved(41, 42, at=at(42))])
    observed = {c.inp.metric: c.inp for c in script.of(Observe)}
    assert len(script.of(Observe)) == 2
    assert observed["time_to_acknowledge"].value == 20 * MIN
    assert observed["time_to_resolve"].value == 40 * MIN
    assert observed["time_to_resolve"].labels == {"service": "checkout", "severity": "warning",
                                                  "source": "alertmanager"}
    assert observed["time_to_resolve"].once_key.endswith(":resolve")


def test_a_rejected_repair_is_counted_once_as_rejected() -> None:
    script = Script(IncidentSettings(**ON), action=RepairAction.SCALE_UP)
    script.step(T0, [firing(0)])
    script.step(at(2), decisions=[decision(approve=False)])
    script.step(at(3), [firing(3, at=at(3))])
    outcomes = [c.inp for c in script.of(Observe) if c.inp.metric == "repair_outcome"]
    assert len(outcomes) == 1 and outcomes[0].labels == {"service": "checkout", "action": "scale_up",
                                                         "outcome": "rejected"}


def test_when_a_silence_ends_the_waits_start_again_from_then() -> None:
    script = _script(escalate_after_seconds={})
    script.step(T0, [firing(0)])
    script.core.state.silenced = "silence:s1"  # what core/incident/silencing.py keeps while one covers it
    assert _renotifications(script, 60) == []
    script.core.state.silenced = ""  # lifted: Silencing._keep clears it, then calls this hook
    script.core._acks.on_silence_ended(script.core.state, at(60))
    assert _renotifications(script, 80) == [(75, 1, False)]


def test_a_due_renotification_asks_the_silence_verdict_first_and_a_silence_added_since_holds_it() -> None:
    """A silence that names no alertname reaches an open incident only when it asks: a re-notification
    about to ring phones asks first (core/incident/core.py `_notify_due`); when the silence is
    lifted, the waits start over from then."""
    silenced_from, silenced_until = at(10), at(50)

    def verdict(command: AskVerdict) -> SilenceVerdict:
        if silenced_from <= command.inp.at < silenced_until:
            return SilenceVerdict(silenced=True, until=silenced_until, silence_ids=["s-1"], created_by=["amtool"])
        return SilenceVerdict(silenced=False)

    settings = IncidentSettings(**{**ON, "escalate_after_seconds": {}, "silences": True,
                                   "silence_recheck_seconds": 3600})
    script = Script(settings, action=RepairAction.MANUAL_INTERVENTION, answers={AskVerdict: verdict})
    script.step(T0, [firing(0)])  # not silenced at T0: its card goes out
    # Due at 15 min: the verdict now says silenced, so nothing is sent; at 50 the silence ends
    # (the verdict's deadline), and the next re-notification is 15 min after that.
    assert _renotifications(script, 70) == [(65, 1, False)]
    assert script.core.state.silenced == ""

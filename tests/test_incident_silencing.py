"""Silenced incidents in the pure core (core/incident/silencing.py), in simulated time: no Temporal,
no clock; the verdict is answered like the ``silence_verdict`` activity would for one silence."""

from __future__ import annotations

from datetime import datetime, timedelta

from hypothesis import given, settings as hsettings, strategies as st

from core.incident.commands import EditCard, Escalate, Failed, PlaceCard, Publish, Recommend
from core.incident.core import CardRequest
from core.incident.silencing import AskVerdict, CreateSilence, ExpireSilence, SetSilenced, is_silenced
from core.incident.state import IncidentSettings
from core.models import IncidentStatus
from core.probe import PROBE_LABEL
from core.silence_inputs import SilenceRequest, SilenceVerdict
from tests.incident_script import T0, Script, failing, firing, resolved
from tests.test_incident_core import kinds

SETTINGS = IncidentSettings(card_edit_interval_seconds=10, card_budget_calls=2, resolve_grace_seconds=300,
                            idle_timeout_seconds=6 * 3600, silences=True, silence_recheck_seconds=900)


class OneSilence:
    """A silence on the alert from ``starts`` to ``ends`` (changed by the test as amtool would)."""

    def __init__(self, ends: datetime | None, starts: datetime = T0, by: str = "amtool") -> None:
        self.starts, self.ends, self.by = starts, ends, by
        self.ids = ["s-1"]
        self.asked: list[datetime] = []

    def __call__(self, command: AskVerdict) -> SilenceVerdict:
        at = command.inp.at
        self.asked.append(at)
        if self.ends is None or not (self.starts <= at < self.ends):
            return SilenceVerdict(silenced=False)
        return SilenceVerdict(silenced=True, until=self.ends, silence_ids=self.ids, created_by=[self.by])


def script(silence: OneSilence, settings: IncidentSettings = SETTINGS) -> Script:
    return Script(settings, answers={AskVerdict: silence, CreateSilence: lambda c: c.inp.silence_id,
                                     ExpireSilence: lambda c: True})


def test_without_the_setting_no_verdict_is_asked_so_recorded_histories_replay() -> None:
    silence = OneSilence(ends=T0 + timedelta(hours=1))
    run = Script(answers={AskVerdict: silence})
    assert kinds(run.step(T0, [firing(0)])) == ["Analyze", "Save", "Record", "Recommend", "PlaceCard"]
    assert silence.asked == [] and not run.core.state.silence_token


def test_a_silenced_incident_is_counted_but_gets_no_card_and_no_repair_until_the_silence_ends() -> None:
    ends = T0 + timedelta(minutes=10)
    silence = OneSilence(ends=ends)
    run = script(silence)
    made = run.step(T0, [firing(0)])
    assert kinds(made) == ["Analyze", "Save", "Record", "AskVerdict", "SetSilenced"]
    assert SetSilenced("silence:s-1") in made
    state = run.core.state
    assert is_silenced(state) and state.first_words_held and state.silenced_until == ends
    assert state.view().silenced == "silence:s-1" and state.silenced_by == "amtool"
    shown = [c for c in made if isinstance(c, Publish)][-1].details
    assert "**Silenced:** silence:s-1 by amtool, until" in shown  # the Web UI's current details
    # Repeats are still counted, with no card call.
    made = run.step(T0 + timedelta(minutes=1), [firing(1)])
    assert kinds(made) == ["SaveBatch", "Record"] and state.occurrences == 2
    run.step(T0 + timedelta(minutes=2), [firing(2)])
    assert not run.of(PlaceCard) and not run.of(EditCard)
    wake = run.core.next_wake()
    assert wake.at == ends and "silenced" in wake.why
    made = run.wake()  # the silence ends while it still fires: its card goes out now, once
    assert kinds(made) == ["AskVerdict", "SetSilenced", "Recommend", "PlaceCard"]
    assert SetSilenced("") in made
    assert run.of(PlaceCard)[0].inp.view.occurrences == 3 and not run.of(PlaceCard)[0].inp.view.silenced
    assert not state.first_words_held and state.silence_check_at is None
    run.step(T0 + timedelta(minutes=20), [firing(3)])
    assert len(run.of(PlaceCard)) == 1


def test_a_long_silence_is_asked_again_at_a_bounded_interval_so_an_early_expiry_is_noticed() -> None:
    silence = OneSilence(ends=T0 + timedelta(hours=4))
    run = script(silence)
    run.step(T0, [firing(0)])
    assert run.core.next_wake().at == T0 + timedelta(minutes=15)
    assert kinds(run.wake()) == ["AskVerdict"]  # still silenced: nothing else, nothing shown
    silence.ends = T0 + timedelta(minutes=20)  # `amtool silence expire` (its signal was lost)
    assert run.core.next_wake().at == T0 + timedelta(minutes=30)
    made = run.wake()
    assert "PlaceCard" in kinds(made) and silence.asked[-1] == T0 + timedelta(minutes=30)


def test_the_silence_changed_signal_asks_again_at_once() -> None:
    silence = OneSilence(ends=T0 + timedelta(hours=4))
    run = script(silence)
    run.step(T0, [firing(0)])
    silence.ends = T0 + timedelta(minutes=3)  # expired early through the API, which signals
    at = T0 + timedelta(minutes=3)
    made = run.step(at, silence_changed=True)
    assert kinds(made) == ["AskVerdict", "SetSilenced", "Recommend", "PlaceCard"]


def test_an_alert_that_resolves_while_silenced_never_gets_a_card() -> None:
    silence = OneSilence(ends=T0 + timedelta(hours=1))
    run = script(silence)
    run.step(T0, [firing(0)])
    at = T0 + timedelta(minutes=5)
    run.step(at, [resolved(0, 5, at=at)])
    assert run.core.state.status is IncidentStatus.RESOLVED
    assert run.core.next_wake().at == at + timedelta(seconds=300)  # no more verdicts: the grace
    run.wake()
    assert run.core.outcome is not None and run.core.outcome.status == "resolved"
    assert not run.of(PlaceCard) and not run.of(EditCard)


def test_a_refire_after_the_silence_ended_gets_the_held_card_and_a_silenced_refire_edits_the_card() -> None:
    silence = OneSilence(ends=T0 + timedelta(minutes=10))
    run = script(silence)
    run.step(T0, [firing(0)])
    run.step(T0 + timedelta(minutes=5), [resolved(0, 5, at=T0 + timedelta(minutes=5))])
    at = T0 + timedelta(minutes=11)  # inside the grace, after the silence
    made = run.step(at, [firing(11, at=at)])
    assert "PlaceCard" in kinds(made) and "Recommend" in kinds(made)
    # Silenced again by a new silence, then resolved and re-fired: the card is edited, not re-sent.
    silence.starts, silence.ends = at, at + timedelta(hours=1)
    later = at + timedelta(minutes=1)
    run.step(later, [resolved(11, 12, at=later)])
    again = later + timedelta(minutes=1)
    made = run.step(again, [firing(13, at=again)])
    assert "AskVerdict" in kinds(made) and len(run.of(PlaceCard)) == 1
    assert run.of(EditCard)[-1].inp.view.silenced == "silence:s-1"


def test_a_verdict_that_cannot_be_had_silences_nothing() -> None:
    run = Script(SETTINGS, answers={AskVerdict: failing()})
    made = run.step(T0, [firing(0)])
    assert "PlaceCard" in kinds(made) and not is_silenced(run.core.state)


def test_a_silence_button_silences_the_open_card_and_its_end_unsilences_it() -> None:
    silence = OneSilence(ends=None)
    run = script(silence)
    run.step(T0, [firing(0)])
    assert run.core.state.silence_token and len(run.of(PlaceCard)) == 1
    at = T0 + timedelta(minutes=1)
    silence.starts, silence.ends, silence.by = at, at + timedelta(hours=1), "@alice"
    made = run.step(at, silence_requests=[SilenceRequest(duration=timedelta(hours=1), by="@alice")])
    assert kinds(made) == ["CreateSilence", "AskVerdict", "SetSilenced", "EditCard"]
    create = run.of(CreateSilence)[0].inp
    assert create.duration == timedelta(hours=1) and create.created_by == "@alice" and create.at == at
    assert create.labels["alertname"] == "KubeHpaMaxedOut"
    card = run.of(EditCard)[-1].inp.view
    assert card.silenced_by == "@alice" and card.silenced_until == at + timedelta(hours=1)
    assert run.core.next_wake().at == at + timedelta(minutes=15)
    assert kinds(run.wake()) == ["AskVerdict"]  # still silenced, nothing changed: no card call
    for _ in range(3):
        run.wake()
    made = run.wake()  # the hour is over
    assert kinds(made) == ["AskVerdict", "SetSilenced", "EditCard"]
    assert not run.of(EditCard)[-1].inp.view.silenced and len(run.of(PlaceCard)) == 1


def test_mute_until_resolved_expires_its_silence_when_the_incident_resolves() -> None:
    silence = OneSilence(ends=None)
    run = script(silence)
    run._answers[CreateSilence] = lambda c: silence.ids.__setitem__(0, c.inp.silence_id) or c.inp.silence_id
    run.step(T0, [firing(0)])
    at = T0 + timedelta(minutes=1)
    silence.starts, silence.ends = at, at + timedelta(days=30)
    run.step(at, silence_requests=[SilenceRequest(duration=None, by="@bob")])
    state = run.core.state
    mute = run.of(CreateSilence)[0].inp
    assert mute.duration is None and state.mute_silence_id == mute.silence_id and is_silenced(state)
    end = at + timedelta(hours=2)
    made = run.step(end, [resolved(0, 120, at=end)])
    assert "ExpireSilence" in kinds(made)
    assert run.of(ExpireSilence)[0].inp.silence_id == mute.silence_id and state.mute_silence_id is None
    assert state.silence_check_at is None


def test_an_own_card_request_places_the_card_of_a_silenced_incident_on_demand() -> None:
    run = script(OneSilence(ends=T0 + timedelta(hours=1)))
    run.step(T0, [firing(0)])
    request = CardRequest()
    run.step(T0 + timedelta(minutes=1), card_requests=[request])
    assert request.done and request.placement is not None and len(run.of(PlaceCard)) == 1
    run.step(T0 + timedelta(minutes=2), [firing(2)])
    run.wake()
    assert run.of(EditCard), "the card placed on demand is edited like any other"


def test_a_probe_is_never_silenced() -> None:
    run = script(OneSilence(ends=T0 + timedelta(hours=1)))
    run.step(T0, [firing(0, **{PROBE_LABEL: "true"})])
    assert run.core.state.probe and not run.of(AskVerdict) and len(run.of(PlaceCard)) == 1


# -- properties over random histories ---------------------------------------------------------

_events = st.lists(
    st.one_of(
        st.tuples(st.just("fire"), st.integers(0, 4)),
        st.tuples(st.just("resolve"), st.integers(0, 4)),
        st.tuples(st.just("silence"), st.integers(1, 120)),  # a silence from now, for so many minutes
        st.tuples(st.just("expire"), st.booleans()),  # expired early; True: the API's signal arrives
        st.tuples(st.just("button"), st.sampled_from([60, 240, 0])),
        st.tuples(st.just("wake"), st.just(0)),
    ),
    min_size=1, max_size=25,
)


@hsettings(max_examples=300, deadline=None)
@given(events=_events)
def test_random_silences_never_let_a_card_out_while_silenced_and_never_lose_it(events) -> None:
    """No card is placed and no repair planned right after a verdict that said silenced; at most one
    card; and an open incident whose silence is gone gets its card at the next ask."""
    silence = OneSilence(ends=None)
    run = script(silence)
    now = T0
    for n, (kind, value) in enumerate(events):
        now += timedelta(minutes=1)
        if kind == "fire":
            run.step(now, [firing(value, f"d{n}", at=now)])
        elif kind == "resolve":
            run.step(now, [resolved(value, value + 1, at=now)])
        elif kind == "silence":
            silence.starts, silence.ends = now, now + timedelta(minutes=value)
        elif kind == "expire":
            silence.ends = now if silence.ends is not None and silence.ends > now else silence.ends
            if value:
                run.step(now, silence_changed=True)
        elif kind == "button":
            state = run.core.state
            if state is not None and state.status is IncidentStatus.OPEN and not (value == 0 and state.mute_silence_id):
                silence.starts = now
                silence.ends = now + timedelta(minutes=value or 30 * 24 * 60)
                run.step(now, silence_requests=[SilenceRequest(duration=timedelta(minutes=value) if value else None,
                                                               by="@alice")])
        elif kind == "wake" and run.core.next_wake() is not None:
            now = max(now, run.core.next_wake().at)
            run.step(now)
    last_verdict: SilenceVerdict | None = None
    placed = 0
    for command, result in zip(run.commands, run.results, strict=True):
        if isinstance(command, AskVerdict):
            last_verdict = result
        elif isinstance(command, (PlaceCard, Recommend)):
            assert last_verdict is None or not last_verdict.silenced, f"{type(command).__name__} while silenced"
            placed += isinstance(command, PlaceCard)
    assert placed <= 1
    state = run.core.state
    if state is not None and state.status is IncidentStatus.OPEN and run.core.outcome is None:
        silence.ends = None  # every silence gone, and the workflow told
        run.step(now + timedelta(seconds=1), silence_changed=True)
        assert len(run.of(PlaceCard)) == 1 and not is_silenced(state)


def test_an_approval_timeout_while_silenced_asks_nobody() -> None:
    silence = OneSilence(ends=None)
    run = script(silence, SETTINGS.model_copy(update={"policy": SETTINGS.policy.model_copy(
        update={"approval_timeout_seconds": 1800})}))
    run.step(T0, [firing(0)])
    at = T0 + timedelta(minutes=1)
    silence.starts, silence.ends = at, at + timedelta(hours=4)
    run.step(at, silence_requests=[SilenceRequest(duration=timedelta(hours=4), by="@alice")])
    while run.core.state.repair.phase.open:
        run.wake()
    assert not run.of(Escalate) and run.core.state.repair.phase.value == "timed_out"


def test_a_mute_expired_early_may_be_muted_again_but_a_failed_verdict_forgets_nothing() -> None:
    mute_ids: list[str] = []

    def verdict(command: AskVerdict) -> SilenceVerdict | Failed:
        if not mute_ids:
            return SilenceVerdict(silenced=False)
        if mute_ids[0] == "failing":
            return Failed("UpstreamError", "valkey down")
        return SilenceVerdict(silenced=True, until=T0 + timedelta(days=30), silence_ids=mute_ids[:1])

    run = Script(SETTINGS, answers={AskVerdict: verdict, CreateSilence: lambda c: mute_ids.insert(0, c.inp.silence_id)
                                    or c.inp.silence_id, ExpireSilence: lambda c: True})
    run.step(T0, [firing(0)])
    run.step(T0 + timedelta(minutes=1), silence_requests=[SilenceRequest(duration=None, by="@bob")])
    state = run.core.state
    mute = state.mute_silence_id
    assert mute is not None and state.silenced_until_resolved
    mute_ids.insert(0, "failing")
    run.step(T0 + timedelta(minutes=2), silence_changed=True)
    assert state.mute_silence_id == mute, "a verdict that failed says nothing about the mute"
    mute_ids.clear()  # `amtool silence expire` on the mute
    run.step(T0 + timedelta(minutes=3), silence_changed=True)
    assert state.mute_silence_id is None and not is_silenced(state)

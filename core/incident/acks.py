"""Acknowledgements, re-notification, escalation and the incident metrics: decisions only.

docs/adr/0025-acks-and-escalation.md. An open incident nobody has acknowledged is re-notified in
its chat (a short reply to its card) after each wait of its severity's backoff, the last wait
repeating, and once, after its severity's escalation delay, posted to the escalation chat. An ack,
a resolution, an expiry or a silence stops both; a re-open restarts the waits. Each message is
named by (incident, lifecycle, n-th re-notification) so the activity sends it once whatever
retries, replays or worker restarts happen.

Metrics (issue 21): time to acknowledge and time to resolve are observed once per lifecycle when
reached, and each repair's outcome once per repair (verified, ineffective, rejected, expired),
through an activity that observes only after a once-key is set in Valkey.

Everything here is gated by IncidentSettings fields that are off by default, so a run whose
recorded settings predate them emits exactly the commands it did (tests/test_replay.py).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from core.acks import AckAnswer, AckRequest, same_person
from core.incident.cards import Cards
from core.incident.commands import Failed, Observe, Renotify, SetAcked, Step, error, info
from core.incident.state import IncidentSettings, IncidentState
from core.inputs import ObserveInput, RenotifyInput
from core.models import Acknowledgement, IncidentStatus
from core.repair import RepairPhase, RepairStatus

ESCALATION = "escalation"
# Repair phases an outcome is counted for, and its name on awoooi_repair_outcomes_total.
_OUTCOMES = {RepairPhase.SUCCEEDED: "verified", RepairPhase.REJECTED: "rejected", RepairPhase.TIMED_OUT: "expired"}


def _when(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC")


class Acks:
    def __init__(self, settings: IncidentSettings, cards: Cards) -> None:
        self._settings = settings
        self._cards = cards

    # -- the ``ack`` update (validator and answer; the step records it) ------------------------

    def check(self, state: IncidentState | None, request: AckRequest, pending: list[AckRequest]) -> None:
        """Refuse, before anything is recorded, an ack with nothing to acknowledge (ValueError)."""
        if state is None:
            raise ValueError("this incident has no card yet: its first delivery is still being handled")
        if not self._settings.acks:
            raise ValueError("acknowledgements are off for this incident (AWOOOI_ACKS)")
        taken = self._first(state, pending)
        if taken is not None and same_person(taken, request):
            return  # the same person again: answered the same, nothing changes
        if state.status is not IncidentStatus.OPEN:
            raise ValueError(f"the incident is {state.status.value}: there is nothing to acknowledge")
        if taken is not None:
            raise ValueError(f"already acked by {taken.by} at {_when(taken.at)}")

    def answer(self, state: IncidentState | None, request: AckRequest, pending: list[AckRequest]) -> AckAnswer:
        taken = self._first(state, pending) if state is not None else None
        if taken is None or taken is request:
            return AckAnswer(accepted=True, message=f"Acked by {request.by}: re-notifications stop",
                             by=request.by, at=request.at)
        return AckAnswer(accepted=True, message=f"Already acked by {taken.by} at {_when(taken.at)}",
                         by=taken.by, at=taken.at)

    @staticmethod
    def _first(state: IncidentState, pending: list[AckRequest]) -> Acknowledgement | AckRequest | None:
        return state.acked or (pending[0] if pending else None)

    # -- hooks of the core ---------------------------------------------------------------------

    def on_open(self, state: IncidentState, now: datetime) -> Step:
        """A new open incident: offer the Ack button from its first card, and list it as unacked."""
        if state.status is not IncidentStatus.OPEN:
            return
        state.opened_at = now
        if not self._settings.acks or state.probe:
            return
        state.ackable = True
        state.unacked_since = now
        yield SetAcked(False)

    def on_reopen(self, state: IncidentState, now: datetime) -> None:
        """Fired again after a resolution: the waits start over (an ack of this lifecycle stands)."""
        if state.ackable and state.acked is None:
            state.unacked_since = now
            state.renotified_at = None

    def on_silence_ended(self, state: IncidentState, now: datetime) -> None:
        """A silence stopped covering the incident (core/incident/silencing.py keeps
        ``state.silenced``): the waits start from now, rather than a re-notification at once for the
        time it was silenced."""
        self.on_reopen(state, now)

    def on_ack(self, state: IncidentState, request: AckRequest, now: datetime) -> Step:
        if not self._settings.acks or state.acked is not None:
            return  # a repeat of the ack already recorded (the validator answered it the same)
        # The workflow's clock, not the asker's: the card, MTTA and the timeline agree.
        state.acked = Acknowledgement(by=request.by, by_id=request.by_id, via=request.via, at=now)
        state.ackable = True
        yield SetAcked(True)
        yield info("incident acknowledged", incident_id=state.incident_id, by=request.by, via=request.via)
        yield from self._cards.show(state, now)

    # -- re-notification and escalation -------------------------------------------------------

    def _waiting(self, state: IncidentState) -> bool:
        return (self._settings.acks and state.unacked_since is not None and state.acked is None
                and state.status is IncidentStatus.OPEN and not state.silenced and not state.probe)

    def renotify_at(self, state: IncidentState) -> datetime | None:
        waits = self._settings.renotify_seconds.get(state.alert.severity.value) or []
        if not waits or not self._waiting(state):
            return None
        assert state.unacked_since is not None
        since = max(state.unacked_since, state.renotified_at or state.unacked_since)
        return since + timedelta(seconds=waits[min(state.renotified, len(waits) - 1)])

    def escalate_at(self, state: IncidentState) -> datetime | None:
        after = self._settings.escalate_after_seconds.get(state.alert.severity.value)
        if after is None or after <= 0 or state.escalated or not self._waiting(state):
            return None
        assert state.unacked_since is not None
        return state.unacked_since + timedelta(seconds=after)

    def due_at(self, state: IncidentState) -> datetime | None:
        wakes = [at for at in (self.renotify_at(state), self.escalate_at(state)) if at is not None]
        return min(wakes) if wakes else None

    def on_due(self, state: IncidentState, now: datetime) -> Step:
        escalate = self.escalate_at(state)
        if escalate is not None and escalate <= now:
            state.escalated = True
            yield from self._send(state, now, n=0)
        renotify = self.renotify_at(state)
        if renotify is not None and renotify <= now:
            # Late (a worker was down): one message now, never the ones missed in a burst.
            state.renotified += 1
            state.renotified_at = now
            yield from self._send(state, now, n=state.renotified)

    def _send(self, state: IncidentState, now: datetime, *, n: int) -> Step:
        assert state.unacked_since is not None
        what = ESCALATION if n == 0 else f"renotify:{n}"
        sent = yield Renotify(
            RenotifyInput(view=state.view(), notify_key=f"{state.card_key}:{what}", n=n, escalation=n == 0,
                          reply_to=state.message_id, unacked_seconds=(now - state.unacked_since).total_seconds()),
            "escalate to the escalation chat" if n == 0 else f"re-notify ({n})")
        if isinstance(sent, Failed):
            yield error("re-notification not sent", incident_id=state.incident_id, n=n, error=sent.reason)

    # -- metrics ------------------------------------------------------------------------------

    def observe(self, state: IncidentState) -> Step:
        """At the end of every step: each metric reached and not yet observed, once."""
        if not self._settings.metrics or state.probe:
            return
        labels = {"service": state.alert.service, "severity": state.alert.severity.value,
                  "source": state.alert.source.value}
        if state.acked is not None and state.opened_at is not None and "ack" not in state.observed:
            yield from self._observe(state, "ack", "time_to_acknowledge", labels,
                                     (state.acked.at - state.opened_at).total_seconds())
        if state.status is IncidentStatus.RESOLVED and state.opened_at is not None and "resolve" not in state.observed:
            handled = state.resolved_handled_at or state.last_seen
            yield from self._observe(state, "resolve", "time_to_resolve", labels,
                                     (handled - state.opened_at).total_seconds())
        repair = state.repair
        if repair is not None and f"repair:{repair.repair_id}" not in state.observed:
            outcome = _OUTCOMES.get(repair.phase)
            if repair.phase is RepairPhase.FAILED and repair.result is not None \
                    and repair.result.status is RepairStatus.EXECUTED:
                outcome = "ineffective"  # it ran, and the alert did not resolve within the verify window
            if outcome is not None:
                yield from self._observe(state, f"repair:{repair.repair_id}", "repair_outcome",
                                         {"service": state.alert.service, "action": repair.plan.action.value,
                                          "outcome": outcome}, 1.0)

    def _observe(self, state: IncidentState, what: str, metric: str, labels: dict[str, str], value: float) -> Step:
        state.observed.append(what)
        done = yield Observe(ObserveInput(once_key=f"{state.card_key}:{what}", metric=metric, labels=labels,
                                          value=max(value, 0.0)), f"observe {metric}")
        if isinstance(done, Failed):
            yield error("metric not observed", metric=metric, error=done.reason)

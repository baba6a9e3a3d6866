"""A silenced incident: still a workflow, still counted and visible, but no card, no repair and no
re-notification until its silence ends (docs/adr/0029-silenced-incidents.md).

The core asks the ``silence_verdict`` activity (core/silence_verdict.py) before an incident's first
card and when a resolved one fires again. Silenced, the incident keeps its first words (the repair
plan, the card, the Sentry comment) for later, shows the ``Silenced`` search attribute and sets a
deadline at the verdict's ``until`` (or sooner, ``silence_recheck_seconds``) to ask again; a
``silence_changed`` signal from the API (a silence expired or edited early) asks again at once.
Once nothing silences an open incident, its first words go out then.

The card's Silence buttons arrive as ``silence`` requests: a silence on the incident's own labels
(``silence_create``, its id from the workflow), then the verdict again, so the card says "silenced
by X until T". "Mute until resolved" is such a silence, expired (``silence_expire``) when the
incident resolves or expires.

For the other timers of an incident (re-notification, escalation): :func:`is_silenced` is the one
question they ask, and :meth:`Silencing.before_notify` re-asks the verdict first when they would
notify, so a silence added after the card (amtool, /silence) also stops them.

Everything here is gated by ``IncidentSettings.silences`` (off in a recorded history's settings, so
its replay asks nothing); nothing reads a clock.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

from core.incident.commands import Call, Command, Failed, Step, info, warning
from core.incident.state import IncidentSettings, IncidentState
from core.models import Alert, IncidentStatus
from core.silence_inputs import (
    SilenceCreateInput,
    SilenceExpireInput,
    SilenceRequest,
    SilenceVerdict,
    SilenceVerdictInput,
)

__all__ = ["AskVerdict", "CreateSilence", "ExpireSilence", "SetSilenced", "Silencing", "holds_card",
           "is_silenced", "silence_labels"]


class AskVerdict(Call):
    """-> SilenceVerdict: is the alert silenced at the workflow's now, by what, until when."""

    inp: SilenceVerdictInput
    quick = True


class CreateSilence(Call):
    """-> str: a card button's silence on the incident's own labels (its id from the workflow)."""

    inp: SilenceCreateInput
    urgency = "state"


class ExpireSilence(Call):
    """-> bool: the "Mute until resolved" silence ends with its incident."""

    inp: SilenceExpireInput
    urgency = "deferred"


class SetSilenced(Command):
    """The ``Silenced`` search attribute: what silences it, or "" to remove the attribute."""

    __slots__ = ("value",)

    def __init__(self, value: str) -> None:
        self.value = value


def is_silenced(state: IncidentState) -> bool:
    """Does a silence or a maintenance window hold this incident's notifications now? (The question
    the re-notification and escalation timers ask before they notify.)"""
    return bool(state.silenced)


def holds_card(state: IncidentState) -> bool:
    """No card in the chat yet, and a silence holds it: nothing may be placed. A card already out
    keeps being edited (an edit rings no phone and the card says it is silenced)."""
    return state.first_words_held and is_silenced(state) and state.message_id is None \
        and state.digest_message_id is None


def silence_labels(alert: Alert) -> dict[str, str]:
    """The labels a silence matches this alert by: its own, plus the name and service every card
    shows when the source has no such labels (a Sentry issue), so ``alertname=X`` works for all."""
    labels: Mapping[str, str] = alert.labels
    extra = {"alertname": alert.alertname, "service": alert.service}
    return {**{k: v for k, v in extra.items() if v and not labels.get(k)}, **labels}


def button_token(lifecycle_id: str) -> str:
    """What the Silence buttons' callback data names the incident by: 24 hex digits (96 bits)."""
    return lifecycle_id.replace("-", "")[:24]


class Silencing:
    def __init__(self, settings: IncidentSettings, workflow_id: str, new_id: Callable[[], str],
                 on_lifted: Callable[[IncidentState, datetime], None] | None = None) -> None:
        self._settings = settings
        self._workflow_id = workflow_id
        self._new_id = new_id
        # Told when a silence stops covering the incident (core/incident/acks.py: the re-notification
        # waits start over from then, not from when it opened).
        self._on_lifted = on_lifted

    @property
    def enabled(self) -> bool:
        return self._settings.silences

    def deadline(self, state: IncidentState) -> datetime | None:
        """When an open incident asks again whether it is still silenced."""
        if not self.enabled or state.status is not IncidentStatus.OPEN:
            return None
        return state.silence_check_at

    def ask(self, state: IncidentState, now: datetime) -> Step:
        """Ask the verdict and keep it in the state; returns True when silenced. A verdict that
        cannot be had silences nothing: a card too many beats an alert lost."""
        if not self.enabled or state.probe:
            return False
        if not state.silence_token:
            state.silence_token = button_token(state.lifecycle_id)
        answer = yield AskVerdict(
            SilenceVerdictInput(labels=silence_labels(state.alert), at=now, workflow_id=self._workflow_id,
                                button=state.silence_token),
            "is it silenced?")
        if isinstance(answer, Failed):
            yield warning("silence verdict unavailable; not silenced", error=answer.reason)
            answer = SilenceVerdict(silenced=False)
        elif state.mute_silence_id is not None and state.mute_silence_id not in answer.silence_ids:
            state.mute_silence_id = None  # the mute was expired meanwhile (amtool, /expire): it may be muted again
        assert isinstance(answer, SilenceVerdict)
        yield from self._keep(state, answer, now)
        return answer.silenced

    def _keep(self, state: IncidentState, answer: SilenceVerdict, now: datetime) -> Step:
        was = state.silenced
        value = answer.attribute() if answer.silenced else ""
        if answer.silenced and not value:
            value = "silenced"  # a verdict without ids (never today): still say so
        state.silenced = value
        state.silenced_until = answer.until if answer.silenced else None
        state.silenced_by = ", ".join(answer.created_by)[:100] if answer.silenced else ""
        # While its mute is active it holds until it resolves (the mute ends with it, or in 30 days).
        mute = state.mute_silence_id
        state.silenced_until_resolved = bool(answer.silenced and mute and mute in answer.silence_ids)
        if answer.silenced:
            recheck = now + timedelta(seconds=self._settings.silence_recheck_seconds)
            until = answer.until
            state.silence_check_at = until if until is not None and until < recheck else recheck
        else:
            state.silence_check_at = None
        if value != was:
            yield SetSilenced(value)
            if value:
                yield info("incident silenced", incident_id=state.incident_id, by=value,
                           until=state.silenced_until.isoformat() if state.silenced_until else None)
            else:
                yield info("incident no longer silenced", incident_id=state.incident_id)
                if self._on_lifted is not None:
                    self._on_lifted(state, now)

    def request(self, state: IncidentState, request: SilenceRequest, now: datetime) -> Step:
        """A Silence button: a silence on the incident's own labels, then the verdict again.
        Returns True when the incident is silenced afterwards."""
        if not self.enabled or state.status is not IncidentStatus.OPEN:
            return False
        silence_id = self._new_id()
        mute = request.duration is None
        created = yield CreateSilence(
            SilenceCreateInput(silence_id=silence_id, labels=silence_labels(state.alert), at=now,
                               duration=request.duration, created_by=request.by,
                               comment=f"{'muted until resolved' if mute else 'silenced'} from the card "
                                       f"of {state.incident_id}"[:500]),
            "mute until resolved" if mute else "silence from the card")
        if isinstance(created, Failed):
            yield warning("silence not created", error=created.reason, by=request.by)
            return is_silenced(state)
        if mute:
            state.mute_silence_id = silence_id
        silenced = yield from self.ask(state, now)
        return silenced

    def before_notify(self, state: IncidentState, now: datetime) -> Step:
        """For a timer about to notify (re-notification, escalation): ask again; True: notify."""
        if not self.enabled:
            return True
        silenced = yield from self.ask(state, now)
        return not silenced

    def on_closed(self, state: IncidentState, now: datetime) -> Step:
        """Resolved or expired: a "Mute until resolved" silence ends with it; no more re-asks."""
        state.silence_check_at = None
        silence_id = state.mute_silence_id
        if not self.enabled or silence_id is None:
            return
        state.mute_silence_id = None
        expired = yield ExpireSilence(SilenceExpireInput(silence_id=silence_id, at=now), "end the mute")
        if isinstance(expired, Failed):
            yield warning("mute-until-resolved silence not expired", silence_id=silence_id, error=expired.reason)

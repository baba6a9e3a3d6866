"""A flapping alert: it resolves and fires again, over and over. Decisions only.

docs/adr/0031-flapping.md. An alert that fires again after a resolution (a re-open of its card, or
a new lifecycle in the same run once the resolve grace has passed) more than ``flap_count`` times
within ``flap_window_seconds`` is marked flapping:

- its card says so ("fired N times in the last W") in the edit that marked it, and from then on
  shows its count and state changes at most once per window (the edits in between are held, the
  card stays dirty; the held change goes out when the window since the last shown edit ends);
- a re-fire re-opens the same card whatever the grace (the mark says it is the same problem again),
  does not restart the re-notification waits, and a new lifecycle plan asks a human instead of
  repairing by itself;
- a resolved run does not end at its grace while re-fires are within the window: it stays to count
  the next one, and to clear the mark: after a quiet window (no re-fire for ``flap_window_seconds``)
  one card edit says it is stable again, and then the run may end.

Gated by ``IncidentSettings.flap_count`` (0, off, in a recorded history's settings, so its replay
emits the same commands); nothing reads a clock.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from core.incident.commands import Command, Publish, Step, info
from core.incident.state import IncidentSettings, IncidentState
from core.repair import RepairPhase

__all__ = ["Flapping", "SetFlapping", "held_until", "on_shown"]


class SetFlapping(Command):
    """The ``Flapping`` search attribute: "true" while marked, removed when the mark clears."""

    __slots__ = ("flapping",)

    def __init__(self, flapping: bool) -> None:
        self.flapping = flapping


def held_until(state: IncidentState) -> datetime | None:
    """Until when a flapping incident's card edits wait: one window after the last one shown.
    None: nothing is held (not flapping, or never shown while flapping)."""
    if not state.flapping or state.flap_shown_at is None:
        return None
    return state.flap_shown_at + timedelta(seconds=state.flap_window_seconds)


def on_shown(state: IncidentState, now: datetime) -> None:
    """A card call went out: while flapping, it showed the count now, and the next waits a window."""
    if state.flapping:
        state.flap_shown_at = now


class CardCalls(Protocol):
    """What it needs of core/incident/cards.py (which asks :func:`held_until`, so no import back)."""

    def publish(self, state: IncidentState) -> Publish: ...

    def show(self, state: IncidentState, now: datetime) -> Step: ...


class Flapping:
    def __init__(self, settings: IncidentSettings, cards: CardCalls) -> None:
        self._settings = settings
        self._cards = cards

    @property
    def enabled(self) -> bool:
        return self._settings.flap_count > 0

    @property
    def _window(self) -> timedelta:
        return timedelta(seconds=self._settings.flap_window_seconds)

    # -- when ---------------------------------------------------------------------------------

    def quiet_at(self, state: IncidentState) -> datetime | None:
        """When the last re-fire is a window old: the mark clears, and a resolved run may end."""
        if not self.enabled or not state.refires:
            return None
        return state.refires[-1] + self._window

    def run_end(self, state: IncidentState, grace_end: datetime) -> datetime:
        """A resolved run ends at its grace, or later while re-fires are within the window."""
        quiet = self.quiet_at(state)
        return grace_end if quiet is None or quiet < grace_end else quiet

    def due_at(self, state: IncidentState) -> datetime | None:
        """The mark clears after a quiet window."""
        return self.quiet_at(state) if state.flapping else None

    # -- hooks of the core --------------------------------------------------------------------

    def on_refire(self, state: IncidentState, now: datetime) -> Step:
        """It fired again after a resolution: count it; more than ``flap_count`` within the window
        marks it flapping (the caller's card edit shows the mark)."""
        if not self.enabled or state.probe:  # an alert-chain probe fires and resolves by design
            return
        since = now - self._window
        state.refires = [at for at in state.refires if at > since] + [now]
        if state.flapping:
            state.flapping = len(state.refires)  # what its next shown edit says
        if not state.flapping and len(state.refires) > self._settings.flap_count:
            state.flapping = len(state.refires)
            state.flap_window_seconds = self._settings.flap_window_seconds
            state.stable_again = False
            state.flap_shown_at = None  # the edit that marks it goes out at once
            yield SetFlapping(True)
            yield info("incident flapping", incident_id=state.incident_id, refires=len(state.refires),
                       window_seconds=self._settings.flap_window_seconds)

    def is_flapping(self, state: IncidentState) -> bool:
        return self.enabled and bool(state.flapping)

    def carry(self, previous: IncidentState, state: IncidentState) -> None:
        """A new lifecycle in the same run: the re-fires counted so far count on."""
        state.refires = list(previous.refires)

    def show(self, state: IncidentState, now: datetime) -> Step:
        """A state change's card edit: at once, unless flapping and a window has not passed since the
        last one shown; then it is held (the card stays dirty, :func:`held_until` says when)."""
        hold = held_until(state) if self.is_flapping(state) else None
        if hold is not None and now < hold:
            state.card_dirty = True
            yield self._cards.publish(state)
            return None
        return (yield from self._cards.show(state, now))

    def hold_auto_repair(self, state: IncidentState, now: datetime) -> None:
        """A plan made while flapping does not run by itself: it asks (buttons on the card) instead.
        An alert that keeps resolving on its own would otherwise spend the repair budget and teach
        learning that the repair "worked" every time it resolved."""
        repair = state.repair
        if not self.is_flapping(state) or repair is None or repair.mode != "auto" \
                or repair.phase is not RepairPhase.RUNNING:
            return
        repair.mode = "approval"
        repair.note = "flapping: it waits for a human instead of repairing by itself"
        repair.phase = RepairPhase.AWAITING_APPROVAL
        repair.deadline = now + timedelta(seconds=self._settings.policy.approval_timeout_seconds)

    def on_due(self, state: IncidentState, now: datetime) -> Step:
        """A quiet window passed since the last re-fire: clear the mark, with one card edit."""
        quiet = self.due_at(state)
        if quiet is None or quiet > now:
            return
        state.flapping = 0
        state.refires = []
        state.flap_shown_at = None
        state.stable_again = True
        yield SetFlapping(False)
        yield info("incident stable again", incident_id=state.incident_id)
        yield from self._cards.show(state, now)

"""When an incident's card is called, and which call: decisions only, no I/O.

Every visible change goes out through :meth:`Cards.show`. A state change (opened, re-opened,
resolved, a repair moved on) goes at once; a count-only change marks the card dirty and waits for
the edit interval and the card's call budget (docs/adr/0016-digest-cards.md, ADR 0015). In a storm of
distinct alerts an incident without a card of its own is a line of its chat's digest; such an open
incident asks for its own card again after a digest window, doubling the wait each time it stays a
line, up to 16 windows.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from core.console import current_details, repair_phase
from core.incident.commands import EditCard, Failed, PlaceCard, Publish, Step, error, info
from core.incident.flapping import held_until, on_shown
from core.incident.silencing import holds_card
from core.incident.state import IncidentSettings, IncidentState
from core.inputs import CardPlacement, EditCardInput, PlaceCardInput
from core.models import IncidentStatus

# Each re-ask refused doubles the wait, up to 2**4 windows.
MAX_REASK_DOUBLINGS = 4


class Cards:
    def __init__(self, settings: IncidentSettings) -> None:
        self._settings = settings

    # -- when --------------------------------------------------------------------------------

    def due_at(self, state: IncidentState) -> datetime | None:
        """When the card is next due a call: a count change waiting for its interval and budget,
        or a digest line's re-ask; None when nothing waits."""
        own = self._own_due_at(state)
        if not state.card_dirty:
            return own
        if state.card_edited_at is None:
            return state.active_at  # never called yet: at once
        due = state.card_edited_at + timedelta(seconds=self._settings.card_edit_interval_seconds)
        budget = self._budget_free_at(state)
        if budget is not None and budget > due:
            due = budget
        hold = held_until(state)  # flapping: counts show at most once a window
        if hold is not None and hold > due:
            due = hold
        return due if own is None or due < own else own

    def _budget_free_at(self, state: IncidentState) -> datetime | None:
        """When a count-only change may cost the card another call: once its budget-th latest call
        has left the budget window. None: no budget applies."""
        calls = self._settings.card_budget_calls
        if calls <= 0 or len(state.card_calls) < calls:
            return None
        return state.card_calls[-calls] + timedelta(seconds=self._settings.card_budget_window_seconds)

    def _own_due_at(self, state: IncidentState) -> datetime | None:
        """When an open incident shown only as a digest line asks for its own card again."""
        if state.message_id is not None or state.digest_message_id is None or state.status is not IncidentStatus.OPEN:
            return None
        if state.own_asked_at is None:
            return state.active_at
        doublings = min(state.reasks, MAX_REASK_DOUBLINGS)
        return state.own_asked_at + timedelta(seconds=self._settings.digest_window_seconds * 2**doublings)

    # -- what --------------------------------------------------------------------------------

    def publish(self, state: IncidentState) -> Publish:
        return Publish(current_details(state.view(), state.repair), repair_phase(state.repair))

    def show(self, state: IncidentState, now: datetime, *, best_effort: bool = False,
             force_own: bool = False) -> Step:
        """Post the card once, then edit it in place (with Approve/Reject while a repair waits).

        ``best_effort``: only counts changed, so the chat's pacing may skip it; the card stays dirty
        and is tried again at the next interval. A call that fails also leaves it dirty. Returns the
        call's result (:class:`Failed` when it did not go out)."""
        yield self.publish(state)
        if holds_card(state) and not force_own:
            state.card_dirty = False  # the card that goes out when the silence ends shows the counts then
            return None
        budgeted = self._stamp(state, now, budgeted=best_effort or state.message_id is None or force_own)
        if state.message_id is None:
            result = yield from self._place(state, now, best_effort=best_effort, force_own=force_own)
        else:
            result = yield EditCard(
                EditCardInput(view=state.view(), message_id=state.message_id, card_key=state.card_key, repair=state.repair,
                              probe=state.probe, best_effort=best_effort),
                "edit card (count)" if best_effort else "edit card", best_effort=best_effort)
            if isinstance(result, str):
                state.message_id = result  # the card had been deleted in the chat: its replacement
        if not isinstance(result, Failed):
            state.card_dirty = False
            on_shown(state, now)
            return result
        state.card_dirty = True
        if result.paced:
            if budgeted:
                state.card_calls.pop()  # nothing reached the chat, nothing spent
            yield info("count edit paced out; next interval", incident_id=state.incident_id)
        else:
            yield error("card call failed; tried again at the next interval", incident_id=state.incident_id,
                        error=result.reason)
        return result

    def _place(self, state: IncidentState, now: datetime, *, best_effort: bool, force_own: bool) -> Step:
        """Its own card, or in a storm its line in the chat's digest. It asks for its own card on its
        first placement, on a state change, once its re-ask wait has passed, and on demand; a
        count-only change of an incident already shown as a line just updates the line."""
        due = self._own_due_at(state)
        just_a_line = best_effort and state.digest_message_id is not None and (due is None or due > now)
        own = force_own or not just_a_line
        summary = "own card (on demand)" if force_own else "place card" if own else "update digest line"
        placement = yield PlaceCard(
            PlaceCardInput(view=state.view(), card_key=state.card_key, repair=state.repair, probe=state.probe,
                           own_card=own, force_own=force_own, reask=state.digest_message_id is not None),
            summary, best_effort=best_effort and not own)
        if isinstance(placement, Failed):
            return placement
        assert isinstance(placement, CardPlacement)
        if own:
            state.own_asked_at = now
            if placement.message_id is None and state.digest_message_id is not None:
                state.reasks += 1
        if placement.message_id is not None:
            state.message_id = placement.message_id
        elif placement.digest_message_id is not None:
            state.digest_message_id = placement.digest_message_id
        return placement

    def _stamp(self, state: IncidentState, now: datetime, *, budgeted: bool) -> bool:
        """Every card call is stamped: the edit interval runs from the latest. The budget runs from
        the latest few calls that surely reach the chat: a first show and a count change. A state
        change is never held back by it and its edit may change nothing on the card, so it does not
        spend it. True when this call was stamped into the budget."""
        state.card_edited_at = now
        calls = self._settings.card_budget_calls
        if calls <= 0 or not budgeted:
            return False
        state.card_calls.append(now)
        # One more than the budget: a paced-out call is taken back, and the ones before it still count.
        del state.card_calls[:-(calls + 1)]
        return True

"""Generation 1's card calls (frozen): the card of an incident, its digest line, and their pacing.

A mixin of :class:`workflows.legacy.incident.IncidentWorkflow`, split out only to keep files short;
it reads and writes its host's attributes (``self._state``, ``self._input`` ...).
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from core import search_attributes as sa
    from core.console import current_details, repair_phase
    from core.legacy_inputs import CardInput, CardPlacement, EditCardInput, IncidentState, PlaceCardInput
    from core.models import IncidentStatus

from workflows import retries
from workflows.legacy.patches import CONSOLE_PATCH, EDIT_CARD, PLACE_CARD, POST_CARD

class IncidentCards:
    def _card_due(self) -> float | None:
        """Seconds until the card is due a call (<= 0: now): a count-only change waiting for the edit
        interval, or (digest-v1) a digested incident asking for its own card again; None: nothing."""
        state = self._state
        if not self._storm or state is None:
            return None
        own = self._own_due()
        if not state.card_dirty:
            return own
        if state.card_edited_at is None:
            return 0.0
        interval = self.require_input().card_edit_interval_seconds
        due = interval - (workflow.now() - state.card_edited_at).total_seconds()
        budget = self._budget_wait(state)
        if budget is not None:
            due = max(due, budget)
        return due if own is None else min(due, own)

    def _budget_wait(self, state: IncidentState) -> float | None:
        """card-budget-v1: seconds until a count-only change may cost the card another call: the
        card's budget-th latest call must have left the budget window. None: no budget applies."""
        inp = self.require_input()
        if not self._budget or len(state.card_calls) < inp.card_budget_calls:
            return None
        oldest = state.card_calls[-inp.card_budget_calls]
        return inp.card_budget_window_seconds - (workflow.now() - oldest).total_seconds()

    def _stamp_card_call(self, state: IncidentState, *, budgeted: bool) -> bool:
        """Every card call is stamped: the edit interval runs from the latest. The budget
        (card-budget-v1) runs from the latest few calls that surely reach Telegram: a first show and
        a count change. A state change is never held back by it, and its edit may change nothing on
        the card (an unchanged text is not sent), so it does not spend the budget. True when the
        call was stamped into the budget."""
        now = workflow.now()
        state.card_edited_at = now
        if not (self._budget and budgeted):
            return False
        state.card_calls.append(now)
        # One more than the budget: a paced-out call is taken back, and the ones before it still count.
        del state.card_calls[:-(self.require_input().card_budget_calls + 1)]
        return True

    def _own_due(self) -> float | None:
        """digest-v1: seconds until an open incident shown only as a digest line asks for its own card
        again (the storm may have passed); None when it has its own card or is closed."""
        state = self._state
        if (not self._digest or state is None or state.message_id is not None
                or state.digest_message_id is None or state.status is not IncidentStatus.OPEN):
            return None
        if state.own_asked_at is None:
            return 0.0
        # Each re-ask refused doubles the wait, up to 16 windows: only the threshold's worth of cards
        # is granted per window anyway, so 1,000 lines asking every minute would only cost CPU.
        wait = self.require_input().digest_window_seconds * 2 ** min(state.reasks, 4)
        return wait - (workflow.now() - state.own_asked_at).total_seconds()


    def _publish(self) -> None:
        """The incident as the Web UI shows it: current details, and the RepairPhase attribute."""
        state = self.require_state()
        workflow.set_current_details(current_details(state.view(), state.repair))
        phase = repair_phase(state.repair)
        if phase != self._shown_phase and workflow.patched(CONSOLE_PATCH):
            workflow.upsert_search_attributes([sa.REPAIR_PHASE.value_set(phase)])
            self._shown_phase = phase

    async def show_card(self, *, best_effort: bool = False) -> None:
        """Post the card once, then edit it in place (with Approve/Reject while a repair waits).

        Every visible change passes here, so the Web UI's view of the incident follows too.
        ``best_effort``: only counts changed (storm-v1); Telegram's pacing may skip it."""
        self._publish()
        async with self._card_lock:
            if self._storm:
                await self._show_paced(best_effort)
                return
            try:
                await self._card_call(best_effort=False)
            except ActivityError as exc:
                # Never fail the incident because the chat is down; the next update tries again.
                workflow.logger.error("telegram card failed", extra={"error": str(exc.cause or exc)})

    async def _card_call(self, *, best_effort: bool, force_own: bool = False) -> None:
        """Post the card if it has none yet (digest-v1: place it), else edit it (raising ActivityError)."""
        state = self.require_state()
        if state.message_id is None and self._digest:
            await self._place(best_effort=best_effort, force_own=force_own)
            return
        if state.message_id is None:
            state.message_id = await workflow.execute_activity(
                POST_CARD,
                CardInput(view=state.view(), card_key=self._card_key(), repair=state.repair, probe=self._probe),
                result_type=int | None,
                start_to_close_timeout=timedelta(seconds=30),
                schedule_to_close_timeout=timedelta(minutes=15),
                retry_policy=retries.API,
                summary="post card",
            )
            return
        replacement = await workflow.execute_activity(
            EDIT_CARD,
            EditCardInput(view=state.view(), message_id=state.message_id, card_key=self._card_key(),
                          repair=state.repair, probe=self._probe, best_effort=best_effort),
            result_type=int | None,
            start_to_close_timeout=timedelta(seconds=30),
            # A count edit that cannot go soon is overtaken by the next one.
            schedule_to_close_timeout=timedelta(minutes=1 if best_effort else 15),
            retry_policy=retries.API,
            summary="edit card (count)" if best_effort else "edit card",
        )
        if replacement is not None:
            state.message_id = replacement

    async def _place(self, *, best_effort: bool, force_own: bool) -> None:
        """digest-v1: show an incident that has no card of its own: its own card, or in a storm its
        line in the chat's digest. It asks for its own card on its first placement, on a state
        change, once its re-ask wait has passed (a window, doubling), and on demand; a count-only
        change just updates its line."""
        state = self.require_state()
        due = self._own_due()
        # Only a count change of an incident already shown as a line, before its re-ask, stays a line
        # update; a first show that failed earlier asks for its own card like any first show.
        just_a_line = best_effort and state.digest_message_id is not None and (due is None or due > 0)
        own = force_own or not just_a_line
        placement = await workflow.execute_activity(
            PLACE_CARD,
            PlaceCardInput(view=state.view(), card_key=self._card_key(), repair=state.repair,
                           probe=self._probe, own_card=own, force_own=force_own,
                           reask=state.digest_message_id is not None),
            result_type=CardPlacement,
            start_to_close_timeout=timedelta(seconds=30),
            schedule_to_close_timeout=timedelta(minutes=1 if best_effort and not own else 15),
            retry_policy=retries.API,
            summary="own card (on demand)" if force_own else "place card" if own else "update digest line",
        )
        if own:
            state.own_asked_at = workflow.now()
            if placement.message_id is None and state.digest_message_id is not None:
                state.reasks += 1
        if placement.message_id is not None:
            state.message_id = placement.message_id
        elif placement.digest_message_id is not None:
            state.digest_message_id = placement.digest_message_id

    async def _show_paced(self, best_effort: bool) -> None:
        """storm-v1: every card call is stamped, so count-only edits keep AWOOOI_CARD_EDIT_INTERVAL;
        one that fails or is paced out leaves the card dirty and is tried again at the next interval."""
        state = self.require_state()
        budgeted = self._stamp_card_call(state, budgeted=best_effort or state.message_id is None)
        try:
            await self._card_call(best_effort=best_effort)
            state.card_dirty = False
        except ActivityError as exc:
            state.card_dirty = True
            cause = exc.cause
            paced = isinstance(cause, ApplicationError) and cause.type == "Paced"
            if paced:
                if budgeted:  # card-budget-v1: nothing reached Telegram, nothing spent
                    state.card_calls.pop()
                workflow.logger.info("count edit paced out; next interval", extra={"incident_id": state.incident_id})
            else:
                workflow.logger.error("telegram card failed; tried again at the next interval",
                                      extra={"error": str(cause or exc)})


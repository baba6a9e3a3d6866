"""Generation 1's handling of deliveries (frozen): dedup, fold, re-open, resolve, expire.

A mixin of :class:`workflows.legacy.incident.IncidentWorkflow`, split out only to keep files short;
it reads and writes its host's attributes (``self._state``, ``self._input`` ...).
"""

from __future__ import annotations


from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from core.console import current_details
    from core.inputs import SaveBatchInput
    from core.legacy_inputs import IncidentState
    from core.models import AlertDelivery, AlertStatus, Frequency, IncidentStatus

from workflows.legacy.patches import OCCURRENCE_PATCH, SAVE_BATCH, SEEN_WINDOW


class _Fold:
    """storm-v1: the deliveries of one drained inbox that only add to an open incident.

    A plain class: the sandbox re-runs this module for every new workflow, and a dataclass's
    class-time processing showed in the worker's profile of a storm."""

    __slots__ = ("counted", "seen", "last")

    def __init__(self) -> None:
        self.counted: list[str] = []
        self.seen: list[str] = []
        self.last: AlertDelivery | None = None


class IncidentDeliveries:
    # -- deliveries -------------------------------------------------------------------------

    async def _handle(self, delivery: AlertDelivery) -> bool:
        """Handle one delivery; True when the run should end (a duplicate resolution of nothing)."""
        state = self._state
        log = workflow.logger
        if state is not None and delivery.delivery_id in state.seen_deliveries:
            log.info("duplicate delivery dropped", extra={"delivery_id": delivery.delivery_id})
            return False
        if state is None:
            return await self._open(delivery)
        self._remember(delivery.delivery_id)
        if self._is_resent_firing(delivery):
            await self._resent_firing(delivery)
            return False
        await self._apply(delivery)
        return False

    async def _apply(self, delivery: AlertDelivery) -> None:
        """A delivery that changes the incident: counted, re-opened or resolved."""
        state = self.require_state()
        log = workflow.logger
        state.alert = delivery.alert.model_copy(update={"links": delivery.alert.links or state.alert.links})
        now = workflow.now()
        if delivery.alert.status is AlertStatus.FIRING:
            self._remember_occurrence(delivery)
            if state.status is not IncidentStatus.OPEN:
                log.info("incident re-opened", extra={"incident_id": state.incident_id})
                state.status = IncidentStatus.OPEN
                state.resolved_at = None
                await self._set_status(IncidentStatus.OPEN)
            state.occurrences += 1
            state.last_seen = now
        elif state.status is IncidentStatus.OPEN:
            state.status = IncidentStatus.RESOLVED
            state.resolved_at = delivery.alert.ends_at or now
            state.last_seen = now
            await self._set_status(IncidentStatus.RESOLVED)
            await self._repairs.on_resolved(delivery.received_at)
        else:
            # A second resolution of an already resolved incident: nothing changed.
            await self._save(delivery, count=False)
            return
        await self._save(delivery, count=delivery.alert.status is AlertStatus.FIRING)
        await self.show_card()
        await self._record(delivery)

    async def _handle_batch(self, deliveries: list[AlertDelivery]) -> bool:
        """storm-v1: drain the inbox at once. Repeats of an open incident fold into one save, one
        record and at most one card edit; a state change (re-open, resolve) is applied in its place
        in the order, after what came before it. True when the run should end."""
        fold = _Fold()
        for delivery in deliveries:
            state = self._state
            if state is None:
                if await self._open(delivery):
                    return True
                continue
            if delivery.delivery_id in state.seen_deliveries:
                workflow.logger.info("duplicate delivery dropped", extra={"delivery_id": delivery.delivery_id})
                continue
            self._remember(delivery.delivery_id)
            if self._is_resent_firing(delivery):
                if state.status is IncidentStatus.OPEN:
                    state.last_seen = workflow.now()
                    fold.seen.append(delivery.delivery_id)
                continue  # after a resolution: a late retry of the firing that was resolved
            if delivery.alert.status is AlertStatus.FIRING and state.status is IncidentStatus.OPEN:
                state.alert = delivery.alert.model_copy(update={"links": delivery.alert.links or state.alert.links})
                self._remember_occurrence(delivery)
                state.occurrences += 1
                state.last_seen = workflow.now()
                fold.counted.append(delivery.delivery_id)
                fold.last = delivery
                continue
            await self._flush(fold)
            fold = _Fold()
            await self._apply(delivery)
        await self._flush(fold)
        return False

    async def _flush(self, fold: _Fold) -> None:
        """One save for everything folded; the count shows on the card at its bounded rate."""
        if not fold.counted and not fold.seen:
            return
        state = self.require_state()
        try:
            state.frequency = await self._quick_step(
                SAVE_BATCH, Frequency,
                SaveBatchInput(view=state.view(), workflow_id=workflow.info().workflow_id,
                               lifecycle_id=state.lifecycle_id, counted=fold.counted, seen=fold.seen,
                               at=workflow.now()),
                summary=f"save the incident ({len(fold.counted)} counted, {len(fold.seen)} re-sent)",
            )
        except ActivityError as exc:
            workflow.logger.error("incident record not saved", extra={"error": str(exc.cause or exc)})
        if fold.last is None:
            workflow.set_current_details(current_details(state.view(), state.repair))
            return
        state.card_dirty = True
        due = self._card_due()
        if due is not None and due <= 0:
            await self.show_card(best_effort=True)
        else:
            workflow.set_current_details(current_details(state.view(), state.repair))
        await self._record(fold.last)


    def _is_resent_firing(self, delivery: AlertDelivery) -> bool:
        state = self.require_state()
        return (
            delivery.occurrence_id is not None
            and delivery.occurrence_id in state.seen_occurrences
            and workflow.patched(OCCURRENCE_PATCH)
        )


    async def _resent_firing(self, delivery: AlertDelivery) -> None:
        """The same firing again: keep the incident's record fresh, count nothing, edit no card.

        After a resolution it is a late retry of the firing that was resolved (a new firing would
        carry a new startsAt), so it re-opens nothing."""
        state = self.require_state()
        if state.status is not IncidentStatus.OPEN:
            workflow.logger.info("late re-send of a resolved firing ignored",
                                 extra={"incident_id": state.incident_id, "delivery_id": delivery.delivery_id})
            return
        state.last_seen = workflow.now()
        workflow.set_current_details(current_details(state.view(), state.repair))
        await self._save(delivery, count=False)

    def _remember_occurrence(self, delivery: AlertDelivery) -> None:
        if delivery.occurrence_id is None or not workflow.patched(OCCURRENCE_PATCH):
            return
        seen = self.require_state().seen_occurrences
        if delivery.occurrence_id not in seen:
            seen.append(delivery.occurrence_id)
            del seen[:-SEEN_WINDOW]

    async def _expire(self, state: IncidentState) -> None:
        workflow.logger.info("incident expired without resolution", extra={"incident_id": state.incident_id})
        if self._repairs.seconds_to_deadline() is not None:
            # A decision or a verification still pending ends with the incident: say so, once.
            await self._repairs.on_deadline(expired=True)
        state.status = IncidentStatus.EXPIRED
        await self._set_status(IncidentStatus.EXPIRED)
        await self._save(None, count=False)
        await self.show_card()


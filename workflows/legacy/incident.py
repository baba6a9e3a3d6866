"""Generation 1 of the incident workflow, frozen (see workflows/legacy/__init__.py).

One durable pipeline per incident, fed by delivery signals: the first delivery runs analyze ->
create the incident -> card -> Sentry comment -> learning record; repeats aggregate; a resolution
edits the card and, after a grace period, ends the run. Every change after its first release went
behind ``workflow.patched`` (the ids in workflows/legacy/patches.py).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from core import search_attributes as sa
    from core.inputs import DeliverySeenInput
    from core.legacy_inputs import CardPlacement, IncidentOutcome, IncidentState, IncidentWorkflowInput
    from core.models import AlertDelivery, AlertStatus, DeliveryBatch, IncidentStatus
    from core.probe import is_probe
    from core.repair import Decision, DecisionAnswer, RepairPhase, RepairState

from workflows import retries
from workflows.legacy.cards import IncidentCards
from workflows.legacy.deliveries import IncidentDeliveries
from workflows.legacy.patches import (
    CARD_BUDGET_PATCH,
    DELIVERY_SEEN,
    DIGEST_PATCH,
    LATER_PATCHES,
    PATCHES_FIRST_PATCH,
    PLAN_LOCAL_PATCH,
    PROBE_PATCH,
    REPAIRS_PATCH,
    SEEN_WINDOW,
    STORM_PATCH,
)
from workflows.legacy.repair_flow import RepairFlow, same_decision
from workflows.legacy.steps import IncidentSteps



@workflow.defn(name="IncidentWorkflow")
class IncidentWorkflow(IncidentDeliveries, IncidentCards, IncidentSteps):
    def __init__(self) -> None:
        self._inbox: list[AlertDelivery] = []
        self._state: IncidentState | None = None
        self._input: IncidentWorkflowInput | None = None
        self._decision: Decision | None = None
        self._repairs = RepairFlow(self)
        self._repairs_enabled = False
        self._shown_phase: str | None = None
        self._probe = False  # probe-alerts-v1
        self._storm = False  # storm-v1
        self._digest = False  # digest-v1
        self.plan_local = False  # plan-local-v1: RepairFlow runs recommend_repair as a local activity
        self._budget = False  # card-budget-v1
        # One card call at a time: the main loop's and the ``own_card`` update's.
        self._card_lock = asyncio.Lock()

    @workflow.signal(name="deliver_batch")
    def deliver_batch(self, batch: DeliveryBatch) -> None:
        self._inbox.extend(batch.deliveries)

    @workflow.signal(name="deliver")
    def deliver(self, delivery: AlertDelivery) -> None:
        self._inbox.append(delivery)

    @workflow.update(name="decide")
    def decide(self, decision: Decision) -> DecisionAnswer:
        """Approve or reject the pending repair. Accepted here, carried out by the main loop.

        The same person repeating the same decision (Telegram re-sending a tap, a retried API
        call) gets the same answer and changes nothing."""
        repair = self.current_repair()
        if self._decision is None and (repair is None or repair.decision is None):
            self._decision = decision
        action = repair.plan.action.value if repair else "the repair"
        if decision.approve:
            return DecisionAnswer(accepted=True, message=f"Approved by {decision.by}: running {action}")
        return DecisionAnswer(accepted=True, message=f"Rejected by {decision.by}: {action} will not run")

    @decide.validator
    def _check_decision(self, decision: Decision) -> None:
        """Refuse, before anything is recorded, a decision that has nothing to decide."""
        repair = self.current_repair()
        if repair is None:
            raise ValueError("this incident has no repair awaiting approval")
        if decision.approval_token is not None and decision.approval_token != repair.approval_token:
            raise ValueError("this button belongs to an earlier repair request")
        taken = self._decision or repair.decision
        if taken is not None:
            if same_decision(taken, decision):
                return
            verb = "approved" if taken.approve else "rejected"
            raise ValueError(f"already {verb} by {taken.by}")
        if repair.phase is not RepairPhase.AWAITING_APPROVAL:
            raise ValueError(f"nothing to decide: the repair is {repair.phase.value.replace('_', ' ')}")

    @workflow.update(name="own_card")
    async def own_card(self) -> CardPlacement:
        """On demand (``awoooi card <id>``, POST /api/v1/incidents/{id}/card): the incident's own
        card now, whatever the storm; answers where it is shown once the card is out.

        Run by the handler itself under the card lock, so it never races the main loop's card
        calls, and it never holds up a continue-as-new waiting for handlers to finish."""
        async with self._card_lock:
            state = self.require_state()
            if state.message_id is None:
                try:
                    await self._card_call(best_effort=False, force_own=True)
                except ActivityError as exc:
                    raise ApplicationError(f"the card could not be sent: {exc.cause or exc}",
                                           type="CardFailed") from exc
                state.card_dirty = False
                self._stamp_card_call(state, budgeted=True)
        return CardPlacement(message_id=state.message_id, digest_message_id=state.digest_message_id)

    @own_card.validator
    def _check_own_card(self) -> None:
        if self._state is None:
            raise ValueError("this incident has no card yet: its first delivery is still being handled")

    @workflow.query(name="state")
    def state(self) -> IncidentState | None:
        return self._state

    @workflow.run
    async def run(self, inp: IncidentWorkflowInput) -> IncidentOutcome:
        self._input = inp
        self._storm = workflow.patched(STORM_PATCH)
        self._digest = self._storm and workflow.patched(DIGEST_PATCH)
        if self._digest and workflow.patched(PATCHES_FIRST_PATCH):
            for patch_id in LATER_PATCHES:
                workflow.patched(patch_id)  # memoized: the later call sites read the same answer
            self.plan_local = workflow.patched(PLAN_LOCAL_PATCH) and inp.local_steps
            self._budget = workflow.patched(CARD_BUDGET_PATCH) and inp.card_budget_calls > 0
        self._shown_phase = workflow.info().typed_search_attributes.get(sa.REPAIR_PHASE)
        # ``handled`` counts per run: it decides when to continue as new.
        self._state = inp.state.model_copy(update={"handled": 0}) if inp.state else None
        self._inbox[:0] = inp.pending
        while True:
            # Deliveries already waiting come first: a resolution that arrived before a decision or
            # a deadline was handled must count as what happened first.
            if self._decision is not None and not self._inbox:
                decision, self._decision = self._decision, None
                await self._repairs.on_decision(decision)
                continue
            state = self._state
            resolved = state is not None and state.status is IncidentStatus.RESOLVED
            grace = 0 if self._probe else inp.resolve_grace_seconds  # probe-alerts-v1
            wait: float = grace if resolved else inp.idle_timeout_seconds
            why = "resolve grace (a flap re-opens the card)" if resolved else "idle expiry"
            deadline = self._repairs.seconds_to_deadline()
            if deadline is not None and deadline <= 0 and not self._inbox:
                await self._repairs.on_deadline()
                continue
            if resolved and wait <= 0 and not self._inbox:
                return self._outcome()
            if deadline is not None and 0 < deadline < wait:
                wait, why = deadline, self._repairs.deadline_name()
            card_due = self._card_due()  # storm-v1: count changes the card does not show yet
            if card_due is not None and card_due <= 0 and not self._inbox:
                await self.show_card(best_effort=True)
                continue
            if card_due is not None and card_due < wait:
                wait, why = card_due, "count changes wait for the next card edit"
            try:
                await workflow.wait_condition(
                    lambda: bool(self._inbox) or self._decision is not None, timeout=timedelta(seconds=wait),
                    timeout_summary=why,
                )
            except asyncio.TimeoutError:
                if self._repairs.seconds_to_deadline() == 0:
                    await self._repairs.on_deadline()
                    continue
                card_due = self._card_due()
                if card_due is not None and card_due <= 0:
                    await self.show_card(best_effort=True)
                    continue
                if state is None:
                    return IncidentOutcome(incident_id=inp.incident_id, status="empty")
                if state.status is IncidentStatus.OPEN:
                    await self._expire(state)
                return self._outcome()
            if not self._inbox:
                continue  # woken by a decision
            if self._storm:
                batch, self._inbox = self._inbox, []
                finished = await self._handle_batch(batch)
            else:
                finished = await self._handle(self._inbox.pop(0))
            if finished:
                return self._outcome()
            if self._should_continue_as_new() and self._decision is None:
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(
                    inp.model_copy(update={"state": self._state, "pending": list(self._inbox)})
                )

    async def _open(self, delivery: AlertDelivery) -> bool:
        inp = self.require_input()
        alert = delivery.alert
        self._repairs_enabled = workflow.patched(REPAIRS_PATCH)
        self._probe = is_probe(alert) and workflow.patched(PROBE_PATCH)
        if alert.status is AlertStatus.RESOLVED:
            # A resolution for an incident whose workflow already ended: a late duplicate.
            seen = await workflow.execute_activity(
                DELIVERY_SEEN,
                DeliverySeenInput(delivery_id=delivery.delivery_id),
                result_type=bool,
                start_to_close_timeout=timedelta(seconds=10),
                schedule_to_close_timeout=timedelta(minutes=10),
                retry_policy=retries.QUICK,
                summary="was this resolution handled?",
            )
            if seen:
                await self._set_status_raw("duplicate")
                return True
        analysis = await self._analyze(delivery)
        now = workflow.now()
        resolved = alert.status is AlertStatus.RESOLVED
        self._state = IncidentState(
            incident_id=inp.incident_id,
            anomaly_key=inp.anomaly_key,
            lifecycle_id=str(workflow.uuid4()),
            status=IncidentStatus.RESOLVED if resolved else IncidentStatus.OPEN,
            alert=alert,
            analysis=analysis,
            first_seen=alert.starts_at or now,
            last_seen=now,
            resolved_at=(alert.ends_at or now) if resolved else None,
        )
        self._remember(delivery.delivery_id)
        self._remember_occurrence(delivery)
        if resolved:
            await self._set_status(IncidentStatus.RESOLVED)
        await self._save(delivery, count=True)
        plan_repair = self._repairs_enabled and not resolved and not self._probe
        if plan_repair:
            await self._repairs.plan()
        await self.show_card()
        if not resolved and not self._probe:
            # A resolution with nothing before it needs no advice on the Sentry issue.
            await self._comment()
        await self._record(delivery)
        if plan_repair:
            await self._repairs.after_first_card()
        return False

    # -- helpers ----------------------------------------------------------------------------
    def _card_key(self) -> str:
        state = self.require_state()
        return f"{state.incident_id}:{state.lifecycle_id}"

    def _remember(self, delivery_id: str) -> None:
        state = self.require_state()
        state.seen_deliveries.append(delivery_id)
        del state.seen_deliveries[:-SEEN_WINDOW]
        state.handled += 1

    def _should_continue_as_new(self) -> bool:
        state = self._state
        if state is None:
            return False
        limit = self.require_input().max_deliveries_per_run
        return workflow.info().is_continue_as_new_suggested() or state.handled >= limit

    def _outcome(self) -> IncidentOutcome:
        inp = self.require_input()
        state = self._state
        if state is None:
            return IncidentOutcome(incident_id=inp.incident_id, status="duplicate")
        return IncidentOutcome(
            incident_id=state.incident_id,
            status=state.status.value,
            occurrences=state.occurrences,
            message_id=state.message_id,
        )

    def current_repair(self) -> RepairState | None:
        return self._state.repair if self._state is not None else None

    def require_state(self) -> IncidentState:
        assert self._state is not None, "no incident state yet"
        return self._state

    def require_input(self) -> IncidentWorkflowInput:
        assert self._input is not None
        return self._input


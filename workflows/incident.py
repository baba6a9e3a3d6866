"""The incident workflow, generation 2 (type ``Incident``): one durable run per incident.

Every delivery of an alert is a ``deliver_batch`` signal to the workflow whose id names its source,
alert, service and fingerprint (docs/adr/0002-workflow-identity.md). The decisions live in a plain
Python core (core/incident/); this class is the loop that feeds it and carries out what it asks
(workflows/incident_steps.py):

    wait for something to happen (a signal, an update, the one timer)
    take everything that has arrived, with the time   -> a Snapshot
    run the core's step over it, command by command
    end, continue as new, or arm the timer for the core's next wake-up

No ``workflow.patched`` here: a change that would break a recorded history of this type starts
generation 3 (docs/adr/0019-incident-workflow-generations.md).
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from core import search_attributes as sa
    from core.acks import ACK_UPDATE, AckAnswer, AckRequest
    from core.incident.core import CardRequest, IncidentCore, Snapshot, Wake
    from core.incident.repairs import same_decision
    from core.incident.state import Carried, IncidentOutcome, IncidentSettings, IncidentStart, IncidentState
    from core.inputs import CardPlacement
    from core.models import AlertDelivery, DeliveryBatch
    from core.repair import Decision, DecisionAnswer
    from core.silence_inputs import SilenceAnswer, SilenceRequest
    from workflows.incident_silences import check_silence_request, silence_answer

from workflows.incident_steps import IncidentSteps, read_settings

WORKFLOW_TYPE = "Incident"
# A timer is never shorter than this: a wake-up already due still goes through a timer, so that the
# step it starts begins at a task boundary (docs/adr/0020).
MIN_TIMER = timedelta(milliseconds=1)


@workflow.defn(name=WORKFLOW_TYPE)
class Incident:
    def __init__(self) -> None:
        self._inbox: list[AlertDelivery] = []
        self._decisions: list[Decision] = []
        self._card_requests: list[CardRequest] = []
        self._acks: list[AckRequest] = []
        self._silence_requests: list[SilenceRequest] = []
        self._silence_changed = False
        self._core: IncidentCore | None = None
        self._woke = False
        self._timer: asyncio.Task[None] | None = None
        self._timer_at: datetime | None = None

    # -- what reaches it ----------------------------------------------------------------------

    @workflow.signal(name="deliver_batch")
    def deliver_batch(self, batch: DeliveryBatch) -> None:
        self._inbox.extend(batch.deliveries)

    @workflow.update(name="decide")
    def decide(self, decision: Decision) -> DecisionAnswer:
        """Approve or reject the pending repair: accepted here, carried out by the loop's next step.
        The same person repeating the same decision gets the same answer and changes nothing."""
        if not any(same_decision(taken, decision) for taken in self._decisions):
            self._decisions.append(decision)
        state = self._core.state if self._core is not None else None
        repair = state.repair if state is not None else None
        action = repair.plan.action.value if repair else "the repair"
        if decision.approve:
            return DecisionAnswer(accepted=True, message=f"Approved by {decision.by}: running {action}")
        return DecisionAnswer(accepted=True, message=f"Rejected by {decision.by}: {action} will not run")

    @decide.validator
    def _check_decision(self, decision: Decision) -> None:
        if self._core is None:
            raise ValueError("this incident has no repair awaiting approval")
        self._core.check_decision(decision, self._decisions)

    @workflow.update(name=ACK_UPDATE)
    def ack(self, request: AckRequest) -> AckAnswer:
        """"I'm on it" (docs/adr/0025): accepted here, recorded by the loop's next step. The same
        person again changes nothing; anyone after the first is refused by the validator."""
        assert self._core is not None
        answer = self._core.ack_answer(request, self._acks)
        if not self._acks and (self._core.state is None or self._core.state.acked is None):
            self._acks.append(request)
        return answer

    @ack.validator
    def _check_ack(self, request: AckRequest) -> None:
        if self._core is None:
            raise ValueError("this incident has no card yet: its first delivery is still being handled")
        self._core.check_ack(request, self._acks)

    @workflow.update(name="own_card")
    async def own_card(self) -> CardPlacement:
        """On demand (``awoooi card <id>``, POST /api/v1/incidents/{id}/card): the incident's own card
        now, whatever the storm; answers where it is shown once the card is out."""
        request = CardRequest()
        self._card_requests.append(request)
        await workflow.wait_condition(lambda: request.done)
        if request.error is not None:
            raise ApplicationError(request.error, type="CardFailed")
        assert request.placement is not None
        return request.placement

    @own_card.validator
    def _check_own_card(self) -> None:
        if self._core is None or self._core.state is None:
            raise ValueError("this incident has no card yet: its first delivery is still being handled")

    @workflow.update(name="silence")
    def silence(self, request: SilenceRequest) -> SilenceAnswer:
        """A card's Silence button: accepted here, the silence created by the loop's next step."""
        if request not in self._silence_requests:
            self._silence_requests.append(request)
        return silence_answer(request)

    @silence.validator
    def _check_silence(self, request: SilenceRequest) -> None:
        check_silence_request(self._core, request)

    @workflow.signal(name="silence_changed")
    def silence_changed(self) -> None:
        """A silence that silenced this incident was expired or edited (the API says so)."""
        self._silence_changed = True

    @workflow.query(name="state")
    def state(self) -> IncidentState | None:
        return self._core.state if self._core is not None else None

    # -- the loop -----------------------------------------------------------------------------

    @workflow.run
    async def run(self, start: IncidentStart) -> IncidentOutcome:
        carried = start.carried
        if carried is not None:
            self._inbox[:0] = carried.pending
        steps: IncidentSteps | None = None
        while True:
            if self._core is not None:
                self._arm(self._core.next_wake())
                await workflow.wait_condition(self._has_work)
            # The first step takes its snapshot before anything is awaited (a signal-with-start's
            # delivery, a continued run's pending ones, or nothing).
            snap = self._take()
            suggested = workflow.info().is_continue_as_new_suggested()
            first = self._core is None
            if self._core is None:
                # Part of the first step, after its snapshot: the settings come from a local activity.
                settings = await read_settings(IncidentSettings)
                self._core = self._new_core(start, settings, snap.now, carried.state if carried else None)
                steps = IncidentSteps(settings, workflow.info().typed_search_attributes.get(sa.REPAIR_PHASE))
            assert steps is not None
            core = self._core
            done = await steps.run(core.step(snap))
            # Ending right after a local activity could end on replay in an earlier task than it did
            # (docs/adr/0020): then the timer of the core's next wake-up ends it instead.
            after_local = done.last_local or (first and done.calls == 0)
            if core.outcome is not None and not after_local and not self._has_events():
                return core.outcome
            if core.outcome is None and core.should_continue_as_new(suggested) and not self._decisions \
                    and not self._acks and not self._silence_requests:
                await workflow.wait_condition(lambda: workflow.all_handlers_finished() or bool(self._card_requests))
                if not self._card_requests:
                    workflow.continue_as_new(self._carry(start, core))

    def _new_core(self, start: IncidentStart, settings: IncidentSettings, now: datetime,
                  state: IncidentState | None) -> IncidentCore:
        if state is not None:
            state = state.model_copy(update={"handled": 0})  # counts per run: when to continue as new
        return IncidentCore(incident_id=start.incident_id, anomaly_key=start.anomaly_key,
                            workflow_id=workflow.info().workflow_id, settings=settings,
                            new_id=lambda: str(workflow.uuid4()), started_at=now, state=state)

    def _carry(self, start: IncidentStart, core: IncidentCore) -> IncidentStart:
        assert core.state is not None
        return IncidentStart(alert=core.state.alert, incident_id=start.incident_id, anomaly_key=start.anomaly_key,
                             carried=Carried(state=core.state, pending=list(self._inbox)))

    def _has_events(self) -> bool:
        return bool(self._inbox or self._decisions or self._card_requests or self._acks or self._silence_requests)

    def _has_work(self) -> bool:
        return self._woke or self._silence_changed or self._has_events()

    def _take(self) -> Snapshot:
        """Everything that has arrived, at once: a step sees nothing that arrives while it runs."""
        snap = Snapshot(workflow.now(), self._inbox, self._decisions, self._card_requests, self._acks,
                        self._silence_requests, self._silence_changed)
        self._inbox, self._decisions, self._card_requests, self._acks = [], [], [], []
        self._silence_requests, self._silence_changed = [], False
        self._woke = False
        return snap

    def _arm(self, wake: Wake | None) -> None:
        """One timer for the earliest wake-up. A later wake-up keeps the timer already running (it
        fires early, the step finds nothing due and arms the next one), so a storm of deliveries
        that each push the idle expiry back costs no timer each."""
        if wake is None:
            return
        running = self._timer is not None and not self._timer.done()
        if running and self._timer_at is not None and self._timer_at <= wake.at:
            return
        if running:
            assert self._timer is not None
            self._timer.cancel()
        self._timer_at = wake.at
        delay = max(wake.at - workflow.now(), MIN_TIMER)
        self._timer = asyncio.ensure_future(self._sleep(delay, wake.why))

    async def _sleep(self, delay: timedelta, why: str) -> None:
        try:
            await workflow.sleep(delay, summary=why)
        except asyncio.CancelledError:
            return
        self._woke = True

"""The incident's decisions: what each delivery, decision, card request and deadline does.

Events in, commands and one next wake-up out (docs/adr/0020-incident-core-and-commands.md). The
workflow (workflows/incident.py) takes everything that has arrived as one :class:`Snapshot` with
the time it took it, runs :meth:`IncidentCore.step` over it, executing each yielded command and
sending its result back, then sleeps until :meth:`IncidentCore.next_wake` or the next event. The
core never reads a clock, never looks at what arrived after its snapshot, and never imports
Temporal: that is what keeps the workflow deterministic however its tasks are split
(docs/adr/0020, "what a step may read").

Order within a step: deliveries first (a resolution that arrived before a decision or a deadline
counts as what happened first), then decisions, then card requests, then whatever is due.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from core.acks import AckAnswer, AckRequest
from core.incident.acks import Acks
from core.incident.cards import Cards
from core.incident.flapping import Flapping
from core.incident.commands import (
    Analyze,
    CheckSeen,
    Comment,
    Failed,
    Record,
    Save,
    SaveBatch,
    SetStatus,
    Step,
    error,
    info,
    warning,
)
from core.incident.repairs import Repairs, check_decision
from core.incident.silencing import Silencing
from core.incident.state import SEEN_WINDOW, IncidentOutcome, IncidentSettings, IncidentState
from core.inputs import (
    AnalyzeInput,
    CardPlacement,
    DeliverySeenInput,
    LearningRecordInput,
    SaveBatchInput,
    SaveIncidentInput,
    SentryCommentInput,
)
from core.models import (
    AlertDelivery,
    AlertStatus,
    Analysis,
    IncidentStatus,
    RecommendedRepair,
    RepairAction,
)
from core.probe import is_probe
from core.repair import Decision
from core.silence_inputs import SilenceRequest

DUPLICATE = "duplicate"
EMPTY = "empty"


class CardRequest:
    """An ``own_card`` update waiting for the step that carries it out."""

    __slots__ = ("placement", "error", "done")

    def __init__(self) -> None:
        self.placement: CardPlacement | None = None
        self.error: str | None = None
        self.done = False


class Snapshot:
    """Everything that had arrived when the workflow took it, and when it took it."""

    __slots__ = ("now", "deliveries", "decisions", "card_requests", "acks", "silence_requests", "silence_changed")

    def __init__(self, now: datetime, deliveries: list[AlertDelivery] | None = None,
                 decisions: list[Decision] | None = None, card_requests: list[CardRequest] | None = None,
                 acks: list[AckRequest] | None = None, silence_requests: list[SilenceRequest] | None = None,
                 silence_changed: bool = False) -> None:
        self.now = now
        self.deliveries = deliveries or []
        self.decisions = decisions or []
        self.card_requests = card_requests or []
        self.acks = acks or []
        # Silence buttons taken, and whether a silence that silenced it changed (core/incident/silencing.py).
        self.silence_requests = silence_requests or []
        self.silence_changed = silence_changed

    @property
    def has_events(self) -> bool:
        return bool(self.deliveries or self.decisions or self.card_requests or self.acks or self.silence_requests)


class Wake:
    __slots__ = ("at", "why")

    def __init__(self, at: datetime, why: str) -> None:
        self.at = at
        self.why = why

    def __repr__(self) -> str:
        return f"Wake({self.at.isoformat()}, {self.why!r})"


class _Fold:
    """The deliveries of one snapshot that only add to an open incident: one save, one card call."""

    __slots__ = ("counted", "seen", "last")

    def __init__(self) -> None:
        self.counted: list[str] = []
        self.seen: list[str] = []
        self.last: AlertDelivery | None = None


def fallback_analysis(reason: str) -> Analysis:
    """Used when the analyze step itself failed: the card still goes out, and says so."""
    return Analysis(
        category="unknown",
        root_cause=f"Analysis unavailable ({reason}); look at the alert itself.",
        impact="Unknown.",
        fix_suggestion="Investigate manually.",
        prevention="Check the awoooi worker logs for why analysis failed.",
        confidence=0.0,
        analyzed_by="fallback",
        recommended_repair=RecommendedRepair(action=RepairAction.MANUAL_INTERVENTION, tier=4,
                                             reason="no analysis available"),
        rule_id=None,
    )


class IncidentCore:
    def __init__(self, *, incident_id: str, anomaly_key: str, workflow_id: str, settings: IncidentSettings,
                 new_id: Callable[[], str], started_at: datetime, state: IncidentState | None = None) -> None:
        self.incident_id = incident_id
        self.anomaly_key = anomaly_key
        self.workflow_id = workflow_id
        self.settings = settings
        self.state = state
        self._new_id = new_id
        self._cards = Cards(settings)
        self._repairs = Repairs(settings.policy, self._cards, new_id, workflow_id)
        self._acks = Acks(settings, self._cards)
        self._silencing = Silencing(settings, workflow_id, new_id, on_lifted=self._acks.on_silence_ended)
        self._flapping = Flapping(settings, self._cards)
        # No incident yet: when the run started, and when a resolution of an ended one was dropped.
        self._started_at = started_at
        self._duplicate_at: datetime | None = None
        # Set by a step that finds the run over; the workflow ends it once nothing else is pending.
        self.outcome: IncidentOutcome | None = None
        self._outcome_at: datetime | None = None

    # -- what the workflow asks ---------------------------------------------------------------

    def step(self, snap: Snapshot) -> Step:
        self.outcome = None
        state = self.state
        if state is not None and snap.has_events:
            state.active_at = snap.now
        if snap.deliveries:
            yield from self._deliveries(snap.deliveries, snap.now)
        for decision in snap.decisions:
            yield from self._decision(decision, snap.now)
        for ack in snap.acks:
            if self.state is not None:
                yield from self._acks.on_ack(self.state, ack, snap.now)
        for request in snap.card_requests:
            yield from self._own_card(request, snap.now)
        if snap.silence_requests or snap.silence_changed:
            yield from self._silence_events(snap.silence_requests, snap.now)
        yield from self._due(snap.now)
        if self.state is not None:
            yield from self._acks.observe(self.state)

    def next_wake(self) -> Wake | None:
        """The earliest moment something is due: a repair deadline, a card call, the end of the
        resolve grace or of the idle wait (the workflow's one timer)."""
        if self.outcome is not None:
            assert self._outcome_at is not None
            return Wake(self._outcome_at, "the run ends")
        state = self.state
        if state is None:
            if self._duplicate_at is not None:
                return Wake(self._duplicate_at, "the run ends")
            return Wake(self._started_at + timedelta(seconds=self.settings.idle_timeout_seconds), "idle expiry")
        wakes = []
        deadline = Repairs.deadline(state)
        if deadline is not None:
            wakes.append(Wake(deadline, Repairs.deadline_name(state)))
        silence = self._silencing.deadline(state)
        if silence is not None:
            wakes.append(Wake(silence, "is it still silenced?"))
        card = self._cards.due_at(state)
        if card is not None:
            wakes.append(Wake(card, "count changes wait for the next card edit" if state.card_dirty
                              else "a digest line asks for its own card again"))
        ack = self._acks.due_at(state)
        if ack is not None:
            wakes.append(Wake(ack, "unacknowledged: re-notify or escalate"))
        flap = self._flapping.due_at(state)
        if flap is not None:
            wakes.append(Wake(flap, "flapping: a quiet window clears the mark"))
        if state.status is IncidentStatus.RESOLVED:
            wakes.append(Wake(self._run_end(state), "resolve grace (a flap re-opens the card)"))
        elif state.status is IncidentStatus.OPEN:
            wakes.append(Wake(self._idle_end(state), "idle expiry"))
        return min(wakes, key=lambda wake: wake.at) if wakes else None

    def check_decision(self, decision: Decision, pending: list[Decision]) -> None:
        """The ``decide`` update's validator (ValueError refuses it, nothing is recorded)."""
        check_decision(self.state.repair if self.state is not None else None, decision, pending)

    def check_ack(self, request: AckRequest, pending: list[AckRequest]) -> None:
        """The ``ack`` update's validator (ValueError refuses it, nothing is recorded)."""
        self._acks.check(self.state, request, pending)

    def ack_answer(self, request: AckRequest, pending: list[AckRequest]) -> AckAnswer:
        return self._acks.answer(self.state, request, pending)

    def should_continue_as_new(self, suggested: bool) -> bool:
        state = self.state
        return state is not None and (suggested or state.handled >= self.settings.max_deliveries_per_run)

    # -- deliveries ---------------------------------------------------------------------------

    def _deliveries(self, batch: list[AlertDelivery], now: datetime) -> Step:
        """Repeats of an open incident fold into one save and at most one card call; a state change
        (re-open, resolve) is applied in its place in the order, after what came before it."""
        fold = _Fold()
        for delivery in batch:
            state = self.state
            if state is None:
                yield from self._open(delivery, now)
                continue
            if delivery.delivery_id in state.seen_deliveries:
                yield info("duplicate delivery dropped", delivery_id=delivery.delivery_id)
                continue
            self._remember(state, delivery.delivery_id)
            if delivery.occurrence_id is not None and delivery.occurrence_id in state.seen_occurrences:
                # The same firing again (an Alertmanager retry or repeat_interval): fresh last_seen,
                # nothing counted. After a resolution it is a late retry of the firing resolved.
                if state.status is IncidentStatus.OPEN:
                    state.last_seen = now
                    fold.seen.append(delivery.delivery_id)
                continue
            if delivery.alert.status is AlertStatus.FIRING and state.status is IncidentStatus.OPEN:
                state.alert = delivery.alert.model_copy(update={"links": delivery.alert.links or state.alert.links})
                self._remember_occurrence(state, delivery)
                state.occurrences += 1
                state.last_seen = now
                fold.counted.append(delivery.delivery_id)
                fold.last = delivery
                continue
            yield from self._flush(state, fold, now)
            fold = _Fold()
            yield from self._apply(state, delivery, now)
        if self.state is not None:
            yield from self._flush(self.state, fold, now)

    def _open(self, delivery: AlertDelivery, now: datetime, previous: IncidentState | None = None) -> Step:
        alert = delivery.alert
        resolved = alert.status is AlertStatus.RESOLVED
        if resolved:
            # A resolution for an incident whose run already ended is a late duplicate.
            seen = yield CheckSeen(DeliverySeenInput(delivery_id=delivery.delivery_id), "was this resolution handled?")
            if seen is True:
                yield SetStatus(DUPLICATE)
                self._duplicate_at = now
                return
            if isinstance(seen, Failed):
                yield warning("cannot tell whether this resolution was handled; showing it", error=seen.reason)
        analysis = yield Analyze(AnalyzeInput(alert=alert, anomaly_key=self.anomaly_key), "analyze the alert")
        if isinstance(analysis, Failed):
            yield warning("analysis failed, using fallback", error=analysis.reason)
            analysis = fallback_analysis(analysis.kind)
        probe = is_probe(alert)
        state = IncidentState(
            incident_id=self.incident_id, anomaly_key=self.anomaly_key, lifecycle_id=self._new_id(),
            status=IncidentStatus.RESOLVED if resolved else IncidentStatus.OPEN, alert=alert, analysis=analysis,
            first_seen=alert.starts_at or now, last_seen=now, resolved_at=(alert.ends_at or now) if resolved else None,
            resolved_handled_at=now if resolved else None, probe=probe, active_at=now)
        self.state = state
        self._remember(state, delivery.delivery_id)
        self._remember_occurrence(state, delivery)
        if previous is not None:
            yield from self._next_lifecycle(previous, state, now)
        if resolved or self._duplicate_at is not None or previous is not None:
            yield SetStatus(state.status.value)
        self._duplicate_at = None
        yield from self._save(state, delivery.delivery_id, count=True, now=now)
        yield from self._record(state, delivery, now)
        if (yield from self._silencing.ask(state, now)):
            state.first_words_held = True  # said when the silence ends, if it still fires
            yield self._cards.publish(state)
            return
        yield from self._first_words(state, now)

    def _first_words(self, state: IncidentState, now: datetime) -> Step:
        """The repair plan, the first card, the Sentry comment, an automatic repair."""
        state.first_words_held = False
        resolved = state.status is IncidentStatus.RESOLVED
        plan = not resolved and not state.probe
        if plan:
            yield from self._repairs.plan(state, now)
            self._flapping.hold_auto_repair(state, now)
        yield from self._acks.on_open(state, now)
        yield from self._cards.show(state, now)
        if plan:
            # A resolution with nothing before it needs no advice on the Sentry issue.
            yield from self._comment(state, now)
        if plan:
            yield from self._repairs.after_first_card(state, now)

    def _apply(self, state: IncidentState, delivery: AlertDelivery, now: datetime) -> Step:
        """A delivery that changes the incident: re-opened, resolved, or a resolution again."""
        if self._new_lifecycle(state, delivery, now):
            yield info("fired again after the resolve grace: a new lifecycle", incident_id=state.incident_id)
            yield from self._open(delivery, now, previous=state)
            return
        state.alert = delivery.alert.model_copy(update={"links": delivery.alert.links or state.alert.links})
        firing = delivery.alert.status is AlertStatus.FIRING
        resolving = False
        if firing:
            self._remember_occurrence(state, delivery)
            if state.status is not IncidentStatus.OPEN:
                yield info("incident re-opened", incident_id=state.incident_id)
                state.status, state.resolved_at, state.resolved_handled_at = IncidentStatus.OPEN, None, None
                yield SetStatus(IncidentStatus.OPEN.value)
                yield from self._flapping.on_refire(state, now)
                if not self._flapping.is_flapping(state):  # every flap restarting the waits would ring on every flap
                    self._acks.on_reopen(state, now)
                yield from self._silencing.ask(state, now)
            state.occurrences += 1
            state.last_seen = now
        elif state.status is IncidentStatus.OPEN:
            state.status = IncidentStatus.RESOLVED
            state.resolved_at = delivery.alert.ends_at or now
            state.resolved_handled_at = state.last_seen = now
            yield SetStatus(IncidentStatus.RESOLVED.value)
            resolving = True
        else:
            # A second resolution of an already resolved incident: nothing changed.
            yield from self._save(state, delivery.delivery_id, count=False, now=now)
            return
        yield from self._save(state, delivery.delivery_id, count=firing, now=now)
        yield from self._record(state, delivery, now)
        if resolving:
            yield from self._repairs.on_resolved(state, delivery.received_at, now)
            yield from self._silencing.on_closed(state, now)
        if state.first_words_held and not state.silenced and state.status is IncidentStatus.OPEN:
            yield from self._first_words(state, now)  # silenced when it opened, no longer now
        else:
            yield from self._flapping.show(state, now)  # held while flapping, at most once a window

    def _flush(self, state: IncidentState, fold: _Fold, now: datetime) -> Step:
        """One save for everything folded; the count shows on the card at its bounded rate."""
        if not fold.counted and not fold.seen:
            return
        frequency = yield SaveBatch(
            SaveBatchInput(view=state.view(), workflow_id=self.workflow_id, lifecycle_id=state.lifecycle_id,
                           counted=fold.counted, seen=fold.seen, at=now),
            f"save the incident ({len(fold.counted)} counted, {len(fold.seen)} re-sent)")
        if isinstance(frequency, Failed):
            yield error("incident record not saved", error=frequency.reason)
        else:
            state.frequency = frequency
        if fold.last is None:
            yield self._cards.publish(state)
            return
        yield from self._record(state, fold.last, now)
        state.card_dirty = True
        due = self._cards.due_at(state)
        if due is not None and due <= now:
            yield from self._cards.show(state, now, best_effort=True)
        else:
            yield self._cards.publish(state)

    # -- decisions, card requests, deadlines --------------------------------------------------

    def _decision(self, decision: Decision, now: datetime) -> Step:
        if self.state is not None:
            yield from self._repairs.on_decision(self.state, decision, now)

    def _silence_events(self, requests: list[SilenceRequest], now: datetime) -> Step:
        """Silence buttons taken, or a silence changed under it: ask again; a lifted silence lets the
        held first words go (core/incident/silencing.py)."""
        state = self.state
        if state is None or not self._silencing.enabled or state.status is not IncidentStatus.OPEN:
            return
        before = (state.silenced, state.silenced_until, state.silenced_by)
        for request in requests:
            yield from self._silencing.request(state, request, now)
        if not requests:
            yield from self._silencing.ask(state, now)
        yield from self._after_verdict(state, before, now)

    def _notify_due(self, state: IncidentState, now: datetime) -> Step:
        """A re-notification or escalation that is due asks the silence verdict first: a silence
        added since (one that names no alertname reaches open incidents only when they ask) holds it."""
        due = self._acks.due_at(state)
        if due is None or due > now:
            return
        before = (state.silenced, state.silenced_until, state.silenced_by)
        if (yield from self._silencing.before_notify(state, now)):
            yield from self._acks.on_due(state, now)
        else:
            yield from self._after_verdict(state, before, now)

    def _after_verdict(self, state: IncidentState, before: tuple[object, ...], now: datetime) -> Step:
        if state.first_words_held:
            if not state.silenced:
                yield from self._first_words(state, now)
        elif before != (state.silenced, state.silenced_until, state.silenced_by) and (
                state.message_id is not None or state.digest_message_id is not None):
            yield from self._cards.show(state, now)  # the card says silenced (or no longer)

    def _own_card(self, request: CardRequest, now: datetime) -> Step:
        """On demand (``awoooi card``): its own card now, whatever the storm."""
        state = self.state
        if state is None:
            request.error, request.done = "this incident has no card yet", True
            return
        if state.message_id is None:
            result = yield from self._cards.show(state, now, force_own=True)
            if isinstance(result, Failed):
                request.error = f"the card could not be sent: {result.reason}"
        request.placement = CardPlacement(message_id=state.message_id, digest_message_id=state.digest_message_id)
        request.done = True

    def _due(self, now: datetime) -> Step:
        state = self.state
        if state is None:
            if self._duplicate_at is not None:
                self._end(DUPLICATE, now)
            elif self._started_at + timedelta(seconds=self.settings.idle_timeout_seconds) <= now:
                self._end(EMPTY, now)
            return
        deadline = Repairs.deadline(state)
        if deadline is not None and deadline <= now:
            yield from self._repairs.on_deadline(state, now)
        silence = self._silencing.deadline(state)
        if silence is not None and silence <= now:
            before = (state.silenced, state.silenced_until, state.silenced_by)
            yield from self._silencing.ask(state, now)
            yield from self._after_verdict(state, before, now)
        yield from self._flapping.on_due(state, now)  # first: its all-clear edit carries a held change too
        card = self._cards.due_at(state)
        if card is not None and card <= now:
            yield from self._cards.show(state, now, best_effort=True)
        yield from self._notify_due(state, now)
        if state.status is IncidentStatus.RESOLVED and self._run_end(state) <= now:
            self._end(state.status.value, now)
        elif state.status is IncidentStatus.OPEN and self._idle_end(state) <= now:
            yield from self._expire(state, now)
            self._end(state.status.value, now)
        elif state.status is IncidentStatus.EXPIRED:
            self._end(state.status.value, now)

    def _expire(self, state: IncidentState, now: datetime) -> Step:
        yield info("incident expired without resolution", incident_id=state.incident_id)
        state.status = IncidentStatus.EXPIRED
        yield SetStatus(IncidentStatus.EXPIRED.value)
        yield from self._save(state, None, count=False, now=now)
        yield from self._silencing.on_closed(state, now)
        if Repairs.deadline(state) is not None:
            # A decision or a verification still pending ends with the incident: say so, once.
            yield from self._repairs.on_deadline(state, now, expired=True)
        yield from self._cards.show(state, now)

    def _end(self, status: str, now: datetime) -> None:
        state = self.state
        self._outcome_at = now
        self.outcome = IncidentOutcome(incident_id=self.incident_id, status=status,
                                       occurrences=state.occurrences if state else 0,
                                       message_id=state.message_id if state else None)

    def _grace_end(self, state: IncidentState) -> datetime:
        grace = 0.0 if state.probe else self.settings.resolve_grace_seconds
        return (state.resolved_handled_at or state.active_at) + timedelta(seconds=grace)

    def _run_end(self, state: IncidentState) -> datetime:
        """A resolved run ends at its grace, or once its re-fires are a flap window old."""
        return self._flapping.run_end(state, self._grace_end(state))

    def _new_lifecycle(self, state: IncidentState, delivery: AlertDelivery, now: datetime) -> bool:
        """A firing that reached us after the resolve grace is a new incident, whether or not the run
        has ended yet (it may still be finishing a call, or staying to count flaps): the grace decides,
        not the run's lifetime. When it reached us (``received_at``), not when the step runs: one
        received within the grace and handled late (a worker down) still re-opens. A flapping one
        re-opens (core/incident/flapping.py)."""
        return (self.settings.new_lifecycle_after_grace and delivery.alert.status is AlertStatus.FIRING
                and state.status is IncidentStatus.RESOLVED and self._grace_end(state) <= delivery.received_at
                and not self._flapping.is_flapping(state))

    def _next_lifecycle(self, previous: IncidentState, state: IncidentState, now: datetime) -> Step:
        """The run's new lifecycle keeps what the run remembers: the ids it saw, its handled count,
        the attribute its silence verdict last set, and the re-fires it counts flaps by."""
        state.seen_deliveries = (previous.seen_deliveries + state.seen_deliveries)[-SEEN_WINDOW:]
        state.seen_occurrences = (previous.seen_occurrences + state.seen_occurrences)[-SEEN_WINDOW:]
        state.handled = previous.handled
        state.silenced = previous.silenced
        self._flapping.carry(previous, state)
        yield from self._flapping.on_refire(state, now)

    def _idle_end(self, state: IncidentState) -> datetime:
        return state.active_at + timedelta(seconds=self.settings.idle_timeout_seconds)

    # -- steps of one call each ---------------------------------------------------------------

    def _save(self, state: IncidentState, delivery_id: str | None, *, count: bool, now: datetime) -> Step:
        frequency = yield Save(
            SaveIncidentInput(view=state.view(), workflow_id=self.workflow_id, lifecycle_id=state.lifecycle_id,
                              delivery_id=delivery_id or f"{state.lifecycle_id}:{state.status.value}",
                              count_occurrence=count, at=now),
            "save the incident")
        if isinstance(frequency, Failed):
            # The card matters more than the record: go on, and say so in the log.
            yield error("incident record not saved", error=frequency.reason)
        else:
            state.frequency = frequency

    def _record(self, state: IncidentState, delivery: AlertDelivery, now: datetime) -> Step:
        if state.probe:
            return  # a probe teaches nothing
        recorded = yield Record(
            LearningRecordInput(incident_id=state.incident_id, anomaly_key=state.anomaly_key,
                                delivery_id=delivery.delivery_id, status=state.status, analysis=state.analysis,
                                occurrences=state.occurrences, at=now),
            "record for learning")
        if isinstance(recorded, Failed):
            yield error("learning record failed", error=recorded.reason)

    def _comment(self, state: IncidentState, now: datetime) -> Step:
        ref = state.alert.sentry
        if ref is None or not ref.issue_id:
            return
        posted = yield Comment(
            SentryCommentInput(view=state.view(), comment_key=f"{ref.issue_id}:{state.lifecycle_id}", at=now),
            "comment on the Sentry issue")
        if isinstance(posted, Failed):
            state.sentry_comment = "failed"
            yield error("sentry comment failed", error=posted.reason)
        else:
            state.sentry_comment = posted

    @staticmethod
    def _remember(state: IncidentState, delivery_id: str) -> None:
        state.seen_deliveries.append(delivery_id)
        del state.seen_deliveries[:-SEEN_WINDOW]
        state.handled += 1

    @staticmethod
    def _remember_occurrence(state: IncidentState, delivery: AlertDelivery) -> None:
        if delivery.occurrence_id is None or delivery.occurrence_id in state.seen_occurrences:
            return
        state.seen_occurrences.append(delivery.occurrence_id)
        del state.seen_occurrences[:-SEEN_WINDOW]

"""Drive the incident core (core/incident/) without Temporal: answer its commands like the activities
would, and keep what it asked for. Used by the core's unit and property tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

from core.acks import AckRequest
from core.identity import alert_key, firing_occurrence_id, resolved_delivery_id
from core.incident.commands import (
    Analyze,
    Budget,
    Call,
    CheckSeen,
    Command,
    Comment,
    EditCard,
    Escalate,
    Execute,
    Failed,
    LearnRepair,
    Observe,
    PlaceCard,
    Recommend,
    Record,
    Renotify,
    Save,
    SaveBatch,
)
from core.incident.core import CardRequest, IncidentCore, Snapshot
from core.incident.state import IncidentSettings
from core.inputs import BudgetStatus, CardPlacement, RepairPlanAnswer
from core.learning import RecordOutcome, SmartRecommendation
from core.models import (
    Alert,
    AlertDelivery,
    AlertStatus,
    Analysis,
    Frequency,
    RecommendedRepair,
    RepairAction,
    Source,
)
from core.repair import Decision, RepairResult, RepairStatus
from core.silence_inputs import SilenceRequest

T0 = datetime(2026, 12, 6, 10, 0, tzinfo=timezone.utc)
FINGERPRINT = "5ca1ab1e00000001"


def alert(status: str = "firing", minute: int = 0, *, ends_minute: int | None = None, **labels: str) -> Alert:
    return Alert(source=Source.ALERTMANAGER, fingerprint=FINGERPRINT, status=AlertStatus(status), title="HPA maxed out",
                 service="checkout", labels={"alertname": "KubeHpaMaxedOut", "namespace": "shop",
                                             "deployment": "checkout", **labels},
                 starts_at=T0 + timedelta(minutes=minute),
                 ends_at=T0 + timedelta(minutes=ends_minute) if ends_minute is not None else None)


def firing(minute: int = 0, delivery_id: str | None = None, at: datetime = T0, **labels: str) -> AlertDelivery:
    """A firing of the alert that started at ``minute`` (its re-sends share the occurrence id)."""
    fired = alert("firing", minute, **labels)
    return AlertDelivery(delivery_id=delivery_id or f"d-{minute}-{at.timestamp()}", alert=fired, received_at=at,
                         occurrence_id=firing_occurrence_id(fired))


def resolved(minute: int = 0, ends_minute: int = 5, at: datetime = T0, **labels: str) -> AlertDelivery:
    ended = alert("resolved", minute, ends_minute=ends_minute, **labels)
    return AlertDelivery(delivery_id=resolved_delivery_id(ended), alert=ended, received_at=at)


def analysis(action: RepairAction = RepairAction.SCALE_UP) -> Analysis:
    return Analysis(category="kubernetes", root_cause="the HPA is at its maximum", impact="latency",
                    fix_suggestion="raise maxReplicas", prevention="capacity planning", confidence=0.8,
                    analyzed_by="rules", recommended_repair=RecommendedRepair(action=action, tier=action.tier),
                    rule_id="kube-hpa-maxed-out")


def decision(approve: bool = True, by: str = "alice") -> Decision:
    return Decision(approve=approve, by=by, via="api", at=T0)


class Script:
    """The activities' side of a conversation with the core: fixed answers, overridable per command
    type (a callable returning the result, or a Failed)."""

    def __init__(self, settings: IncidentSettings | None = None, *,
                 answers: dict[type[Command], Callable[[Any], Any]] | None = None,
                 action: RepairAction = RepairAction.SCALE_UP) -> None:
        self.settings = settings or IncidentSettings(card_edit_interval_seconds=10, card_budget_calls=2,
                                                     resolve_grace_seconds=300, idle_timeout_seconds=3600)
        ids = iter(range(1, 1_000_000))
        self.core = IncidentCore(incident_id=alert_key(alert()), anomaly_key="kubehpamaxedout:checkout",
                                 workflow_id="incident-test", settings=self.settings,
                                 new_id=lambda: f"00000000-0000-0000-0000-{next(ids):012d}", started_at=T0)
        self.commands: list[Command] = []
        self.results: list[Any] = []  # what each command was answered, in step
        self._messages = iter(range(1, 1_000_000))
        self._action = action
        self._answers: dict[type[Command], Callable[[Any], Any]] = {
            Analyze: lambda c: analysis(self._action),
            CheckSeen: lambda c: False,
            Save: lambda c: Frequency(count=1),
            SaveBatch: lambda c: Frequency(count=len(c.inp.counted)),
            Record: lambda c: True,
            Recommend: lambda c: RepairPlanAnswer(recommendation=SmartRecommendation(
                anomaly_key=c.inp.anomaly_key, action=self._action, tier=self._action.tier, confidence=0.5,
                source="analysis", sources={"action": "analysis"}), registered=True),
            Budget: lambda c: BudgetStatus(allowed=True, last_hour=0, last_day=0, max_per_hour=3, max_per_day=10),
            PlaceCard: lambda c: CardPlacement(message_id=str(next(self._messages))),
            EditCard: lambda c: None,
            Escalate: lambda c: str(next(self._messages)),
            Comment: lambda c: "comment-1",
            Execute: lambda c: RepairResult(repair_id=c.inp.request.repair_id, action=c.inp.request.action,
                                            executor="dry-run", status=RepairStatus.SIMULATED),
            LearnRepair: lambda c: RecordOutcome(recorded=True),
            Renotify: lambda c: str(next(self._messages)),
            Observe: lambda c: True,
        }
        self._answers.update(answers or {})

    def step(self, now: datetime = T0, deliveries: list[AlertDelivery] | None = None,
             decisions: list[Decision] | None = None, card_requests: list[CardRequest] | None = None,
             acks: list[AckRequest] | None = None, silence_requests: list[SilenceRequest] | None = None,
             silence_changed: bool = False) -> list[Command]:
        """One step of the core over what arrived; the commands it yielded."""
        step = self.core.step(Snapshot(now, deliveries, decisions, card_requests, acks, silence_requests,
                                       silence_changed))
        made: list[Command] = []
        result: Any = None
        while True:
            try:
                command = step.send(result)
            except StopIteration:
                break
            made.append(command)
            result = self._answers[type(command)](command) if isinstance(command, Call) else None
            self.results.append(result)
        self.commands += made
        return made

    def wake(self) -> list[Command]:
        """A step at the core's next wake-up (as the workflow's timer would start it)."""
        wake = self.core.next_wake()
        assert wake is not None, "nothing to wake up for"
        return self.step(wake.at)

    def of(self, kind: type[Command]) -> list[Any]:
        return [c for c in self.commands if isinstance(c, kind)]


def failing(kind: str = "TimeoutError") -> Callable[[Any], Failed]:
    return lambda command: Failed(kind, f"{kind} after every retry")

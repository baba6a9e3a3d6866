"""Stand-in activities under the real names, for workflow tests on the time-skipping server.

The workflow cannot tell them from the real ones (samples-python's pattern): each answers what the
real one would, from memory, and keeps what it was asked, so a test reads the calls instead of
running Valkey, Telegram and an API. The whole stack stays for the end-to-end and fault tests.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio import activity
from temporalio.client import Client, WorkflowHandle
from temporalio.exceptions import ApplicationError
from temporalio.worker import Worker

from core.converter import data_converter  # noqa: F401 - the environment's converter, named for readers
from core.identity import firing_occurrence_id, incident_ref, resolved_delivery_id
from core.incident.state import IncidentSettings, IncidentStart
from core.inputs import (
    AnalyzeInput,
    BudgetInput,
    BudgetStatus,
    CardPlacement,
    DeliverySeenInput,
    EditCardInput,
    EscalateInput,
    ExecuteRepairInput,
    LearningRecordInput,
    ObserveInput,
    PlaceCardInput,
    RecommendInput,
    RecordRepairInput,
    RenotifyInput,
    RepairPlanAnswer,
    SaveBatchInput,
    SaveIncidentInput,
    SentryCommentInput,
)
from core.learning import RecordOutcome, SmartRecommendation
from core.models import (
    Alert,
    AlertDelivery,
    AlertStatus,
    Analysis,
    DeliveryBatch,
    Frequency,
    RecommendedRepair,
    RepairAction,
    Source,
)
from core.repair import RepairResult, RepairStatus
from worker.wiring import WORKFLOWS, sandbox_validation, workflow_runner

T0 = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)


def alert(fingerprint: str, status: str = "firing", minute: int = 0, **labels: str) -> Alert:
    return Alert(source=Source.ALERTMANAGER, fingerprint=fingerprint, status=AlertStatus(status),
                 title="KubeHpaMaxedOut", service="checkout",
                 labels={"alertname": "KubeHpaMaxedOut", "namespace": "shop", "deployment": "checkout", **labels},
                 starts_at=T0 + timedelta(minutes=minute),
                 ends_at=T0 + timedelta(minutes=minute + 5) if status == "resolved" else None)


def firing(fingerprint: str, minute: int = 0, **labels: str) -> AlertDelivery:
    fired = alert(fingerprint, "firing", minute, **labels)
    return AlertDelivery(delivery_id=f"d-{uuid.uuid4().hex}", alert=fired, received_at=datetime.now(UTC),
                         occurrence_id=firing_occurrence_id(fired))


def resolved(fingerprint: str, minute: int = 0, **labels: str) -> AlertDelivery:
    ended = alert(fingerprint, "resolved", minute, **labels)
    return AlertDelivery(delivery_id=resolved_delivery_id(ended), alert=ended, received_at=datetime.now(UTC))


@dataclass
class StandIns:
    """What the activities were asked, and how they answer."""

    settings: IncidentSettings = field(default_factory=IncidentSettings)
    action: RepairAction = RepairAction.SCALE_UP
    learned: bool = False  # the recommendation comes from learning, sure enough to run on its own
    executed: RepairStatus = RepairStatus.SIMULATED
    digest: bool = False  # place_card answers with a digest line unless asked to force its own card
    calls: Counter[str] = field(default_factory=Counter)
    placed: list[PlaceCardInput] = field(default_factory=list)
    edits: list[EditCardInput] = field(default_factory=list)
    escalations: list[EscalateInput] = field(default_factory=list)
    saves: list[Any] = field(default_factory=list)
    learned_outcomes: list[RecordRepairInput] = field(default_factory=list)
    paced: int = 0  # answer this many best-effort edits with "Paced"
    renotified: list[RenotifyInput] = field(default_factory=list)
    observed: list[ObserveInput] = field(default_factory=list)

    def activities(self) -> list[Any]:
        me = self

        @activity.defn(name="incident_settings")
        async def incident_settings() -> IncidentSettings:
            me.calls["incident_settings"] += 1
            return me.settings

        @activity.defn(name="analyze_alert")
        async def analyze(inp: AnalyzeInput) -> Analysis:
            me.calls["analyze_alert"] += 1
            return Analysis(category="kubernetes", root_cause="the HPA is at its maximum", impact="latency",
                            fix_suggestion="raise maxReplicas", prevention="capacity", confidence=0.8,
                            analyzed_by="rules", rule_id="kube-hpa-maxed-out",
                            recommended_repair=RecommendedRepair(action=me.action, tier=me.action.tier))

        @activity.defn(name="delivery_seen")
        async def delivery_seen(inp: DeliverySeenInput) -> bool:
            me.calls["delivery_seen"] += 1
            return False

        @activity.defn(name="save_incident")
        async def save(inp: SaveIncidentInput) -> Frequency:
            me.calls["save_incident"] += 1
            me.saves.append(inp)
            return Frequency(count=inp.view.occurrences)

        @activity.defn(name="save_incident_batch")
        async def save_batch(inp: SaveBatchInput) -> Frequency:
            me.calls["save_incident_batch"] += 1
            me.saves.append(inp)
            return Frequency(count=inp.view.occurrences)

        @activity.defn(name="record_for_learning")
        async def record(inp: LearningRecordInput) -> bool:
            me.calls["record_for_learning"] += 1
            return True

        @activity.defn(name="recommend_repair")
        async def recommend(inp: RecommendInput) -> RepairPlanAnswer:
            me.calls["recommend_repair"] += 1
            source = "learning" if me.learned else "analysis"
            plan = SmartRecommendation(anomaly_key=inp.anomaly_key, action=me.action, tier=me.action.tier,
                                       confidence=0.95 if me.learned else 0.5, source=source,
                                       sources={"action": source, "confidence": source})
            return RepairPlanAnswer(recommendation=plan, registered=True)

        @activity.defn(name="repair_budget")
        async def budget(inp: BudgetInput) -> BudgetStatus:
            me.calls["repair_budget"] += 1
            return BudgetStatus(allowed=True, last_hour=0, last_day=0, max_per_hour=3, max_per_day=10)

        @activity.defn(name="execute_repair")
        async def execute(inp: ExecuteRepairInput) -> RepairResult:
            me.calls["execute_repair"] += 1
            return RepairResult(repair_id=inp.request.repair_id, action=inp.request.action, executor="stand-in",
                                status=me.executed, finished_at=activity.info().current_attempt_scheduled_time)

        @activity.defn(name="record_repair_result")
        async def learn(inp: RecordRepairInput) -> RecordOutcome:
            me.calls["record_repair_result"] += 1
            me.learned_outcomes.append(inp)
            return RecordOutcome(recorded=True)

        @activity.defn(name="place_card")
        async def place(inp: PlaceCardInput) -> CardPlacement:
            me.calls["place_card"] += 1
            me.placed.append(inp)
            if me.digest and not inp.force_own:
                return CardPlacement(digest_message_id="900")
            return CardPlacement(message_id=str(100 + me.calls["place_card"]))

        @activity.defn(name="edit_card")
        async def edit(inp: EditCardInput) -> str | None:
            me.calls["edit_card"] += 1
            if inp.best_effort and me.paced > 0:
                me.paced -= 1
                raise ApplicationError("chat paced: count edit skipped", type="Paced", non_retryable=True)
            me.edits.append(inp)
            return None

        @activity.defn(name="escalate")
        async def escalate(inp: EscalateInput) -> str | None:
            me.calls["escalate"] += 1
            me.escalations.append(inp)
            return "500"

        @activity.defn(name="post_sentry_comment")
        async def comment(inp: SentryCommentInput) -> str:
            me.calls["post_sentry_comment"] += 1
            return "posted"

        @activity.defn(name="renotify")
        async def renotify(inp: RenotifyInput) -> str | None:
            me.calls["renotify"] += 1
            me.renotified.append(inp)
            return str(700 + me.calls["renotify"])

        @activity.defn(name="observe_incident")
        async def observe(inp: ObserveInput) -> bool:
            me.calls["observe_incident"] += 1
            me.observed.append(inp)
            return True

        return [incident_settings, analyze, delivery_seen, save, save_batch, record, recommend, budget, execute,
                learn, place, edit, escalate, comment, renotify, observe]

    @asynccontextmanager
    async def worker(self, client: Client, task_queue: str, *, cache: bool = True) -> AsyncIterator[Worker]:
        """``cache=False``: no cached workflows, hence no sticky task queue, so the next worker gets the
        incident's tasks at once (the test server never times a sticky queue out while it holds time)."""
        with sandbox_validation():
            built = Worker(client, task_queue=task_queue, workflows=list(WORKFLOWS), activities=self.activities(),
                           workflow_runner=workflow_runner(), max_cached_workflows=1000 if cache else 0)
        async with built as worker:
            yield worker


async def start(client: Client, task_queue: str, first: AlertDelivery) -> WorkflowHandle[Any, Any]:
    """What the API does for a new alert: signal-with-start the incident with its first delivery."""
    ref = incident_ref(first.alert)
    return await client.start_workflow(
        "Incident", IncidentStart(alert=first.alert, incident_id=ref.incident_id, anomaly_key=ref.anomaly_key),
        id=ref.workflow_id, task_queue=task_queue, start_signal="deliver_batch",
        start_signal_args=[DeliveryBatch(deliveries=[first])])


async def deliver(handle: WorkflowHandle[Any, Any], *deliveries: AlertDelivery) -> None:
    await handle.signal("deliver_batch", DeliveryBatch(deliveries=list(deliveries)))

"""Hand one parsed alert to its incident workflow, durably, and say what happened.

Signal-with-start: the ``deliver`` signal and, when needed, the workflow start are one atomic
server call, recorded in history before we answer the sender. If that call fails we raise
IntakeUnavailable and the API answers 503, so the sender retries: never 200 for an alert that was
not durably taken.

The request is built by hand (rather than ``Client.start_workflow(start_signal=...)``) only to read
the server's ``started`` flag, which tells "started" from "updated" without a second round trip.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from temporalio.api.common.v1 import Payloads, WorkflowType
from temporalio.api.enums.v1 import WorkflowIdConflictPolicy, WorkflowIdReusePolicy
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import SignalWithStartWorkflowExecutionRequest
from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.converter import encode_search_attributes
from temporalio.service import RPCError

from core import search_attributes as sa
from core.errors import IntakeUnavailable, UpstreamError
from core.identity import delivery_ledger_key, incident_ref
from core.inputs import IncidentWorkflowInput
from core.models import AlertDelivery, IncidentRef, IncidentStatus
from core.repair import RepairPolicy
from core.ports import DeliveryLedger
from core.settings import Settings
from starter.parsers import ParsedAlert

log = structlog.get_logger(__name__)

WORKFLOW_TYPE = "IncidentWorkflow"
DELIVER_SIGNAL = "deliver"


def repair_policy(settings: Settings) -> RepairPolicy:
    return RepairPolicy(
        auto_repair_confidence=settings.auto_repair_confidence,
        approval_timeout_seconds=settings.approval_timeout.total_seconds(),
        verify_window_seconds=settings.verify_window.total_seconds(),
    )


@dataclass(frozen=True)
class IntakeResult:
    ref: IncidentRef
    result: str  # started | updated | duplicate
    delivery_id: str
    reason: str | None = None


class Intake:
    def __init__(self, client: Client, settings: Settings, ledger: DeliveryLedger | None) -> None:
        self._client = client
        self._settings = settings
        self._ledger = ledger

    async def take(self, parsed: ParsedAlert, received_at: datetime) -> IntakeResult:
        alert = parsed.alert
        ref = incident_ref(alert)
        delivery_id = parsed.delivery_key or f"delivery-{uuid.uuid4().hex}"
        if parsed.delivery_key and await self._already_handled(parsed.delivery_key):
            return IntakeResult(ref, "duplicate", delivery_id, reason="delivery already handled")
        delivery = AlertDelivery(delivery_id=delivery_id, alert=alert, received_at=received_at)
        started = await self._signal_with_start(ref, delivery)
        return IntakeResult(ref, "started" if started else "updated", delivery_id)

    async def _already_handled(self, delivery_key: str) -> bool:
        """A fast answer for a sender's retry. Best effort: the workflow dedups authoritatively."""
        if self._ledger is None:
            return False
        try:
            return await self._ledger.seen(delivery_ledger_key(delivery_key))
        except UpstreamError:
            log.warning("ledger unavailable, leaving dedup to the workflow")
            return False

    async def _signal_with_start(self, ref: IncidentRef, delivery: AlertDelivery) -> bool:
        client = self._client
        converter = client.data_converter
        workflow_input = IncidentWorkflowInput(
            incident_id=ref.incident_id,
            anomaly_key=ref.anomaly_key,
            idle_timeout_seconds=self._settings.incident_idle_timeout_seconds,
            resolve_grace_seconds=self._settings.resolve_grace_seconds,
            policy=repair_policy(self._settings),
            analysis_timeout_seconds=max(60.0, self._settings.llm_timeout_seconds + 30.0)
            if self._settings.llm_enabled else 60.0,
        )
        alert = delivery.alert
        request = SignalWithStartWorkflowExecutionRequest(
            namespace=client.namespace,
            workflow_id=ref.workflow_id,
            workflow_type=WorkflowType(name=WORKFLOW_TYPE),
            task_queue=TaskQueue(name=self._settings.task_queue),
            input=Payloads(payloads=await converter.encode([workflow_input])),
            signal_name=DELIVER_SIGNAL,
            signal_input=Payloads(payloads=await converter.encode([delivery])),
            identity=client.identity,
            request_id=str(uuid.uuid4()),
            workflow_id_reuse_policy=WorkflowIdReusePolicy.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
            workflow_id_conflict_policy=WorkflowIdConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
        )
        encode_search_attributes(
            TypedSearchAttributes(
                [
                    SearchAttributePair(sa.ALERT_NAME, sa.cut_to_bytes(alert.alertname)),
                    SearchAttributePair(sa.SEVERITY, alert.severity.value),
                    SearchAttributePair(sa.SERVICE, sa.cut_to_bytes(alert.service)),
                    SearchAttributePair(sa.SOURCE, alert.source.value),
                    SearchAttributePair(sa.INCIDENT_STATUS, IncidentStatus.OPEN.value),
                ]
            ),
            request.search_attributes,
        )
        try:
            response = await client.workflow_service.signal_with_start_workflow_execution(
                request,
                retry=True,
                timeout=timedelta(seconds=self._settings.temporal_rpc_timeout_seconds),
            )
        except RPCError as exc:
            log.error("temporal refused the delivery", workflow_id=ref.workflow_id, status=exc.status.name,
                      detail=exc.message)
            raise IntakeUnavailable(f"temporal unavailable: {exc.status.name}") from exc
        except RuntimeError as exc:  # a lazy client that cannot connect raises "Failed client connect"
            log.error("temporal unreachable", workflow_id=ref.workflow_id, detail=str(exc))
            raise IntakeUnavailable("temporal unreachable") from exc
        return bool(response.started)

"""Hand one parsed alert to its incident workflow, durably, and say what happened.

Signal-with-start: the ``deliver_batch`` signal and, when needed, the workflow start are one atomic
server call, recorded in history before we answer the sender ("started" / "updated"). Deliveries
for one incident that arrive together share that call (starter/group_commit.py).

When Temporal is slow or down the delivery is not refused: after AWOOOI_INTAKE_DIRECT_TIMEOUT_SECONDS
it goes to the durable spool in Valkey (fsynced before we answer "spooled"), and the drainer
(starter/spool_drainer.py) starts it once Temporal answers. While the spool holds anything, new
deliveries queue behind it, so a resolution never overtakes the firing it resolves. Only when
Valkey cannot take it either is the answer 503 (IntakeUnavailable), and the sender retries.

The delivery id is fixed here, before the first attempt: an attempt that timed out on our side but
reached Temporal, and its spooled copy, are the same delivery, which the workflow drops as a
duplicate (and the drainer skips once the worker has recorded it).

The request is built by hand (rather than ``Client.start_workflow(start_signal=...)``) only to read
the server's ``started`` flag, which tells "started" from "updated" without a second round trip.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from temporalio.api.common.v1 import Payloads, WorkflowType
from temporalio.api.common.v1 import Priority as PriorityProto
from temporalio.api.sdk.v1 import UserMetadata
from temporalio.api.enums.v1 import WorkflowIdConflictPolicy, WorkflowIdReusePolicy
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import SignalWithStartWorkflowExecutionRequest
from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.converter import encode_search_attributes
from temporalio.service import RPCError, RPCStatusCode

from core import search_attributes as sa
from core.console import PHASE_NONE, static_details, static_summary
from core.errors import IntakeUnavailable, PayloadError, UpstreamError
from core.identity import alert_key, incident_ref
from core.priority import queue_place
from core.incident.state import IncidentStart
from core.models import AlertDelivery, DeliveryBatch, IncidentRef, IncidentStatus
from core.ports import DeliverySpool, IdempotencyLedger
from core.settings import Settings
from starter.group_commit import SPOOL_CHECK_SECONDS, GroupCommit, SpoolState, SpoolWriter
from starter.legacy_runs import LegacyRuns
from starter.storm_gauge import StormGauge
from starter.parsers import ParsedAlert

log = structlog.get_logger(__name__)

# Generation 2 of the incident workflow (workflows/incident.py; ADR 0019).
WORKFLOW_TYPE = "Incident"
# One signal carries every delivery of a group commit.
DELIVER_SIGNAL = "deliver_batch"


@dataclass(frozen=True)
class IntakeResult:
    ref: IncidentRef
    result: str  # started | updated | duplicate | spooled
    delivery_id: str
    reason: str | None = None


class Intake:
    def __init__(self, client: Client, settings: Settings, ledger: IdempotencyLedger | None,
                 spool: DeliverySpool | None = None, legacy: LegacyRuns | None = None) -> None:
        self._client = client
        self._settings = settings
        self._ledger = ledger
        self._legacy = legacy
        state = SpoolState(spool)
        window = settings.intake_batch_window_ms / 1000
        self._commit = GroupCommit(
            self._send_direct,
            SpoolWriter(spool, state, window=window) if spool is not None else None,
            state,
            window=window,
            max_batch=settings.intake_batch_max,
            max_in_flight=settings.intake_concurrency,
            overflow_wait=settings.intake_overflow_wait_ms / 1000,
            gauge=StormGauge(rate=settings.intake_storm_rate, hot_seconds=settings.intake_storm_hot_seconds),
        )

    async def start(self) -> None:
        """Before the first alert: learn which generation-1 incidents are still open."""
        if self._legacy is not None:
            await self._legacy.start(timeout=self._settings.temporal_rpc_timeout_seconds)

    async def take(self, parsed: ParsedAlert, received_at: datetime) -> IntakeResult:
        alert = parsed.alert
        ref = incident_ref(alert)
        if self._legacy is not None and ref.legacy_workflow_id and self._legacy.holds(ref.legacy_workflow_id):
            # Its generation-1 run is still open: the alert goes there (starter/legacy_runs.py).
            ref = ref.model_copy(update={"incident_id": alert_key(alert), "workflow_id": ref.legacy_workflow_id})
        delivery_id = parsed.delivery_key or f"delivery-{uuid.uuid4().hex}"
        if parsed.delivery_key and await self.already_handled(parsed.delivery_key):
            return IntakeResult(ref, "duplicate", delivery_id, reason="delivery already handled")
        delivery = AlertDelivery(delivery_id=delivery_id, alert=alert, received_at=received_at,
                                 occurrence_id=parsed.occurrence_key)
        result = await self._commit.submit(ref, delivery)
        if ref.workflow_id == ref.legacy_workflow_id and self._legacy is not None \
                and not self._legacy.holds(ref.workflow_id) and result != "spooled":
            ref = incident_ref(alert)  # the generation-1 run had just ended: generation 2 took it
        if result == "spooled":
            return IntakeResult(ref, result, delivery_id, reason="Temporal is busy, slow or down; started from the "
                                                                 "durable spool once it answers")
        return IntakeResult(ref, result, delivery_id)

    async def already_handled(self, delivery_key: str) -> bool:
        """A fast answer for a sender's retry. Best effort: the workflow dedups authoritatively."""
        if self._ledger is None:
            return False
        try:
            return await asyncio.wait_for(self._ledger.delivery_handled(delivery_key), SPOOL_CHECK_SECONDS)
        except (UpstreamError, TimeoutError):
            log.warning("ledger unavailable, leaving dedup to the workflow")
            return False

    async def handled(self, delivery_ids: list[str]) -> list[bool]:
        """``already_handled`` for a batch in one round trip (the drainer); raises UpstreamError."""
        if self._ledger is None:
            return [False] * len(delivery_ids)
        return await self._ledger.deliveries_handled(delivery_ids)

    async def _send_direct(self, ref: IncidentRef, deliveries: list[AlertDelivery]) -> bool:
        return await self.deliver(ref, deliveries, timeout=self._settings.intake_direct_timeout_seconds)

    async def deliver(self, ref: IncidentRef, deliveries: list[AlertDelivery], *, timeout: float) -> bool:
        """Signal-with-start a batch of one incident's deliveries, in order; True when it started the
        workflow. Raises IntakeUnavailable, or PayloadError when Temporal refuses it for good."""
        if ref.legacy_workflow_id and ref.workflow_id == ref.legacy_workflow_id:
            if await self._to_legacy(ref.workflow_id, deliveries, timeout=timeout):
                return False
            ref = incident_ref(deliveries[0].alert)  # it has just ended: generation 2 from now on
        delivery = deliveries[0]
        client = self._client
        converter = client.data_converter
        # The alert is the input, so the Web UI opens on it; the worker reads its own settings.
        workflow_input = IncidentStart(alert=delivery.alert, incident_id=ref.incident_id, anomaly_key=ref.anomaly_key)
        alert = delivery.alert
        # Where a new incident waits when the worker is backlogged: the probe and critical alerts
        # first, each sender group its share (core/priority.py). A running workflow keeps its own.
        place = queue_place(alert)
        request = SignalWithStartWorkflowExecutionRequest(
            namespace=client.namespace,
            workflow_id=ref.workflow_id,
            workflow_type=WorkflowType(name=WORKFLOW_TYPE),
            task_queue=TaskQueue(name=self._settings.task_queue),
            input=Payloads(payloads=await converter.encode([workflow_input])),
            signal_name=DELIVER_SIGNAL,
            signal_input=Payloads(payloads=await converter.encode([DeliveryBatch(deliveries=deliveries)])),
            identity=client.identity,
            # The same id on every attempt of this batch, so the server can tell a repeat.
            request_id=str(uuid.uuid5(uuid.NAMESPACE_URL, "|".join(d.delivery_id for d in deliveries))),
            workflow_id_reuse_policy=WorkflowIdReusePolicy.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE,
            workflow_id_conflict_policy=WorkflowIdConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING,
            priority=PriorityProto(priority_key=place.priority_key, fairness_key=place.fairness_key),
            # What the Web UI's list and detail page show before anyone opens the history.
            user_metadata=UserMetadata(
                summary=converter.payload_converter.to_payload(static_summary(alert)),
                details=converter.payload_converter.to_payload(static_details(alert, ref)),
            ),
        )
        encode_search_attributes(
            TypedSearchAttributes(
                [
                    SearchAttributePair(sa.ALERT_NAME, sa.cut_to_bytes(alert.alertname)),
                    SearchAttributePair(sa.SEVERITY, alert.severity.value),
                    SearchAttributePair(sa.SERVICE, sa.cut_to_bytes(alert.service)),
                    SearchAttributePair(sa.SOURCE, alert.source.value),
                    SearchAttributePair(sa.INCIDENT_STATUS, IncidentStatus.OPEN.value),
                    SearchAttributePair(sa.REPAIR_PHASE, PHASE_NONE),
                ]
            ),
            request.search_attributes,
        )
        try:
            # The SDK retries transient errors itself; the overall deadline is ours.
            response = await asyncio.wait_for(
                client.workflow_service.signal_with_start_workflow_execution(
                    request, retry=True, timeout=timedelta(seconds=timeout)
                ),
                timeout,
            )
        except RPCError as exc:
            if exc.status is RPCStatusCode.INVALID_ARGUMENT:
                # Temporal will refuse this delivery however often it is sent: a 4xx, not a retry.
                raise PayloadError(f"Temporal refused the alert: {exc.message}") from exc
            log.warning("temporal refused the delivery", workflow_id=ref.workflow_id, status=exc.status.name,
                        detail=exc.message)
            raise IntakeUnavailable(f"temporal unavailable: {exc.status.name}") from exc
        except TimeoutError as exc:
            raise IntakeUnavailable(f"temporal did not answer within {timeout:g} s") from exc
        except RuntimeError as exc:  # a lazy client that cannot connect raises "Failed client connect"
            log.warning("temporal unreachable", workflow_id=ref.workflow_id, detail=str(exc))
            raise IntakeUnavailable("temporal unreachable") from exc
        return bool(response.started)

    async def _to_legacy(self, workflow_id: str, deliveries: list[AlertDelivery], *, timeout: float) -> bool:
        """Signal the deliveries to a generation-1 run still open under the alert's old id; False when
        there is none (starter/legacy_runs.py). Never starts one."""
        handle = self._client.get_workflow_handle(workflow_id)
        try:
            await asyncio.wait_for(handle.signal(DELIVER_SIGNAL, DeliveryBatch(deliveries=deliveries),
                                                 rpc_timeout=timedelta(seconds=timeout)), timeout)
        except RPCError as exc:
            if exc.status is RPCStatusCode.NOT_FOUND:
                if self._legacy is not None:
                    self._legacy.ended(workflow_id)
                return False
            raise IntakeUnavailable(f"temporal unavailable: {exc.status.name}") from exc
        except TimeoutError as exc:
            raise IntakeUnavailable(f"temporal did not answer within {timeout:g} s") from exc
        except RuntimeError as exc:
            raise IntakeUnavailable("temporal unreachable") from exc
        log.info("delivered to a generation-1 incident", workflow_id=workflow_id, deliveries=len(deliveries))
        return True

"""A long-firing incident continues as new and carries its state and unhandled deliveries."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from temporalio.client import Client, WorkflowExecutionStatus

from core.identity import incident_ref
from core.legacy_inputs import IncidentWorkflowInput
from core.models import Alert, AlertDelivery, AlertStatus, Severity, Source
from tests.harness import eventually, running, settings_for
from workflows.legacy.incident import IncidentWorkflow


def _delivery(alert: Alert) -> AlertDelivery:
    return AlertDelivery(delivery_id=f"d-{uuid.uuid4().hex}", alert=alert, received_at=datetime.now(UTC))


async def test_state_and_pending_deliveries_survive_continue_as_new(temporal_client: Client, valkey_url, redis,
                                                                    task_queue, telegram) -> None:
    alert = Alert(source=Source.ALERTMANAGER, fingerprint=uuid.uuid4().hex[:16], status=AlertStatus.FIRING,
                  severity=Severity.CRITICAL, title="KubePodCrashLooping", service="checkout",
                  labels={"alertname": "KubePodCrashLooping", "namespace": "shop", "pod": "checkout-1"})
    ref = incident_ref(alert)
    settings = settings_for(valkey_url, task_queue, telegram)
    async with running(temporal_client, settings):
        await temporal_client.start_workflow(
            IncidentWorkflow.run,
            IncidentWorkflowInput(incident_id=ref.incident_id, anomaly_key=ref.anomaly_key,
                                  max_deliveries_per_run=3, card_edit_interval_seconds=0),
            id=ref.workflow_id, task_queue=task_queue,
            start_signal="deliver", start_signal_args=[_delivery(alert)],
        )
        latest = temporal_client.get_workflow_handle(ref.workflow_id)
        for count in range(2, 8):
            # One at a time: a drained inbox is handled as one batch (storm-v1), and this test wants
            # runs of three deliveries each.
            await latest.signal(IncidentWorkflow.deliver, _delivery(alert))

            async def counted(count: int = count) -> bool:
                state = await latest.query(IncidentWorkflow.state)
                return state is not None and state.occurrences == count

            await eventually(counted, what=f"occurrence {count}")

        async def seven_occurrences() -> bool:
            state = await latest.query(IncidentWorkflow.state)
            return state is not None and state.occurrences == 7

        await eventually(seven_occurrences, what="seven occurrences across runs")
        runs = [w async for w in temporal_client.list_workflows(f'WorkflowId="{ref.workflow_id}"')]
        assert len(runs) >= 3, "three deliveries per run: at least two continue-as-new"
        assert sum(w.status == WorkflowExecutionStatus.CONTINUED_AS_NEW for w in runs) >= 2
        assert len(telegram.sent) == 1, "the card is carried over, never sent again"
        await eventually(lambda: telegram.messages[1][-1].count("<b>Occurrences:</b> 7") == 1, what="card at 7")

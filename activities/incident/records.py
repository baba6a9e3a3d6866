"""Create or aggregate the incident: count the occurrence and keep the incident record.

Idempotent under retry: the counter counts a delivery id once, the record is written with
absolute values computed by the workflow, and the ledger marks the delivery as handled so the
webhook can answer "duplicate" to a sender's retry.
"""

from __future__ import annotations

from temporalio import activity

from activities.failures import to_application_error
from core.errors import UpstreamError
from core.inputs import DeliverySeenInput, SaveBatchInput, SaveIncidentInput
from core.models import Frequency, IncidentView
from core.ports import AnomalyCounter, IdempotencyLedger, IncidentRepository


class IncidentActivities:
    def __init__(self, counter: AnomalyCounter, incidents: IncidentRepository, ledger: IdempotencyLedger) -> None:
        self._counter = counter
        self._incidents = incidents
        self._ledger = ledger

    @activity.defn(name="save_incident")
    async def save(self, inp: SaveIncidentInput) -> Frequency:
        view = inp.view
        try:
            if inp.count_occurrence:
                frequency = await self._counter.record(view.anomaly_key, inp.delivery_id, inp.at)
            else:
                frequency = await self._counter.frequency(view.anomaly_key, inp.at)
            await self._incidents.save(_record(view, inp.workflow_id, inp.lifecycle_id), view.incident_id)
            await self._ledger.mark_handled([inp.delivery_id], view.incident_id)
        except UpstreamError as exc:
            raise to_application_error(exc) from exc
        return frequency

    @activity.defn(name="save_incident_batch")
    async def save_batch(self, inp: SaveBatchInput) -> Frequency:
        """storm-v1: a batch of deliveries in three round trips, whatever its size: the counter
        (one script, INCRBY N), the record, and the ledger marks (one pipeline)."""
        view = inp.view
        try:
            frequency = await self._counter.record_many(view.anomaly_key, inp.counted, inp.at)
            await self._incidents.save(_record(view, inp.workflow_id, inp.lifecycle_id), view.incident_id)
            await self._ledger.mark_handled([*inp.counted, *inp.seen], view.incident_id)
        except UpstreamError as exc:
            raise to_application_error(exc) from exc
        return frequency

    @activity.defn(name="delivery_seen")
    async def delivery_seen(self, inp: DeliverySeenInput) -> bool:
        try:
            return await self._ledger.delivery_handled(inp.delivery_id)
        except UpstreamError as exc:
            raise to_application_error(exc) from exc


def _record(view: IncidentView, workflow_id: str, lifecycle_id: str) -> dict[str, str]:
    """The incident hash: absolute values from the workflow, so a retried write is the same write."""
    return {
        "incident_id": view.incident_id,
        "workflow_id": workflow_id,
        "lifecycle_id": lifecycle_id,
        "anomaly_key": view.anomaly_key,
        "status": view.status.value,
        "source": view.alert.source.value,
        "title": view.alert.title,
        "severity": view.alert.severity.value,
        "service": view.alert.service,
        "occurrences": str(view.occurrences),
        "first_seen": view.first_seen.isoformat(),
        "last_seen": view.last_seen.isoformat(),
        "resolved_at": view.resolved_at.isoformat() if view.resolved_at else "",
    }

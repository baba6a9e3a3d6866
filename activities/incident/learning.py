"""Record each occurrence and its analysis for the learning service (seed phase G builds on it)."""

from __future__ import annotations

from temporalio import activity

from activities.failures import to_application_error
from core.errors import UpstreamError
from core.inputs import LearningRecordInput
from core.ports import OccurrenceLog


class LearningActivities:
    def __init__(self, log: OccurrenceLog) -> None:
        self._log = log

    @activity.defn(name="record_for_learning")
    async def record(self, inp: LearningRecordInput) -> bool:
        record = {
            "incident_id": inp.incident_id,
            "delivery_id": inp.delivery_id,
            "status": inp.status.value,
            "category": inp.analysis.category,
            "rule_id": inp.analysis.rule_id,
            "analyzed_by": inp.analysis.analyzed_by,
            "confidence": inp.analysis.confidence,
            "recommended_action": inp.analysis.recommended_repair.action.value,
            "tier": inp.analysis.recommended_repair.tier,
            "avoid_actions": [a.value for a in inp.analysis.avoid_actions],
            "occurrences": inp.occurrences,
            "at": inp.at.isoformat(),
        }
        try:
            return await self._log.append(inp.anomaly_key, f"{inp.incident_id}:{inp.delivery_id}", record)
        except UpstreamError as exc:
            raise to_application_error(exc) from exc

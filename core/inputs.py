"""One input model per workflow and activity.

Temporal records these in history; adding a field with a default is safe, renaming or removing
one is not (replay tests in tests/test_replay.py catch that).
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from core.models import (
    AlertDelivery,
    Alert,
    Analysis,
    Frequency,
    IncidentStatus,
    IncidentView,
)


class IncidentState(BaseModel):
    """What the incident workflow knows; carried across continue-as-new."""

    incident_id: str
    anomaly_key: str
    lifecycle_id: str
    status: IncidentStatus
    alert: Alert
    analysis: Analysis
    occurrences: int = 1
    frequency: Frequency = Field(default_factory=Frequency)
    first_seen: datetime
    last_seen: datetime
    resolved_at: datetime | None = None
    message_id: int | None = None
    sentry_comment: str | None = None
    # Recent delivery ids, to drop a sender's retry that reaches us twice. Bounded.
    seen_deliveries: list[str] = Field(default_factory=list)
    handled: int = 0

    def view(self) -> IncidentView:
        return IncidentView(
            incident_id=self.incident_id,
            anomaly_key=self.anomaly_key,
            status=self.status,
            alert=self.alert,
            analysis=self.analysis,
            occurrences=self.occurrences,
            frequency=self.frequency,
            first_seen=self.first_seen,
            last_seen=self.last_seen,
            resolved_at=self.resolved_at,
        )


class IncidentWorkflowInput(BaseModel):
    incident_id: str
    anomaly_key: str
    idle_timeout_seconds: int = 24 * 3600
    resolve_grace_seconds: int = 300
    state: IncidentState | None = None
    # Deliveries signalled but not yet handled when the run continued as new.
    pending: list[AlertDelivery] = Field(default_factory=list)


class IncidentOutcome(BaseModel):
    incident_id: str
    status: str
    occurrences: int = 0
    message_id: int | None = None


class AnalyzeInput(BaseModel):
    alert: Alert
    anomaly_key: str


class DeliverySeenInput(BaseModel):
    delivery_id: str


class SaveIncidentInput(BaseModel):
    """Create or aggregate the incident record and count the occurrence (phases A and C)."""

    view: IncidentView
    workflow_id: str
    lifecycle_id: str
    delivery_id: str
    count_occurrence: bool
    at: datetime


class CardInput(BaseModel):
    view: IncidentView
    card_key: str


class EditCardInput(BaseModel):
    view: IncidentView
    message_id: int


class SentryCommentInput(BaseModel):
    view: IncidentView
    comment_key: str
    at: datetime


class LearningRecordInput(BaseModel):
    incident_id: str
    anomaly_key: str
    delivery_id: str
    status: IncidentStatus
    analysis: Analysis
    occurrences: int
    at: datetime

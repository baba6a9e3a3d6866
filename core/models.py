"""The pydantic models every part of awoooi speaks.

Every source (Alertmanager, SigNoz, Sentry) is normalised into one :class:`Alert`, so the workflow
and the activities never look at a vendor payload. The models travel through Temporal with the
pydantic data converter, so fields may be added (with defaults) without breaking recorded histories.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class Source(StrEnum):
    ALERTMANAGER = "alertmanager"
    SIGNOZ = "signoz"
    SENTRY = "sentry"
    SYNTHETIC = "synthetic"


class AlertStatus(StrEnum):
    FIRING = "firing"
    RESOLVED = "resolved"


class Severity(StrEnum):
    CRITICAL = "critical"
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class Link(BaseModel):
    model_config = ConfigDict(frozen=True)

    title: str
    url: str


class SentryRef(BaseModel):
    """What is needed to talk back to Sentry about the issue behind an alert."""

    issue_id: str | None = None
    short_id: str | None = None
    org_slug: str | None = None
    project: str | None = None
    web_url: str | None = None
    event_id: str | None = None
    culprit: str | None = None
    exception_type: str | None = None
    exception_value: str | None = None


class Alert(BaseModel):
    """One alert, whatever sent it."""

    source: Source
    fingerprint: str = Field(min_length=1)
    status: AlertStatus
    severity: Severity = Severity.WARNING
    title: str = Field(min_length=1)
    service: str = "unknown"
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    links: list[Link] = Field(default_factory=list)
    sentry: SentryRef | None = None

    @property
    def alertname(self) -> str:
        return self.labels.get("alertname") or self.title

    @property
    def description(self) -> str:
        for key in ("description", "message", "summary", "info"):
            if self.annotations.get(key):
                return self.annotations[key]
        return ""


class RepairAction(StrEnum):
    RESTART_POD = "restart_pod"
    RESTART_CONTAINER = "restart_container"
    DELETE_POD = "delete_pod"
    SCALE_UP = "scale_up"
    SCALE_DOWN = "scale_down"
    INCREASE_MEMORY = "increase_memory"
    INCREASE_CPU = "increase_cpu"
    ADJUST_LIMITS = "adjust_limits"
    APPLY_HOTFIX = "apply_hotfix"
    UPDATE_CONFIG = "update_config"
    PATCH_DEPLOYMENT = "patch_deployment"
    ROLLBACK = "rollback"
    CREATE_ISSUE = "create_issue"
    NOTIFY_TEAM = "notify_team"
    SCHEDULE_FIX = "schedule_fix"
    MANUAL_INTERVENTION = "manual_intervention"

    @property
    def tier(self) -> int:
        return ACTION_TIERS[self]


ACTION_TIERS: dict[RepairAction, int] = {
    RepairAction.RESTART_POD: 1,
    RepairAction.RESTART_CONTAINER: 1,
    RepairAction.DELETE_POD: 1,
    RepairAction.SCALE_UP: 2,
    RepairAction.SCALE_DOWN: 2,
    RepairAction.INCREASE_MEMORY: 2,
    RepairAction.INCREASE_CPU: 2,
    RepairAction.ADJUST_LIMITS: 2,
    RepairAction.APPLY_HOTFIX: 3,
    RepairAction.UPDATE_CONFIG: 3,
    RepairAction.PATCH_DEPLOYMENT: 3,
    RepairAction.ROLLBACK: 3,
    RepairAction.CREATE_ISSUE: 4,
    RepairAction.NOTIFY_TEAM: 4,
    RepairAction.SCHEDULE_FIX: 4,
    RepairAction.MANUAL_INTERVENTION: 4,
}


class RecommendedRepair(BaseModel):
    action: RepairAction
    tier: int = Field(ge=1, le=4)
    reason: str = ""


class Analysis(BaseModel):
    """What awoooi believes about an alert, and who said so."""

    category: str
    root_cause: str
    impact: str
    fix_suggestion: str
    prevention: str
    confidence: float = Field(ge=0.0, le=1.0)
    analyzed_by: str
    recommended_repair: RecommendedRepair
    rule_id: str | None = None
    # Actions the analysis says do not help (a restart does not free a full disk); learning and the
    # repair plan never propose them for this alert.
    avoid_actions: list[RepairAction] = Field(default_factory=list)
    # Set when an LLM was asked but its answer was not used (timeout, error, invalid answer), so the
    # card and the logs can say why the rule analysis stands.
    fallback_reason: str | None = None
    # What the story is about and what the alert itself said (docs/adr/0030): the failure mode the
    # knowledge base recognised ("not recognised" when it knows the technology but not the mode), the
    # technology, the alert's own summary/description and its runbook, dashboard and generator links.
    failure_mode: str | None = None
    technology: str | None = None
    alert_says: str = ""
    alert_links: list[Link] = Field(default_factory=list)


class Frequency(BaseModel):
    """How often an anomaly has been seen (anomaly counter, seed phases A and C)."""

    count: int = 0
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    last_1h: int = 0
    last_24h: int = 0


class IncidentStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"
    EXPIRED = "expired"


class AlertDelivery(BaseModel):
    """One delivery of an alert to the incident workflow (its signal input).

    ``delivery_id`` is stable across a sender's retries of the same delivery where the sender lets us
    tell (Sentry event ids and Request-ID, a resolved alert's end), so the workflow can drop repeats.
    """

    delivery_id: str
    alert: Alert
    received_at: datetime
    # The firing this delivery reports (Alertmanager: fingerprint + startsAt). Alertmanager re-sends
    # the same firing on every retry and every repeat_interval: that is news of the same occurrence,
    # not a new one. None where the sender has no such notion (Sentry events, resolutions).
    occurrence_id: str | None = None


class IncidentRef(BaseModel):
    """The identities an alert maps to (see docs/adr/0002-workflow-identity.md)."""

    incident_id: str
    workflow_id: str
    anomaly_key: str
    # Where generation 1 would run it: while such runs are open, their alerts go there (ADR 0019).
    legacy_workflow_id: str | None = None


class Acknowledgement(BaseModel):
    """Who said "I'm on it" first, when, and through which channel (docs/adr/0025)."""

    by: str = Field(min_length=1, max_length=100)
    by_id: str | None = None
    via: str
    at: datetime


class IncidentView(BaseModel):
    """Everything a Telegram card or a Sentry comment shows about an incident at one moment.

    Built deterministically by the workflow from its state, so a retried activity renders exactly
    the same text (Telegram then answers "message is not modified", Sentry "already posted").
    """

    incident_id: str
    anomaly_key: str
    status: IncidentStatus
    alert: Alert
    analysis: Analysis
    occurrences: int = 1
    frequency: Frequency = Field(default_factory=Frequency)
    first_seen: datetime
    last_seen: datetime
    resolved_at: datetime | None = None
    # Acknowledgements (docs/adr/0025): the card offers "Ack" while ``ackable`` and nobody acked yet;
    # both stay at their defaults in runs whose settings predate acks, so their cards do not change.
    ackable: bool = False
    acked: Acknowledgement | None = None
    # Silenced incidents (core/incident/silencing.py): what silences it now (SilenceVerdict.attribute(),
    # "" when nothing), until when if nothing changes (None while silenced: beyond the verdict's
    # horizon) and by whom; an open card with a silence_token carries the Silence buttons.
    silenced: str = ""
    silenced_until: datetime | None = None
    silenced_by: str = ""
    silenced_until_resolved: bool = False
    silence_token: str = ""
    # Flapping (core/incident/flapping.py, docs/adr/0031): fired this many times again after a
    # resolution within flap_window_seconds when the card last showed it (0: not flapping); once
    # the mark clears after a quiet window, stable_again says so.
    flapping: int = 0
    flap_window_seconds: float = 0.0
    stable_again: bool = False


class DeliveryBatch(BaseModel):
    """Deliveries for one incident that reached the intake together: one ``deliver_batch`` signal.

    The intake's group commit (starter/group_commit.py) sends what arrived for an incident while its
    previous signal was in flight as one signal, so a storm of repeats costs Temporal one history
    event and one workflow task per batch instead of one per delivery. Order is arrival order.
    """

    deliveries: list[AlertDelivery]


class SpooledDelivery(BaseModel):
    """A delivery the API took while Temporal was slow or down, waiting in the spool to be started."""

    ref: IncidentRef
    delivery: AlertDelivery
    spooled_at: datetime
    # A storm's repeat (docs/adr/0023): the drainer may keep it up to AWOOOI_INTAKE_STORM_HOLD_MS so
    # that its incident's next repeats leave with it as one signal. Entries spooled before had none.
    held: bool = False


class SpoolStats(BaseModel):
    depth: int
    oldest_age_seconds: float | None = None

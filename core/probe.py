"""What a probe is, in one place: the label that marks a synthetic alert and the per-link report.

The alert-chain probe (workflows/probe.py) sends real webhooks through the real pipeline; the
label is how the incident workflow knows to keep them out of learning, repairs and the operators'
chat (docs/adr/0009-alert-chain-probe.md).
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from core.models import Alert

PROBE_LABEL = "awoooi_probe"
# Sentry event tags arrive as ``tag_<key>`` labels (starter/parsers/sentry.py).
_PROBE_LABELS = (PROBE_LABEL, f"tag_{PROBE_LABEL}")
# The probe's alerts have fingerprints (Alertmanager) and issue ids (Sentry) of their own: a real
# Alertmanager fingerprint is hex, a real Sentry issue id a number. A Sentry resolution carries no
# tags, so this is what tells every delivery of a probe incident apart, the workflow id included.
PROBE_ID_PREFIX = "awoooi-probe-"

LINKS = ("api", "alertmanager", "sentry", "telegram", "sentry_api")


def is_probe(alert: Alert) -> bool:
    if alert.fingerprint.removeprefix("issue-").startswith(PROBE_ID_PREFIX):
        return True
    return any(alert.labels.get(name) == "true" for name in _PROBE_LABELS)


class LinkResult(BaseModel):
    """One link of the chain, checked once."""

    link: str
    ok: bool
    seconds: float = 0.0
    error: str | None = None
    # A link with nothing to check (Sentry not configured) passes as skipped.
    skipped: bool = False


class ProbeReport(BaseModel):
    links: list[LinkResult] = Field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(link.ok for link in self.links)

    def broken(self) -> list[LinkResult]:
        return [link for link in self.links if not link.ok]


class ProbeInput(BaseModel):
    """One probe run (the schedule's fixed argument); each link gets ``deadline_seconds``."""

    deadline_seconds: float = 60.0


class CheckInput(BaseModel):
    run_id: str
    deadline_seconds: float = 60.0


class ReportInput(BaseModel):
    report: ProbeReport
    seconds: float = 0.0

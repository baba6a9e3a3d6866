"""SigNoz webhook -> :class:`Alert`.

SigNoz's notifier is a copy of Alertmanager's, so a grouped body goes through the Alertmanager parser
with ``source=SIGNOZ`` (its ``ruleId``/``ruleSource``/``nodata`` labels are kept as labels). Custom
templates and older versions post one flat alert instead; that is the same alert object without the
group envelope. A no-data alert means the signal vanished, which is never just informational.
"""

from __future__ import annotations

from collections.abc import Mapping

from core.errors import PayloadError
from core.models import Severity, Source

from starter.parsers.alertmanager import parse_alert_object, parse_alertmanager
from starter.parsers.common import ParsedAlert, ParseResult, at_least

NODATA_PREFIX = "[No data] "


def parse_signoz(body: object) -> ParseResult:
    """Parse a SigNoz delivery, grouped (Alertmanager v4) or a single flat alert."""
    if not isinstance(body, Mapping):
        raise PayloadError("body must be a JSON object")
    if "alerts" in body:
        result = parse_alertmanager(body, source=Source.SIGNOZ)
        return ParseResult(
            alerts=[_nodata_floor(p) for p in result.alerts],
            ignored=result.ignored,
            truncated=result.truncated,
        )
    return ParseResult(alerts=[_nodata_floor(_parse_flat(body))])


def _parse_flat(body: Mapping[str, object]) -> ParsedAlert:
    raw_labels = body.get("labels")
    if raw_labels is None:
        raw_labels = {}
    if not isinstance(raw_labels, Mapping):
        raise PayloadError("labels must be a JSON object")
    labels = dict(raw_labels)
    # The flat form carries the rule name at the top; it becomes the alertname label as in v4.
    if not labels.get("alertname") and body.get("alertname"):
        labels["alertname"] = body["alertname"]
    raw = {**body, "labels": labels}
    return parse_alert_object(raw, where="", source=Source.SIGNOZ)


def _nodata_floor(parsed: ParsedAlert) -> ParsedAlert:
    alert = parsed.alert
    if alert.labels.get("nodata", "").strip().lower() != "true":
        return parsed
    severity = at_least(alert.severity, Severity.WARNING)
    if severity is alert.severity:
        return parsed
    # Severity is not part of the delivery key, so the key stays valid.
    raised = alert.model_copy(update={"severity": severity})
    return ParsedAlert(alert=raised, delivery_key=parsed.delivery_key, occurrence_key=parsed.occurrence_key)

"""Pieces every webhook parser shares: result types, time parsing, severity, service, label coercion.

Parsers turn a vendor body into :class:`core.models.Alert` values and nothing else, so the HTTP layer
only has to map a :class:`ParseResult` (or a :class:`core.errors.PayloadError`) onto a response.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from datetime import UTC, datetime
from urllib.parse import urlsplit

from core.identity import UNREADABLE_PREFIX
from core.models import Alert, AlertStatus, Severity, Source
from core.text import cut_utf8, replace_surrogates

# Bounds in UTF-8 bytes for what an alert carries into Temporal, the store and the card.
MAX_TEXT_BYTES = 16 * 1024
MAX_URL_BYTES = 2048
MAX_INT_DIGITS = 40
RAW_EXCERPT_BYTES = 500
UNREADABLE_TITLE = "unreadable alert"


@dataclass(frozen=True)
class ParsedAlert:
    """One normalised alert plus the id that lets the workflow drop a sender's retry of it.

    ``delivery_key`` is None when every delivery is news (a firing Alertmanager alert is re-sent on
    every retry and repeat_interval); ``occurrence_key`` then says which firing it reports, so the
    workflow counts an occurrence once however often it is re-sent.
    """

    alert: Alert
    delivery_key: str | None
    # Set for a firing Alertmanager/SigNoz alert: its re-sends are the same occurrence.
    occurrence_key: str | None = None
    # Set when the sender's alert object could not be read: ``alert`` is then an "unreadable
    # alert" carrying a raw excerpt (see :func:`unreadable_alert`), and the answer says "rejected".
    problem: str | None = None


@dataclass(frozen=True)
class Ignored:
    """A well-formed delivery that is not an alert (Sentry comments, assignments...): answer 2xx."""

    reason: str


@dataclass(frozen=True)
class ParseResult:
    alerts: list[ParsedAlert] = field(default_factory=list)
    ignored: Ignored | None = None
    truncated: int = 0


# --------------------------------------------------------------------------------------------- time

_FRACTION = re.compile(r"(\.\d+)")
_GO_ZERO_YEAR = 1


def parse_time(value: object) -> datetime | None:
    """Parse an RFC3339 string (any number of fractional digits) or epoch seconds to aware UTC.

    Returns None for absent values and Go's zero time ("0001-01-01T00:00:00Z"), which Alertmanager
    uses for "not ended yet". Raises ValueError for anything else that is not a time, so callers can
    name the offending field in a PayloadError.
    """
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValueError(f"not a time: {value!r}")
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(float(value), tz=UTC)
        except (OverflowError, OSError) as exc:  # 1e30, Infinity: a number, but not a time
            raise ValueError(f"not a time: {value!r}") from exc
    if not isinstance(value, str):
        raise ValueError(f"not a time: {value!r}")
    text = value.strip().upper()
    if text.startswith("0001-01-01"):
        return None
    # Go emits nanoseconds; older Pythons' fromisoformat only takes up to 6 fractional digits.
    text = _FRACTION.sub(lambda m: m.group(1)[:7].ljust(7, "0"), text, count=1)
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.year <= _GO_ZERO_YEAR:
        return None
    if parsed.tzinfo is None:  # senders that omit the offset mean UTC in practice
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except OverflowError as exc:  # 9999-12-31T23:00:00-14:00 is past datetime.max in UTC
        raise ValueError(f"not a time: {value!r}") from exc


# ----------------------------------------------------------------------------------------- severity

_SEVERITIES: dict[str, Severity] = {
    **dict.fromkeys(
        ("critical", "crit", "page", "p1", "fatal", "emergency", "high"), Severity.CRITICAL
    ),
    **dict.fromkeys(("error", "err", "exception", "major", "p2"), Severity.ERROR),
    **dict.fromkeys(("warning", "warn", "minor", "medium", "p3"), Severity.WARNING),
    **dict.fromkeys(
        ("info", "informational", "low", "none", "debug", "p4", "p5"), Severity.INFO
    ),
}

_SEVERITY_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.ERROR: 2, Severity.CRITICAL: 3}


def normalize_severity(value: object) -> Severity:
    """Map the many spellings senders use onto four levels; unknown means WARNING, not silence."""
    if value is None:
        return Severity.WARNING
    return _SEVERITIES.get(str(value).strip().lower(), Severity.WARNING)


def at_least(severity: Severity, floor: Severity) -> Severity:
    """The higher of two severities (used to keep no-data alerts from being filed as INFO)."""
    return severity if _SEVERITY_RANK[severity] >= _SEVERITY_RANK[floor] else floor


# ------------------------------------------------------------------------------------------ service

SERVICE_LABELS: tuple[str, ...] = (
    "service",
    "service_name",
    "service.name",
    "app",
    "app_kubernetes_io_name",
    "application",
    "deployment",
    "statefulset",
    "daemonset",
    "container",
    "job",
    "namespace",
    "instance",
)


def infer_service(labels: Mapping[str, str]) -> str:
    """The most specific workload name the labels carry; anomaly keys are per service."""
    for key in SERVICE_LABELS:
        value = labels.get(key)
        if value and value.strip():
            return value.strip()
    return "unknown"


# ----------------------------------------------------------------------------------------- coercion


def to_str(value: object) -> str:
    """A label value as text: senders send numbers and booleans where Alertmanager sends strings."""
    if isinstance(value, str):
        return replace_surrogates(value)  # pydantic (and every UTF-8 encoder) refuses lone surrogates
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int) and abs(value) >= 10**MAX_INT_DIGITS:
        return f"<integer of more than {MAX_INT_DIGITS} digits>"  # str() fails past 4,300 digits
    if isinstance(value, int | float):
        return str(value)
    try:
        return replace_surrogates(json.dumps(value, ensure_ascii=False, sort_keys=True, default=str))
    except (ValueError, RecursionError):  # huge ints inside, nesting deeper than json can walk
        return "<unreadable value>"


def str_dict(value: Mapping[object, object]) -> dict[str, str]:
    """Coerce a label/annotation mapping to ``dict[str, str]``, dropping null values."""
    return {to_str(k): to_str(v) for k, v in value.items() if v is not None}


def is_http_url(value: object) -> bool:
    """Only absolute http(s) URLs become links: relative generatorURLs are useless in a chat card."""
    if not isinstance(value, str) or not value or len(value.encode("utf-8", "replace")) > MAX_URL_BYTES:
        return False
    try:
        parts = urlsplit(value.strip())
        host = parts.hostname  # parses the netloc: "http://[" and "http://[::1" fail here
        parts.port  # noqa: B018 - "http://h:99999" raises ValueError only when read
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(host)


def clean_str(value: object) -> str | None:
    """A non-empty stripped string, or None: vendors use "", null and missing interchangeably."""
    if value is None or isinstance(value, dict | list):
        return None
    result = to_str(value).strip()
    return result or None


# ------------------------------------------------------------------------------------ safe alerts


def _safe(value: Any) -> Any:
    if isinstance(value, str):
        return cut_utf8(value, MAX_TEXT_BYTES)
    if isinstance(value, dict):
        return {cut_utf8(str(k), MAX_TEXT_BYTES): _safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_safe(v) for v in value]
    return value


def safe_alert(alert: Alert) -> Alert:
    """``alert`` with every string free of lone surrogates and cut to MAX_TEXT_BYTES UTF-8 bytes.

    Whatever reaches Temporal must encode as UTF-8 (its JSON converter fails on a surrogate, and
    the sender would be told "could not reach Temporal" forever); the cut keeps one label from
    filling the 2 MB payload limit.
    """
    return Alert.model_validate(_safe(alert.model_dump()))


def raw_excerpt(raw: object, limit: int = RAW_EXCERPT_BYTES) -> str:
    """The first ``limit`` bytes of ``raw`` as ASCII-only JSON: safe in a card, a log and Temporal."""
    try:
        text = json.dumps(raw, ensure_ascii=True, sort_keys=True, default=str)
    except (ValueError, RecursionError):
        text = repr(raw)[: limit * 4].encode("ascii", "backslashreplace").decode("ascii")
    return text if len(text) <= limit else text[: limit - 3] + "..."


def unreadable_alert(raw: object, *, problem: str, source: Source, where: str) -> ParsedAlert:
    """A visible incident for an alert object we cannot read, so nothing is lost silently.

    The fingerprint is a hash of the raw object, so the sender's retry of the same delivery lands
    in the same incident (and its delivery key makes it a duplicate there).
    """
    try:
        canonical = json.dumps(raw, ensure_ascii=True, sort_keys=True, default=str)
    except (ValueError, RecursionError):
        canonical = repr(raw)
    digest = hashlib.sha256(canonical.encode("utf-8", "replace")).hexdigest()[:16]
    problem = cut_utf8(problem, 1024)
    alert = Alert(
        source=source,
        fingerprint=f"{UNREADABLE_PREFIX}{digest}",
        status=AlertStatus.FIRING,
        severity=Severity.WARNING,
        title=UNREADABLE_TITLE,
        labels={"alertname": UNREADABLE_TITLE},
        annotations={
            "description": f"{source.value} sent {where or 'an alert'} that awoooi cannot read: {problem}",
            "problem": problem,
            "raw_excerpt": raw_excerpt(raw),
        },
    )
    return ParsedAlert(alert=alert, delivery_key=f"unreadable:{source.value}:{digest}", problem=problem)

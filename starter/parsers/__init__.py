"""Webhook body -> :class:`core.models.Alert` for every source awoooi accepts.

Each parser returns a :class:`ParseResult` or raises :class:`core.errors.PayloadError`; none of them
does I/O, so the HTTP layer can parse before it touches Temporal.
"""

from starter.parsers.alertmanager import parse_alertmanager
from starter.parsers.common import (
    Ignored,
    ParsedAlert,
    ParseResult,
    infer_service,
    normalize_severity,
    parse_time,
)
from starter.parsers.sentry import parse_sentry
from starter.parsers.signoz import parse_signoz

__all__ = [
    "Ignored",
    "ParseResult",
    "ParsedAlert",
    "infer_service",
    "normalize_severity",
    "parse_alertmanager",
    "parse_sentry",
    "parse_signoz",
    "parse_time",
]

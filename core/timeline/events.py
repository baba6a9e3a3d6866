"""Reading one history event without the workflow's classes: its type, time and payloads as JSON.

Payloads are read as plain JSON (``json/plain``), not into the models of today's code: a history of
an older generation holds the shapes of its day, and a timeline must read them after the models
have moved on. Anything that is not JSON reads as None; the caller says what it could not read.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from temporalio.api.common.v1 import Payload, Payloads
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent

__all__ = ["attributes", "event_time", "event_type", "payload", "first_payload", "summary"]


def event_type(event: HistoryEvent) -> str:
    """``ACTIVITY_TASK_SCHEDULED`` for ``EVENT_TYPE_ACTIVITY_TASK_SCHEDULED``; an unnamed number as itself."""
    try:
        return EventType.Name(event.event_type).removeprefix("EVENT_TYPE_")
    except ValueError:
        return f"EVENT_TYPE_{event.event_type}"


def event_time(event: HistoryEvent) -> datetime:
    return event.event_time.ToDatetime(tzinfo=UTC)


def attributes(event: HistoryEvent) -> Any:
    which = event.WhichOneof("attributes")
    return getattr(event, which) if which else None


def payload(item: Payload) -> Any:
    encoding = item.metadata.get("encoding", b"")
    if encoding == b"json/plain":
        return json.loads(item.data)
    return None  # binary/null, or a codec's encoding this reader does not know


def first_payload(items: Payloads) -> Any:
    return payload(items.payloads[0]) if items.payloads else None


def summary(event: HistoryEvent) -> str:
    """The summary the workflow gave a timer or an activity (shown in the Web UI), or ''."""
    if not event.HasField("user_metadata") or not event.user_metadata.HasField("summary"):
        return ""
    value = payload(event.user_metadata.summary)
    return value if isinstance(value, str) else ""

"""`awoooi incidents`: the incidents Temporal knows, as a table (or JSON), from its visibility store.

Name, severity, service, status and repair phase come from the search attributes the workflows keep
(the same ones the Web UI filters on); the occurrence count comes from the incident record in Valkey
when it answers. No worker is needed: visibility is the server's own.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, TextIO

from temporalio.client import Client, WorkflowExecutionStatus

from core import search_attributes as sa
from core.errors import UpstreamError
from core.identity import WORKFLOW_ID_PREFIX
from core.ports import IncidentRepository
from starter.ops_cli import table

FILTERS = {
    "open": 'IncidentStatus="open"',
    "resolved": 'IncidentStatus="resolved"',
    "expired": 'IncidentStatus="expired"',
    "awaiting-approval": 'RepairPhase="awaiting_approval"',
}
COLUMNS = ("id", "alert", "severity", "service", "status", "occurrences", "age", "repair", "acked", "silenced")
# Open incidents nobody has acknowledged (runs that record acks set Acked; docs/adr/0025).
UNACKED = 'IncidentStatus="open" AND Acked="false"'


def visibility_query(status: str | None, *, include_closed: bool, unacked: bool = False) -> str:
    # Both generations while generation 1 still has runs (ADR 0019); probe incidents are "probe-...".
    parts = ['WorkflowType IN ("Incident", "IncidentWorkflow")', f'WorkflowId STARTS_WITH "{WORKFLOW_ID_PREFIX}"']
    if status:
        parts.append(FILTERS[status])
    if unacked:
        parts.append(UNACKED)
    if not include_closed:
        parts.append('ExecutionStatus="Running"')
    return " AND ".join(parts)


def _age(started: datetime | None, now: datetime) -> str:
    if started is None:
        return "-"
    seconds = int((now - started).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


async def list_incidents(client: Client, records: IncidentRepository | None, *, status: str | None,
                         include_closed: bool = False, unacked: bool = False,
                         limit: int = 500) -> list[dict[str, Any]]:
    now = datetime.now(timezone.utc)
    found: list[dict[str, Any]] = []
    query = visibility_query(status, include_closed=include_closed, unacked=unacked)
    async for execution in client.list_workflows(query, limit=limit):
        attrs = execution.typed_search_attributes
        incident = execution.id.removeprefix(WORKFLOW_ID_PREFIX)
        incident_status = attrs.get(sa.INCIDENT_STATUS) or "-"
        if execution.status is not WorkflowExecutionStatus.RUNNING and incident_status == "open":
            incident_status = "closed"  # terminated or failed while open: say it is not live
        found.append({
            "id": incident,
            "alert": attrs.get(sa.ALERT_NAME),
            "severity": attrs.get(sa.SEVERITY),
            "service": attrs.get(sa.SERVICE),
            "status": incident_status,
            # "yes" / "no"; "-" for runs that do not record acks (older settings, generation 1).
            "acked": {"true": "yes", "false": "no"}.get(attrs.get(sa.ACKED) or "", "-"),
            "occurrences": None,
            "age": _age(execution.start_time, now),
            "started_at": execution.start_time.isoformat() if execution.start_time else None,
            "repair": attrs.get(sa.REPAIR_PHASE) or "none",
            # What silences it (silence:<id>, window:<name>), "-" when nothing (docs/adr/0029).
            "silenced": attrs.get(sa.SILENCED) or "-",
        })
    if records is not None:
        for row in found:
            try:
                record = await records.get(row["id"])
            except UpstreamError:
                break  # Valkey is down: the table still answers, without counts
            if record.get("occurrences"):
                row["occurrences"] = int(record["occurrences"])
    return found


def print_incidents(rows: list[dict[str, Any]], *, as_json: bool, out: TextIO) -> None:
    if as_json:
        print(json.dumps({"incidents": rows}, ensure_ascii=False), file=out)
        return
    if not rows:
        print("no incidents", file=out)
        return
    print(table(COLUMNS, [[row[c] for c in COLUMNS] for row in rows]), file=out)

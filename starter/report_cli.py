"""`awoooi report --since 7d [--json] [--html FILE]`: the incidents of a period, from Temporal.

Visibility lists the incident workflows (both generations, search attributes as the Web UI uses
them) that started in the period; each incident's timeline is read from its histories
(starter/timeline_reader.py) and its episodes measured (core/report.py).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO

from temporalio.client import Client

from core.errors import IntakeUnavailable, NotFound
from core.identity import WORKFLOW_ID_PREFIX
from core.report import build
from core.report_render import as_html, as_text
from core.report_render import as_json as render_json
from core.settings import Settings
from core.timeline.episodes import Episode, episodes
from starter.timeline_reader import read_timeline

_SINCE = re.compile(r"^(\d+)([dhm])$")
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}
MAX_INCIDENTS = 2000


def parse_since(text: str) -> timedelta:
    match = _SINCE.match(text.strip())
    if not match:
        raise ValueError(f"--since must look like 7d, 24h or 90m, not {text!r}")
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def report_query(since: datetime) -> str:
    return ('WorkflowType IN ("Incident", "IncidentWorkflow") AND '
            f'WorkflowId STARTS_WITH "{WORKFLOW_ID_PREFIX}" AND StartTime >= "{since.isoformat()}"')


def _fingerprint_key(incident: str) -> tuple[str, str]:
    """(source, fingerprint): what a generation-2 id and generation 1's id of one alert share."""
    parts = incident.split("-")
    return parts[0], parts[-1]


async def read_episodes(client: Client, since: datetime) -> list[Episode]:
    # One incident per alert: a generation-2 id's timeline already holds generation 1's runs of the
    # same fingerprint (starter/timeline_reader.py), so the longer, readable id stands for both.
    incidents: dict[tuple[str, str], str] = {}
    async for execution in client.list_workflows(report_query(since), limit=MAX_INCIDENTS):
        incident = execution.id.removeprefix(WORKFLOW_ID_PREFIX)
        key = _fingerprint_key(incident)
        if len(incident) > len(incidents.get(key, "")):
            incidents[key] = incident
    found: list[Episode] = []
    for incident in incidents.values():
        try:
            found += episodes(await read_timeline(client, incident))
        except NotFound:
            continue  # removed by retention between the listing and the read
    return found


async def report_command(client: Client, settings: Settings, *, since: str, as_json: bool, html: str | None,
                         out: TextIO, err: TextIO) -> int:
    try:
        period = parse_since(since)
    except ValueError as exc:
        print(f"awoooi: {exc}", file=err)
        return 2
    until = datetime.now(UTC)
    try:
        found = await read_episodes(client, until - period)
    except IntakeUnavailable as exc:
        print(f"awoooi: {exc}", file=err)
        return 1
    report = build(found, since=until - period, until=until)
    print(render_json(report) if as_json else as_text(report), file=out)
    if html:
        Path(html).write_text(as_html(report), encoding="utf-8")
    return 0


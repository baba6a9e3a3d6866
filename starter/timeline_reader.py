"""Fetch every run of an incident's workflow from Temporal and decode them into one timeline.

An incident's runs are: each lifecycle (a run that ended and a new firing that started the same
workflow id again), each continue-as-new inside one, and, for an alert first seen before the
generation-2 upgrade, the generation-1 workflow of the same fingerprint (docs/adr/0019: its id is
``incident-{source}-{fingerprint}``). They are found two ways, so that neither alone is trusted: the
visibility store lists the runs of both workflow ids, and from the latest run the chain of
``continued_execution_run_id`` is walked back, which needs no visibility at all (the time-skipping
test server, a visibility store lagging behind). Runs are decoded oldest first
(docs/adr/0026-timelines-from-histories.md).
"""

from __future__ import annotations

from datetime import UTC, datetime

import structlog
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from core.errors import IntakeUnavailable, NotFound
from core.identity import WORKFLOW_ID_PREFIX, workflow_id_for
from core.timeline import RunHistory, Timeline, decode

log = structlog.get_logger(__name__)

# A chain longer than this is not an incident's (500 deliveries a run, a day at most).
MAX_RUNS = 200
_EPOCH = datetime.min.replace(tzinfo=UTC)


def workflow_ids(incident_id: str) -> list[str]:
    """The generation-2 workflow of an incident id, and the generation-1 one of its fingerprint."""
    ids = [workflow_id_for(incident_id)]
    parts = incident_id.split("-")
    if len(parts) >= 3:
        # {source}-{name}-{service}-{fingerprint} (or {source}-{service}-{issue} for Sentry) -> {source}-{fingerprint}
        ids.append(f"{WORKFLOW_ID_PREFIX}{parts[0]}-{parts[-1]}")
    return ids


async def read_timeline(client: Client, incident_id: str) -> Timeline:
    """The incident's timeline; NotFound when Temporal has no run of it, IntakeUnavailable when
    Temporal does not answer."""
    try:
        runs = await fetch_runs(client, incident_id)
    except RPCError as exc:
        raise IntakeUnavailable(f"temporal unavailable: {exc.status.name}") from exc
    except RuntimeError as exc:  # a lazy client that cannot connect
        raise IntakeUnavailable("temporal unreachable") from exc
    if not runs:
        raise NotFound(f"no incident {incident_id} in Temporal (closed runs last as long as the namespace's "
                       "retention)")
    return decode(incident_id, runs)


async def fetch_runs(client: Client, incident_id: str) -> list[RunHistory]:
    found: dict[tuple[str, str], datetime] = {}
    for workflow_id in workflow_ids(incident_id):
        for run_id, started in await _listed(client, workflow_id):
            found[(workflow_id, run_id)] = started
    histories: dict[tuple[str, str], RunHistory] = {}
    for workflow_id in workflow_ids(incident_id):
        await _walk_chain(client, workflow_id, histories, found)
    for key in found:
        if key not in histories:
            histories[key] = await _history(client, *key)
    ordered = sorted(histories.values(), key=lambda run: (_start_time(run), run.run_id))
    return ordered[-MAX_RUNS:]


async def _listed(client: Client, workflow_id: str) -> list[tuple[str, datetime]]:
    """Every run of the workflow id the visibility store knows; none when it cannot say."""
    try:
        return [(execution.run_id, execution.start_time or _EPOCH)
                async for execution in client.list_workflows(f'WorkflowId = "{workflow_id}"', limit=MAX_RUNS)]
    except RPCError as exc:
        if exc.status in (RPCStatusCode.UNIMPLEMENTED, RPCStatusCode.INVALID_ARGUMENT):
            log.info("visibility cannot list the runs; following the continue-as-new chain", error=exc.message)
            return []
        raise


async def _walk_chain(client: Client, workflow_id: str, into: dict[tuple[str, str], RunHistory],
                      found: dict[tuple[str, str], datetime]) -> None:
    """From the latest run back along continue-as-new, and from each listed run back likewise."""
    starts: list[str | None] = [None] + [run_id for (wid, run_id) in found if wid == workflow_id]
    for run_id in starts:
        while len(into) < MAX_RUNS:
            try:
                history = await _history(client, workflow_id, run_id)
            except RPCError as exc:
                if exc.status is RPCStatusCode.NOT_FOUND:
                    break
                raise
            if (workflow_id, history.run_id) in into:
                break
            into[(workflow_id, history.run_id)] = history
            previous = _continued_from(history)
            if not previous:
                break
            run_id = previous


async def _history(client: Client, workflow_id: str, run_id: str | None) -> RunHistory:
    fetched = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
    events = list(fetched.events)
    actual = run_id or (events[0].workflow_execution_started_event_attributes.original_execution_run_id
                        if events else "")
    return RunHistory(workflow_id=workflow_id, run_id=actual, events=events)


def _continued_from(run: RunHistory) -> str:
    if not run.events or run.events[0].event_type != EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
        return ""
    return run.events[0].workflow_execution_started_event_attributes.continued_execution_run_id


def _start_time(run: RunHistory) -> datetime:
    return run.events[0].event_time.ToDatetime(tzinfo=UTC) if run.events else _EPOCH

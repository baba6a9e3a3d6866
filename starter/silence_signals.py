"""Tells incident workflows that a silence changed, so they ask the verdict again now
(docs/adr/0029-silenced-incidents.md):

- ``silence_changed``: a silence was expired or edited; the workflows it had silenced (its watchers)
  are told, so a card it held goes out now instead of at the workflow's next re-ask;
- ``silence_added``: a new silence names an alert (``alertname="X"``); the open incidents of that
  alert are told, so an open card says it is silenced and stops ringing phones. A silence without
  such a matcher reaches open incidents at their next ask (a re-fire, a re-notification).

Best effort, one ``silence_changed`` signal per workflow: a workflow that ended or is unreachable is
skipped (every silenced workflow also asks again on its own timer).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

import structlog
from temporalio.client import Client
from temporalio.service import RPCError

from core.silences import Silence
from starter.intake import WORKFLOW_TYPE

log = structlog.get_logger(__name__)

SIGNAL = "silence_changed"


def silence_changed(client: Client, *, timeout: float) -> Callable[[Silence, list[str]], Awaitable[None]]:
    async def tell(silence: Silence, workflow_ids: list[str]) -> None:
        told = 0
        for workflow_id in workflow_ids:
            try:
                await client.get_workflow_handle(workflow_id).signal(SIGNAL, rpc_timeout=timedelta(seconds=timeout))
                told += 1
            except RPCError as exc:  # ended (not found) or unreachable: its own timer covers it
                log.info("silence change not signalled", workflow_id=workflow_id, error=exc.status.name)
        log.info("silence change signalled", silence_id=silence.id, workflows=told)
    return tell



# At most this many open incidents of one alert are told of a new silence.
MAX_TOLD = 200


def silence_added(client: Client, *, timeout: float) -> Callable[[Silence], Awaitable[None]]:
    tell_changed = silence_changed(client, timeout=timeout)

    async def tell(silence: Silence) -> None:
        names = [m.value for m in silence.matchers if m.name == "alertname" and m.is_equal and not m.is_regex]
        if len(names) != 1 or any(c in names[0] for c in '"\\'):
            return
        query = (f'WorkflowType="{WORKFLOW_TYPE}" AND ExecutionStatus="Running" AND IncidentStatus="open" '
                 f'AND AlertName="{names[0]}"')
        try:
            ids = [execution.id async for execution in client.list_workflows(query, limit=MAX_TOLD)]
        except RPCError as exc:
            log.info("open incidents not told of a new silence", silence_id=silence.id, error=exc.status.name)
            return
        if ids:
            await tell_changed(silence, ids)
    return tell

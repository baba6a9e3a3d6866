"""Tells the incident workflows a silence silenced that it was expired or edited, so a card held by
it goes out now instead of at the workflow's next re-ask (docs/adr/0029-silenced-incidents.md).

Best effort, one ``silence_changed`` signal per workflow: a workflow that ended or is unreachable
is skipped (the caller logs a failure; every silenced workflow also asks again on its own timer).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

import structlog
from temporalio.client import Client
from temporalio.service import RPCError

from core.silences import Silence

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


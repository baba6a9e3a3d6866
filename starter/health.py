"""Is anyone working the task queue? Temporal's DescribeTaskQueue, asked by /api/v1/health.

Without it an API whose queue no worker polls answers 200 "started" and says it is healthy while
alerts pile up unprocessed. The server lists a poller for a few minutes after its last poll; a live
worker re-polls at least once a minute (long polls end within ~70 s), so a poller seen within
POLLER_FRESH_SECONDS counts as working.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

POLLER_FRESH_SECONDS = 120.0


async def workers_polling(client: Client, task_queue: str, timeout: float) -> int:
    """How many workers polled ``task_queue`` for workflow tasks recently (raises on RPC trouble)."""
    request = DescribeTaskQueueRequest(
        namespace=client.namespace, task_queue=TaskQueue(name=task_queue),
        task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    )
    response = await asyncio.wait_for(client.workflow_service.describe_task_queue(request), timeout)
    now = datetime.now(timezone.utc)
    fresh = 0
    for poller in response.pollers:
        seen = poller.last_access_time.ToDatetime(tzinfo=timezone.utc) if poller.HasField("last_access_time") else now
        if (now - seen).total_seconds() <= POLLER_FRESH_SECONDS:
            fresh += 1
    return fresh

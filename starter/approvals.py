"""Hand an approve/reject decision to the incident workflow and say what it answered.

One path for the three ways a human decides (a Telegram button, the API, the CLI): a Temporal
update named ``decide``. Its validator refuses, before anything is recorded, a decision with
nothing to decide or one that comes second, so the answer is exact: "Approved by @alice: running
scale_up", or "already approved by @alice".
"""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import Client, WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from core.errors import DecisionRefused, IntakeUnavailable, NotFound
from core.repair import Decision, DecisionAnswer

DECIDE_UPDATE = "decide"


async def send_decision(client: Client, workflow_id: str, decision: Decision, *, timeout: float) -> DecisionAnswer:
    handle = client.get_workflow_handle(workflow_id)
    try:
        return await handle.execute_update(
            DECIDE_UPDATE, decision, result_type=DecisionAnswer, rpc_timeout=timedelta(seconds=timeout)
        )
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        message = cause.message if isinstance(cause, ApplicationError) else str(cause or exc)
        raise DecisionRefused(message) from exc
    except WorkflowUpdateRPCTimeoutOrCancelledError as exc:
        # No worker answered in time. The server may still hand the update to the workflow when a
        # worker is back; repeating the same decision is answered the same way, so 503 is safe.
        raise IntakeUnavailable("no awoooi worker answered in time; the decision applies once one does, "
                                "and repeating it is safe") from exc
    except RPCError as exc:
        if exc.status is RPCStatusCode.NOT_FOUND:
            if "already completed" in exc.message.lower():
                raise DecisionRefused("the incident is closed: nothing to decide") from exc
            raise NotFound(f"no open incident workflow {workflow_id}") from exc
        if exc.status is RPCStatusCode.FAILED_PRECONDITION:
            raise DecisionRefused("the incident is closed: nothing to decide") from exc
        raise IntakeUnavailable(f"temporal unavailable: {exc.status.name}") from exc
    except RuntimeError as exc:  # a lazy client that cannot connect
        raise IntakeUnavailable("temporal unreachable") from exc

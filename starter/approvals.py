"""Hand an approve/reject decision (or an own-card request) to the incident workflow; say what it answered.

One path for the three ways a human decides (a Telegram button, the API, the CLI): a Temporal
update named ``decide``. Its validator refuses, before anything is recorded, a decision with
nothing to decide or one that comes second, so the answer is exact: "Approved by @alice: running
scale_up", or "already approved by @alice".
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, TypeVar

from temporalio.client import Client, WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from core.acks import ACK_UPDATE, AckAnswer, AckRequest
from core.errors import DecisionRefused, IntakeUnavailable, NotFound
from core.inputs import CardPlacement
from core.repair import Decision, DecisionAnswer
from core.silence_inputs import SilenceAnswer, SilenceRequest

T = TypeVar("T")

DECIDE_UPDATE = "decide"
OWN_CARD_UPDATE = "own_card"
SILENCE_UPDATE = "silence"
# What Temporal's NOT_FOUND says when the workflow exists but its run has closed.
_CLOSED = ("already completed", "aborted by closing workflow")


async def send_decision(client: Client, workflow_id: str, decision: Decision, *, timeout: float) -> DecisionAnswer:
    return await _update(client, workflow_id, DECIDE_UPDATE, decision, DecisionAnswer, timeout=timeout,
                         closed="the incident is closed: nothing to decide")


async def send_ack(client: Client, workflow_id: str, request: AckRequest, *, timeout: float) -> AckAnswer:
    """"I'm on it" (docs/adr/0025): the first person's ack is recorded; the same person again gets the
    same answer; anyone else is refused with who acked first (DecisionRefused)."""
    return await _update(client, workflow_id, ACK_UPDATE, request, AckAnswer, timeout=timeout,
                         closed="the incident is closed: there is nothing to acknowledge")


async def request_own_card(client: Client, workflow_id: str, *, timeout: float) -> CardPlacement:
    """The incident's own card now, whatever the storm digest (docs/adr/0016-digest-cards.md).

    Asking twice is safe: an incident that has its own card answers with it."""
    return await _update(client, workflow_id, OWN_CARD_UPDATE, None, CardPlacement, timeout=timeout,
                         closed="the incident is closed: its card or digest line shows how it ended")


async def send_silence(client: Client, workflow_id: str, request: SilenceRequest, *, timeout: float) -> SilenceAnswer:
    """A card's Silence button (docs/adr/0029): the workflow creates the silence on its own labels."""
    return await _update(client, workflow_id, SILENCE_UPDATE, request, SilenceAnswer, timeout=timeout,
                         closed="the incident is closed: nothing to silence")


async def _update(client: Client, workflow_id: str, name: str, arg: Any, result_type: type[T], *,
                  timeout: float, closed: str) -> T:
    """Run one update on the incident workflow; map Temporal's answers to awoooi's errors."""
    handle = client.get_workflow_handle(workflow_id)
    try:
        if arg is None:
            return await handle.execute_update(name, result_type=result_type, rpc_timeout=timedelta(seconds=timeout))
        return await handle.execute_update(name, arg, result_type=result_type, rpc_timeout=timedelta(seconds=timeout))
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        message = cause.message if isinstance(cause, ApplicationError) else str(cause or exc)
        raise DecisionRefused(message) from exc
    except WorkflowUpdateRPCTimeoutOrCancelledError as exc:
        # No worker answered in time. The server may still hand the update to the workflow when a
        # worker is back; repeating it is answered the same way, so 503 is safe.
        raise IntakeUnavailable("no awoooi worker answered in time; the request applies once one does, "
                                "and repeating it is safe") from exc
    except RPCError as exc:
        if exc.status is RPCStatusCode.NOT_FOUND:
            # The run had ended, or ended while the update waited for it (the server's
            # AbortedByWorkflowClosingErr): the incident is closed, not unknown.
            if any(why in exc.message.lower() for why in _CLOSED):
                raise DecisionRefused(closed) from exc
            raise NotFound(f"no open incident workflow {workflow_id}") from exc
        if exc.status is RPCStatusCode.FAILED_PRECONDITION:
            raise DecisionRefused(closed) from exc
        raise IntakeUnavailable(f"temporal unavailable: {exc.status.name}") from exc
    except RuntimeError as exc:  # a lazy client that cannot connect
        raise IntakeUnavailable("temporal unreachable") from exc

"""A tap on a card's Silence button (Silence 1h / Silence 4h / Mute until resolved).

The tapper is already known to be an approver (starter/telegram_updates.py checks the allowlist
first). The button's token names the incident's workflow (registered by its silence verdict); the
``silence`` update asks the workflow to create the silence on its own labels, and the workflow then
edits the card to say who silenced it until when (docs/adr/0029-silenced-incidents.md).
"""

from __future__ import annotations

from typing import Any

from temporalio.client import Client

from core.errors import DecisionRefused, IntakeUnavailable, NotFound, UpstreamError
from core.ports import SilenceRepository
from core.silence_buttons import KINDS
from core.silence_inputs import SilenceRequest
from starter.approvals import send_silence


async def silence_tap(temporal: Client, store: SilenceRepository | None, *, kind: str, token: str, who: str,
                      user_id: int, timeout: float, bound: Any) -> tuple[str, str]:
    """(status, what the tapper is told)."""
    if store is None:
        return "refused", "Silences are not available here."
    try:
        workflow_id = await store.button(token)
    except UpstreamError as exc:
        raise IntakeUnavailable("silences unavailable") from exc
    if workflow_id is None:
        return "refused", "This incident is no longer known."
    request = SilenceRequest(duration=KINDS[kind], by=who, by_id=str(user_id), via="telegram")
    try:
        answer = await send_silence(temporal, workflow_id, request, timeout=timeout)
    except (DecisionRefused, NotFound) as exc:
        bound.info("silence refused by the workflow", reason=str(exc), workflow_id=workflow_id)
        return "refused", str(exc)[:200]
    bound.info("silence from the card accepted", kind=kind, who=who, workflow_id=workflow_id)
    return "accepted", answer.message

"""`/ack <incident-id> [note]` in the operators' chat: the ``ack`` update, as the card's button and the
API send it (docs/adr/0025-acks-and-escalation.md). Registered on the router in starter/wiring.py."""

from __future__ import annotations

import html
from datetime import datetime, timezone

from temporalio.client import Client

from core.acks import AckRequest
from core.errors import DecisionRefused, NotFound
from core.identity import workflow_id_for
from starter.approvals import send_ack
from starter.chat_commands import ChatCommand, ChatCommands, CommandRefused

# The longest incident id the API accepts (starter/http/incidents.py checks the same).
_MAX_ID = 300


class AckCommand:
    def __init__(self, temporal: Client, *, timeout: float) -> None:
        self._temporal = temporal
        self._timeout = timeout

    def register(self, router: ChatCommands) -> None:
        router.register("ack", self, "/ack <incident-id> [note]")

    async def __call__(self, command: ChatCommand) -> str:
        incident_id, _, note = command.args.partition(" ")
        if not incident_id or len(incident_id) > _MAX_ID:
            raise CommandRefused("which incident? The id is on the card.")
        request = AckRequest(by=command.who, by_id=str(command.user_id), via="chat", at=datetime.now(timezone.utc),
                             note=note.strip()[:500])
        try:
            answer = await send_ack(self._temporal, workflow_id_for(incident_id), request, timeout=self._timeout)
        except (DecisionRefused, NotFound) as exc:
            raise CommandRefused(f"/ack {incident_id}: {exc}") from exc
        return html.escape(answer.message, quote=False)


__all__ = ["AckCommand"]

"""Decisions and requests about one incident: approve or reject its repair, acknowledge it, give it
its own card, read its timeline.

The same Temporal updates the Telegram buttons and the CLI use (starter/approvals.py), behind
AWOOOI_API_TOKEN as a bearer token.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from core.acks import AckRequest
from core.errors import DecisionRefused, PayloadError
from core.identity import workflow_id_for
from core.repair import Decision
from core.timeline.render import as_json, as_markdown, as_text
from starter.approvals import request_own_card, send_ack, send_decision
from starter.auth import require_api_token
from starter.http.deps import UPDATE_ERRORS, Deps, update_error
from starter.json_body import loads_bounded
from starter.timeline_reader import read_timeline

log = structlog.get_logger(__name__)

# What core.identity.incident_id produces: words (any script), dots, dashes; one Temporal workflow id.
_INCIDENT_ID = re.compile(r"^[\w.-]{1,300}$")

router = APIRouter()


def _check(request: Request, deps: Deps, incident_id: str) -> None:
    """What every incident update endpoint checks first: the API token, then the id's shape."""
    require_api_token(request.headers, deps.settings.api_token)
    if not _INCIDENT_ID.match(incident_id):  # Temporal would refuse it as a workflow id: 503
        raise PayloadError("incident_id is not an awoooi incident id (like alertmanager-HighCPU-node1-3f2a...)")


async def _decide(request: Request, deps: Deps, incident_id: str, approve: bool) -> Response:
    try:
        _check(request, deps, incident_id)
        raw = await request.body()
        body = loads_bounded(raw) if raw.strip() else {}
        if not isinstance(body, dict) or not isinstance(body.get("by", "api"), str):
            raise PayloadError("body must be a JSON object like {\"by\": \"alice\", \"note\": \"...\"}")
        # "by" is whatever the token holder says: the card shows it marked as coming from the API.
        name = (body.get("by") or "").strip()[:90]
        decision = Decision(approve=approve, by=f"{name} (api)" if name else "api", via="api",
                            at=datetime.now(timezone.utc), note=str(body.get("note") or "")[:500])
        answer = await send_decision(deps.temporal, workflow_id_for(incident_id), decision,
                                     timeout=deps.settings.temporal_rpc_timeout_seconds)
    except UPDATE_ERRORS as exc:
        if isinstance(exc, DecisionRefused):
            deps.metrics.repair_decisions.labels(outcome="refused", via="api").inc()
        return update_error(exc)
    deps.metrics.repair_decisions.labels(outcome="approved" if approve else "rejected", via="api").inc()
    log.info("repair decision accepted", incident_id=incident_id, approve=approve, who=decision.by, via="api")
    return JSONResponse({"status": "accepted", "incident_id": incident_id, "detail": answer.message})


@router.post("/api/v1/incidents/{incident_id}/approve")
async def approve(request: Request, incident_id: str, deps: Deps) -> Response:
    return await _decide(request, deps, incident_id, True)


@router.post("/api/v1/incidents/{incident_id}/reject")
async def reject(request: Request, incident_id: str, deps: Deps) -> Response:
    return await _decide(request, deps, incident_id, False)


@router.post("/api/v1/incidents/{incident_id}/ack")
async def ack(request: Request, incident_id: str, deps: Deps) -> Response:
    """"I'm on it" (docs/adr/0025): stops the incident's re-notifications and escalation. 200 with who
    acked (the same person again: the same answer), 409 when someone else acked first or it is closed."""
    try:
        _check(request, deps, incident_id)
        raw = await request.body()
        body = loads_bounded(raw) if raw.strip() else {}
        if not isinstance(body, dict) or not isinstance(body.get("by", "api"), str) \
                or not isinstance(body.get("note", ""), str):
            raise PayloadError("body must be a JSON object like {\"by\": \"alice\", \"note\": \"...\"}")
        name = (body.get("by") or "").strip()[:90]
        ack_request = AckRequest(by=f"{name} (api)" if name else "api", via="api", at=datetime.now(timezone.utc),
                                 note=str(body.get("note") or "")[:500])
        answer = await send_ack(deps.temporal, workflow_id_for(incident_id), ack_request,
                                timeout=deps.settings.temporal_rpc_timeout_seconds)
    except UPDATE_ERRORS as exc:
        return update_error(exc)
    log.info("incident acknowledged", incident_id=incident_id, who=answer.by, via="api")
    return JSONResponse({"status": "acked", "incident_id": incident_id, "acked_by": answer.by,
                         "acked_at": answer.at.isoformat(), "detail": answer.message})


@router.post("/api/v1/incidents/{incident_id}/card")
async def own_card(request: Request, incident_id: str, deps: Deps) -> Response:
    """The incident's own card now, though a storm digest lists it (docs/adr/0016-digest-cards.md)."""
    try:
        _check(request, deps, incident_id)
        placement = await request_own_card(deps.temporal, workflow_id_for(incident_id),
                                           timeout=deps.settings.temporal_rpc_timeout_seconds)
    except UPDATE_ERRORS as exc:
        return update_error(exc)
    log.info("own card requested", incident_id=incident_id, message_id=placement.message_id, via="api")
    return JSONResponse({"status": "shown" if placement.message_id is not None else "not_sent",
                         "incident_id": incident_id, "message_id": placement.message_id,
                         "digest_message_id": placement.digest_message_id})


_TIMELINE_FORMATS = {"json", "markdown", "text"}


@router.get("/api/v1/incidents/{incident_id}/timeline")
async def timeline(request: Request, incident_id: str, deps: Deps, format: str = "json") -> Response:  # noqa: A002
    """Every run of the incident read back from Temporal's histories (docs/adr/0026): JSON by default,
    ``?format=markdown`` or ``?format=text`` as `awoooi timeline` prints it."""
    try:
        _check(request, deps, incident_id)
        if format not in _TIMELINE_FORMATS:
            raise PayloadError(f"format must be one of {sorted(_TIMELINE_FORMATS)}")
        read = await read_timeline(deps.temporal, incident_id)
    except UPDATE_ERRORS as exc:
        return update_error(exc)
    tz = deps.settings.tz
    if format == "markdown":
        return PlainTextResponse(as_markdown(read, tz), media_type="text/markdown; charset=utf-8")
    if format == "text":
        return PlainTextResponse(as_text(read, tz))
    return Response(as_json(read, tz), media_type="application/json")

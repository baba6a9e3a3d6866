"""Alertmanager's API v2 silence endpoints, so ``amtool`` and Alertmanager-aware tools manage awoooi's
silences: ``GET/POST /api/v2/silences``, ``GET/DELETE /api/v2/silence/{id}``.

Behind AWOOOI_API_TOKEN as a bearer token (amtool: ``--http.config.file`` with
``authorization: {credentials: <token>}``), as the approve endpoint is: a silence hides alerts.
Shapes, rules and error bodies are Alertmanager 0.25's (core/silence_edits.py): errors are a JSON
string, as its go-swagger server writes them. DELETE expires (``endsAt`` = now), never removes.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from typing import Any

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError

from core.errors import AccessDenied, AuthenticationError, PayloadError, UpstreamError
from core.ports import SilenceRepository
from core.silence_edits import Edit, expire, post
from core.silences import Matcher, Silence, SilenceState, parse_matcher
from starter.auth import require_api_token
from starter.http.deps import ApiDeps, Deps, read_json

log = structlog.get_logger(__name__)

router = APIRouter()

_NOT_FOUND = "silence not found"
_ORDER = {SilenceState.ACTIVE: 0, SilenceState.PENDING: 1, SilenceState.EXPIRED: 2}


def _answer(status: int, message: str) -> JSONResponse:
    """Alertmanager's error body: the message as a JSON string."""
    return JSONResponse(message, status_code=status)


def _store(request: Request, deps: ApiDeps) -> SilenceRepository:
    require_api_token(request.headers, deps.settings.api_token, what="silences over the API")
    if deps.silences is None:  # pragma: no cover - starter/wiring.py always builds it
        raise UpstreamError("silences are not wired in this API", retryable=False)
    return deps.silences


def _refusal(exc: Exception) -> JSONResponse:
    if isinstance(exc, AccessDenied):
        return _answer(403, str(exc))
    if isinstance(exc, AuthenticationError):
        return _answer(401, str(exc))
    if isinstance(exc, UpstreamError):
        return _answer(503, f"silences unavailable: {exc}")
    return _answer(400, str(exc))


_REFUSED = (AccessDenied, AuthenticationError, PayloadError, UpstreamError, json.JSONDecodeError, UnicodeDecodeError)


def _sorted(silences: list[Silence], now: datetime) -> list[Silence]:
    """Alertmanager's order: active by end, pending by start, then expired, most recent end first."""
    def key(s: Silence) -> tuple[int, float]:
        state = s.state(now)
        at = {SilenceState.ACTIVE: s.ends_at.timestamp(), SilenceState.PENDING: s.starts_at.timestamp(),
              SilenceState.EXPIRED: -s.ends_at.timestamp()}[state]
        return _ORDER[state], at
    return sorted(silences, key=key)


def _filter_matches(filters: list[Matcher], silence: Silence) -> bool:
    """Alertmanager's ``filter``: compared against the silence's matchers as if they were labels; an
    empty filter value passes when the silence has no such matcher (``=``) or has one (``!=``)."""
    values = {m.name: m.value for m in silence.matchers}
    for f in filters:
        present = f.name in values
        if f.value == "" and (present if not f.is_equal else not present):
            continue
        if not f.matches_value(values.get(f.name, "")):
            return False
    return True


@router.get("/api/v2/silences")
async def list_silences(request: Request, deps: Deps) -> Response:
    try:
        store = _store(request, deps)
        filters = [parse_matcher(text) for text in request.query_params.getlist("filter")]
        silences = await store.all()
    except _REFUSED as exc:
        return _refusal(exc)
    now = datetime.now(timezone.utc)
    chosen = [s for s in _sorted(silences, now) if _filter_matches(filters, s)]
    return JSONResponse([s.api_json(now) for s in chosen])


@router.get("/api/v2/silence/{silence_id}")
async def get_silence(request: Request, silence_id: str, deps: Deps) -> Response:
    try:
        silence = await _store(request, deps).get(silence_id)
    except _REFUSED as exc:
        return _refusal(exc)
    if silence is None:
        return _answer(404, _NOT_FOUND)
    return JSONResponse(silence.api_json(datetime.now(timezone.utc)))


@router.post("/api/v2/silences")
async def post_silence(request: Request, deps: Deps) -> Response:
    try:
        store = _store(request, deps)
        _, body = await read_json(request)
        incoming = _postable(body)
    except _REFUSED as exc:
        return _refusal(exc)
    now = datetime.now(timezone.utc)
    edits: list[Edit] = []
    missing = False

    def decide(current: Silence | None) -> list[Silence]:
        nonlocal missing
        edits.clear()
        if incoming.id and current is None:
            missing = True
            return []
        edit = post(incoming, current, now, str(uuid.uuid4()))
        edits.append(edit)
        return edit.writes

    try:
        await store.edit(incoming.id, decide, now)
    except _REFUSED as exc:
        return _refusal(exc)
    if missing:
        return _answer(404, _NOT_FOUND)
    edit = edits[0]
    log.info("silence saved", silence_id=edit.silence_id, replaced=incoming.id if incoming.id != edit.silence_id
             else None, created_by=incoming.created_by[:90], matchers=[str(m) for m in incoming.matchers])
    if incoming.id:
        await _tell(deps, store, edit.writes[0], incoming.id)
    if edit.silence_id != incoming.id:
        await _tell_added(deps, edit.writes[0])
    return JSONResponse({"silenceID": edit.silence_id})


@router.delete("/api/v2/silence/{silence_id}")
async def delete_silence(request: Request, silence_id: str, deps: Deps) -> Response:
    found: list[Silence] = []

    def decide(current: Silence | None) -> list[Silence]:
        found[:] = [current] if current is not None else []
        if current is None:
            return []
        ended = expire(current, now)
        found[:] = [ended]
        return [] if ended is current else [ended]

    now = datetime.now(timezone.utc)
    try:
        store = _store(request, deps)
        await store.edit(silence_id, decide, now)
    except _REFUSED as exc:
        return _refusal(exc)
    if not found:
        return _answer(404, _NOT_FOUND)
    log.info("silence expired", silence_id=silence_id)
    await _tell(deps, store, found[0], silence_id)
    return Response(status_code=200)


def _postable(body: Any) -> Silence:
    """Alertmanager's postableSilence; pydantic's own text is cut to field and problem (no input)."""
    if not isinstance(body, dict):
        raise PayloadError("body must be a JSON object (a postableSilence)")
    required = [f for f in ("matchers", "startsAt", "endsAt", "createdBy", "comment") if f not in body]
    if required:
        raise PayloadError(f"{', '.join(required)} in body is required")
    try:
        silence = Silence.model_validate({k: v for k, v in body.items() if k != "status"})
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                             for e in exc.errors(include_input=False, include_url=False))
        raise PayloadError(f"invalid silence: {problems}") from exc
    return silence.model_copy(update={"id": (silence.id or "").strip()})


async def _tell_added(deps: ApiDeps, silence: Silence) -> None:
    """The open incidents a new silence names ask again (docs/adr/0029); best effort, like _tell."""
    if deps.silence_added is None:
        return
    try:
        await deps.silence_added(silence)
    except Exception as exc:  # noqa: BLE001 - the silence is saved; telling open incidents is best effort
        log.warning("new silence not told to open incidents", silence_id=silence.id, error=type(exc).__name__)


async def _tell(deps: ApiDeps, store: SilenceRepository, silence: Silence, silence_id: str) -> None:
    """The workflows the silence had silenced hear that it changed; the answer never waits on them
    failing (they also wake on their own timer)."""
    if deps.silence_changed is None:
        return
    try:
        watchers = await store.watchers(silence_id)
        if watchers:
            await deps.silence_changed(silence, watchers)
    except Exception as exc:  # noqa: BLE001 - the silence is saved; waking early is best effort
        log.warning("silence change not told to its workflows", silence_id=silence_id, error=type(exc).__name__)

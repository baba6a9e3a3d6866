"""What the API's routes depend on, built once by starter/wiring.py and handed to each endpoint with
``Depends``; and the answers every route gives in the same shape."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import JSONResponse, Response
from redis.asyncio import Redis
from temporalio.client import Client

from core.errors import (
    AccessDenied,
    AuthenticationError,
    DecisionRefused,
    IntakeUnavailable,
    NotFound,
    PayloadError,
)
from core.learning_service import LearningService
from core.metrics import Metrics
from core.ports import ChatChannel, DeliverySpool, IdempotencyLedger, SilenceRepository
from core.settings import Settings
from core.silences import Silence
from starter.chat_commands import ChatCommands
from starter.intake import Intake
from starter.postmortem_taps import PostmortemTaps
from starter.json_body import loads_bounded


@dataclass
class ApiDeps:
    settings: Settings
    temporal: Client
    redis: Redis
    intake: Intake
    chat: ChatChannel | None
    metrics: Metrics
    ledger: IdempotencyLedger
    learning: LearningService
    spool: DeliverySpool
    silences: SilenceRepository | None = None
    # Told after a silence was expired or edited, with the workflows it had silenced, so they need not
    # wait for their timer (docs/adr/0024). The workflow side wires it (a signal); None: nobody is told.
    silence_changed: Callable[[Silence, list[str]], Awaitable[None]] | None = None
    # Told after a new silence was saved, so the open incidents it names ask again (docs/adr/0029).
    silence_added: Callable[[Silence], Awaitable[None]] | None = None
    # The operators' chat commands (/silence, /incidents...), routed by starter/chat_commands.py.
    commands: ChatCommands | None = None
    # The resolved card's Postmortem button (starter/postmortem_taps.py, docs/adr/0026).
    postmortems: PostmortemTaps | None = None


def api_deps(request: Request) -> ApiDeps:
    """The app's dependencies (``app.state.deps``, set by ``create_app``)."""
    deps: ApiDeps = request.app.state.deps
    return deps


Deps = Annotated[ApiDeps, Depends(api_deps)]


def error(status: int, detail: str) -> JSONResponse:
    return JSONResponse({"status": "error", "detail": detail}, status_code=status)


async def read_json(request: Request) -> tuple[bytes, Any]:
    raw = await request.body()  # bounded by BodyLimit (AWOOOI_MAX_BODY_BYTES) before it is read
    if not raw.strip():
        raise PayloadError("body is empty; expected a JSON object")
    return raw, loads_bounded(raw)


# How the incident update endpoints (approve, reject, card) answer each refusal, in this order.
_UPDATE_STATUS: tuple[tuple[type[Exception] | tuple[type[Exception], ...], int], ...] = (
    (AccessDenied, 403), (AuthenticationError, 401),
    ((PayloadError, json.JSONDecodeError, UnicodeDecodeError), 422),
    (NotFound, 404), (DecisionRefused, 409), (IntakeUnavailable, 503),
)
UPDATE_ERRORS = tuple(t for kinds, _ in _UPDATE_STATUS for t in (kinds if isinstance(kinds, tuple) else (kinds,)))


def update_error(exc: Exception) -> Response:
    status = next(code for kinds, code in _UPDATE_STATUS if isinstance(exc, kinds))
    return error(status, str(exc))

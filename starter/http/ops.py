"""Operations: health (Temporal, Valkey, a worker polling, the spool), readiness, the chat's status
and /metrics."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from core.errors import UpstreamError
from starter.health import workers_polling
from starter.http.deps import ApiDeps, Deps

HEALTH_TIMEOUT_SECONDS = 3.0

router = APIRouter()


@router.get("/api/v1/health")
async def health(deps: Deps) -> Response:
    checks = await asyncio.gather(_check_temporal(deps), _check_redis(deps), _check_worker(deps))
    body: dict[str, Any] = {name: ("ok" if ok else f"unavailable: {why}") for name, ok, why in checks}
    down = [name for name, ok, _ in checks if not ok]
    body["spool"] = await _spool_report(deps)
    status = 503 if down else 200
    return JSONResponse({"status": "ok" if not down else "degraded", "down": down, **body}, status_code=status)


@router.get("/api/v1/ready")
async def ready(deps: Deps) -> Response:
    """Readiness: can this API take alerts durably (Temporal and Valkey)? Unlike health it does
    not ask for a worker: alerts taken while workers are down wait in Temporal and are handled
    when one is back, which beats senders giving up on an API that left the Service."""
    checks = await asyncio.gather(_check_temporal(deps), _check_redis(deps))
    down = [name for name, ok, _ in checks if not ok]
    return JSONResponse({"status": "ok" if not down else "degraded", "down": down},
                        status_code=503 if down else 200)


@router.get("/api/v1/telegram/status")
async def telegram_status(deps: Deps) -> Response:
    if deps.chat is None:
        return JSONResponse({"connected": False, "bot": None, "reason": "AWOOOI_TELEGRAM_BOT_TOKEN is not set"})
    try:
        bot = await deps.chat.whoami()
    except UpstreamError as exc:
        return JSONResponse({"connected": False, "bot": None, "reason": str(exc)})
    return JSONResponse({"connected": True, "bot": bot or None,
                         "chat_configured": bool(deps.settings.telegram_chat_id)})


@router.get("/metrics")
async def metrics(deps: Deps) -> Response:
    return Response(generate_latest(deps.metrics.registry), media_type=CONTENT_TYPE_LATEST)


async def _check_temporal(deps: ApiDeps) -> tuple[str, bool, str]:
    try:
        await asyncio.wait_for(deps.temporal.service_client.check_health(), HEALTH_TIMEOUT_SECONDS)
    except Exception as exc:  # noqa: BLE001 - any failure means "not healthy"
        return "temporal", False, type(exc).__name__
    return "temporal", True, ""


async def _spool_report(deps: ApiDeps) -> dict[str, Any]:
    """How many deliveries wait for Temporal, and since when: a growing age means the drainer
    cannot reach Temporal (the alerts are safe in Valkey, but not yet processed)."""
    try:
        stats = await asyncio.wait_for(deps.spool.stats(), HEALTH_TIMEOUT_SECONDS)
    except (UpstreamError, TimeoutError) as exc:
        return {"depth": None, "oldest_age_seconds": None, "error": str(exc)}
    age = round(stats.oldest_age_seconds, 1) if stats.oldest_age_seconds is not None else None
    return {"depth": stats.depth, "oldest_age_seconds": age}


async def _check_worker(deps: ApiDeps) -> tuple[str, bool, str]:
    """At least one worker polls the task queue: without one, "accepted" alerts wait unprocessed."""
    try:
        polling = await workers_polling(deps.temporal, deps.settings.task_queue, HEALTH_TIMEOUT_SECONDS)
    except Exception as exc:  # noqa: BLE001
        return "worker", False, type(exc).__name__
    if not polling:
        return "worker", False, f"no worker polls task queue {deps.settings.task_queue}"
    return "worker", True, ""


async def _check_redis(deps: ApiDeps) -> tuple[str, bool, str]:
    try:
        await asyncio.wait_for(deps.redis.ping(), HEALTH_TIMEOUT_SECONDS)
    except Exception as exc:  # noqa: BLE001
        return "valkey", False, type(exc).__name__
    return "valkey", True, ""



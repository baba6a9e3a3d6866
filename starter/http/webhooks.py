"""The webhooks: Alertmanager, SigNoz and Sentry alerts, and Telegram's button taps.

Answers follow the senders' retry rules (shared/PROTOCOLS.md): 200 only once every alert of the
delivery is durably in Temporal (or the spool); 503 when neither could take it, so Alertmanager and
Sentry retry; 401 for bad credentials and 422 for a body that can never succeed, with nothing started.
The alert webhooks are also answered by starter/webhook_path.py without FastAPI's per-request layers:
``FAST`` maps their paths to the same handlers.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from typing import Any

import structlog
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from core.errors import AccessDenied, AuthenticationError, IntakeUnavailable, PayloadError
from core.models import Source
from core.probe import is_probe
from starter.auth import check_telegram_secret, check_token, verify_sentry_signature
from starter.http.deps import ApiDeps, Deps, api_deps, error, read_json
from starter.parsers import ParseResult, parse_alertmanager, parse_sentry, parse_signoz
from starter.telegram_updates import TelegramUpdates

log = structlog.get_logger(__name__)

ALERTMANAGER_HOOK = "/api/v1/webhooks/alertmanager"
SIGNOZ_HOOKS = ("/api/v1/webhooks/signoz", "/api/v1/webhooks/signoz/alert")
SENTRY_HOOKS = ("/api/v1/webhooks/sentry", "/api/v1/webhooks/sentry/error")
TELEGRAM_HOOK = "/api/v1/webhooks/telegram"

router = APIRouter()


async def take_all(deps: ApiDeps, source: Source, result: ParseResult) -> JSONResponse:
    metrics = deps.metrics
    if result.truncated:
        metrics.truncated_alerts.labels(source=source.value).inc(result.truncated)
        log.warning("sender truncated alerts", source=source.value, truncated=result.truncated)
    if result.ignored is not None:
        metrics.alerts.labels(source=source.value, status="none", result="ignored").inc()
        return JSONResponse({"status": "ignored", "reason": result.ignored.reason, "alerts": []})
    received_at = datetime.now(timezone.utc)
    with metrics.intake_seconds.labels(source=source.value).time():
        outcomes = await asyncio.gather(
            *(deps.intake.take(parsed, received_at) for parsed in result.alerts), return_exceptions=True
        )
    answers: list[dict[str, Any]] = []
    failed = 0
    for parsed, outcome in zip(result.alerts, outcomes, strict=True):
        alert = parsed.alert
        if isinstance(outcome, PayloadError):
            # Temporal refuses this alert whatever we do: say so for it alone; the others stand.
            metrics.alerts.labels(source=source.value, status=alert.status.value, result="rejected").inc()
            answers.append({"fingerprint": alert.fingerprint, "alert_status": alert.status.value,
                            "status": "rejected", "reason": str(outcome)})
            continue
        if parsed.problem is not None and not isinstance(outcome, BaseException):
            # Taken as an "unreadable alert" incident; the sender is told which field was wrong.
            metrics.alerts.labels(source=source.value, status=alert.status.value, result="rejected").inc()
            answers.append({"fingerprint": alert.fingerprint, "alert_status": alert.status.value,
                            "workflow_id": outcome.ref.workflow_id, "incident_id": outcome.ref.incident_id,
                            "anomaly_key": outcome.ref.anomaly_key, "status": "rejected",
                            "reason": parsed.problem})
            continue
        if isinstance(outcome, BaseException):
            failed += 1
            log.error("alert not taken", source=source.value, fingerprint=alert.fingerprint,
                      error=type(outcome).__name__, detail=str(outcome))
            answers.append({"fingerprint": alert.fingerprint, "alert_status": alert.status.value,
                            "status": "failed", "reason": "neither Temporal nor the spool took it"})
            continue
        metrics.alerts.labels(source=source.value, status=alert.status.value, result=outcome.result).inc()
        if not is_probe(alert):  # the probe has its own metrics; NoAlertsReceivedLong is about real alerts
            metrics.alerts_received.labels(source=source.value, status=alert.status.value).inc()
            metrics.last_alert_received.set_to_current_time()
        answer = {
            "fingerprint": alert.fingerprint,
            "alert_status": alert.status.value,
            "workflow_id": outcome.ref.workflow_id,
            "incident_id": outcome.ref.incident_id,
            "anomaly_key": outcome.ref.anomaly_key,
            "status": outcome.result,
        }
        if outcome.reason:
            answer["reason"] = outcome.reason
        answers.append(answer)
    if failed:
        # Some alerts may already be in Temporal. On the sender's retry, resolutions and Sentry events
        # are recognised as duplicates; a firing Alertmanager alert carries no delivery id, so it
        # counts one extra occurrence (the card is edited, never sent twice).
        return JSONResponse(
            {"status": "unavailable", "detail": f"{failed} of {len(answers)} alerts not taken; retry",
             "alerts": answers},
            status_code=503,
        )
    return JSONResponse({"status": "accepted", "alerts": answers})



async def _handle(request: Request, deps: ApiDeps, source: Source, parse: Callable[..., ParseResult]) -> Response:
    settings = deps.settings
    structlog.contextvars.bind_contextvars(source=source.value, path=request.url.path)
    started = time.perf_counter()
    try:
        if source is Source.SENTRY:
            _, body = await _read_json_after_signature(request, deps)
            result = parse(body, resource=request.headers.get("sentry-hook-resource"),
                           request_id=request.headers.get("request-id"))
        else:
            check_token(request.headers, settings.webhook_token)
            _, body = await read_json(request)
            result = parse(body)
        response = await take_all(deps, source, result)
    except AuthenticationError as exc:
        response = error(401, str(exc))
    except PayloadError as exc:
        log.info("payload rejected", detail=str(exc))
        response = error(422, str(exc))
    except IntakeUnavailable as exc:
        response = error(503, str(exc))
    finally:
        structlog.contextvars.unbind_contextvars("source", "path")
    deps.metrics.webhook_requests.labels(source=source.value, code=str(response.status_code)).inc()
    deps.metrics.webhook_latency.labels(webhook_type=source.value).observe(time.perf_counter() - started)
    return response


async def _read_json_after_signature(request: Request, deps: ApiDeps) -> tuple[bytes, Any]:
    settings = deps.settings
    raw = await request.body()
    if settings.sentry_client_secret is not None:
        verify_sentry_signature(raw, request.headers.get("sentry-hook-signature"), settings.sentry_client_secret)
    else:
        # No integration secret (e.g. the legacy plugin, which cannot sign): the webhook token
        # still guards the endpoint, as basic auth in the URL the plugin posts to.
        check_token(request.headers, settings.webhook_token)
    return await read_json(request)


@router.post(ALERTMANAGER_HOOK)
async def alertmanager(request: Request, deps: Deps) -> Response:
    return await _handle(request, deps, Source.ALERTMANAGER, parse_alertmanager)


@router.post(SIGNOZ_HOOKS[0])
@router.post(SIGNOZ_HOOKS[1])
async def signoz(request: Request, deps: Deps) -> Response:
    return await _handle(request, deps, Source.SIGNOZ, parse_signoz)


@router.post(SENTRY_HOOKS[0])
@router.post(SENTRY_HOOKS[1])
async def sentry(request: Request, deps: Deps) -> Response:
    return await _handle(request, deps, Source.SENTRY, parse_sentry)


def _fast(endpoint: Callable[[Request, ApiDeps], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    async def handler(request: Request) -> Response:
        return await endpoint(request, api_deps(request))
    return handler


# The same endpoints, answered without FastAPI's per-request layers (starter/webhook_path.py).
FAST: dict[str, Callable[[Request], Awaitable[Response]]] = {
    ALERTMANAGER_HOOK: _fast(alertmanager), **dict.fromkeys(SIGNOZ_HOOKS, _fast(signoz)),
    **dict.fromkeys(SENTRY_HOOKS, _fast(sentry)),
}


@router.post(TELEGRAM_HOOK)
async def telegram_webhook(request: Request, deps: Deps) -> Response:
    """Button taps. Answers 200 for everything Telegram should not re-send (refusals included)."""
    settings = deps.settings
    try:
        check_telegram_secret(request.headers, settings.telegram_webhook_secret)
        _, update = await read_json(request)
        updates = TelegramUpdates(settings, deps.temporal, deps.ledger, deps.chat, deps.metrics, deps.silences,
                                  deps.commands, deps.postmortems)
        return JSONResponse(await updates.handle(update))
    except AccessDenied as exc:
        return error(403, str(exc))
    except AuthenticationError as exc:
        log.warning("telegram update with a bad secret token")
        return error(401, str(exc))
    except PayloadError as exc:
        return error(422, str(exc))
    except IntakeUnavailable as exc:
        return error(503, str(exc))

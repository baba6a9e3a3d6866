"""The webhook API: verify, parse, hand to Temporal, answer. Nothing else happens here.

Answers follow the senders' retry rules (shared/PROTOCOLS.md): 200 only once every alert of the
delivery is durably in Temporal; 503 when Temporal could not take it, so Alertmanager and Sentry
retry; 401 for bad credentials and 422 for a body that can never succeed, with nothing started.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from redis.asyncio import Redis
from starlette.middleware import Middleware
from temporalio.client import Client

from core.errors import (
    AccessDenied,
    AuthenticationError,
    DecisionRefused,
    IntakeUnavailable,
    NotFound,
    PayloadError,
    UpstreamError,
)
from core.identity import workflow_id_for
from core.learning_service import LearningService
from core.metrics import Metrics
from core.models import Source
from core.probe import is_probe
from core.ports import ChatChannel, DeliverySpool, IdempotencyLedger
from core.repair import Decision
from core.settings import Settings
from starter.approvals import request_own_card, send_decision
from starter.body_limit import BodyLimit
from starter.json_body import loads_bounded
from starter.lingering_close import LingeringClose
from starter.request_errors import RequestErrors
from starter.auth import check_telegram_secret, check_token, require_api_token, verify_sentry_signature
from starter.health import workers_polling
from starter.http_metrics import HttpMetricsMiddleware
from starter.intake import Intake
from starter.telegram_updates import TelegramUpdates
from starter.webhook_path import WebhookPath
from starter.parsers import ParseResult, parse_alertmanager, parse_sentry, parse_signoz

log = structlog.get_logger(__name__)

HEALTH_TIMEOUT_SECONDS = 3.0
ALERTMANAGER_HOOK = "/api/v1/webhooks/alertmanager"
SIGNOZ_HOOKS = ("/api/v1/webhooks/signoz", "/api/v1/webhooks/signoz/alert")
SENTRY_HOOKS = ("/api/v1/webhooks/sentry", "/api/v1/webhooks/sentry/error")
_INCIDENT_ID = re.compile(r"^[A-Za-z0-9._-]{1,200}$")  # what core.identity.incident_id produces
# How the incident update endpoints (approve, reject, card) answer each refusal, in this order.
_UPDATE_STATUS: tuple[tuple[type[Exception] | tuple[type[Exception], ...], int], ...] = (
    (AccessDenied, 403), (AuthenticationError, 401),
    ((PayloadError, json.JSONDecodeError, UnicodeDecodeError), 422),
    (NotFound, 404), (DecisionRefused, 409), (IntakeUnavailable, 503),
)
_UPDATE_ERRORS = tuple(t for kinds, _ in _UPDATE_STATUS for t in (kinds if isinstance(kinds, tuple) else (kinds,)))


def _update_error(exc: Exception) -> Response:
    status = next(code for kinds, code in _UPDATE_STATUS if isinstance(exc, kinds))
    return _error(status, str(exc))


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


def _error(status: int, detail: str) -> JSONResponse:
    return JSONResponse({"status": "error", "detail": detail}, status_code=status)


async def _read_json(request: Request) -> tuple[bytes, Any]:
    raw = await request.body()  # bounded by BodyLimit (AWOOOI_MAX_BODY_BYTES) before it is read
    if not raw.strip():
        raise PayloadError("body is empty; expected a JSON object")
    return raw, loads_bounded(raw)


async def _take_all(deps: ApiDeps, source: Source, result: ParseResult) -> JSONResponse:
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


def create_app(deps: ApiDeps) -> FastAPI:
    app = FastAPI(title="awoooi", version="0.1.0", docs_url="/api/docs", openapi_url="/api/openapi.json")
    app.state.deps = deps
    app.add_middleware(HttpMetricsMiddleware, counter=deps.metrics.http_requests)
    settings = deps.settings
    # Added first, so BodyLimit runs inside RequestErrors: a 413 also carries the request id.
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestErrors, metrics=deps.metrics)
    # Outermost: an answer sent before the body was read reaches the sender (starter/lingering_close.py).
    app.add_middleware(LingeringClose, max_bytes=settings.api_linger_bytes, max_seconds=settings.api_linger_seconds,
                       lingered=deps.metrics.lingering_closes, discarded=deps.metrics.discarded_body_bytes)

    async def handle(request: Request, source: Source, parse) -> Response:  # noqa: ANN001
        structlog.contextvars.bind_contextvars(source=source.value, path=request.url.path)
        started = time.perf_counter()
        try:
            if source is Source.SENTRY:
                raw, body = await _read_json_after_signature(request)
                result = parse(body, resource=request.headers.get("sentry-hook-resource"),
                               request_id=request.headers.get("request-id"))
            else:
                check_token(request.headers, settings.webhook_token)
                raw, body = await _read_json(request)
                result = parse(body)
            response = await _take_all(deps, source, result)
        except AuthenticationError as exc:
            response = _error(401, str(exc))
        except PayloadError as exc:
            log.info("payload rejected", detail=str(exc))
            response = _error(422, str(exc))
        except IntakeUnavailable as exc:
            response = _error(503, str(exc))
        finally:
            structlog.contextvars.unbind_contextvars("source", "path")
        deps.metrics.webhook_requests.labels(source=source.value, code=str(response.status_code)).inc()
        deps.metrics.webhook_latency.labels(webhook_type=source.value).observe(time.perf_counter() - started)
        return response

    async def _read_json_after_signature(request: Request) -> tuple[bytes, Any]:
        raw = await request.body()
        if settings.sentry_client_secret is not None:
            verify_sentry_signature(raw, request.headers.get("sentry-hook-signature"), settings.sentry_client_secret)
        else:
            # No integration secret (e.g. the legacy plugin, which cannot sign): the webhook token
            # still guards the endpoint, as basic auth in the URL the plugin posts to.
            check_token(request.headers, settings.webhook_token)
        return await _read_json(request)

    @app.post(ALERTMANAGER_HOOK)
    async def alertmanager(request: Request) -> Response:
        return await handle(request, Source.ALERTMANAGER, parse_alertmanager)

    @app.post(SIGNOZ_HOOKS[0])
    @app.post(SIGNOZ_HOOKS[1])
    async def signoz(request: Request) -> Response:
        return await handle(request, Source.SIGNOZ, parse_signoz)

    @app.post(SENTRY_HOOKS[0])
    @app.post(SENTRY_HOOKS[1])
    async def sentry(request: Request) -> Response:
        return await handle(request, Source.SENTRY, parse_sentry)

    # The same endpoints, answered without FastAPI's per-request layers (starter/webhook_path.py).
    webhooks = {ALERTMANAGER_HOOK: alertmanager, **dict.fromkeys(SIGNOZ_HOOKS, signoz),
                **dict.fromkeys(SENTRY_HOOKS, sentry)}

    updates = TelegramUpdates(settings, deps.temporal, deps.ledger, deps.chat, deps.metrics)

    @app.post("/api/v1/webhooks/telegram")
    async def telegram_webhook(request: Request) -> Response:
        """Button taps. Answers 200 for everything Telegram should not re-send (refusals included)."""
        try:
            check_telegram_secret(request.headers, settings.telegram_webhook_secret)
            _, update = await _read_json(request)
            return JSONResponse(await updates.handle(update))
        except AccessDenied as exc:
            return _error(403, str(exc))
        except AuthenticationError as exc:
            log.warning("telegram update with a bad secret token")
            return _error(401, str(exc))
        except PayloadError as exc:
            return _error(422, str(exc))
        except IntakeUnavailable as exc:
            return _error(503, str(exc))

    def check_incident_request(request: Request, incident_id: str) -> None:
        """What every incident update endpoint checks first: the API token, then the id's shape."""
        require_api_token(request.headers, settings.api_token)
        if not _INCIDENT_ID.match(incident_id):  # Temporal would refuse it as a workflow id: 503
            raise PayloadError("incident_id is not an awoooi incident id (like alertmanager-3f2a...)")

    async def decide(request: Request, incident_id: str, approve: bool) -> Response:
        try:
            check_incident_request(request, incident_id)
            raw = await request.body()
            body = loads_bounded(raw) if raw.strip() else {}
            if not isinstance(body, dict) or not isinstance(body.get("by", "api"), str):
                raise PayloadError("body must be a JSON object like {\"by\": \"alice\", \"note\": \"...\"}")
            # "by" is whatever the token holder says: the card shows it marked as coming from the API.
            name = (body.get("by") or "").strip()[:90]
            decision = Decision(approve=approve, by=f"{name} (api)" if name else "api", via="api",
                                at=datetime.now(timezone.utc), note=str(body.get("note") or "")[:500])
            answer = await send_decision(deps.temporal, workflow_id_for(incident_id), decision,
                                         timeout=settings.temporal_rpc_timeout_seconds)
        except _UPDATE_ERRORS as exc:
            if isinstance(exc, DecisionRefused):
                deps.metrics.repair_decisions.labels(outcome="refused", via="api").inc()
            return _update_error(exc)
        deps.metrics.repair_decisions.labels(outcome="approved" if approve else "rejected", via="api").inc()
        log.info("repair decision accepted", incident_id=incident_id, approve=approve, who=decision.by, via="api")
        return JSONResponse({"status": "accepted", "incident_id": incident_id, "detail": answer.message})

    @app.post("/api/v1/incidents/{incident_id}/approve")
    async def approve(request: Request, incident_id: str) -> Response:
        return await decide(request, incident_id, True)

    @app.post("/api/v1/incidents/{incident_id}/reject")
    async def reject(request: Request, incident_id: str) -> Response:
        return await decide(request, incident_id, False)

    @app.post("/api/v1/incidents/{incident_id}/card")
    async def own_card(request: Request, incident_id: str) -> Response:
        """The incident's own card now, though a storm digest lists it (docs/adr/0016-digest-cards.md)."""
        try:
            check_incident_request(request, incident_id)
            placement = await request_own_card(deps.temporal, workflow_id_for(incident_id),
                                               timeout=settings.temporal_rpc_timeout_seconds)
        except _UPDATE_ERRORS as exc:
            return _update_error(exc)
        log.info("own card requested", incident_id=incident_id, message_id=placement.message_id, via="api")
        return JSONResponse({"status": "shown" if placement.message_id is not None else "not_sent",
                             "incident_id": incident_id, "message_id": placement.message_id,
                             "digest_message_id": placement.digest_message_id})

    async def learning_answer(request: Request, produce) -> Response:  # noqa: ANN001
        try:
            check_token(request.headers, settings.api_token)
            return JSONResponse(await produce())
        except AuthenticationError as exc:
            return _error(401, str(exc))
        except UpstreamError as exc:
            return _error(503, str(exc))

    @app.get("/api/v1/learning/summary/{anomaly_key}")
    async def learning_summary(request: Request, anomaly_key: str) -> Response:
        async def produce() -> Any:
            return (await deps.learning.get_learning_summary(anomaly_key)).model_dump(mode="json")
        return await learning_answer(request, produce)

    @app.get("/api/v1/learning/recommendation/{anomaly_key}")
    async def learning_recommendation(request: Request, anomaly_key: str) -> Response:
        async def produce() -> Any:
            return (await deps.learning.get_recommended_fix(anomaly_key)).model_dump(mode="json")
        return await learning_answer(request, produce)

    @app.get("/api/v1/playbooks")
    async def playbooks(request: Request) -> Response:
        async def produce() -> Any:
            return {"playbooks": [p.model_dump(mode="json") for p in await deps.learning.playbooks()]}
        return await learning_answer(request, produce)

    @app.get("/api/v1/health")
    async def health() -> Response:
        checks = await asyncio.gather(_check_temporal(deps), _check_redis(deps), _check_worker(deps))
        body: dict[str, Any] = {name: ("ok" if ok else f"unavailable: {why}") for name, ok, why in checks}
        down = [name for name, ok, _ in checks if not ok]
        body["spool"] = await _spool_report(deps)
        status = 503 if down else 200
        return JSONResponse({"status": "ok" if not down else "degraded", "down": down, **body},
                            status_code=status)

    @app.get("/api/v1/ready")
    async def ready() -> Response:
        """Readiness: can this API take alerts durably (Temporal and Valkey)? Unlike health it does
        not ask for a worker: alerts taken while workers are down wait in Temporal and are handled
        when one is back, which beats senders giving up on an API that left the Service."""
        checks = await asyncio.gather(_check_temporal(deps), _check_redis(deps))
        down = [name for name, ok, _ in checks if not ok]
        return JSONResponse({"status": "ok" if not down else "degraded", "down": down},
                            status_code=503 if down else 200)

    @app.get("/api/v1/telegram/status")
    async def telegram_status() -> Response:
        if deps.chat is None:
            return JSONResponse({"connected": False, "bot": None, "reason": "AWOOOI_TELEGRAM_BOT_TOKEN is not set"})
        try:
            bot = await deps.chat.whoami()
        except UpstreamError as exc:
            return JSONResponse({"connected": False, "bot": None, "reason": str(exc)})
        return JSONResponse({"connected": True, "bot": bot or None,
                             "chat_configured": bool(settings.telegram_chat_id)})

    @app.get("/metrics")
    async def metrics() -> Response:
        return Response(generate_latest(deps.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    # Innermost of the middlewares (inside the route metric, the body limit and RequestErrors), in
    # front of the router and the endpoint machinery it lets webhook POSTs skip.
    declared = {route.path: route for route in app.routes if isinstance(route, APIRoute) and route.path in webhooks}
    app.user_middleware.append(Middleware(WebhookPath, handlers=webhooks, routes=declared))
    return app


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


__all__ = ["ApiDeps", "create_app"]

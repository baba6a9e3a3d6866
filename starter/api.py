"""The webhook API: verify, parse, hand to Temporal, answer. Nothing else happens here.

``create_app`` assembles the routers (starter/http/: webhooks, incidents, learning, operations, the
Alertmanager-compatible silences) and the middlewares, outermost first: the lingering close (an early
answer reaches the sender), request errors (every 5xx counted, a request id on every answer), the body
limit, the HTTP metrics, and innermost the webhook fast path (starter/webhook_path.py).
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.middleware import Middleware

from starter.body_limit import BodyLimit
from starter.http import incidents, learning, ops, silences, webhooks
from starter.http.deps import ApiDeps
from starter.http.webhooks import ALERTMANAGER_HOOK, SENTRY_HOOKS, SIGNOZ_HOOKS
from starter.http_metrics import HttpMetricsMiddleware
from starter.lingering_close import LingeringClose
from starter.request_errors import RequestErrors
from starter.webhook_path import WebhookPath


def create_app(deps: ApiDeps) -> FastAPI:
    app = FastAPI(title="awoooi", version="0.1.0", docs_url="/api/docs", openapi_url="/api/openapi.json")
    app.state.deps = deps
    for module in (webhooks, incidents, learning, ops, silences):
        app.include_router(module.router)
    settings = deps.settings
    app.add_middleware(HttpMetricsMiddleware, counter=deps.metrics.http_requests)
    # Added first, so BodyLimit runs inside RequestErrors: a 413 also carries the request id.
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestErrors, metrics=deps.metrics)
    # Outermost: an answer sent before the body was read reaches the sender (starter/lingering_close.py).
    app.add_middleware(LingeringClose, max_bytes=settings.api_linger_bytes, max_seconds=settings.api_linger_seconds,
                       lingered=deps.metrics.lingering_closes, discarded=deps.metrics.discarded_body_bytes)
    # Innermost of the middlewares (inside the route metric, the body limit and RequestErrors), in
    # front of the router and the endpoint machinery it lets webhook POSTs skip.
    declared = {route.path: route for route in webhooks.router.routes
                if isinstance(route, APIRoute) and route.path in webhooks.FAST}
    app.user_middleware.append(Middleware(WebhookPath, handlers=webhooks.FAST, routes=declared))
    return app


__all__ = ["ALERTMANAGER_HOOK", "SENTRY_HOOKS", "SIGNOZ_HOOKS", "ApiDeps", "create_app"]

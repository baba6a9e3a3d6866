"""starter/webhook_path.py: webhook POSTs answered by their handler, in front of the router, with the
route the router would have set; every other request reaches FastAPI as before."""

from __future__ import annotations

import httpx
import pytest
from fastapi import Depends, FastAPI
from fastapi.routing import APIRoute
from prometheus_client import CollectorRegistry
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from core.metrics import Metrics
from starter.api import ALERTMANAGER_HOOK, SENTRY_HOOKS, SIGNOZ_HOOKS, create_app
from starter.webhook_path import WebhookPath
from tests.harness import settings_for
from starter.wiring import build_api_deps

HOOK = "/api/v1/webhooks/alertmanager"


def _app(seen: list[str]) -> FastAPI:
    app = FastAPI()

    def through_the_router() -> None:
        """A route dependency: only FastAPI's endpoint machinery runs it, never the fast path."""
        seen.append("router")

    @app.post(HOOK, dependencies=[Depends(through_the_router)])
    async def hook(request: Request) -> Response:
        seen.append(getattr(request.scope.get("route"), "path", "none"))
        return JSONResponse({"body": (await request.body()).decode()})

    @app.get("/other")
    async def other() -> Response:
        return JSONResponse({"other": True})

    declared = {r.path: r for r in app.routes if isinstance(r, APIRoute) and r.path == HOOK}
    app.user_middleware.append(Middleware(WebhookPath, handlers={HOOK: hook}, routes=declared))
    return app


async def _client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://awoooi.test")


async def test_a_webhook_post_is_answered_by_its_handler_with_the_declared_route() -> None:
    seen: list[str] = []
    async with await _client(_app(seen)) as api:
        answer = await api.post(HOOK, content=b"payload")
    assert answer.status_code == 200 and answer.json() == {"body": "payload"}
    assert seen == [HOOK], "answered in front of the router (no dependency ran), the route template in the scope"


async def test_without_the_fast_path_the_same_post_goes_through_the_router() -> None:
    """The control for the test above: its route dependency does run when the router answers."""
    seen: list[str] = []
    app = _app(seen)
    app.user_middleware.clear()
    async with await _client(app) as api:
        assert (await api.post(HOOK, content=b"payload")).status_code == 200
    assert seen == ["router", HOOK]


async def test_the_api_answers_every_webhook_path_in_front_of_the_router(temporal_client, valkey_url, redis,
                                                                         task_queue) -> None:
    async with httpx.AsyncClient() as http:
        app = create_app(build_api_deps(settings_for(valkey_url, task_queue), temporal_client, redis, http,
                                        Metrics(CollectorRegistry())))
    innermost = app.user_middleware[-1]
    assert innermost.cls is WebhookPath
    assert set(innermost.kwargs["handlers"]) == {ALERTMANAGER_HOOK, *SIGNOZ_HOOKS, *SENTRY_HOOKS}


async def test_everything_else_reaches_the_router_as_before() -> None:
    seen: list[str] = []
    async with await _client(_app(seen)) as api:
        assert (await api.get(HOOK)).status_code == 405
        assert (await api.get("/other")).json() == {"other": True}
        assert (await api.post(HOOK + "/")).status_code in (307, 404)  # FastAPI's own answer
        assert "/api/v1/webhooks/alertmanager" in (await api.get("/openapi.json")).json()["paths"]
    assert seen == []


def test_a_webhook_path_without_a_declared_route_is_refused() -> None:
    async def hook(request: Request) -> Response:
        return JSONResponse({})

    with pytest.raises(ValueError, match="without a declared route"):
        WebhookPath(FastAPI(), {HOOK: hook}, {})

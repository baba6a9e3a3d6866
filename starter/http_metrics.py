"""``http_requests_total{path,status}`` for every request, with the route template as ``path``.

The template (``/api/v1/incidents/{incident_id}/approve``), never the raw path, keeps the label's
cardinality bounded; a request no route matched counts as ``unmatched``. A plain ASGI middleware:
it reads the route Starlette's router leaves in the scope, after the app has answered.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter

Scope = dict[str, Any]


class HttpMetricsMiddleware:
    def __init__(self, app: Any, counter: Counter) -> None:
        self._app = app
        self._counter = counter

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        status = {"code": 500}

        async def recording_send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self._app(scope, receive, recording_send)
        finally:
            route = scope.get("route")
            path = getattr(route, "path", None) or "unmatched"
            self._counter.labels(path=path, status=str(status["code"])).inc()

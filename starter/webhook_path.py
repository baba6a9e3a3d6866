"""The webhook POSTs answered without the web framework's per-request layers.

In a storm the API's CPU per delivery is its ceiling (BENCHMARKS.md), and about an eighth of it went
into the layers between the last middleware and the endpoint: the exception middleware, an exit
stack for dependencies, routing over every route, dependency solving and the endpoint wrapper
(py-spy, bench phase 2). The webhook endpoints use none of that: they read the raw body, verify the
sender, answer JSON and map their own errors. So this middleware, the innermost, answers a POST to a
webhook path itself and hands everything else (other routes, other methods, the OpenAPI document,
where the webhook routes stay declared) to the router unchanged.

It sits inside awoooi's own middlewares (request id and 500s, the body limit, http_requests_total),
so a webhook answer is shaped exactly as before; it sets the scope's ``route`` to the FastAPI route
of the same path, as the router does, so the metrics keep the route template as label.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

Handler = Callable[[Request], Awaitable[Response]]


class WebhookPath:
    def __init__(self, app: ASGIApp, handlers: Mapping[str, Handler], routes: Mapping[str, Any]) -> None:
        """``handlers``: webhook path -> the endpoint's own handler; ``routes``: path -> the framework's
        route object declared for it (what the router would have put in the scope)."""
        missing = set(handlers) - set(routes)
        if missing:
            raise ValueError(f"webhook paths without a declared route: {sorted(missing)}")
        self._app = app
        self._paths = {path: (handler, routes[path]) for path, handler in handlers.items()}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            found = self._paths.get(scope["path"])
            if found is not None:
                handler, route = found
                scope["route"] = route
                response = await handler(Request(scope, receive))
                await response(scope, receive, send)
                return
        await self._app(scope, receive, send)


__all__ = ["WebhookPath"]

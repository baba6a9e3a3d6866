"""A request id on every request, and every unexpected exception answered 500, counted, logged once.

Pure ASGI, outside the routes: whatever a route raises that no handler maps (a bug, by definition)
is logged here once, with its traceback, the request path and the request id, and counted, so the
5xx alert rule on ``awoooi_webhook_requests_total`` can fire. The request id comes from the
sender (``X-Request-ID``, or Sentry's ``Request-ID``) so a log line can be matched with the
sender's delivery log; otherwise one is generated. It is echoed in the ``X-Request-ID`` header.
"""

from __future__ import annotations

import json
import re
import traceback
import uuid

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.metrics import Metrics

log = structlog.get_logger(__name__)

_REQUEST_ID_HEADERS = (b"x-request-id", b"request-id")
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
_WEBHOOK_PREFIX = "/api/v1/webhooks/"


def request_id(scope: Scope) -> str:
    """The sender's request id when it is a short, plain token (it goes into logs and a header)."""
    headers = dict(scope.get("headers", []))
    for name in _REQUEST_ID_HEADERS:
        value = headers.get(name, b"").decode("latin-1").strip()
        if _SAFE_ID.match(value):
            return value
    return uuid.uuid4().hex


def webhook_source(path: str) -> str | None:
    """``/api/v1/webhooks/sentry/error`` -> ``sentry``: the source label the webhook counter uses."""
    if not path.startswith(_WEBHOOK_PREFIX):
        return None
    return path[len(_WEBHOOK_PREFIX):].split("/", 1)[0] or None


class RequestErrors:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = request_id(scope)
        scope.setdefault("state", {})["request_id"] = rid
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message = {**message, "headers": [*message.get("headers", []),
                                                  (b"x-request-id", rid.encode())]}
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=rid):
            try:
                await self.app(scope, receive, send_with_id)
            except Exception as exc:  # noqa: BLE001 - the one place an unmapped error is turned into 500
                self._record(scope, exc)
                if not started:
                    body = json.dumps({"status": "error", "detail": "internal error", "request_id": rid})
                    await send_with_id({"type": "http.response.start", "status": 500,
                                        "headers": [(b"content-type", b"application/json")]})
                    await send_with_id({"type": "http.response.body", "body": body.encode()})

    def _record(self, scope: Scope, exc: Exception) -> None:
        path = scope.get("path", "")
        route = getattr(scope.get("route"), "path", None) or "unmatched"
        source = webhook_source(path)
        if source is not None:
            self.metrics.webhook_requests.labels(source=source, code="500").inc()
        self.metrics.api_errors.labels(route=route, code="500").inc()
        log.error("unhandled error", path=path, request_id=scope["state"]["request_id"], method=scope.get("method"), route=route,
                  error=type(exc).__name__,
                  traceback="".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))


__all__ = ["RequestErrors", "request_id", "webhook_source"]

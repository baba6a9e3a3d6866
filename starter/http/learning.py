"""What learning knows, read over HTTP behind AWOOOI_API_TOKEN: per anomaly key, and the playbooks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from core.errors import AuthenticationError, UpstreamError
from starter.auth import check_token
from starter.http.deps import Deps, error

router = APIRouter()


async def _answer(request: Request, deps: Deps, produce: Callable[[], Awaitable[Any]]) -> Response:
    try:
        check_token(request.headers, deps.settings.api_token)
        return JSONResponse(await produce())
    except AuthenticationError as exc:
        return error(401, str(exc))
    except UpstreamError as exc:
        return error(503, str(exc))


@router.get("/api/v1/learning/summary/{anomaly_key}")
async def learning_summary(request: Request, anomaly_key: str, deps: Deps) -> Response:
    async def produce() -> Any:
        return (await deps.learning.get_learning_summary(anomaly_key)).model_dump(mode="json")
    return await _answer(request, deps, produce)


@router.get("/api/v1/learning/recommendation/{anomaly_key}")
async def learning_recommendation(request: Request, anomaly_key: str, deps: Deps) -> Response:
    async def produce() -> Any:
        return (await deps.learning.get_recommended_fix(anomaly_key)).model_dump(mode="json")
    return await _answer(request, deps, produce)


@router.get("/api/v1/playbooks")
async def playbooks(request: Request, deps: Deps) -> Response:
    async def produce() -> Any:
        return {"playbooks": [p.model_dump(mode="json") for p in await deps.learning.playbooks()]}
    return await _answer(request, deps, produce)

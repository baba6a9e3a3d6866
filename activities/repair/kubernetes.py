"""The kubernetes executor: carries out a planned repair through lightkube's typed async client.

What it sends is decided by :func:`activities.repair.plan.plan_repair` (shared with dry-run); this
module only talks to the API server and says honestly how it answered.

How answers map (the ``core.ports.RepairExecutor`` error contract):

- 2xx -> ``executed``. A 404 on DELETE pod is ``executed`` too ("already gone"): a retry after a
  delete whose answer was lost looks exactly like that, and the pod is gone either way.
- other 4xx (401, 403 RBAC, 404 deployment, 422 invalid) -> ``failed`` with the code and the API
  server's own message: the same request will be refused again, so retrying cannot help.
- 409 (conflict), 429 (API priority and fairness), 5xx, a non-JSON error from a proxy in front of the
  API server, transport errors -> ``UpstreamError(retryable=True)`` (``RateLimited`` for a 429 with
  Retry-After), raised ``from`` the lightkube/httpx2 error.

Retries: the delete (404 = done) and the restart (the patch carries ``requested_at``, so resending it
changes nothing and starts no second rollout) are idempotent. A scale step reads the count and writes
count +/- 1, so the count it chose is pinned in the memo (the ledger) under the repair id before the
PATCH: a retry after a patch whose answer was lost sets that same count again instead of stepping twice.

Messages are built here from the status code, reason and the API server's message; the bearer token,
password and kubeconfig never reach them (the token is also redacted should a server echo it).
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable
from pathlib import Path
from typing import TypeVar

import httpx2
import msgspec
from lightkube import ApiError, AsyncClient, ConfigError, KubeConfig
from lightkube.resources.apps_v1 import Deployment, DeploymentScale
from lightkube.resources.core_v1 import Pod
from lightkube.types import PatchType

from activities.repair.plan import (
    RESTARTED_AT,
    DeletePod,
    Operation,
    RestartDeployment,
    ScaleDeployment,
    Planner,
    Unsupported,
    unsupported_result,
)
from activities.failures import retry_after_seconds
from activities.redaction import hiding, redact
from core.errors import RateLimited, UpstreamError
from core.ports import IdempotencyLedger
from core.repair import RepairRequest, RepairResult, RepairStatus

__all__ = ["FIELD_MANAGER", "KubernetesExecutor", "connect_kubernetes"]

# Shown in each object's managedFields, so `kubectl get -o yaml --show-managed-fields` tells who changed it.
FIELD_MANAGER = "awoooi"
_RETRYABLE_4XX = frozenset({408, 409, 429})
_T = TypeVar("_T")


def connect_kubernetes(kubeconfig: Path | None, context: str | None = None, *, timeout: float = 10.0) -> AsyncClient:
    """Build the lightkube client the composition root hands to :class:`KubernetesExecutor`.

    ``kubeconfig`` given: that file (``context`` or its current-context). Otherwise the in-cluster
    service account, else $KUBECONFIG / ~/.kube/config, as kubectl would. Only files are read here, no
    network I/O, so a worker starts even while the API server is unreachable. A missing file, context or
    user raises ``lightkube.ConfigError`` at once: a misconfigured executor should stop the worker at
    start-up, not fail the first repair.
    """
    config = KubeConfig.from_file(kubeconfig) if kubeconfig is not None else KubeConfig.from_env()
    single = config.get(context)
    if single.user is None:
        raise ConfigError(f"kubeconfig context {single.context_name!r} names no user")
    return AsyncClient(single, timeout=httpx2.Timeout(timeout), field_manager=FIELD_MANAGER)


class _Refused(Exception):
    """Internal: the API server (or a bound) refused an operation; becomes a ``failed`` result."""

    def __init__(self, detail: str, status_code: int | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status_code = status_code


class KubernetesExecutor:
    """Implements ``core.ports.RepairExecutor`` against a real cluster.

    Receives the client (built by :func:`connect_kubernetes` in the composition root), so tests point
    it at a loopback API server with a real kubeconfig and nothing is patched."""

    name = "kubernetes"
    dry_run = False

    def __init__(
        self, client: AsyncClient, *, default_namespace: str = "default", scale_min: int = 1, scale_max: int = 10,
        memo: IdempotencyLedger | None = None,
    ) -> None:
        self._client = client
        self._planner = Planner(default_namespace, scale_min, scale_max)
        self._memo = memo
        user = client.config.user
        self._secrets = hiding(getattr(user, "token", None), getattr(user, "password", None))

    def __repr__(self) -> str:
        return f"KubernetesExecutor({self._planner!r})"

    def check(self, request: RepairRequest) -> str | None:
        return self._planner.check(request)

    async def execute(self, request: RepairRequest) -> RepairResult:
        planned = self._planner.plan(request)
        if isinstance(planned, Unsupported):
            return unsupported_result(request, self.name, planned)
        started = time.monotonic()
        operations: list[str] = []
        details: list[str] = []
        for operation in planned:
            try:
                line, detail = await self._run(operation, request.repair_id)
            except _Refused as refused:
                return self._result(request, RepairStatus.FAILED, refused.detail, operations, started)
            operations.append(line)
            details.append(detail)
        return self._result(request, RepairStatus.EXECUTED, "; ".join(details), operations, started)

    def _result(
        self, request: RepairRequest, status: RepairStatus, detail: str, operations: list[str], started: float
    ) -> RepairResult:
        return RepairResult(
            repair_id=request.repair_id,
            action=request.action,
            executor=self.name,
            status=status,
            detail=detail,
            operations=operations,
            execution_seconds=time.monotonic() - started,
        )

    async def _run(self, operation: Operation, repair_id: str) -> tuple[str, str]:
        """Carry out one operation; return its line for ``operations`` and a sentence for ``detail``."""
        if isinstance(operation, DeletePod):
            return await self._delete_pod(operation)
        if isinstance(operation, RestartDeployment):
            return await self._restart(operation)
        return await self._scale(operation, repair_id)

    async def _delete_pod(self, op: DeletePod) -> tuple[str, str]:
        where = f"{op.namespace}/{op.pod}"
        try:
            await self._api(op.describe(), self._client.delete(Pod, op.pod, namespace=op.namespace))
        except _Refused as refused:
            if refused.status_code == 404:
                return op.describe(), f"pod {where} already gone"
            raise
        return op.describe(), f"pod {where} deleted; its controller starts a replacement"

    async def _restart(self, op: RestartDeployment) -> tuple[str, str]:
        await self._api(
            op.describe(),
            self._client.patch(
                Deployment, op.deployment, op.patch, namespace=op.namespace, patch_type=PatchType.STRATEGIC
            ),
        )
        return op.describe(), (
            f"rollout restart of deployment {op.namespace}/{op.deployment} requested "
            f"({RESTARTED_AT}={op.restarted_at})"
        )

    async def _scale(self, op: ScaleDeployment, repair_id: str) -> tuple[str, str]:
        where = f"{op.namespace}/{op.deployment}"
        scale = await self._api(
            f"GET deployment {where}/scale", self._client.get(DeploymentScale, op.deployment, namespace=op.namespace)
        )
        try:
            # autoscaling/v1 omits replicas when it is 0 (omitempty).
            current = int((scale.spec.replicas if scale.spec is not None else None) or 0)
        except (ValueError, TypeError, msgspec.MsgspecError) as exc:
            raise UpstreamError(f"kubernetes GET deployment {where}/scale: malformed Scale", retryable=True) from exc
        pinned = await self._memo.scale_pin(repair_id) if self._memo is not None else None
        new = int(pinned) if pinned is not None else op.target(current)
        if new is None:
            raise _Refused(op.bound_reached(current))
        if pinned is None and self._memo is not None:
            await self._memo.pin_scale(repair_id, str(new))
        line = op.describe_patch(current, new)
        await self._api(
            line,
            self._client.patch(
                DeploymentScale, op.deployment, {"spec": {"replicas": new}},
                namespace=op.namespace, patch_type=PatchType.MERGE,
            ),
        )
        return line, f"deployment {where} scaled from {current} to {new} replicas"

    async def _api(self, what: str, call: Awaitable[_T]) -> _T:
        """Await one lightkube call, turning its errors into ``_Refused`` or ``UpstreamError``."""
        try:
            return await call
        except httpx2.HTTPStatusError as exc:  # ApiError is one; a proxy's non-JSON error is the plain kind
            raise self._status_error(what, exc) from exc
        except httpx2.TransportError as exc:  # connect, read, timeout: the request may not have arrived
            raise UpstreamError(f"kubernetes {what}: {type(exc).__name__}", retryable=True) from exc
        except ConfigError as exc:  # e.g. the token file or the exec credential plugin failed
            raise _Refused(f"{what}: kubernetes credentials unavailable: {self._clean(str(exc))}") from exc
        except (httpx2.HTTPError, msgspec.MsgspecError, json.JSONDecodeError) as exc:  # a malformed answer
            raise UpstreamError(f"kubernetes {what}: unreadable answer ({type(exc).__name__})", retryable=True) from exc

    def _status_error(self, what: str, exc: httpx2.HTTPStatusError) -> Exception:
        code = exc.response.status_code
        if isinstance(exc, ApiError):
            code = exc.status.code or code
            reason = exc.status.reason or "Failure"
            message = self._clean(exc.status.message or "no message")
        else:
            content_type = exc.response.headers.get("content-type", "no content type")
            reason, message = "error", f"non-Kubernetes answer ({self._clean(content_type)})"
        text = f"{what}: HTTP {code} {reason}: {message}"
        if code == 429:
            wait = retry_after_seconds(exc.response.headers.get("retry-after"))
            return RateLimited(f"kubernetes {text}", retry_after=wait)
        if code >= 500 or code in _RETRYABLE_4XX:
            return UpstreamError(f"kubernetes {text}", retryable=True, status_code=code)
        return _Refused(f"{text} (refused)", status_code=code)

    def _clean(self, text: str) -> str:
        return redact(text, self._secrets)[:300]


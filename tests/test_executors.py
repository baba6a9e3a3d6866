"""The repair executors over real HTTP: dry-run, kubernetes (lightkube against a loopback API server,
configured through a real kubeconfig file) and webhook (a loopback runbook that verifies signatures).

What matters here: dry-run says exactly what kubernetes does; each action becomes the documented API
call; retries are harmless where the API lets us tell (404 on delete = already gone, the same
restartedAt twice = one rollout, one job per repair_id); refusals are ``failed`` while transient
trouble raises a retryable ``UpstreamError``; and no credential ever reaches a message.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest
from lightkube import AsyncClient, ConfigError

from activities.repair import DryRunExecutor, KubernetesExecutor, WebhookExecutor, connect_kubernetes
from activities.repair.plan import (
    DeletePod,
    RestartDeployment,
    ScaleDeployment,
    Unsupported,
    plan_repair,
    rfc3339,
)
from core.errors import RateLimited, UpstreamError
from core.models import RepairAction
from core.repair import HUMAN_ACTIONS, RepairRequest, RepairResult, RepairStatus, RepairTarget
from tests.loopback.kubernetes import MERGE, RESTARTED_AT, STRATEGIC, KubernetesLoopback, write_kubeconfig
from starter.embedded import free_port
from tests.loopback.runbook import RunbookLoopback

NS = "payments"
POD = "api-7d4b9c8f6-x2x9k"
REQUESTED_AT = datetime(2026, 11, 25, 10, 0, 0, 250_000, tzinfo=UTC)
SUPPORTED = [RepairAction.DELETE_POD, RepairAction.RESTART_POD, RepairAction.RESTART_CONTAINER,
             RepairAction.SCALE_UP, RepairAction.SCALE_DOWN]
UNSUPPORTED = [a for a in RepairAction if a not in SUPPORTED]


def make_request(action: RepairAction, target: RepairTarget | None = None, repair_id: str = "rep-1") -> RepairRequest:
    return RepairRequest(
        repair_id=repair_id,
        incident_id="inc-1",
        anomaly_key="alertmanager:KubePodCrashLooping:payments/api",
        action=action,
        tier=action.tier,
        target=target if target is not None else RepairTarget(namespace=NS, pod=POD, deployment="api", container="app"),
        alert_title="KubePodCrashLooping payments/api",
        requested_by="auto",
        requested_at=REQUESTED_AT,
    )


def assert_secret_free(exc_or_result: BaseException | RepairResult, *secrets: str) -> None:
    texts = [str(exc_or_result), repr(exc_or_result)]
    if isinstance(exc_or_result, RepairResult):
        texts.append(exc_or_result.model_dump_json())
    for secret in secrets:
        assert all(secret not in text for text in texts), secret


# ------------------------------------------------------------------------------------- fixtures


@pytest.fixture
def kube() -> Iterator[KubernetesLoopback]:
    with KubernetesLoopback() as loopback:
        loopback.add_pod(NS, POD)
        loopback.add_deployment(NS, "api", replicas=3)
        loopback.add_deployment("default", "web", replicas=1)
        yield loopback


@pytest.fixture
def kubeconfig(tmp_path: Path, kube: KubernetesLoopback) -> Path:
    return write_kubeconfig(tmp_path / "kubeconfig", kube.base_url, kube.token, namespace=NS)


@pytest.fixture
async def k8s_client(kubeconfig: Path) -> AsyncIterator[AsyncClient]:
    client = connect_kubernetes(kubeconfig, None)
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
def k8s(k8s_client: AsyncClient) -> KubernetesExecutor:
    return KubernetesExecutor(k8s_client)


@pytest.fixture
def runbook() -> Iterator[RunbookLoopback]:
    with RunbookLoopback(token="hooktoken-s3cr3t") as loopback:
        yield loopback


# ------------------------------------------------------------------------------------- the plan


def test_plan_for_each_supported_action() -> None:
    stamp = "2026-11-25T10:00:00Z"
    assert plan_repair(make_request(RepairAction.DELETE_POD)) == [DeletePod(NS, POD)]
    assert plan_repair(make_request(RepairAction.RESTART_POD)) == [RestartDeployment(NS, "api", stamp)]
    assert plan_repair(make_request(RepairAction.RESTART_CONTAINER)) == [RestartDeployment(NS, "api", stamp)]
    assert plan_repair(make_request(RepairAction.SCALE_UP), scale_min=2, scale_max=5) == [
        ScaleDeployment(NS, "api", +1, 2, 5)]
    assert plan_repair(make_request(RepairAction.SCALE_DOWN)) == [ScaleDeployment(NS, "api", -1, 1, 10)]
    restart = RestartDeployment(NS, "api", stamp)
    assert restart.patch == {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: stamp}}}}}
    assert DeletePod(NS, POD).describe() == f"DELETE pod {NS}/{POD}"


def test_namespace_falls_back_to_the_default() -> None:
    request = make_request(RepairAction.DELETE_POD, RepairTarget(pod="web-5f6d8c9b7-abcde"))
    assert plan_repair(request, default_namespace="ops") == [DeletePod("ops", "web-5f6d8c9b7-abcde")]


def test_restart_stamp_is_utc_rfc3339_from_requested_at() -> None:
    assert rfc3339(datetime(2026, 11, 25, 11, 30, 5, 999_999, tzinfo=timezone(timedelta(hours=1)))) == (
        "2026-11-25T10:30:05Z")
    assert rfc3339(datetime(2026, 11, 25, 10, 0)) == "2026-11-25T10:00:00Z"


@pytest.mark.parametrize("action", UNSUPPORTED)
def test_plan_refuses_what_kubernetes_cannot_do(action: RepairAction) -> None:
    planned = plan_repair(make_request(action))
    assert planned == Unsupported(f"the kubernetes executor cannot {action.value}; a human must")


@pytest.mark.parametrize(
    ("action", "target", "label"),
    [
        (RepairAction.DELETE_POD, RepairTarget(namespace=NS, deployment="api"), "'pod'"),
        (RepairAction.RESTART_POD, RepairTarget(namespace=NS, pod="standalone"), "'deployment'"),
        (RepairAction.SCALE_UP, RepairTarget(namespace=NS), "'deployment'"),
    ],
)
def test_plan_names_the_missing_label(action: RepairAction, target: RepairTarget, label: str) -> None:
    planned = plan_repair(make_request(action, target))
    assert isinstance(planned, Unsupported)
    assert label in planned.reason and action.value in planned.reason


def test_scale_step_rule() -> None:
    up, down = ScaleDeployment(NS, "api", +1, 1, 3), ScaleDeployment(NS, "api", -1, 1, 3)
    assert [up.target(n) for n in (0, 1, 2, 3, 7)] == [1, 2, 3, None, None]
    assert [down.target(n) for n in (0, 1, 2, 3, 7)] == [None, None, 1, 2, 6]  # one step, even from 7


def test_bad_bounds_are_refused_at_construction() -> None:
    with pytest.raises(ValueError, match="bounds"):
        DryRunExecutor(scale_min=5, scale_max=2)


# ---------------------------------------------------------------------------------------- dry-run


@pytest.mark.parametrize("action", SUPPORTED)
async def test_dry_run_records_the_plan(action: RepairAction) -> None:
    result = await DryRunExecutor(default_namespace="ops", scale_min=1, scale_max=4).execute(make_request(action))
    assert result.status is RepairStatus.SIMULATED
    assert result.executor == "dry-run" and result.repair_id == "rep-1" and result.action is action
    assert result.detail == "dry-run: nothing was changed"
    assert result.status is not RepairStatus.EXECUTED
    planned = plan_repair(make_request(action), default_namespace="ops", scale_min=1, scale_max=4)
    assert isinstance(planned, list)
    assert result.operations == [op.describe() for op in planned]


async def test_dry_run_lines_read_well() -> None:
    dry = DryRunExecutor()
    assert (await dry.execute(make_request(RepairAction.DELETE_POD))).operations == [f"DELETE pod {NS}/{POD}"]
    assert (await dry.execute(make_request(RepairAction.RESTART_POD))).operations == [
        f"PATCH deployment {NS}/api {RESTARTED_AT}=2026-11-25T10:00:00Z"]
    assert (await dry.execute(make_request(RepairAction.SCALE_DOWN))).operations == [
        f"scale deployment {NS}/api by -1 within [1,10]"]


@pytest.mark.parametrize("action", [RepairAction.INCREASE_MEMORY, RepairAction.ROLLBACK, *sorted(HUMAN_ACTIONS)])
async def test_dry_run_unsupported(action: RepairAction) -> None:
    result = await DryRunExecutor().execute(make_request(action))
    assert result.status is RepairStatus.UNSUPPORTED
    assert result.operations == []
    assert f"cannot {action.value}" in result.detail


# ------------------------------------------------------------------------------------- kubernetes


async def test_delete_pod(k8s: KubernetesExecutor, kube: KubernetesLoopback) -> None:
    request = make_request(RepairAction.DELETE_POD)
    result = await k8s.execute(request)
    assert result.status is RepairStatus.EXECUTED
    assert result.executor == "kubernetes"
    assert result.operations == (await DryRunExecutor().execute(request)).operations
    assert result.detail == f"pod {NS}/{POD} deleted; its controller starts a replacement"
    assert result.execution_seconds > 0
    assert (NS, POD) not in kube.pods
    assert [(c.method, c.path) for c in kube.calls] == [("DELETE", f"/api/v1/namespaces/{NS}/pods/{POD}")]
    assert kube.violations == []


async def test_delete_pod_again_is_already_gone(k8s: KubernetesExecutor, kube: KubernetesLoopback) -> None:
    request = make_request(RepairAction.DELETE_POD)
    await k8s.execute(request)
    retried = await k8s.execute(request)  # what a retry after a lost answer sees: 404
    assert retried.status is RepairStatus.EXECUTED
    assert retried.detail == f"pod {NS}/{POD} already gone"
    assert retried.operations == [f"DELETE pod {NS}/{POD}"]
    assert len(kube.calls) == 2 and kube.violations == []


@pytest.mark.parametrize("action", [RepairAction.RESTART_POD, RepairAction.RESTART_CONTAINER])
async def test_rollout_restart(k8s: KubernetesExecutor, kube: KubernetesLoopback, action: RepairAction) -> None:
    request = make_request(action)
    result = await k8s.execute(request)
    assert result.status is RepairStatus.EXECUTED
    assert result.operations == (await DryRunExecutor().execute(request)).operations
    (call,) = kube.calls
    assert (call.method, call.path, call.content_type) == ("PATCH", f"/apis/apps/v1/namespaces/{NS}/deployments/api",
                                                          STRATEGIC)
    assert call.body == {"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: "2026-11-25T10:00:00Z"}}}}}
    assert call.query == {"fieldManager": "awoooi"}
    assert kube.deployments[(NS, "api")].rollouts == 1
    assert kube.violations == []


async def test_retried_restart_sends_the_same_patch_and_restarts_once(
    k8s: KubernetesExecutor, kube: KubernetesLoopback
) -> None:
    request = make_request(RepairAction.RESTART_POD)
    await k8s.execute(request)
    await k8s.execute(request)
    assert kube.calls[0].body == kube.calls[1].body
    assert kube.deployments[(NS, "api")].rollouts == 1
    later = request.model_copy(update={"repair_id": "rep-2", "requested_at": REQUESTED_AT + timedelta(hours=1)})
    await k8s.execute(later)
    assert kube.deployments[(NS, "api")].rollouts == 2
    assert kube.violations == []


@pytest.mark.parametrize(("action", "expected"), [(RepairAction.SCALE_UP, 4), (RepairAction.SCALE_DOWN, 2)])
async def test_scale_step(k8s: KubernetesExecutor, kube: KubernetesLoopback, action: RepairAction, expected: int) -> None:
    result = await k8s.execute(make_request(action))
    assert result.status is RepairStatus.EXECUTED
    assert result.operations == [f"PATCH deployment {NS}/api/scale replicas={expected} (was 3)"]
    assert result.detail == f"deployment {NS}/api scaled from 3 to {expected} replicas"
    assert kube.deployments[(NS, "api")].replicas == expected
    scale_path = f"/apis/apps/v1/namespaces/{NS}/deployments/api/scale"
    assert [(c.method, c.path, c.content_type) for c in kube.calls] == [("GET", scale_path, ""),
                                                                        ("PATCH", scale_path, MERGE)]
    assert kube.calls[1].body == {"spec": {"replicas": expected}}
    assert kube.violations == []


@pytest.mark.parametrize(
    ("action", "replicas", "bound"), [(RepairAction.SCALE_UP, 4, "maximum 4"), (RepairAction.SCALE_DOWN, 2, "minimum 2")]
)
async def test_scale_at_bound_fails_without_patching(
    k8s_client: AsyncClient, kube: KubernetesLoopback, action: RepairAction, replicas: int, bound: str
) -> None:
    kube.add_deployment(NS, "api", replicas=replicas)
    executor = KubernetesExecutor(k8s_client, scale_min=2, scale_max=4)
    result = await executor.execute(make_request(action))
    assert result.status is RepairStatus.FAILED
    assert bound in result.detail and "nothing was patched" in result.detail
    assert result.operations == []
    assert [c.method for c in kube.calls] == ["GET"]
    assert kube.deployments[(NS, "api")].replicas == replicas
    assert kube.violations == []


async def test_scale_up_from_zero(k8s: KubernetesExecutor, kube: KubernetesLoopback) -> None:
    kube.add_deployment(NS, "api", replicas=0)  # the Scale then has no spec.replicas (omitempty)
    result = await k8s.execute(make_request(RepairAction.SCALE_UP))
    assert result.status is RepairStatus.EXECUTED
    assert kube.deployments[(NS, "api")].replicas == 1


async def test_default_namespace_from_the_executor(k8s_client: AsyncClient, kube: KubernetesLoopback) -> None:
    executor = KubernetesExecutor(k8s_client, default_namespace="default")
    result = await executor.execute(make_request(RepairAction.SCALE_UP, RepairTarget(deployment="web")))
    assert result.status is RepairStatus.EXECUTED
    assert kube.deployments[("default", "web")].replicas == 2
    assert all(c.path.startswith("/apis/apps/v1/namespaces/default/") for c in kube.calls)


@pytest.mark.parametrize("action", [RepairAction.INCREASE_MEMORY, RepairAction.APPLY_HOTFIX,
                                    RepairAction.ROLLBACK, RepairAction.MANUAL_INTERVENTION])
async def test_kubernetes_unsupported_touches_nothing(
    k8s: KubernetesExecutor, kube: KubernetesLoopback, action: RepairAction
) -> None:
    result = await k8s.execute(make_request(action))
    assert result.status is RepairStatus.UNSUPPORTED
    assert result.detail == f"the kubernetes executor cannot {action.value}; a human must"
    assert kube.calls == []


async def test_kubernetes_missing_label(k8s: KubernetesExecutor, kube: KubernetesLoopback) -> None:
    result = await k8s.execute(make_request(RepairAction.RESTART_POD, RepairTarget(namespace=NS)))
    assert result.status is RepairStatus.UNSUPPORTED and "'deployment'" in result.detail
    assert kube.calls == []


async def test_forbidden_is_failed_with_the_api_message(k8s: KubernetesExecutor, kube: KubernetesLoopback) -> None:
    message = (f'pods "{POD}" is forbidden: User "system:serviceaccount:awoooi:awoooi" cannot delete '
               f'resource "pods" in API group "" in the namespace "{NS}"')
    kube.fail_next(403, message)
    result = await k8s.execute(make_request(RepairAction.DELETE_POD))
    assert result.status is RepairStatus.FAILED
    assert "HTTP 403 Forbidden" in result.detail and message in result.detail
    assert result.operations == []
    assert (NS, POD) in kube.pods
    assert_secret_free(result, kube.token)


async def test_missing_deployment_is_failed(k8s: KubernetesExecutor, kube: KubernetesLoopback) -> None:
    target = RepairTarget(namespace=NS, deployment="ghost")
    for action in (RepairAction.RESTART_POD, RepairAction.SCALE_UP):
        result = await k8s.execute(make_request(action, target))
        assert result.status is RepairStatus.FAILED
        assert 'HTTP 404 NotFound: deployments.apps "ghost" not found' in result.detail
    assert kube.violations == []


async def test_invalid_is_failed(k8s: KubernetesExecutor, kube: KubernetesLoopback) -> None:
    kube.fail_next(422, 'Deployment.apps "api" is invalid')
    result = await k8s.execute(make_request(RepairAction.RESTART_POD))
    assert result.status is RepairStatus.FAILED and "HTTP 422 Invalid" in result.detail


async def test_wrong_token_is_failed_and_never_shown(tmp_path: Path, kube: KubernetesLoopback) -> None:
    secret = "wrong-token-do-not-print-7777"
    client = connect_kubernetes(write_kubeconfig(tmp_path / "bad", kube.base_url, secret), None)
    try:
        result = await KubernetesExecutor(client).execute(make_request(RepairAction.DELETE_POD))
    finally:
        await client.close()
    assert result.status is RepairStatus.FAILED and "HTTP 401" in result.detail
    assert_secret_free(result, secret)
    assert kube.violations == []  # the header was sent, only its value was wrong


@pytest.mark.parametrize(("status", "after"), [(500, 0), (503, 0), (409, 1), (504, 1)])
async def test_server_errors_and_conflicts_are_retryable(
    k8s: KubernetesExecutor, kube: KubernetesLoopback, status: int, after: int
) -> None:
    kube.fail_next(status, "etcdserver: request timed out", after=after)
    with pytest.raises(UpstreamError) as info:
        await k8s.execute(make_request(RepairAction.SCALE_UP))
    assert info.value.retryable is True and info.value.status_code == status
    assert isinstance(info.value.__cause__, httpx_status_error())
    assert_secret_free(info.value, kube.token)
    assert kube.deployments[(NS, "api")].replicas == 3


async def test_too_many_requests_is_rate_limited(k8s: KubernetesExecutor, kube: KubernetesLoopback) -> None:
    kube.fail_next(429, "storage is (re)initializing", headers={"Retry-After": "3"})
    with pytest.raises(RateLimited) as info:
        await k8s.execute(make_request(RepairAction.DELETE_POD))
    assert info.value.retryable is True and info.value.retry_after == 3.0


async def test_non_json_proxy_error_is_retryable(k8s: KubernetesExecutor, kube: KubernetesLoopback) -> None:
    kube.fail_next(502, "Bad Gateway", json_body=False)
    with pytest.raises(UpstreamError) as info:
        await k8s.execute(make_request(RepairAction.RESTART_POD))
    assert info.value.retryable is True and info.value.status_code == 502
    assert "non-Kubernetes answer (text/html)" in str(info.value)


async def test_unreachable_api_server_is_retryable(tmp_path: Path) -> None:
    token = "unreachable-token-31337"
    client = connect_kubernetes(write_kubeconfig(tmp_path / "kc", f"http://127.0.0.1:{free_port()}", token), None)
    try:
        with pytest.raises(UpstreamError) as info:
            await KubernetesExecutor(client).execute(make_request(RepairAction.DELETE_POD))
    finally:
        await client.close()
    assert info.value.retryable is True
    assert str(info.value) == f"kubernetes DELETE pod {NS}/{POD}: ConnectError"
    assert_secret_free(info.value, token)


def httpx_status_error() -> type[BaseException]:
    """lightkube 1.0 speaks httpx2 (its own httpx fork); its errors are what we chain from."""
    import httpx2

    return httpx2.HTTPStatusError


# ----------------------------------------------------------------------------- connect_kubernetes


async def test_connect_picks_the_named_context(kubeconfig: Path) -> None:
    client = connect_kubernetes(kubeconfig, "elsewhere")
    try:
        assert client.config.context_name == "elsewhere"
        assert client.namespace == "default"
    finally:
        await client.close()
    client = connect_kubernetes(kubeconfig, None)
    try:
        assert (client.config.context_name, client.namespace) == ("loopback", NS)
    finally:
        await client.close()


def test_connect_fails_fast_on_bad_configuration(tmp_path: Path, kubeconfig: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        connect_kubernetes(kubeconfig, "no-such-context")
    with pytest.raises(ConfigError, match="not found"):
        connect_kubernetes(tmp_path / "missing", None)


# ---------------------------------------------------------------------------------------- webhook


async def test_webhook_posts_a_signed_request(http: httpx.AsyncClient, runbook: RunbookLoopback) -> None:
    executor = WebhookExecutor(http, runbook.url(), runbook.secret)
    request = make_request(RepairAction.RESTART_POD)
    result = await executor.execute(request)
    assert result.status is RepairStatus.EXECUTED and result.executor == "webhook"
    assert result.detail.startswith("POST runbook at 127.0.0.1: HTTP 202: ")
    assert '"status":"accepted"' in result.detail.replace(" ", "")
    assert result.operations == ["POST runbook 127.0.0.1 action=restart_pod repair_id=rep-1"]
    (call,) = runbook.calls
    assert call.body == request.model_dump(mode="json")
    assert call.headers["x-awoooi-signature"].startswith("sha256=")
    assert call.headers["idempotency-key"] == call.headers["x-awoooi-repair-id"] == "rep-1"
    assert runbook.runs == {"rep-1": 1}
    assert runbook.violations == []


async def test_webhook_retry_runs_the_job_once(http: httpx.AsyncClient, runbook: RunbookLoopback) -> None:
    executor = WebhookExecutor(http, runbook.url(), runbook.secret)
    request = make_request(RepairAction.SCALE_UP)
    first, second = await executor.execute(request), await executor.execute(request)
    assert first.status is second.status is RepairStatus.EXECUTED
    assert runbook.calls[0].raw == runbook.calls[1].raw
    assert runbook.runs == {"rep-1": 1}
    assert runbook.violations == []


async def test_webhook_without_secret_sends_no_signature(http: httpx.AsyncClient) -> None:
    with RunbookLoopback(secret=None) as unsigned:
        result = await WebhookExecutor(http, unsigned.url(), None).execute(make_request(RepairAction.DELETE_POD))
        assert result.status is RepairStatus.EXECUTED
        assert "x-awoooi-signature" not in unsigned.calls[0].headers
        assert unsigned.violations == []


async def test_webhook_wrong_secret_is_refused(http: httpx.AsyncClient, runbook: RunbookLoopback) -> None:
    wrong = "not-the-shared-secret"
    result = await WebhookExecutor(http, runbook.url(), wrong).execute(make_request(RepairAction.DELETE_POD))
    assert result.status is RepairStatus.FAILED and "HTTP 401" in result.detail
    assert runbook.violations and "bad or missing X-Awoooi-Signature" in runbook.violations[0]  # the receiver noticed
    assert_secret_free(result, wrong)


@pytest.mark.parametrize("status", [400, 403, 404, 422])
async def test_webhook_client_errors_fail(http: httpx.AsyncClient, runbook: RunbookLoopback, status: int) -> None:
    runbook.answer_next(status, "job template 'restart' is disabled")
    result = await WebhookExecutor(http, runbook.url(), runbook.secret).execute(make_request(RepairAction.DELETE_POD))
    assert result.status is RepairStatus.FAILED
    assert f"HTTP {status}: job template 'restart' is disabled" in result.detail
    assert result.operations == []
    assert runbook.runs == {}


@pytest.mark.parametrize("status", [408, 500, 502, 503])
async def test_webhook_transient_errors_are_retryable(
    http: httpx.AsyncClient, runbook: RunbookLoopback, status: int
) -> None:
    runbook.answer_next(status, "try later")
    with pytest.raises(UpstreamError) as info:
        await WebhookExecutor(http, runbook.url(), runbook.secret).execute(make_request(RepairAction.DELETE_POD))
    assert info.value.retryable is True and info.value.status_code == status
    assert info.value.__cause__ is None  # an HTTP answer, not a library error: nothing to chain


async def test_webhook_429_is_rate_limited(http: httpx.AsyncClient, runbook: RunbookLoopback) -> None:
    runbook.answer_next(429, "slow down", headers={"Retry-After": "7"})
    with pytest.raises(RateLimited) as info:
        await WebhookExecutor(http, runbook.url(), runbook.secret).execute(make_request(RepairAction.DELETE_POD))
    assert info.value.retry_after == 7.0


async def test_webhook_credentials_never_reach_text(
    http: httpx.AsyncClient, runbook: RunbookLoopback, caplog: pytest.LogCaptureFixture
) -> None:
    url = runbook.url(userinfo="deploy:hunter2%21password")
    assert runbook.token and runbook.token in url
    executor = WebhookExecutor(http, url, runbook.secret)
    secrets = (runbook.token, "hunter2%21password", "hunter2!password", runbook.secret or "", url)
    assert_secret_free(ValueError(repr(executor)), *secrets)

    # The receiver echoes the URL and the secret back (a debugging page would).
    runbook.answer_next(400, f"bad request to {url} as hunter2!password signed with {runbook.secret}")
    with caplog.at_level(logging.DEBUG):
        refused = await executor.execute(make_request(RepairAction.DELETE_POD))
    assert refused.status is RepairStatus.FAILED and "<redacted>" in refused.detail
    assert_secret_free(refused, *secrets)

    runbook.answer_next(500, f"upstream {url} failed")
    with pytest.raises(UpstreamError) as info:
        await executor.execute(make_request(RepairAction.DELETE_POD))
    assert_secret_free(info.value, *secrets)

    down = WebhookExecutor(http, f"http://deploy:hunter2-password@127.0.0.1:{free_port()}/hooks/x?token=t0k", None)
    with pytest.raises(UpstreamError) as unreachable:
        await down.execute(make_request(RepairAction.DELETE_POD))
    assert unreachable.value.retryable is True
    assert str(unreachable.value) == "POST runbook at 127.0.0.1: ConnectError"
    assert_secret_free(unreachable.value, "hunter2-password", "t0k")

    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "HTTP Request: POST" in logged  # httpx did log the requests...
    for secret in secrets:
        assert secret not in logged  # ...without the URL's credentials


async def test_webhook_rejects_a_relative_url(http: httpx.AsyncClient) -> None:
    with pytest.raises(ValueError, match="absolute") as info:
        WebhookExecutor(http, "/hooks/x?token=abc", None)
    assert "abc" not in str(info.value)


async def test_webhook_redirect_is_failed(http: httpx.AsyncClient, runbook: RunbookLoopback) -> None:
    runbook.answer_next(302, "", headers={"Location": "/elsewhere"})
    result = await WebhookExecutor(http, runbook.url(), runbook.secret).execute(make_request(RepairAction.DELETE_POD))
    assert result.status is RepairStatus.FAILED and "HTTP 302" in result.detail
    assert [c.path for c in runbook.calls] == ["/hooks/awoooi"]  # not followed


# ------------------------------------------------------------------- the loopbacks check something


async def test_the_kubernetes_loopback_catches_contract_breaks(http: httpx.AsyncClient, kube: KubernetesLoopback) -> None:
    auth = {"Authorization": f"Bearer {kube.token}"}
    deployment = f"{kube.base_url}/apis/apps/v1/namespaces/{NS}/deployments/api"

    def restart(stamp: str, **extra: str) -> bytes:
        return json.dumps({"spec": {"template": {"metadata": {"annotations": {RESTARTED_AT: stamp, **extra}}}}}).encode()

    answers = [
        await http.patch(deployment, content=restart("2026-11-25T10:00:00Z"), headers={**auth, "Content-Type": MERGE}),
        await http.patch(deployment, content=restart("yesterday"), headers={**auth, "Content-Type": STRATEGIC}),
        await http.patch(deployment, content=restart("2026-11-25T10:00:00Z", x="y"),
                         headers={**auth, "Content-Type": STRATEGIC}),
        await http.patch(f"{deployment}/scale", content=b'{"spec":{"replicas":"4"}}', headers={**auth, "Content-Type": MERGE}),
        await http.delete(deployment, headers=auth),
        await http.delete(f"{kube.base_url}/api/v1/namespaces/{NS}/pods/{POD}"),
    ]
    assert [a.status_code for a in answers] == [200, 200, 422, 422, 405, 401]
    assert answers[2].json()["kind"] == "Status" and answers[2].json()["reason"] == "Invalid"
    assert len(kube.violations) == 6, kube.violations
    assert (NS, POD) in kube.pods


async def test_the_runbook_loopback_checks_signatures(http: httpx.AsyncClient, runbook: RunbookLoopback) -> None:
    body = make_request(RepairAction.DELETE_POD).model_dump_json().encode()
    answer = await http.post(runbook.url(), content=body, headers={
        "Content-Type": "application/json", "X-Awoooi-Timestamp": "1", "X-Awoooi-Signature": "sha256=00"})
    assert answer.status_code == 401
    assert runbook.violations and runbook.runs == {}


async def test_a_retried_scale_sets_the_pinned_count_instead_of_stepping_twice(
        k8s_client: AsyncClient, kube: KubernetesLoopback, redis) -> None:
    """The PATCH went through but its answer was lost (a 504 from a proxy after the change): the
    retry finds the count pinned under the repair id and sets it again, not count + 1."""
    from activities.valkey.ledger import RedisLedger

    executor = KubernetesExecutor(k8s_client, memo=RedisLedger(redis))
    request = make_request(RepairAction.SCALE_UP, repair_id="rep-scale-1")
    kube.fail_next(504, "gateway timeout after the change", after=1, apply=True)
    with pytest.raises(UpstreamError):
        await executor.execute(request)
    assert kube.deployments[(NS, "api")].replicas == 4, "the lost answer's change happened"
    result = await executor.execute(request)
    assert result.status is RepairStatus.EXECUTED
    assert kube.deployments[(NS, "api")].replicas == 4, "one step, not two"
    assert result.operations == [f"PATCH deployment {NS}/api/scale replicas=4 (was 4)"]

"""SentryClient against the loopback Sentry over real HTTP: the organization-scoped endpoint, the
"already posted" idempotency answer, and the error mapping (401/403 final, 429 and 5xx retryable)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from activities.sentry.client import SentryClient
from core.errors import RateLimited, UpstreamError
from tests.loopback.sentry import SentryLoopback


@pytest.fixture
def sentry() -> Iterator[SentryLoopback]:
    with SentryLoopback() as loopback:
        yield loopback


@pytest.fixture
def client(http: httpx.AsyncClient, sentry: SentryLoopback) -> SentryClient:
    return SentryClient(http, sentry.base_url, sentry.token)


def _assert_no_token(exc: BaseException, token: str) -> None:
    assert token not in str(exc)
    assert token not in repr(exc)


async def test_post_comment_uses_org_scoped_endpoint(client: SentryClient, sentry: SentryLoopback) -> None:
    assert await client.post_comment(sentry.org, "4711", "root cause: disk full") == "posted"
    assert sentry.comments == {"4711": ["root cause: disk full"]}
    assert sentry.calls == [
        ("POST", "/api/0/organizations/test-org/issues/4711/comments/", {"text": "root cause: disk full"})
    ]
    assert sentry.violations == []


async def test_same_comment_twice_is_already_posted(client: SentryClient, sentry: SentryLoopback) -> None:
    assert await client.post_comment(sentry.org, "1", "analysis") == "posted"
    assert await client.post_comment(sentry.org, "1", "analysis") == "already_posted"
    assert await client.post_comment(sentry.org, "2", "analysis") == "posted"
    assert sentry.comments == {"1": ["analysis"], "2": ["analysis"]}
    assert sentry.violations == []


async def test_path_segments_are_quoted(client: SentryClient, sentry: SentryLoopback) -> None:
    assert await client.post_comment(sentry.org, "12/34 x", "quoted") == "posted"
    assert sentry.calls[0][1] == "/api/0/organizations/test-org/issues/12%2F34%20x/comments/"
    assert sentry.comments == {"12/34 x": ["quoted"]}
    assert sentry.violations == []


async def test_wrong_token_is_not_retryable(http: httpx.AsyncClient, sentry: SentryLoopback) -> None:
    secret = "sntrys_WRONG_secret"
    client = SentryClient(http, sentry.base_url, secret)
    with pytest.raises(UpstreamError) as info:
        await client.post_comment(sentry.org, "1", "text")
    assert info.value.retryable is False
    assert info.value.status_code == 401
    _assert_no_token(info.value, secret)
    assert secret not in repr(client)


@pytest.mark.parametrize("status", [403, 404, 422])
async def test_client_errors_are_not_retryable(client: SentryClient, sentry: SentryLoopback, status: int) -> None:
    sentry.fail_next(status, {"detail": "You do not have permission to perform this action."})
    with pytest.raises(UpstreamError) as info:
        await client.post_comment(sentry.org, "1", "text")
    assert info.value.retryable is False
    assert info.value.status_code == status
    _assert_no_token(info.value, sentry.token)


async def test_unknown_org_is_not_retryable(client: SentryClient, sentry: SentryLoopback) -> None:
    with pytest.raises(UpstreamError) as info:
        await client.post_comment("other-org", "1", "text")
    assert info.value.retryable is False
    assert info.value.status_code == 404


async def test_rate_limit_reset_header(client: SentryClient, sentry: SentryLoopback) -> None:
    sentry.fail_next(429, {"detail": "Rate limit exceeded"}, headers={"X-Sentry-Rate-Limit-Reset": str(int(time.time()) + 20)})
    with pytest.raises(RateLimited) as info:
        await client.post_comment(sentry.org, "1", "text")
    assert 15 <= info.value.retry_after <= 21
    assert info.value.retryable is True
    assert await client.post_comment(sentry.org, "1", "text") == "posted"


async def test_rate_limit_retry_after_header_wins(client: SentryClient, sentry: SentryLoopback) -> None:
    sentry.fail_next(429, {"detail": "slow down"}, headers={"Retry-After": "7"})
    with pytest.raises(RateLimited) as info:
        await client.post_comment(sentry.org, "1", "text")
    assert info.value.retry_after == 7


async def test_rate_limit_without_headers_defaults_to_30(client: SentryClient, sentry: SentryLoopback) -> None:
    sentry.fail_next(429, {"detail": "slow down"})
    with pytest.raises(RateLimited) as info:
        await client.post_comment(sentry.org, "1", "text")
    assert info.value.retry_after == 30


async def test_server_errors_are_retryable(client: SentryClient, sentry: SentryLoopback) -> None:
    sentry.fail_next(502, "<html><body>Bad Gateway</body></html>")
    sentry.fail_next(500, {"detail": "Internal Error"})
    for status in (502, 500):
        with pytest.raises(UpstreamError) as info:
            await client.post_comment(sentry.org, "1", "text")
        assert info.value.retryable is True
        assert info.value.status_code == status
    assert await client.post_comment(sentry.org, "1", "text") == "posted"


async def test_connection_refused_is_retryable(http: httpx.AsyncClient) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    token = "sntrys_super_secret"
    client = SentryClient(http, f"http://127.0.0.1:{port}", token)
    with pytest.raises(UpstreamError) as info:
        await client.post_comment("org", "1", "text")
    assert info.value.retryable is True
    _assert_no_token(info.value, token)


async def test_deprecated_endpoint_is_a_violation(http: httpx.AsyncClient, sentry: SentryLoopback) -> None:
    """The loopback must catch a client that regresses to /api/0/issues/{id}/comments/."""
    response = await http.post(
        f"{sentry.base_url}/api/0/issues/1/comments/",
        json={"text": "old"},
        headers={"Authorization": f"Bearer {sentry.token}"},
    )
    assert response.status_code == 404
    assert sentry.violations and "deprecated" in sentry.violations[0]
    assert sentry.comments == {}

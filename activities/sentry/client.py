"""Sentry web API adapter (implements ``core.ports.SentryApi``): comment on an issue.

Sentry refuses the same comment text from the same user within an hour with 400 "You have already
posted that comment."; since the comment text is rendered deterministically, that answer means a
retry already succeeded, and is reported as ``"already_posted"`` rather than an error.
"""

from __future__ import annotations

import time
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

import httpx

from core.errors import RateLimited, UpstreamError

_DEFAULT_RETRY_AFTER = 30.0
_MAX_RETRY_AFTER = 3600.0


class SentryClient:
    """Posts analysis comments with an internal-integration/auth token (scope ``event:write``)."""

    def __init__(self, http: httpx.AsyncClient, api_url: str, token: str) -> None:
        self._http = http
        self._api_url = api_url.rstrip("/")
        self._token = token

    def __repr__(self) -> str:
        return f"SentryClient(api_url={self._api_url!r})"

    async def post_comment(self, org: str, issue_id: str, text: str) -> str:
        """Return "posted" or "already_posted"; raise ``UpstreamError``/``RateLimited`` otherwise."""
        url = (
            f"{self._api_url}/api/0/organizations/{quote(org, safe='')}"
            f"/issues/{quote(str(issue_id), safe='')}/comments/"
        )
        try:
            response = await self._http.post(
                url, json={"text": text}, headers={"Authorization": f"Bearer {self._token}"}
            )
        except (httpx.TransportError, httpx.DecodingError) as exc:
            raise UpstreamError(f"sentry post_comment: {type(exc).__name__}", retryable=True) from exc
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise UpstreamError(f"sentry post_comment: {type(exc).__name__}", retryable=False) from exc
        status = response.status_code
        if status in (200, 201):
            return "posted"
        detail = self._detail(response)
        if status == 400 and "already posted" in detail.lower():
            return "already_posted"
        message = f"sentry post_comment issue {issue_id}: HTTP {status}: {detail}"
        if status == 429:
            raise RateLimited(message, retry_after=_retry_after(response.headers))
        if status >= 500:
            raise UpstreamError(message, retryable=True, status_code=status)
        raise UpstreamError(message, retryable=False, status_code=status)

    def _detail(self, response: httpx.Response) -> str:
        """A short, token-free description of an error body (JSON ``detail`` or the raw text)."""
        try:
            body: Any = response.json()
        except ValueError:
            body = response.text
        if isinstance(body, dict) and "detail" in body:
            body = body["detail"]
        elif isinstance(body, list):
            body = " ".join(str(item) for item in body)
        text = str(body)[:300]
        return text.replace(self._token, "<redacted>") if self._token else text


def _retry_after(headers: httpx.Headers) -> float:
    """Seconds to wait: ``Retry-After`` (seconds or HTTP date), else ``X-Sentry-Rate-Limit-Reset``
    (epoch seconds) minus now, else 30. Clamped to [1, 3600] so a bad header cannot stall or spin."""
    now = time.time()
    seconds: float | None = None
    retry_after = headers.get("retry-after")
    if retry_after:
        try:
            seconds = float(retry_after)
        except ValueError:
            try:
                seconds = parsedate_to_datetime(retry_after).timestamp() - now
            except (TypeError, ValueError):
                seconds = None
    if seconds is None and headers.get("x-sentry-rate-limit-reset"):
        try:
            seconds = float(headers["x-sentry-rate-limit-reset"]) - now
        except ValueError:
            seconds = None
    if seconds is None:
        seconds = _DEFAULT_RETRY_AFTER
    return min(max(seconds, 1.0), _MAX_RETRY_AFTER)

"""Turning our adapter errors into Temporal retry decisions, in one place.

A rate limit becomes a retry after exactly the delay the API asked for; a failure that cannot
succeed on retry (401, 403, a 4xx) becomes non-retryable so the workflow hears about it at once
instead of hammering the API for hours.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio.exceptions import ApplicationError

from core.errors import RateLimited, UpstreamError


def retry_after_seconds(header: str | None) -> float:
    """A Retry-After header in seconds, at least 1 (HTTP dates and garbage count as 1)."""
    try:
        return max(float(header), 1.0) if header else 1.0
    except ValueError:
        return 1.0


def to_application_error(exc: UpstreamError) -> ApplicationError:
    if isinstance(exc, RateLimited):
        return ApplicationError(
            str(exc), type="RateLimited", next_retry_delay=timedelta(seconds=max(exc.retry_after, 0.5))
        )
    return ApplicationError(str(exc), type="UpstreamError", non_retryable=not exc.retryable)

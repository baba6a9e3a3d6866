"""Retry policies of the workflows' activities, named once.

Quick: Valkey-backed steps that should succeed within seconds. API: external HTTP APIs (Telegram,
Sentry) that may rate-limit for a minute. Execute: a repair, retried only for transient trouble and
never for long, because a human is told instead.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio.common import RetryPolicy

QUICK = RetryPolicy(initial_interval=timedelta(seconds=1), maximum_interval=timedelta(seconds=30))
API = RetryPolicy(initial_interval=timedelta(seconds=2), maximum_interval=timedelta(seconds=60))
EXECUTE = RetryPolicy(initial_interval=timedelta(seconds=2), maximum_interval=timedelta(seconds=30), maximum_attempts=5)

"""The clients every awoooi process connects with: Temporal, Valkey, HTTP. Functions, called by a
composition root (worker/wiring.py, starter/wiring.py, the CLI's commands); nothing connects at import.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import httpx
import structlog
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from temporalio.client import Client
from temporalio.runtime import Runtime
from temporalio.service import TLSConfig

from core.converter import data_converter
from core.settings import Settings

log = structlog.get_logger(__name__)
T = TypeVar("T")

# Retried on a fresh connection; every other RedisError (a script error, OOM) is not transient.
_REDIS_TRANSIENT = [RedisConnectionError, RedisTimeoutError]


def temporal_tls(settings: Settings) -> TLSConfig | bool:
    """TLS for a production Temporal: mTLS from AWOOOI_TEMPORAL_TLS_CERT/_KEY, a private CA from
    _TLS_CA, or system roots for Temporal Cloud's API key (Settings checked that the files exist)."""
    if not settings.temporal_tls:
        return False
    if not (settings.temporal_tls_cert or settings.temporal_tls_ca):
        return True

    def read(path: Path | None) -> bytes | None:
        return None if path is None else path.read_bytes()

    return TLSConfig(server_root_ca_cert=read(settings.temporal_tls_ca),
                     client_cert=read(settings.temporal_tls_cert),
                     client_private_key=read(settings.temporal_tls_key))


async def connect_temporal(settings: Settings, runtime: Runtime | None = None) -> Client:
    """``runtime``: the worker's, whose MetricBuffer feeds the SDK's metrics to /metrics."""
    api_key = settings.temporal_api_key.get_secret_value() if settings.temporal_api_key else None
    return await Client.connect(settings.temporal_address, namespace=settings.temporal_namespace,
                                data_converter=data_converter, runtime=runtime, tls=temporal_tls(settings),
                                api_key=api_key)


def connect_redis(settings: Settings) -> Redis:
    """A client that survives a Valkey restart: a command on a dead pooled connection reconnects
    and retries with exponential backoff (0.2 s doubling to 2 s, 5 retries, 5 s in all: a restart
    with AOF takes well under that), and a connection idle for 10 s is pinged before reuse.

    The pool is bounded (AWOOOI_REDIS_MAX_CONNECTIONS) and a command waits for a free connection
    (up to the socket timeout) instead of failing: redis-py's default pool raises
    MaxConnectionsError at its 100th concurrent command, which 200 card activities waiting on
    digest renders reached in a storm (a failed ledger write there can repeat a digest message)."""
    timeout = settings.redis_socket_timeout_seconds
    pool = BlockingConnectionPool.from_url(
        settings.redis_url, max_connections=settings.redis_max_connections, timeout=timeout, decode_responses=True,
        health_check_interval=10, socket_timeout=timeout, socket_connect_timeout=timeout, socket_keepalive=True,
        retry=Retry(ExponentialBackoff(cap=2.0, base=0.1), retries=5, supported_errors=tuple(_REDIS_TRANSIENT)),
        retry_on_error=_REDIS_TRANSIENT,
    )
    return Redis.from_pool(pool)


def http_client() -> httpx.AsyncClient:
    # Explicit, bounded timeouts: an activity must fail and retry, not hang until its own timeout.
    return httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=5.0))


def masked(url: str) -> str:
    """A Redis URL without its password, fit for a log line."""
    return re.sub(r"//[^/@]*@", "//***@", url)


async def until_reachable(what: str, address: str, check: str, attempt: Callable[[], Awaitable[T]],
                          stop: asyncio.Event) -> T | None:
    """Call ``attempt`` until it works: starting before Temporal or Valkey is a normal deployment
    order, so it is one line per try naming the address and what to check, never a traceback.
    None when asked to stop while waiting."""
    delay = 1.0
    while True:
        try:
            return await attempt()
        except Exception as exc:  # noqa: BLE001 - any failure to connect is retried the same way
            log.warning(f"cannot reach {what} yet; retrying", address=address, check=check,
                        error=type(exc).__name__, retry_in=delay)
        try:
            await asyncio.wait_for(stop.wait(), delay)
            return None
        except TimeoutError:
            delay = min(delay * 2, 30.0)

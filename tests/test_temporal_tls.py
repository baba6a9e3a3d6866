"""Production Temporal: mTLS and Temporal Cloud API keys, through connect_temporal.

The dev server speaks plain gRPC only, so tests/tls_proxy.py terminates TLS in front of it with a
throwaway CA (client certificate required), as a production frontend would. The API key is seen
in the decoded HTTP/2 headers (the dev server ignores it) and never in a log line or a repr.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError
from structlog.testing import capture_logs
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from core.settings import Settings
from tests.tls_proxy import TlsProxy, make_pki
from worker.service import ensure_search_attributes
from activities.connections import connect_temporal, temporal_tls

API_KEY = "tmprl-test-key-never-logged-7f3a"


def _dev_server(env: WorkflowEnvironment) -> str:
    return env.client.service_client.config.target_host


async def test_mtls_with_private_ca_reaches_temporal(temporal_env: WorkflowEnvironment, tmp_path: Path) -> None:
    pki = make_pki(tmp_path)
    async with TlsProxy(pki, _dev_server(temporal_env)) as proxy:
        settings = Settings(temporal_address=proxy.address, temporal_tls_cert=pki.client_cert,
                            temporal_tls_key=pki.client_key, temporal_tls_ca=pki.ca)
        client = await connect_temporal(settings)
        await ensure_search_attributes(client)
        count = await client.count_workflows("WorkflowType='IncidentWorkflow'")
        assert count.count >= 0  # a real answer from the dev server, through TLS
        assert "awoooi-worker" in proxy.peers, "the client certificate was presented and verified"


async def test_without_the_client_certificate_the_server_refuses(temporal_env: WorkflowEnvironment,
                                                                 tmp_path: Path) -> None:
    pki = make_pki(tmp_path)
    async with TlsProxy(pki, _dev_server(temporal_env)) as proxy:
        settings = Settings(temporal_address=proxy.address, temporal_tls_ca=pki.ca)
        with pytest.raises(RuntimeError):
            client = await Client.connect(proxy.address, tls=temporal_tls(settings))
            await client.count_workflows()
        assert not proxy.peers


async def test_api_key_is_sent_and_never_logged(temporal_env: WorkflowEnvironment, tmp_path: Path) -> None:
    pki = make_pki(tmp_path)
    async with TlsProxy(pki, _dev_server(temporal_env), require_client_cert=False) as proxy:
        settings = Settings(temporal_address=proxy.address, temporal_tls_ca=pki.ca, temporal_api_key=API_KEY)
        with capture_logs() as logs:
            client = await connect_temporal(settings)
            await ensure_search_attributes(client)
            await client.count_workflows()
        authorizations = {h.get("authorization") for h in proxy.headers}
        assert f"Bearer {API_KEY}" in authorizations
        assert API_KEY not in repr(logs) and API_KEY not in repr(settings) and API_KEY not in str(settings)


def test_tls_settings_are_checked_at_start(tmp_path: Path) -> None:
    pki = make_pki(tmp_path)
    settings = Settings(temporal_tls_cert=str(pki.client_cert), temporal_tls_key=str(pki.client_key))
    assert settings.temporal_tls and settings.temporal_tls_ca is None
    assert Settings(temporal_api_key=API_KEY).temporal_tls, "Temporal Cloud's API key implies TLS"
    assert not Settings(temporal_api_key="  ").temporal_tls, "a blank key is unset"
    with pytest.raises(ValidationError, match="go together"):
        Settings(temporal_tls_cert=pki.client_cert)
    with pytest.raises(ValidationError, match="temporal_tls_ca"):
        Settings(temporal_tls_ca=tmp_path / "missing.pem")

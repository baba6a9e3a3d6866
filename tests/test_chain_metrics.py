"""The seed's alert-chain metrics (F-4) on /metrics, and the Temporal SDK's own metrics beside them."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, generate_latest
from temporalio.client import Client
from core.converter import data_converter

from tests.conftest import fixture_bytes
from tests.harness import eventually, running, settings_for
from worker.sdk_metrics import SdkMetrics


async def test_alerts_received_latency_and_route_templates(temporal_client, valkey_url, redis, task_queue,
                                                           telegram) -> None:
    async with running(temporal_client, settings_for(valkey_url, task_queue, telegram)) as app:
        response = await app.api.post("/api/v1/webhooks/alertmanager",
                                      content=fixture_bytes("alertmanager_v4_firing_grouped.json"))
        assert response.status_code == 200
        await app.api.post("/api/v1/incidents/some-incident-id/approve", json={})
        await app.api.get("/no/such/route")
        text = (await app.api.get("/metrics")).text
    assert 'awoooi_alerts_received_total{source="alertmanager",status="firing"}' in text
    assert "awoooi_last_alert_received_timestamp " in text
    assert "awoooi_last_alert_received_timestamp 0.0" not in text
    assert 'awoooi_webhook_latency_seconds_bucket{le="0.01",webhook_type="alertmanager"}' in text
    assert 'awoooi_webhook_latency_seconds_bucket{le="30.0",webhook_type="alertmanager"} 1.0' in text
    assert 'http_requests_total{path="/api/v1/webhooks/alertmanager",status="200"} 1.0' in text
    assert 'http_requests_total{path="/api/v1/incidents/{incident_id}/approve",status="403"} 1.0' in text
    assert 'http_requests_total{path="unmatched",status="404"} 1.0' in text
    assert 'awoooi_build_info{version="0.1.0"} 1.0' in text


async def test_the_sdk_metrics_reach_the_same_registry(temporal_env, valkey_url, redis, task_queue,
                                                       telegram) -> None:
    sdk = SdkMetrics(buffer_size=50_000, drain_seconds=0.2)
    client = await Client.connect(temporal_env.client.service_client.config.target_host,
                                  data_converter=data_converter, runtime=sdk.runtime)
    registry = CollectorRegistry()
    registry.register(sdk.collector)
    sdk.start()
    try:
        async with running(client, settings_for(valkey_url, task_queue, telegram)) as app:
            await app.api.post("/api/v1/webhooks/signoz", content=fixture_bytes("signoz_alert.json"))
            await eventually(lambda: telegram.sent, what="card")
            await eventually(lambda: b"temporal_workflow_task_schedule_to_start_latency" in generate_latest(registry),
                             what="SDK metrics")
    finally:
        sdk.close()
    text = generate_latest(registry).decode()
    assert "\ntemporal_activity_execution_latency_bucket{" in text or "\ntemporal_activity_schedule_to_start" in text
    assert "temporal_temporal_" not in text  # the core's names carry their prefix already

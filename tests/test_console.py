"""The Temporal Web UI as the operators' console (issue 9): what the list and the detail page show.

The summary and details are set at start, the current details follow the incident, and the
RepairPhase search attribute lists the approval queue. The last test opens the real Web UI (the dev
server's own) in headless Chromium and finds an incident's summary text on the page.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from temporalio.client import Client
from core.converter import data_converter

from core.console import current_details, static_summary
from starter.embedded import free_port, temporal_dev_server
from tests.browser import Browser
from tests.harness import eventually, running
from tests.repair_support import API_TOKEN, HPA_ALERT, alertmanager
from tests.test_repairs import _open, repair_settings

ARTIFACTS = Path(__file__).resolve().parent.parent / ".test-artifacts"


async def _phase_queue(client: Client, phase: str) -> list[str]:
    return [w.id async for w in client.list_workflows(f'RepairPhase="{phase}"')]


async def test_summary_details_and_the_approval_queue(temporal_client, valkey_url, redis, task_queue, telegram,
                                                      tmp_path) -> None:
    settings = repair_settings(valkey_url, task_queue, telegram, None, tmp_path)
    async with running(temporal_client, settings) as app:
        workflow_id, _ = await _open(app, telegram, alertmanager(HPA_ALERT, fingerprint=uuid.uuid4().hex[:16]))
        handle = temporal_client.get_workflow_handle(workflow_id)
        described = await handle.describe()
        summary = await described.static_summary()
        assert summary == "[warning] KubeHpaMaxedOut · checkout", summary
        details = await described.static_details()
        assert "**Source:** alertmanager" in details and workflow_id.removeprefix("incident-") in details

        async def queued() -> bool:
            return workflow_id in await _phase_queue(temporal_client, "awaiting_approval")

        await eventually(queued, what="the incident in the approval queue")
        metadata = await handle.query("__temporal_workflow_metadata")
        assert "**Repair phase:** awaiting_approval" in metadata.current_details
        assert "**Occurrences:** 1" in metadata.current_details

        incident = workflow_id.removeprefix("incident-")
        approved = await app.api.post(f"/api/v1/incidents/{incident}/approve", json={"by": "alice"},
                                      headers={"Authorization": f"Bearer {API_TOKEN}"})
        assert approved.status_code == 200, approved.text

        async def done() -> bool:
            return workflow_id in await _phase_queue(temporal_client, "done")

        await eventually(done, what="the repair done (dry-run) and out of the queue")
        assert workflow_id not in await _phase_queue(temporal_client, "awaiting_approval")
        metadata = await handle.query("__temporal_workflow_metadata")
        assert "approved by alice (api) via api" in metadata.current_details


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed; CI must have it (.ci/run installs Debian's chromium)",
                        pytrace=False)
        pytest.skip("chromium not installed (apt-get install chromium)")
    return found


async def test_web_ui_lists_incidents_by_name_and_phase(tmp_path, valkey_url, redis, telegram) -> None:
    """The real Web UI, a real browser: the workflow list filtered by RepairPhase shows the summary."""
    chromium = _chromium()
    port, ui_port = free_port(), free_port()
    temporal = temporal_dev_server(tmp_path / "temporal", port=port, ui_port=ui_port)
    temporal.start()
    try:
        client = await Client.connect(f"127.0.0.1:{port}", data_converter=data_converter)
        settings = repair_settings(valkey_url, f"ui-{uuid.uuid4()}", telegram, None, tmp_path)
        async with running(client, settings) as app:
            workflow_id, _ = await _open(app, telegram, alertmanager(HPA_ALERT, fingerprint=uuid.uuid4().hex[:16]))

            async def queued() -> bool:
                return workflow_id in await _phase_queue(client, "awaiting_approval")

            await eventually(queued, what="the incident in the approval queue")
            ARTIFACTS.mkdir(exist_ok=True)
            browser = await asyncio.to_thread(Browser, chromium, tmp_path / "chromium-profile", free_port())
            try:
                base = f"http://127.0.0.1:{ui_port}/namespaces/default/workflows"
                listed = await asyncio.to_thread(
                    browser.text_after, base + "?query=" + quote('RepairPhase="awaiting_approval"'), workflow_id)
                await asyncio.to_thread(browser.screenshot, ARTIFACTS / "web-ui-approval-queue.png")
                assert workflow_id in listed, "the approval queue lists the incident"
                run_id = (await client.get_workflow_handle(workflow_id).describe()).run_id
                summary = "[warning] KubeHpaMaxedOut · checkout"
                detail = await asyncio.to_thread(browser.text_after, f"{base}/{workflow_id}/{run_id}/history", summary)
                await asyncio.to_thread(browser.screenshot, ARTIFACTS / "web-ui-incident.png")
                assert summary in detail, "the detail page shows the incident's summary"
                attributes = await asyncio.to_thread(browser.text_after, f"{base}/{workflow_id}/{run_id}/metadata",
                                                     '"RepairPhase": "awaiting_approval"')
                await asyncio.to_thread(browser.screenshot, ARTIFACTS / "web-ui-incident-attributes.png")
                assert '"RepairPhase": "awaiting_approval"' in attributes
                assert '"IncidentStatus": "open"' in attributes
            finally:
                await asyncio.to_thread(browser.close)
    finally:
        temporal.stop()


async def test_what_a_person_sees_first_readable_ids_the_alert_as_input_and_no_probe_rows(
        tmp_path, valkey_url, redis, telegram) -> None:
    """Issue 18: the saved query `make dev` prints lists open incidents by ids a person can read, without
    the probe's incidents; an incident's page opens on its input, which is the alert."""
    from starter.dev import OPEN_INCIDENTS_QUERY

    chromium = _chromium()
    port, ui_port = free_port(), free_port()
    temporal = temporal_dev_server(tmp_path / "temporal", port=port, ui_port=ui_port)
    temporal.start()
    try:
        client = await Client.connect(f"127.0.0.1:{port}", data_converter=data_converter)
        settings = repair_settings(valkey_url, f"ui-{uuid.uuid4()}", telegram, None, tmp_path)
        async with running(client, settings) as app:
            workflow_id, _ = await _open(app, telegram, alertmanager(HPA_ALERT, fingerprint=uuid.uuid4().hex[:16]))
            probe = await app.api.post("/api/v1/webhooks/alertmanager", content=alertmanager(
                "AwoooiAlertChainProbe", fingerprint=f"awoooi-probe-{uuid.uuid4().hex[:8]}",
                labels={"awoooi_probe": "true"}))
            probe_id = probe.json()["alerts"][0]["workflow_id"]
            assert workflow_id.startswith("incident-alertmanager-KubeHpaMaxedOut-checkout-"), workflow_id
            assert probe_id.startswith("probe-alertmanager-"), probe_id

            async def both_visible() -> bool:
                ids = {w.id async for w in client.list_workflows('ExecutionStatus="Running"')}
                return {workflow_id, probe_id} <= ids

            await eventually(both_visible, what="both incidents in visibility")
            ARTIFACTS.mkdir(exist_ok=True)
            browser = await asyncio.to_thread(Browser, chromium, tmp_path / "chromium-profile", free_port())
            try:
                base = f"http://127.0.0.1:{ui_port}/namespaces/default/workflows"
                listed = await asyncio.to_thread(browser.text_after, base + "?query=" + quote(OPEN_INCIDENTS_QUERY),
                                                 workflow_id)
                await asyncio.to_thread(browser.screenshot, ARTIFACTS / "web-ui-open-incidents.png")
                assert workflow_id in listed and probe_id not in listed, listed[:2000]
                run_id = (await client.get_workflow_handle(workflow_id).describe()).run_id
                page = await asyncio.to_thread(browser.text_after, f"{base}/{workflow_id}/{run_id}/history",
                                               '"alertname": "KubeHpaMaxedOut"')
                await asyncio.to_thread(browser.screenshot, ARTIFACTS / "web-ui-incident-input.png")
                assert '"alert"' in page and "idle_timeout_seconds" not in page, "the input is the alert, not settings"
            finally:
                await asyncio.to_thread(browser.close)
    finally:
        temporal.stop()


def test_console_texts_are_functions_of_the_view() -> None:
    from datetime import datetime, timezone

    from core.console import repair_phase
    from core.models import Alert, AlertStatus, IncidentStatus, IncidentView, Source
    from core.incident.core import fallback_analysis

    alert = Alert(source=Source.ALERTMANAGER, fingerprint="f", status=AlertStatus.FIRING, title="DiskFull",
                  service="db", labels={"alertname": "DiskFull"})
    assert static_summary(alert) == "[warning] DiskFull · db"
    at = datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)
    view = IncidentView(incident_id="alertmanager-f", anomaly_key="diskfull:db", status=IncidentStatus.RESOLVED,
                        alert=alert, analysis=fallback_analysis("test"), occurrences=3, first_seen=at, last_seen=at)
    details = current_details(view, None)
    assert details == current_details(view, None), "the same view gives the same text (replay-safe)"
    assert "**Status:** resolved (in its grace period" in details
    assert "**Occurrences:** 3" in details and "**Repair phase:** none" in details
    assert "2026-12-01T10:00:00+00:00" in details
    assert repair_phase(None) == "none"

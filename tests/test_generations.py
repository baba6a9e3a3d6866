"""Generation 2 beside generation 1 (docs/adr/0019): an alert whose generation-1 run is still open
goes to that run, nothing else starts one, and `awoooi generations` says when generation 1 may go."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path

from temporalio.client import Client

from core.identity import alert_key, anomaly_key, legacy_workflow_id
from core.legacy_inputs import IncidentWorkflowInput
from core.models import AlertDelivery, DeliveryBatch
from starter.generations import GENERATIONS, may_retire, report
from starter.parsers import parse_alertmanager
from tests.alert_flow import occurrence_body
from tests.harness import eventually, running, settings_for

ROOT = Path(__file__).resolve().parents[1]
ALERTMANAGER = "/api/v1/webhooks/alertmanager"


def _body(fingerprint: str, minute: int, status: str = "firing") -> bytes:
    labels = {"alertname": "GenerationsMove", "instance": f"host-{fingerprint}", "severity": "warning"}
    return occurrence_body(fingerprint, labels, "an alert from before the upgrade", f"2026-12-06T10:{minute:02d}:00Z",
                           status)


def _generations(address: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWOOOI_")} | {"AWOOOI_TEMPORAL_ADDRESS": address}
    return subprocess.run([sys.executable, "-m", "starter.cli", "generations", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=False)


def test_the_retirement_rule() -> None:
    legacy, current = GENERATIONS
    assert not legacy.current and current.current and current.workflow_type == "Incident"
    assert may_retire(legacy, 0) and not may_retire(legacy, 1)
    assert not may_retire(current, 0), "the current generation is never retired"


async def test_an_open_generation_1_run_keeps_its_alert_until_it_ends(temporal_client: Client, valkey_url, redis,
                                                                       task_queue, telegram) -> None:
    fingerprint = uuid.uuid4().hex[:16]
    alert = parse_alertmanager(json.loads(_body(fingerprint, 0))).alerts[0].alert
    legacy_id = legacy_workflow_id(alert)
    address = temporal_client.service_client.config.target_host
    # What an API from before the upgrade started: generation 1, its own input, its old id.
    handle = await temporal_client.start_workflow(
        "IncidentWorkflow", IncidentWorkflowInput(incident_id=alert_key(alert), anomaly_key=anomaly_key(alert),
                                                  resolve_grace_seconds=0, card_edit_interval_seconds=0),
        id=legacy_id, task_queue=task_queue, start_signal="deliver_batch",
        start_signal_args=[DeliveryBatch(deliveries=[AlertDelivery(delivery_id="before-the-upgrade", alert=alert,
                                                                   received_at=datetime.now(UTC))])])
    async with running(temporal_client, settings_for(valkey_url, task_queue, telegram)) as app:
        await eventually(lambda: len(telegram.sent) == 1, what="generation 1's card")
        rows = {row["generation"]: row for row in await report(temporal_client)}
        assert rows[1]["open_runs"] >= 1 and not rows[1]["may_retire"]
        blocked = await asyncio.to_thread(_generations, address, "--may-retire", "1")
        assert blocked.returncode == 1 and "still finishing here" in blocked.stdout, blocked.stdout + blocked.stderr

        answer = (await app.api.post(ALERTMANAGER, content=_body(fingerprint, 1))).json()["alerts"][0]
        assert answer["workflow_id"] == legacy_id and answer["status"] == "updated"
        await eventually(lambda: "<b>Occurrences:</b> 2" in telegram.messages[1][-1], what="the old card counts it")
        await app.api.post(ALERTMANAGER, content=_body(fingerprint, 1, "resolved"))
        outcome = await handle.result()
        assert outcome["status"] == "resolved" and outcome["occurrences"] == 2
        new = [w async for w in temporal_client.list_workflows(f'TaskQueue="{task_queue}" AND WorkflowType="Incident"')]
        assert new == [], "nothing of generation 2 started for it"
        assert len(telegram.sent) == 1

        # Its run has ended: the next firing is a new incident, on generation 2, with a readable id.
        again = (await app.api.post(ALERTMANAGER, content=_body(fingerprint, 9))).json()["alerts"][0]
        assert again["status"] == "started"
        assert again["workflow_id"].startswith("incident-alertmanager-GenerationsMove-")
        assert again["workflow_id"].endswith(fingerprint) and again["workflow_id"] != legacy_id
        await eventually(lambda: len(telegram.sent) == 2, what="generation 2's card")
    rows = {row["generation"]: row for row in await report(temporal_client)}
    if rows[1]["open_runs"] == 0:  # no other test's generation-1 run is open on the shared server
        allowed = await asyncio.to_thread(_generations, address, "--may-retire", "1")
        assert allowed.returncode == 0 and "may be retired" in allowed.stdout, allowed.stdout + allowed.stderr

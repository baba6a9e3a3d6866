"""`awoooi incidents`: a table (or JSON) of incidents from Temporal's visibility, as an operator runs it."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

from tests.harness import eventually, running
from tests.repair_support import HPA_ALERT, alertmanager
from tests.test_repairs import _open, repair_settings

ROOT = Path(__file__).resolve().parents[1]


def _incidents(address: str, valkey_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWOOOI_")}
    env |= {"AWOOOI_TEMPORAL_ADDRESS": address, "AWOOOI_REDIS_URL": valkey_url}
    return subprocess.run([sys.executable, "-m", "starter.cli", "incidents", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=60, check=False)


async def test_incidents_lists_the_approval_queue_and_open_ones(temporal_client, valkey_url, redis, task_queue,
                                                                telegram, tmp_path) -> None:
    address = temporal_client.service_client.config.target_host
    settings = repair_settings(valkey_url, task_queue, telegram, None, tmp_path)
    async with running(temporal_client, settings) as app:
        workflow_id, _ = await _open(app, telegram, alertmanager(HPA_ALERT, fingerprint=uuid.uuid4().hex[:16]))
        incident = workflow_id.removeprefix("incident-")

        async def listed() -> bool:
            result = await asyncio.to_thread(_incidents, address, valkey_url, "--status", "awaiting-approval",
                                             "--json")
            return result.returncode == 0 and incident in result.stdout

        await eventually(listed, what="the incident in `awoooi incidents --status awaiting-approval`")
        result = await asyncio.to_thread(_incidents, address, valkey_url, "--json")
        rows = {row["id"]: row for row in json.loads(result.stdout)["incidents"]}
        row = rows[incident]
        assert (row["alert"], row["severity"], row["service"]) == ("KubeHpaMaxedOut", "warning", "checkout")
        assert (row["status"], row["repair"], row["occurrences"]) == ("open", "awaiting_approval", 1)
        table = await asyncio.to_thread(_incidents, address, valkey_url)
        assert table.returncode == 0, table.stderr
        header = table.stdout.splitlines()[0].split()
        assert header == ["id", "alert", "severity", "service", "status", "occurrences", "age", "repair", "acked", "silenced"]
        assert any(line.startswith(incident) and "awaiting_approval" in line for line in table.stdout.splitlines())
        resolved = await asyncio.to_thread(_incidents, address, valkey_url, "--status", "resolved", "--json")
        assert incident not in resolved.stdout


def test_incidents_without_temporal_is_one_line(tmp_path) -> None:
    from starter.embedded import free_port

    result = _incidents(f"127.0.0.1:{free_port()}", f"redis://127.0.0.1:{free_port()}/0")
    assert result.returncode == 1
    assert "cannot reach Temporal" in result.stderr and "Traceback" not in result.stderr

"""The real senders, end to end: Prometheus -> Alertmanager -> awoooi over TCP -> Temporal -> Telegram.

The fixture-based tests (test_pipeline.py) post bodies we captured; this file runs the actual
Debian ``prometheus`` and ``prometheus-alertmanager`` binaries, so what is exercised is what
production sends: Alertmanager's own JSON, its grouping and flush timing, its ``send_resolved``
follow-up, and the ``Authorization: Bearer`` header it writes from ``http_config``. A drift in any of
those (a renamed field, a different auth header) fails here and nowhere else.

Every process gets a free port and a temp dir, and is stopped in a ``finally`` (SIGTERM, wait,
SIGKILL). Outside CI a machine without the binaries skips; under ``CI`` a missing binary fails,
so the suite can never go green by not running.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families
from temporalio.client import Client, WorkflowExecution, WorkflowExecutionStatus

from core import search_attributes as sa
from starter.embedded import free_port
from tests.conftest import debian_binary
from tests.harness import Serving, eventually, serving, settings_for
from tests.loopback.telegram import TelegramLoopback

TOKEN = "am-to-awoooi-" + uuid.uuid4().hex
WEBHOOK_PATH = "/api/v1/webhooks/alertmanager"
CARD_TIMEOUT = 60.0


# ------------------------------------------------------------------------------------------ processes


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@asynccontextmanager
async def _process(name: str, argv: list[str], port: int, log_path: Path,
                   timeout: float = 30.0) -> AsyncIterator[subprocess.Popen[bytes]]:
    """Run ``argv`` until the block ends; ready when ``GET /-/ready`` answers 200.

    Waits by polling on the event loop (never ``time.sleep``): the awoooi worker shares this loop.
    """
    with log_path.open("wb") as log:
        proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        async with httpx.AsyncClient(timeout=1.0) as http:
            async def ready() -> bool:
                if proc.poll() is not None:
                    raise AssertionError(f"{name} exited with {proc.returncode}:\n{_tail(log_path)}")
                try:
                    return (await http.get(f"http://127.0.0.1:{port}/-/ready")).status_code == 200
                except httpx.TransportError:
                    return False

            try:
                await eventually(ready, timeout=timeout, what=f"{name} ready")
            except AssertionError as exc:
                raise AssertionError(f"{exc}\n{_tail(log_path)}") from None
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


@asynccontextmanager
async def alertmanager(tmp_path: Path, webhook_url: str, token: str) -> AsyncIterator[str]:
    """A real Alertmanager, clustering off, routing everything to ``webhook_url`` with bearer auth.

    Timings are shrunk so a test sees the first notification at once and a resolution within a
    second, while ``repeat_interval`` is long enough that any second card would be a real bug.
    """
    binary = debian_binary("prometheus-alertmanager")
    port = free_port()
    workdir = tmp_path / "alertmanager"
    workdir.mkdir()
    config = {
        "route": {
            "receiver": "awoooi",
            "group_by": ["alertname"],
            "group_wait": "0s",
            "group_interval": "1s",
            "repeat_interval": "24h",
        },
        "receivers": [{
            "name": "awoooi",
            "webhook_configs": [{
                "url": webhook_url,
                "send_resolved": True,
                "http_config": {"authorization": {"type": "Bearer", "credentials": token}},
            }],
        }],
    }
    # JSON is YAML: no YAML library needed to write either process's config.
    (workdir / "am.yml").write_text(json.dumps(config, indent=2))
    argv = [
        binary,
        f"--config.file={workdir / 'am.yml'}",
        f"--storage.path={workdir / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--cluster.listen-address=",
        "--log.level=debug",
    ]
    async with _process("alertmanager", argv, port, workdir / "alertmanager.log"):
        yield f"http://127.0.0.1:{port}"


@asynccontextmanager
async def prometheus(tmp_path: Path, alertmanager_url: str, labels: dict[str, str]) -> AsyncIterator[str]:
    """A real Prometheus evaluating one always-firing rule every second, sending to Alertmanager.

    ``--rules.alert.resend-delay=1s``: Prometheus drops alerts it evaluates before its notifier has
    discovered the Alertmanager target and only re-sends after this delay (default 1m).
    """
    binary = debian_binary("prometheus")
    port = free_port()
    workdir = tmp_path / "prometheus"
    workdir.mkdir()
    rules = {"groups": [{
        "name": "awoooi-e2e",
        "interval": "1s",
        "rules": [{
            "alert": labels["alertname"],
            "expr": "vector(1)",
            "for": "0s",
            "labels": {k: v for k, v in labels.items() if k != "alertname"},
            "annotations": {"summary": "Disk almost full on checkout (e2e test)",
                            "description": "Filesystem / has less than 5% space left."},
        }],
    }]}
    config = {
        "global": {"evaluation_interval": "1s", "scrape_interval": "15s"},
        "rule_files": [str(workdir / "rules.yml")],
        "alerting": {"alertmanagers": [{
            "api_version": "v2",
            "static_configs": [{"targets": [alertmanager_url.removeprefix("http://")]}],
        }]},
    }
    (workdir / "rules.yml").write_text(json.dumps(rules, indent=2))
    (workdir / "prometheus.yml").write_text(json.dumps(config, indent=2))
    argv = [
        binary,
        f"--config.file={workdir / 'prometheus.yml'}",
        f"--storage.tsdb.path={workdir / 'data'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--rules.alert.resend-delay=1s",
        "--log.level=warn",
    ]
    async with _process("prometheus", argv, port, workdir / "prometheus.log"):
        yield f"http://127.0.0.1:{port}"


# ------------------------------------------------------------------------------------------- helpers


@dataclass
class Chain:
    awoooi: Serving
    alertmanager_url: str


@asynccontextmanager
async def chain(temporal_client: Client, valkey_url: str, task_queue: str, telegram: TelegramLoopback,
                tmp_path: Path, *, alertmanager_token: str = TOKEN) -> AsyncIterator[Chain]:
    """awoooi (token ``TOKEN``) on a TCP port, and an Alertmanager delivering to it with ``alertmanager_token``."""
    settings = settings_for(valkey_url, task_queue, telegram, webhook_token=TOKEN)
    async with serving(temporal_client, settings) as awoooi:
        async with alertmanager(tmp_path, awoooi.base_url + WEBHOOK_PATH, alertmanager_token) as am_url:
            yield Chain(awoooi, am_url)


def _now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


async def post_to_alertmanager(am_url: str, labels: dict[str, str], *, starts_at: str,
                               ends_at: str | None = None) -> None:
    """What Prometheus or any other client does: ``POST /api/v2/alerts``."""
    alert: dict[str, Any] = {
        "labels": labels,
        "annotations": {"summary": f"{labels['alertname']} on {labels.get('service', '?')} (e2e test)"},
        "startsAt": starts_at,
        "generatorURL": "http://prometheus.example/graph?g0.expr=up",
    }
    if ends_at is not None:
        alert["endsAt"] = ends_at
    async with httpx.AsyncClient(timeout=5.0) as http:
        response = await http.post(f"{am_url}/api/v2/alerts", json=[alert])
    assert response.status_code == 200, response.text


async def metric(base_url: str, name: str, **labels: str) -> float:
    """One sample from a process's own ``/metrics`` (awoooi's or Alertmanager's), 0 when absent."""
    async with httpx.AsyncClient(timeout=5.0) as http:
        text = (await http.get(f"{base_url}/metrics")).text
    total = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                total += sample.value
    return total


async def workflows(client: Client, task_queue: str, query: str = "") -> list[WorkflowExecution]:
    """This test's workflows: the task queue is unique per test, the dev server is shared."""
    full = f'TaskQueue="{task_queue}"' + (f" AND {query}" if query else "")
    return [execution async for execution in client.list_workflows(full)]


def _attributes(execution: WorkflowExecution) -> dict[str, str | None]:
    found = execution.typed_search_attributes
    return {key.name: found.get(key) for key in sa.ALL}


def _labels(alertname: str, service: str) -> dict[str, str]:
    # A per-test label makes Alertmanager's fingerprint (hence the workflow id) unique to this run.
    return {"alertname": alertname, "severity": "critical", "service": service,
            "e2e_run": uuid.uuid4().hex[:12]}


# --------------------------------------------------------------------------------------------- tests


async def test_prometheus_alert_becomes_one_card(temporal_client, valkey_url, redis, task_queue, telegram,
                                                 tmp_path) -> None:
    """Prometheus evaluates -> Alertmanager groups -> webhook with bearer auth -> workflow -> card."""
    labels = _labels("HostOutOfDiskSpace", "checkout")
    async with chain(temporal_client, valkey_url, task_queue, telegram, tmp_path) as c:
        async with prometheus(tmp_path, c.alertmanager_url, labels):
            await eventually(lambda: telegram.sent, timeout=CARD_TIMEOUT, what="a card from the real chain")
            card = telegram.sent[0]["text"]
            assert "HostOutOfDiskSpace" in card and "checkout" in card, card

            found: list[WorkflowExecution] = []

            async def listed() -> bool:
                found[:] = await workflows(temporal_client, task_queue, 'Source="alertmanager"')
                return bool(found)

            await eventually(listed, what="workflow visible in Temporal")
            assert len(found) == 1, [w.id for w in found]
            assert _attributes(found[0]) == {
                "AlertName": "HostOutOfDiskSpace", "Severity": "critical", "Service": "checkout",
                "Source": "alertmanager", "IncidentStatus": "open", "RepairPhase": "done",
                "Acked": "false",  # nobody has acknowledged it yet (docs/adr/0025)
                "Silenced": None,  # nothing silences it (docs/adr/0029)
                "Flapping": None,  # not flapping (docs/adr/0031)
            }
            handle = temporal_client.get_workflow_handle(found[0].id)
            assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING

            base = c.awoooi.base_url
            assert await metric(base, "awoooi_webhook_requests_total", source="alertmanager", code="200") == 1
            # Prometheus re-sends the firing alert every second; Alertmanager must not re-notify
            # (repeat_interval is 24h) and awoooi must not post again. Two group intervals is enough.
            await asyncio.sleep(2.5)
            assert len(telegram.sent) == 1
            assert await metric(base, "awoooi_webhook_requests_total", source="alertmanager", code="200") == 1
            assert await metric(base, "awoooi_webhook_requests_total", source="alertmanager", code="401") == 0


async def test_alertmanager_resolution_edits_the_card(temporal_client, valkey_url, redis, task_queue, telegram,
                                                      tmp_path) -> None:
    """Firing, then resolved: Alertmanager's ``send_resolved`` follow-up turns the same card ✅."""
    labels = _labels("HostOutOfDiskSpace", "payments")
    async with chain(temporal_client, valkey_url, task_queue, telegram, tmp_path) as c:
        starts_at = _now()
        await post_to_alertmanager(c.alertmanager_url, labels, starts_at=starts_at)
        await eventually(lambda: telegram.sent, timeout=CARD_TIMEOUT, what="firing card")
        message_id = next(iter(telegram.messages))
        assert "✅" not in telegram.messages[message_id][-1]

        # Same labels, endsAt now: Alertmanager merges it into the firing alert, now resolved.
        await post_to_alertmanager(c.alertmanager_url, labels, starts_at=starts_at, ends_at=_now())
        await eventually(lambda: "✅" in telegram.messages[message_id][-1], timeout=CARD_TIMEOUT,
                         what="card edited to resolved")
        assert len(telegram.sent) == 1, "the resolution edits the card, it never sends a second one"

        found: list[WorkflowExecution] = []

        async def closed() -> bool:
            found[:] = await workflows(temporal_client, task_queue)
            return bool(found) and all(w.status == WorkflowExecutionStatus.COMPLETED for w in found)

        await eventually(closed, timeout=CARD_TIMEOUT, what="incident workflow completed")
        assert len(found) == 1
        assert _attributes(found[0])["IncidentStatus"] == "resolved"
        assert await metric(c.awoooi.base_url, "awoooi_webhook_requests_total",
                            source="alertmanager", code="200") == 2


async def test_wrong_bearer_token_is_refused_and_starts_nothing(temporal_client, valkey_url, redis, task_queue,
                                                                telegram, tmp_path) -> None:
    """An Alertmanager with the wrong credentials gets 401 (which it never retries) and nothing runs."""
    service = f"billing-{uuid.uuid4().hex[:8]}"
    labels = _labels("HostOutOfDiskSpace", service)
    async with chain(temporal_client, valkey_url, task_queue, telegram, tmp_path,
                     alertmanager_token="not-" + TOKEN) as c:
        await post_to_alertmanager(c.alertmanager_url, labels, starts_at=_now())
        base = c.awoooi.base_url
        await eventually(
            lambda: metric(base, "awoooi_webhook_requests_total", source="alertmanager", code="401"),
            timeout=CARD_TIMEOUT, what="the delivery to be refused with 401",
        )
        # Alertmanager saw the failure too (its own counter), so the 401 reached the real sender.
        await eventually(
            lambda: metric(c.alertmanager_url, "alertmanager_notifications_failed_total", integration="webhook"),
            what="alertmanager to count the failed notification",
        )
        assert await metric(base, "awoooi_webhook_requests_total", source="alertmanager", code="200") == 0
        assert await metric(base, "awoooi_alerts_total") == 0
        assert await workflows(temporal_client, task_queue) == []
        # Not on any task queue either: no workflow anywhere carries this alert's service.
        assert [w async for w in temporal_client.list_workflows(
            f'AlertName="HostOutOfDiskSpace" AND Service="{service}"')] == []
        assert telegram.sent == [] and telegram.calls == []


# ------------------------------------------------------------------- the alert-chain rules, for real

CHAIN_RULES = Path(__file__).resolve().parents[1] / "deploy" / "prometheus" / "alert-chain-rules.yml"


def _short_chain_rules() -> str:
    """deploy/'s chain rules with thresholds a test can wait for: 6 h of silence -> 3 s, 1 s groups."""
    text = CHAIN_RULES.read_text()
    assert "> 21600" in text and "for: 6h" in text, "the thresholds this test shortens moved"
    text = text.replace("> 21600", "> 3").replace("for: 6h", "for: 2s")
    return text.replace("  - name: awoooi-alert-chain\n", "  - name: awoooi-alert-chain\n    interval: 1s\n")


async def _firing(prom_url: str, alertname: str) -> list[dict[str, str]]:
    async with httpx.AsyncClient(timeout=5.0) as http:
        alerts = (await http.get(f"{prom_url}/api/v1/alerts")).json()["data"]["alerts"]
    return [a["labels"] for a in alerts if a["labels"]["alertname"] == alertname and a["state"] == "firing"]


async def test_no_alerts_received_fires_on_awoooi_metrics_and_clears(temporal_client, valkey_url, redis,
                                                                     task_queue, telegram, tmp_path) -> None:
    """A real Prometheus scraping awoooi with deploy/'s chain rules: "none since start" fires, an
    alert through the real Alertmanager clears it, and silence after it fires the other rule."""
    async with chain(temporal_client, valkey_url, task_queue, telegram, tmp_path) as c:
        binary = debian_binary("prometheus")
        port = free_port()
        workdir = tmp_path / "prometheus-chain"
        workdir.mkdir()
        (workdir / "chain.yml").write_text(_short_chain_rules())
        config = {
            "global": {"evaluation_interval": "1s", "scrape_interval": "1s"},
            "rule_files": [str(workdir / "chain.yml")],
            "scrape_configs": [{"job_name": "awoooi",
                                "static_configs": [{"targets": [c.awoooi.base_url.removeprefix("http://")]}]}],
        }
        (workdir / "prometheus.yml").write_text(json.dumps(config))
        argv = [binary, f"--config.file={workdir / 'prometheus.yml'}", f"--storage.tsdb.path={workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"]
        async with _process("prometheus", argv, port, workdir / "prometheus.log"):
            prom = f"http://127.0.0.1:{port}"

            async def fired(reason: str) -> bool:
                return any(a.get("reason") == reason for a in await _firing(prom, "NoAlertsReceivedLong"))

            await eventually(lambda: fired("never"), timeout=CARD_TIMEOUT, what="NoAlertsReceivedLong (never)")
            assert not await fired("silent")

            await post_to_alertmanager(c.alertmanager_url, _labels("HostOutOfDiskSpace", "chain"), starts_at=_now())
            await eventually(lambda: telegram.sent, timeout=CARD_TIMEOUT, what="the alert's card")

            async def cleared() -> bool:
                return not await fired("never")
            await eventually(cleared, timeout=CARD_TIMEOUT, what="'never' to clear once an alert arrived")
            await eventually(lambda: fired("silent"), timeout=CARD_TIMEOUT, what="NoAlertsReceivedLong (silent)")

"""The timeline end to end on the Temporal dev server: an incident through the real API, worker,
Valkey, loopback Telegram and Kubernetes, read back by the API route and the CLI commands
(`timeline`, `postmortem`, `report`) as an operator runs them."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

from core.timeline import model as k
from tests.harness import eventually, running
from tests.repair_support import API_TOKEN, HPA_ALERT, alertmanager, card_text
from tests.test_repairs import AM, _open, kube, repair_settings  # noqa: F401 - kube is a fixture

ROOT = Path(__file__).resolve().parents[1]
AUTH = {"Authorization": f"Bearer {API_TOKEN}"}


def _cli(address: str, *args: str, **env_extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWOOOI_")}
    env |= {"AWOOOI_TEMPORAL_ADDRESS": address, **env_extra}
    return subprocess.run([sys.executable, "-m", "starter.cli", *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=90, check=False)


async def test_an_incident_read_back_by_the_api_and_the_cli(temporal_client, valkey_url, redis, task_queue, telegram,
                                                            kube, tmp_path) -> None:  # noqa: F811
    fingerprint = uuid.uuid4().hex[:16]
    settings = repair_settings(valkey_url, task_queue, telegram, kube, tmp_path, timezone="Asia/Taipei")
    async with running(temporal_client, settings) as app:
        workflow_id, message_id = await _open(app, telegram, alertmanager(HPA_ALERT, fingerprint=fingerprint))
        incident = workflow_id.removeprefix("incident-")
        approved = await app.api.post(f"/api/v1/incidents/{incident}/approve", json={"by": "alice"}, headers=AUTH)
        assert approved.status_code == 200, approved.text
        await eventually(lambda: "🔎" in card_text(telegram, message_id), what="verifying")
        await app.api.post(AM, content=alertmanager(HPA_ALERT, "resolved", fingerprint=fingerprint,
                                                    ends_at="2026-11-25T10:05:00Z"))
        await temporal_client.get_workflow_handle(workflow_id).result()

        url = f"/api/v1/incidents/{incident}/timeline"
        assert (await app.api.get(url)).status_code == 401
        answer = await app.api.get(url, headers=AUTH)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["timezone"] == "Asia/Taipei" and body["entries"][0]["at_local"].endswith("+08:00")
        story = [(e["kind"], e["actor"], e["via"]) for e in body["entries"]]
        assert story[0] == (k.FIRED, "alertmanager", None)
        assert (k.APPROVED, "alice (api)", "api") in story
        kinds = [kind for kind, _, _ in story]
        assert kinds.index(k.APPROVED) < kinds.index(k.EXECUTED) < kinds.index(k.RESOLVED) < kinds.index(k.VERIFIED)
        assert not [e for e in body["entries"] if e["kind"] == k.UNKNOWN]
        markdown = await app.api.get(url, params={"format": "markdown"}, headers=AUTH)
        assert markdown.headers["content-type"].startswith("text/markdown") and "| approved |" in markdown.text
        assert (await app.api.get(url, params={"format": "pdf"}, headers=AUTH)).status_code == 422
        assert (await app.api.get("/api/v1/incidents/not%20an%20id/timeline", headers=AUTH)).status_code == 422
        missing = await app.api.get(f"/api/v1/incidents/alertmanager-{uuid.uuid4().hex}/timeline", headers=AUTH)
        assert missing.status_code == 404 and missing.json()["status"] == "error"

    address = temporal_client.service_client.config.target_host
    printed = await asyncio.to_thread(_cli, address, "timeline", incident, "--json")
    assert printed.returncode == 0, printed.stderr
    assert [e["kind"] for e in json.loads(printed.stdout)["entries"]] == kinds
    text = await asyncio.to_thread(_cli, address, "timeline", incident, AWOOOI_TIMEZONE="Asia/Taipei")
    assert "alice (api) via api" in text.stdout and "CST" in text.stdout
    draft = await asyncio.to_thread(_cli, address, "postmortem", incident, AWOOOI_LOCALE="zh-TW")
    assert draft.returncode == 0, draft.stderr
    for heading in ("# 事後檢討（草稿）", "## 摘要", "## 影響時段", "## 時間軸", "## 分析", "## 採取的行動與執行者",
                    "## 學習紀錄", "## 後續待辦"):
        assert heading in draft.stdout, heading
    assert "沒有確認紀錄" in draft.stdout and "alice (api)" in draft.stdout
    english = await asyncio.to_thread(_cli, address, "postmortem", incident)
    assert "## Impact window" in english.stdout and "No acknowledgement recorded." in english.stdout
    page = tmp_path / "report.html"
    report = await asyncio.to_thread(_cli, address, "report", "--since", "1d", "--json", "--html", str(page))
    assert report.returncode == 0, report.stderr
    data = json.loads(report.stdout)
    # Other tests' incidents on the shared server may have been acked (docs/adr/0025); this one was not.
    assert data["mtta_note"] in (None, "no acknowledgement recorded")
    assert any(row["service"] == "checkout" for row in data["services"])
    assert any(row["action"] == "scale_up" and row["worked"] >= 1 for row in data["repairs"])
    assert "<svg" in page.read_text() and "<script" not in page.read_text()
    unknown = await asyncio.to_thread(_cli, address, "timeline", f"alertmanager-{uuid.uuid4().hex}")
    assert unknown.returncode == 1 and "no incident" in unknown.stderr and "Traceback" not in unknown.stderr

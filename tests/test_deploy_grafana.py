"""deploy/grafana/awoooi.json: a dashboard that queries only metrics awoooi registers.

A renamed metric leaves a dashboard valid JSON and silently empty, so every metric name in every
query must be registered by core/metrics.py (or be one of the probe metrics another change adds),
and every query must parse as PromQL (real ``promtool``, with Grafana's ``$__`` variables replaced).
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import yaml
from prometheus_client import CollectorRegistry

from core.metrics import Metrics
from tests.conftest import debian_binary

ROOT = Path(__file__).resolve().parents[1]
DASHBOARD = ROOT / "deploy" / "grafana" / "awoooi.json"
# Registered by the probe change being made alongside this one (issue 9's other helpers).
PENDING = {"awoooi_probe_success", "awoooi_probe_last_success_timestamp", "http_requests_total"}


def _registered() -> set[str]:
    names: set[str] = set()
    for family in Metrics(CollectorRegistry()).registry.collect():
        suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_sum", "_count"]}.get(family.type, [""])
        names |= {family.name + suffix for suffix in suffixes}
    return names


def _queries() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [t["expr"] for p in dashboard["panels"] for t in p["targets"]]


def test_dashboard_structure() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] and dashboard["title"]
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for panel in dashboard["panels"]:
        assert {"x", "y", "w", "h"} <= set(panel["gridPos"]) and panel["targets"]
        assert panel["datasource"]["uid"] == "${datasource}"
    titles = {p["title"] for p in dashboard["panels"]}
    assert {"Alerts in by source", "Intake latency", "Telegram cards", "Sentry comments", "Repairs by outcome",
            "Spool depth", "Probe status", "MTTA by service (p50, p90)", "MTTR by service (p50, p90)",
            "Repair outcomes"} <= titles


def test_dashboard_queries_registered_metrics_only() -> None:
    used = {m for q in _queries() for m in re.findall(r"\b(?:awoooi_[a-z0-9_]+|http_requests_total)\b", q)}
    unknown = sorted(used - _registered() - PENDING)
    assert not unknown, f"the dashboard queries metrics core/metrics.py does not register: {unknown}"


def test_dashboard_queries_are_valid_promql(tmp_path: Path) -> None:
    def concrete(query: str) -> str:
        return (query.replace("$__rate_interval", "5m").replace("$__range", "1h").replace("$job", ".*"))
    rules = {"groups": [{"name": "dashboard", "rules": [{"record": f"dashboard:q{i}", "expr": concrete(q)}
                                                          for i, q in enumerate(_queries())]}]}
    path = tmp_path / "dashboard.yml"
    path.write_text(yaml.safe_dump(rules))
    result = subprocess.run([debian_binary("promtool"), "check", "rules", str(path)],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr

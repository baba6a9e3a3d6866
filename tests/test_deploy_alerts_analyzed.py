"""Every alert deploy/ ships (exporter rules, SigNoz rules, awoooi's own) gets a specific analysis:
an operator who applies deploy/ never sees the generic "unknown" card for an alert we wrote."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from activities.analysis import RuleAnalyzer
from core.models import Alert, AlertStatus, Source

DEPLOY = Path(__file__).resolve().parents[1] / "deploy"


def _shipped() -> list[str]:
    names: set[str] = set()
    for path in [*DEPLOY.glob("exporters/rules/*.yml"), *DEPLOY.glob("prometheus/*.yml")]:
        for group in (yaml.safe_load(path.read_text()) or {}).get("groups", []):
            names |= {rule["alert"] for rule in group.get("rules", []) if "alert" in rule}
    names |= {rule["alert"] for rule in json.loads((DEPLOY / "signoz" / "rules.json").read_text())}
    return sorted(names)


SHIPPED = _shipped()


def test_deploy_ships_alerts() -> None:
    assert {"PostgresqlDown", "RedisDown", "MysqlDown", "APIHighErrorRate", "NoTracesReceived"} <= set(SHIPPED)


@pytest.mark.parametrize("name", SHIPPED)
async def test_each_shipped_alert_has_a_specific_analysis(name: str) -> None:
    alert = Alert(source=Source.ALERTMANAGER, fingerprint="f", status=AlertStatus.FIRING, title=name,
                  labels={"alertname": name})
    analysis = await RuleAnalyzer().analyze(alert)
    assert analysis.rule_id and analysis.rule_id != "generic" and not analysis.rule_id.startswith("mode-"), (
        name, analysis.rule_id)
    assert analysis.confidence >= 0.45, (name, analysis.rule_id, analysis.confidence)

"""deploy/exporters: database exporters (seed phase B) and their alert rules, routed to awoooi.

The rules pass the real ``promtool check rules`` and ``promtool test rules`` (unit tests with
input series in deploy/exporters/tests/, one firing case per alert at least), every alert goes to
the ``awoooi`` receiver by the real ``amtool config routes test`` over the example Alertmanager
config, and the exporter manifests validate against the Kubernetes schemas.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from tests.conftest import debian_binary

ROOT = Path(__file__).resolve().parents[1]
EXPORTERS = ROOT / "deploy" / "exporters"
RULES = sorted((EXPORTERS / "rules").glob("*.yml"))
UNIT_TESTS = sorted((EXPORTERS / "tests").glob("*.test.yml"))
ALERTMANAGER = ROOT / "deploy" / "alertmanager" / "alertmanager.yml"
EXPECTED = {
    "postgresql": {"PostgresqlDown", "PostgresqlTooManyConnections", "PostgresqlReplicationLag", "PostgresqlDeadlocks"},
    "redis": {"RedisDown", "RedisMemoryHigh", "RedisRejectedConnections", "RedisReplicationBroken"},
    "mysql": {"MysqlDown", "MysqlTooManyConnections", "MysqlSlowQueries", "MysqlReplicationLag"},
}


def _run(argv: list[str], cwd: Path | None = None) -> str:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False, cwd=cwd)
    assert result.returncode == 0, f"{' '.join(argv)} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def _alerts() -> dict[str, dict]:
    return {rule["alert"]: rule for path in RULES for group in yaml.safe_load(path.read_text())["groups"]
            for rule in group["rules"]}


def test_the_standard_alerts_are_all_there() -> None:
    alerts = _alerts()
    assert set(alerts) == set().union(*EXPECTED.values())
    for service, names in EXPECTED.items():
        for name in names:
            assert alerts[name]["labels"]["service"] == service and alerts[name]["labels"]["severity"]
            assert alerts[name]["annotations"]["summary"]


def test_rules_pass_promtool_check() -> None:
    _run([debian_binary("promtool"), "check", "rules", *map(str, RULES)])


def test_rules_pass_their_promtool_unit_tests() -> None:
    _run([debian_binary("promtool"), "test", "rules", *(p.name for p in UNIT_TESTS)], cwd=EXPORTERS / "tests")


def test_every_alert_has_a_firing_unit_test() -> None:
    fired = {case["alertname"] for path in UNIT_TESTS for test in yaml.safe_load(path.read_text())["tests"]
             for case in test["alert_rule_test"] if case.get("exp_alerts")}
    assert set(_alerts()) <= fired, f"no firing case for {sorted(set(_alerts()) - fired)}"


def test_every_alert_is_routed_to_awoooi() -> None:
    amtool = debian_binary("amtool")
    for name, rule in _alerts().items():
        labels = [f"alertname={name}", *(f"{k}={v}" for k, v in rule["labels"].items())]
        receiver = _run([amtool, "config", "routes", "test", f"--config.file={ALERTMANAGER}", *labels]).strip()
        assert receiver == "awoooi", f"{name} goes to {receiver!r}"


@pytest.mark.parametrize("path", sorted(EXPORTERS.glob("*.yaml")), ids=lambda p: p.name)
def test_exporter_manifests_validate(path: Path) -> None:
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
    assert {d["kind"] for d in docs} == {"Deployment", "Service"}
    for doc in docs:
        try:
            kubernetes_validate.validate(doc, "1.30.0", strict=True)
        except kubernetes_validate.ValidationError as exc:
            pytest.fail(f"{path.name} {doc['kind']}: {exc.message} at {list(exc.path)}")
    deployment = next(d for d in docs if d["kind"] == "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    secrets = [e for e in container["env"] if "valueFrom" in e]
    assert secrets and all("value" not in e for e in secrets), "credentials come from a Secret, never inline"

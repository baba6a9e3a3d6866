"""deploy/ must stay true to the code: configs the real tools accept, names that exist.

Deployment files rot silently: a renamed setting or metric keeps the YAML valid while production
quietly ignores it. So the Prometheus rules and the Alertmanager config are checked by the real
``promtool``/``amtool`` (Debian packages prometheus, prometheus-alertmanager: skipped on a
developer machine without them, a failure under ``CI``), and names are checked against the code:
every setting is documented, every ``AWOOOI_`` key in the manifests is a real setting, every
``awoooi_`` metric a rule uses is registered.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import CollectorRegistry

from core.metrics import Metrics
from core.settings import Settings
from tests.conftest import debian_binary

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
RULES = DEPLOY / "prometheus" / "awoooi-rules.yml"
ALERTMANAGER = DEPLOY / "alertmanager" / "alertmanager.yml"
KUBERNETES = sorted((DEPLOY / "kubernetes").glob("*.yaml"))
SETTINGS = {f"AWOOOI_{name.upper()}" for name in Settings.model_fields}


def _run(argv: list[str]) -> None:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, f"{' '.join(argv)} failed:\n{result.stdout}\n{result.stderr}"


def test_prometheus_rules_pass_promtool() -> None:
    _run([debian_binary("promtool"), "check", "rules", str(RULES)])


def test_alertmanager_config_passes_amtool() -> None:
    _run([debian_binary("amtool"), "check-config", str(ALERTMANAGER)])


def test_alertmanager_example_targets_the_webhook_with_bearer_auth() -> None:
    text = ALERTMANAGER.read_text()
    assert "/api/v1/webhooks/alertmanager" in text
    assert re.search(r"authorization:\s*\n\s*type: Bearer", text), "the receiver must send the webhook token"
    assert "send_resolved: true" in text


def test_every_setting_is_documented() -> None:
    readme = (DEPLOY / "README.md").read_text()
    missing = sorted(name for name in SETTINGS if f"`{name}`" not in readme)
    assert not missing, f"add these to the settings table in deploy/README.md: {missing}"
    unknown = sorted(set(re.findall(r"AWOOOI_[A-Z0-9_]+", readme)) - SETTINGS)
    assert not unknown, f"deploy/README.md names settings that do not exist: {unknown}"


def _metric_names() -> set[str]:
    names: set[str] = set()
    for family in Metrics(CollectorRegistry()).registry.collect():
        suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_sum", "_count"]}.get(family.type, [""])
        names |= {family.name + suffix for suffix in suffixes}
    return names


def test_rules_use_registered_metrics_only() -> None:
    used = set(re.findall(r"\bawoooi_[a-z0-9_]+", RULES.read_text()))
    assert used, "the rules should watch awoooi's own metrics"
    unknown = sorted(used - _metric_names())
    assert not unknown, f"rules reference metrics core/metrics.py does not register: {unknown}"


def _load_yaml_documents(paths: list[Path]) -> list[list[Any]]:
    """Parse with PyYAML: the venv's if present (it is not an awoooi dependency), else the system's."""
    code = ("import json, sys, yaml\n"
            "print(json.dumps([[d for d in yaml.safe_load_all(open(p)) if d is not None] for p in sys.argv[1:]]))")
    for python in (sys.executable, shutil.which("python3")):
        if python is None:
            continue
        probe = subprocess.run([python, "-c", "import yaml"], capture_output=True, check=False)
        if probe.returncode == 0:
            result = subprocess.run([python, "-c", code, *map(str, paths)], capture_output=True, text=True,
                                    timeout=60, check=False)
            assert result.returncode == 0, result.stderr
            return json.loads(result.stdout)
    pytest.skip("PyYAML is not installed (venv or system python3); Kubernetes manifests not parsed")


def test_kubernetes_manifests_are_consistent() -> None:
    assert KUBERNETES, "deploy/kubernetes/*.yaml missing"
    documents = [doc for docs in _load_yaml_documents(KUBERNETES) for doc in docs]
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for doc in documents:
        assert doc.get("apiVersion") and doc.get("kind") and doc["metadata"].get("name"), doc
        assert "namespace" not in doc["metadata"], "manifests are namespace-less: apply with -n"
        by_kind.setdefault(doc["kind"], []).append(doc)
    assert sorted(by_kind) == ["ClusterRole", "ClusterRoleBinding", "ConfigMap", "Deployment", "Secret",
                               "Service", "ServiceAccount"]

    config = by_kind["ConfigMap"][0]
    secret = by_kind["Secret"][0]
    keys = set(config["data"]) | set(secret["stringData"])
    assert not (keys - SETTINGS), f"manifests set unknown settings: {sorted(keys - SETTINGS)}"
    assert set(config["data"]).isdisjoint(secret["stringData"]), "a setting is in both ConfigMap and Secret"
    secrets = {f"AWOOOI_{n.upper()}" for n, f in Settings.model_fields.items() if "SecretStr" in str(f.annotation)}
    assert secrets <= set(secret["stringData"]), "every secret setting belongs in the Secret template"
    assert config["data"]["AWOOOI_API_HOST"] == "0.0.0.0", "the API must listen beyond the pod's loopback"

    deployments = {d["metadata"]["name"]: d for d in by_kind["Deployment"]}
    assert set(deployments) == {"awoooi-api", "awoooi-worker"}
    for name, command in (("awoooi-api", "api"), ("awoooi-worker", "worker")):
        spec = deployments[name]["spec"]
        container = spec["template"]["spec"]["containers"][0]
        assert container["command"] == ["awoooi"] and container["args"] == [command]
        sources = {next(iter(ref)): ref[next(iter(ref))]["name"] for ref in container["envFrom"]}
        assert sources == {"configMapRef": config["metadata"]["name"], "secretRef": secret["metadata"]["name"]}
        template_labels = spec["template"]["metadata"]["labels"]
        assert spec["selector"]["matchLabels"].items() <= template_labels.items()

    api = deployments["awoooi-api"]["spec"]["template"]
    container = api["spec"]["containers"][0]
    port = int(config["data"]["AWOOOI_API_PORT"])
    assert container["ports"][0]["containerPort"] == port
    assert container["readinessProbe"]["httpGet"]["path"] == "/api/v1/ready"
    annotations = api["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/path"] == "/metrics" and annotations["prometheus.io/port"] == str(port)

    service = by_kind["Service"][0]
    assert service["spec"]["selector"].items() <= api["metadata"]["labels"].items()
    assert service["spec"]["ports"][0]["targetPort"] in (port, container["ports"][0]["name"])

    # The worker runs as the account the repair RBAC is bound to, and that role can do the repairs.
    account = by_kind["ServiceAccount"][0]["metadata"]["name"]
    assert deployments["awoooi-worker"]["spec"]["template"]["spec"]["serviceAccountName"] == account
    binding = by_kind["ClusterRoleBinding"][0]
    assert binding["subjects"][0]["name"] == account
    assert binding["roleRef"]["name"] == by_kind["ClusterRole"][0]["metadata"]["name"]
    granted = {(r, v) for rule in by_kind["ClusterRole"][0]["rules"] for r in rule["resources"] for v in rule["verbs"]}
    assert {("pods", "delete"), ("deployments", "patch"), ("deployments/scale", "patch")} <= granted

    source = "".join(p.read_text() for p in [ROOT / "starter" / "api.py", *sorted((ROOT / "starter" / "http").glob("*.py"))])
    for path in ("/api/v1/health", "/api/v1/ready", "/metrics", "/api/v1/webhooks/alertmanager"):
        assert f'"{path}"' in source, f"{path} is not an awoooi route any more"


# ------------------------------------------------------------------------ the alert-chain monitor

CHAIN_RULES = DEPLOY / "prometheus" / "alert-chain-rules.yml"
CHAIN_OPERATOR = DEPLOY / "prometheus" / "alert-chain-prometheusrule.yaml"
RULE_TESTS = sorted((DEPLOY / "prometheus" / "tests").glob("*.yml"))
CD_EXAMPLE = DEPLOY / "ci" / "github-actions-cd.yml"


@pytest.mark.parametrize("path", sorted((DEPLOY / "prometheus").glob("*.yml")), ids=lambda p: p.name)
def test_every_rules_file_passes_promtool(path: Path) -> None:
    _run([debian_binary("promtool"), "check", "rules", str(path)])


@pytest.mark.parametrize("path", RULE_TESTS, ids=lambda p: p.name)
def test_rule_behaviour_passes_promtool_test(path: Path) -> None:
    """Input series -> expected alerts: the chain rules fire when they should, and only then."""
    _run([debian_binary("promtool"), "test", "rules", str(path)])


def test_chain_rules_cover_the_seeds_alerts_and_registered_metrics() -> None:
    text = CHAIN_RULES.read_text()
    tests = "".join(t.read_text() for t in RULE_TESTS)
    for alert in ("AlertChainBroken_Alertmanager", "AlertChainBroken_Sentry", "NoAlertsReceivedLong",
                  "AlertChainProbeFailing", "AlertChainProbeDeadMansSwitch"):
        assert f"alert: {alert}" in text
        assert f"alertname: {alert}" in tests, f"{alert} has no promtool test"
    names = _metric_names() | {"awoooi_build_info"}
    unknown = sorted(set(re.findall(r"\bawoooi_[a-z0-9_]+", text)) - names)
    assert not unknown, unknown


def test_the_prometheus_rule_matches_the_plain_rules_file(tmp_path: Path) -> None:
    (operator,), (plain,) = _load_yaml_documents([CHAIN_OPERATOR, CHAIN_RULES])
    assert operator["apiVersion"] == "monitoring.coreos.com/v1" and operator["kind"] == "PrometheusRule"
    assert operator["spec"]["groups"] == plain["groups"]
    extracted = tmp_path / "operator-rules.json"
    extracted.write_text(json.dumps({"groups": operator["spec"]["groups"]}))
    _run([debian_binary("promtool"), "check", "rules", str(extracted)])


def test_the_cd_example_rolls_out_probes_and_tells_telegram_directly() -> None:
    (workflow,) = _load_yaml_documents([CD_EXAMPLE])[0]
    steps = workflow["jobs"]["deploy"]["steps"]
    runs = [step.get("run", "") for step in steps]
    order = [next(i for i, r in enumerate(runs) if needle in r)
             for needle in ("set image", "rollout status", "awoooi probe")]
    assert order == sorted(order), "roll out, wait for the rollout, then probe"
    alert = next(step for step in steps if "sendMessage" in step.get("run", ""))
    assert alert["if"] == "failure()"
    assert "secrets." in json.dumps(alert["env"]) and "api.telegram.org/bot${TOKEN}" in alert["run"]
    env_names = {name for step in steps for name in step.get("env", {})}
    assert {n for n in env_names if n.startswith("AWOOOI_")} <= SETTINGS

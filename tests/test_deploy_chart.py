"""The Dockerfile, the Helm chart and the plain manifests are what a platform team applies.

The chart is rendered by Helm itself: ``helm-python-sdk`` (PyPI) binds Helm v4's Go SDK
(``libhelm_c``), so ``render`` and ``lint`` are Helm's own template engine and linter, not a
re-implementation. Every rendered and plain manifest is then validated against the Kubernetes
OpenAPI schemas by ``kubernetes-validate`` (strict: unknown fields are errors). ServiceMonitor and
PrometheusRule are prometheus-operator CRDs whose schemas that package does not ship; their rule
groups are checked with ``promtool`` instead.

No Docker engine runs here, so the Dockerfile is checked statically: stages, non-root USER, what
it copies, the port it exposes, its HEALTHCHECK and that no secret is baked in.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from helm_python import Chart
from helm_python.chart import lint

from core.settings import Settings
from tests.conftest import debian_binary

ROOT = Path(__file__).resolve().parents[1]
CHART = ROOT / "deploy" / "helm" / "awoooi"
PRODUCTION = CHART / "values-production.yaml"
SETTINGS = {f"AWOOOI_{name.upper()}" for name in Settings.model_fields}
KUBE_VERSION = "1.30.0"
CRDS = {"ServiceMonitor", "PrometheusRule"}  # monitoring.coreos.com/v1: schemas not in kubernetes-validate


def _render(values: dict[str, Any] | None) -> list[dict[str, Any]]:
    with Chart.load(CHART) as chart:
        rendered = chart.render(values=values, name="awoooi", namespace="awoooi", is_install=True)
    return [doc for text in rendered.values() for doc in yaml.safe_load_all(text) if doc]


def _production_values() -> dict[str, Any]:
    return yaml.safe_load(PRODUCTION.read_text())


def _validate(doc: dict[str, Any]) -> None:
    try:
        kubernetes_validate.validate(doc, KUBE_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        pytest.fail(f"{doc['kind']} {doc['metadata']['name']}: {exc.message} at {list(exc.path)}")


def _by_kind(docs: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    kinds: dict[str, list[dict[str, Any]]] = {}
    for doc in docs:
        kinds.setdefault(doc["kind"], []).append(doc)
    return kinds


def test_chart_passes_helm_lint() -> None:
    for values in (None, _production_values()):
        report = lint(CHART, values=values) if values else lint(CHART)
        messages = [m for m in report.get("messages", []) if m.get("severity", 0) >= 3]  # 3 = error
        assert not report.get("errors") and not messages, report


@pytest.mark.parametrize("profile", ["default", "production"])
def test_chart_renders_and_validates(profile: str) -> None:
    values = _production_values() if profile == "production" else None
    docs = _render(values)
    kinds = _by_kind(docs)
    expected = {"ConfigMap", "Deployment", "Service", "ServiceAccount", "PodDisruptionBudget"}
    if profile == "production":
        expected |= {"ServiceMonitor", "PrometheusRule", "ClusterRole", "ClusterRoleBinding"}
    assert set(kinds) == expected
    for doc in docs:
        if doc["kind"] not in CRDS:
            _validate(doc)
    assert "Secret" not in kinds, "the chart references existing Secrets, it never carries their values"

    config = kinds["ConfigMap"][0]["data"]
    assert set(config) <= SETTINGS, f"unknown settings: {sorted(set(config) - SETTINGS)}"
    secret_fields = {f"AWOOOI_{n.upper()}" for n, f in Settings.model_fields.items()
                     if "SecretStr" in str(f.annotation)}
    assert not (set(config) & secret_fields), "a secret setting in the ConfigMap"

    deployments = {d["spec"]["template"]["spec"]["containers"][0]["args"][0]: d for d in kinds["Deployment"]}
    assert set(deployments) == {"api", "worker"}
    for command, deployment in deployments.items():
        pod = deployment["spec"]["template"]["spec"]
        container = pod["containers"][0]
        assert container["command"] == ["awoooi"]
        assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] != 0
        assert container["resources"]["requests"] and container["resources"]["limits"]
        assert {"secretRef": {"name": "awoooi"}} in container["envFrom"]
        assert deployment["spec"]["selector"]["matchLabels"].items() <= \
            deployment["spec"]["template"]["metadata"]["labels"].items()
        port = container["ports"][0]
        probe = container["readinessProbe"]["httpGet"]
        assert probe["port"] == port["name"] and container["livenessProbe"]
        if command == "api":
            assert probe["path"] == "/api/v1/health" and port["containerPort"] == int(config["AWOOOI_API_PORT"])
        else:
            assert probe["path"] == "/metrics"
            assert port["containerPort"] == int(config["AWOOOI_WORKER_METRICS_PORT"])
            assert container["livenessProbe"]["httpGet"]["path"] == "/metrics"

    budgets = {p["metadata"]["name"]: p for p in kinds["PodDisruptionBudget"]}
    for deployment in kinds["Deployment"]:
        budget = budgets[deployment["metadata"]["name"]]
        assert budget["spec"]["selector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"]
        assert budget["spec"]["minAvailable"] < deployment["spec"]["replicas"], "a PDB that blocks every drain"

    if profile == "production":
        env = {e["name"]: e["value"] for e in deployments["worker"]["spec"]["template"]["spec"]["containers"][0]["env"]}
        assert {"AWOOOI_TEMPORAL_TLS_CERT", "AWOOOI_TEMPORAL_TLS_KEY", "AWOOOI_TEMPORAL_TLS_CA"} <= set(env)
        services = {s["metadata"]["name"]: s for s in kinds["Service"]}
        monitor = kinds["ServiceMonitor"][0]
        ports = {e["port"] for e in monitor["spec"]["endpoints"]}
        assert ports == {p["name"] for s in services.values() for p in s["spec"]["ports"]}
        assert monitor["spec"]["selector"]["matchLabels"].items() <= \
            next(iter(services.values()))["metadata"]["labels"].items()


def test_prometheus_rule_carries_the_rules_and_passes_promtool(tmp_path: Path) -> None:
    rule = _by_kind(_render(_production_values()))["PrometheusRule"][0]
    source = yaml.safe_load((ROOT / "deploy" / "prometheus" / "awoooi-rules.yml").read_text())
    assert rule["spec"] == source
    rules = tmp_path / "rules.yml"
    rules.write_text(yaml.safe_dump(rule["spec"]))
    result = subprocess.run([debian_binary("promtool"), "check", "rules", str(rules)],
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_config_values_must_be_awoooi_settings() -> None:
    with pytest.raises(Exception, match="only AWOOOI_ settings"):
        _render({"config": {"TEMPORAL_ADDRESS": "x:7233"}})


@pytest.mark.parametrize("path", sorted((ROOT / "deploy" / "kubernetes").glob("*.yaml")), ids=lambda p: p.name)
def test_plain_manifests_validate(path: Path) -> None:
    for doc in yaml.safe_load_all(path.read_text()):
        if doc:
            _validate(doc)


def test_plain_worker_has_its_metrics_port_as_liveness_signal() -> None:
    worker = yaml.safe_load((ROOT / "deploy" / "kubernetes" / "worker.yaml").read_text())
    config = yaml.safe_load((ROOT / "deploy" / "kubernetes" / "configmap.yaml").read_text())["data"]
    container = worker["spec"]["template"]["spec"]["containers"][0]
    assert container["ports"][0]["containerPort"] == int(config["AWOOOI_WORKER_METRICS_PORT"])
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["httpGet"] == {"path": "/metrics", "port": "metrics"}
    assert config["AWOOOI_API_HOST"] == "0.0.0.0", "the worker's /metrics binds AWOOOI_API_HOST: kubelet must reach it"
    # The signal is real: worker/service.py serves /metrics when the worker runs alone.
    assert "start_http_server(settings.worker_metrics_port" in (ROOT / "worker" / "service.py").read_text()


def _dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text()


def test_dockerfile_is_multi_stage_non_root_and_runs_awoooi() -> None:
    text = _dockerfile()
    stages = re.findall(r"^FROM\s+(\S+)(?:\s+AS\s+(\S+))?", text, re.MULTILINE | re.IGNORECASE)
    assert len(stages) >= 2 and stages[0][1] == "builder", stages
    runtime = text[text.rindex("\nFROM "):]
    assert "COPY --from=builder" in runtime
    users = re.findall(r"^USER\s+(\S+)", runtime, re.MULTILINE)
    assert users and users[-1].split(":")[0] not in ("root", "0"), "the runtime stage must not run as root"
    assert re.search(r'^ENTRYPOINT \["awoooi"\]', runtime, re.MULTILINE)
    assert re.search(r"^HEALTHCHECK ", runtime, re.MULTILINE)
    exposed = {int(p) for line in re.findall(r"^EXPOSE (.+)$", runtime, re.MULTILINE) for p in line.split()}
    defaults = Settings.model_fields
    assert {defaults["api_port"].default, defaults["worker_metrics_port"].default} <= exposed
    instructions = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    assert "[test" not in instructions, "no test extras in the image"


def test_dockerfile_copies_what_pyproject_builds() -> None:
    text = _dockerfile()
    pyproject = (ROOT / "pyproject.toml").read_text()
    packages = re.search(r"^packages = \[(.*)\]", pyproject, re.MULTILINE).group(1)
    top_level = {p.strip().strip('"').split(".")[0] for p in packages.split(",")}
    copied = {m.rstrip("/") for m in re.findall(r"^COPY (?!--)(\S+)", text, re.MULTILINE)}
    missing = top_level - copied
    assert not missing, f"the image would lack packages pyproject.toml lists: {sorted(missing)}"
    readme = re.search(r'^readme = "(.+)"', pyproject, re.MULTILINE)
    assert "pyproject.toml" in text and (readme is None or readme.group(1) in text)


def test_dockerfile_bakes_in_no_secret() -> None:
    text = _dockerfile()
    secret_names = {f"AWOOOI_{n.upper()}" for n, f in Settings.model_fields.items() if "SecretStr" in str(f.annotation)}
    for line in re.findall(r"^(?:ENV|ARG)\b.*(?:\n\s+.*)*", text, re.MULTILINE):
        for name in secret_names | {"PASSWORD", "TOKEN", "SECRET", "API_KEY"}:
            assert name not in line.upper(), f"a secret in the image: {line}"
    ignored = (ROOT / ".dockerignore").read_text().split()
    for entry in (".git", ".venv", ".env", "tests", ".awoooi"):
        assert entry in ignored, f".dockerignore must exclude {entry}"

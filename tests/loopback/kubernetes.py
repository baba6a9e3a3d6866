"""A loopback Kubernetes API server for the calls the kubernetes repair executor makes.

It serves the three repairs of /work/shared/PROTOCOLS.md ("Kubernetes repairs") and nothing else:
DELETE a pod, PATCH a Deployment's pod template (rollout restart), GET and PATCH a Deployment's scale
subresource. It enforces what the real API server would (bearer token, paths, verbs, patch media
types) plus the contract awoooi promises (the restart patch carries exactly the restartedAt
annotation as RFC 3339; a scale patch sets only spec.replicas; never a server-side dry run), and
answers like kube-apiserver: the object for a success, a ``Status`` with code/reason/message for an
error. A rollout is counted only when the pod template actually changes, which is what makes a
retried restart patch harmless.
"""

from __future__ import annotations

import re
import uuid
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import parse_qs, unquote, urlsplit

import yaml

from starter.embedded import free_port
from tests.loopback import LoopbackServer, Response, decode_json, json_response

RESTARTED_AT = "kubectl.kubernetes.io/restartedAt"
STRATEGIC = "application/strategic-merge-patch+json"
MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
APPLY = "application/apply-patch+yaml"
# What kube-apiserver accepts for PATCH on a Deployment and on its scale subresource.
PATCH_TYPES = (JSON_PATCH, MERGE, STRATEGIC, APPLY)

_POD = re.compile(r"/api/v1/namespaces/([^/]+)/pods/([^/]+)")
_DEPLOYMENT = re.compile(r"/apis/apps/v1/namespaces/([^/]+)/deployments/([^/]+)")
_SCALE = re.compile(r"/apis/apps/v1/namespaces/([^/]+)/deployments/([^/]+)/scale")
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")
_QUERY_ALLOWED = {"fieldManager"}
CREATED = "2026-11-01T00:00:00Z"

REASONS = {
    400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 405: "MethodNotAllowed",
    409: "Conflict", 410: "Expired", 415: "UnsupportedMediaType", 422: "Invalid", 429: "TooManyRequests",
    500: "InternalError", 503: "ServiceUnavailable", 504: "Timeout",
}


def status_object(code: int, message: str, reason: str | None = None, details: dict[str, Any] | None = None) -> dict[str, Any]:
    """A ``meta/v1 Status`` as kube-apiserver sends it for every error."""
    body: dict[str, Any] = {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason or REASONS.get(code, ""), "code": code,
    }
    if details:
        body["details"] = details
    return body


class Call(NamedTuple):
    method: str
    path: str
    query: dict[str, str]
    content_type: str
    body: Any  # decoded JSON, or None


@dataclass
class FakeDeployment:
    replicas: int
    template_annotations: dict[str, str] = field(default_factory=dict)
    generation: int = 1
    rollouts: int = 0  # template changes, i.e. rolling restarts the controller would run
    uid: str = field(default_factory=lambda: str(uuid.uuid4()))


@dataclass
class _Failure:
    status: int
    message: str
    json_body: bool
    headers: dict[str, str]
    apply: bool = False  # carry the request out, then answer the failure (an answer lost on the way)


class KubernetesLoopback(LoopbackServer):
    """kube-apiserver stand-in. Seed with :meth:`add_pod` / :meth:`add_deployment`; read ``pods``,
    ``deployments`` and ``calls``; script errors with :meth:`fail_next`."""

    def __init__(self, token: str = "k8s-loopback-token-0123456789") -> None:
        super().__init__()
        self.token = token
        self.pods: dict[tuple[str, str], str] = {}  # (namespace, name) -> uid
        self.deployments: dict[tuple[str, str], FakeDeployment] = {}
        self.calls: list[Call] = []
        self._failures: deque[_Failure | None] = deque()  # None: let that request through
        self._resource_version = 1000

    # ------------------------------------------------------------------------------------ seeding

    def add_pod(self, namespace: str, name: str) -> None:
        with self._lock:
            self.pods[(namespace, name)] = str(uuid.uuid4())

    def add_deployment(self, namespace: str, name: str, replicas: int = 1) -> None:
        with self._lock:
            self.deployments[(namespace, name)] = FakeDeployment(replicas)

    def fail_next(
        self, status: int, message: str = "scripted failure", *, times: int = 1, after: int = 0,
        json_body: bool = True, headers: dict[str, str] | None = None, apply: bool = False,
    ) -> None:
        """Answer ``times`` authenticated requests with ``status``, after letting ``after`` through
        (``after=1`` fails the PATCH that follows a scale GET).

        ``json_body=False`` answers text/html like a proxy or load balancer in front of the API server;
        ``apply=True`` makes the change first, like a proxy timing out after the API server acted."""
        with self._lock:
            self._failures.extend([None] * after)
            self._failures.extend([_Failure(status, message, json_body, dict(headers or {}), apply)] * times)

    # ---------------------------------------------------------------------------------- dispatch

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Response:
        parts = urlsplit(path)
        url_path = unquote(parts.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        content_type = headers.get("content-type", "").split(";")[0].strip()
        decoded = decode_json(body)
        with self._lock:
            self.calls.append(Call(method, url_path, query, content_type, decoded))
            auth = headers.get("authorization", "")
            if not auth.startswith("Bearer ") or not auth[7:].strip():
                self.violation(f"{method} {url_path}: missing Authorization: Bearer header")
                return json_response(401, status_object(401, "Unauthorized"))
            if auth[7:] != self.token:
                # A wrong token is a deployment problem the client must survive, not a contract bug.
                return json_response(401, status_object(401, "Unauthorized"))
            if query.get("dryRun"):
                self.violation(f"{method} {url_path}: server-side dryRun used by a real executor")
            if unknown := set(query) - _QUERY_ALLOWED:
                self.violation(f"{method} {url_path}: unexpected query parameters {sorted(unknown)}")
            if body and decoded is None:
                self.violation(f"{method} {url_path}: body is not JSON")
                return json_response(400, status_object(400, "the body of the request is not JSON"))
            failure = self._failures.popleft() if self._failures else None
            if failure is not None and not failure.apply:
                return self._scripted(failure)
            answer = self._route(method, url_path, content_type, decoded)
            return self._scripted(failure) if failure is not None else answer

    def _route(self, method: str, url_path: str, content_type: str, decoded: Any) -> Response:
        with self._lock:
            if match := _SCALE.fullmatch(url_path):
                return self._scale(method, match.group(1), match.group(2), content_type, decoded)
            if match := _DEPLOYMENT.fullmatch(url_path):
                return self._deployment(method, match.group(1), match.group(2), content_type, decoded)
            if match := _POD.fullmatch(url_path):
                return self._pod(method, match.group(1), match.group(2))
            self.violation(f"unexpected path {method} {url_path}")
            return json_response(404, status_object(404, "the server could not find the requested resource"))

    @staticmethod
    def _scripted(failure: _Failure) -> Response:
        if not failure.json_body:
            html = f"<html><body><h1>{failure.status}</h1>{failure.message}</body></html>".encode()
            return failure.status, {"Content-Type": "text/html", **failure.headers}, html
        return json_response(failure.status, status_object(failure.status, failure.message), failure.headers)

    def _next_version(self) -> str:
        self._resource_version += 1
        return str(self._resource_version)

    # ------------------------------------------------------------------------------------- pods

    def _pod(self, method: str, namespace: str, name: str) -> Response:
        if method != "DELETE":
            self.violation(f"{method} pod {namespace}/{name}: only DELETE is used on pods")
            return json_response(405, status_object(405, f"the server does not allow method {method}"))
        uid = self.pods.pop((namespace, name), None)
        if uid is None:
            return json_response(404, status_object(404, f'pods "{name}" not found',
                                                    details={"name": name, "kind": "pods"}))
        pod = {
            "kind": "Pod", "apiVersion": "v1",
            "metadata": {
                "name": name, "namespace": namespace, "uid": uid, "resourceVersion": self._next_version(),
                "creationTimestamp": CREATED, "deletionTimestamp": "2026-11-25T10:00:30Z",
                "deletionGracePeriodSeconds": 30,
            },
            "spec": {"containers": [{"name": "app", "image": "registry.local/app:1"}]},
            "status": {"phase": "Running"},
        }
        return json_response(200, pod)

    # ------------------------------------------------------------------------------ deployments

    def _missing_deployment(self, name: str) -> Response:
        return json_response(404, status_object(404, f'deployments.apps "{name}" not found',
                                                details={"name": name, "group": "apps", "kind": "deployments"}))

    def _check_patch_type(self, what: str, content_type: str, expected: str) -> Response | None:
        if content_type not in PATCH_TYPES:
            self.violation(f"{what}: Content-Type {content_type!r} is not a patch media type")
            return json_response(415, status_object(
                415, "the body of the request was in an unknown format - accepted media types include: "
                + ", ".join(PATCH_TYPES)))
        if content_type != expected:
            self.violation(f"{what}: sent as {content_type}, expected {expected}")
        return None

    def _deployment(self, method: str, namespace: str, name: str, content_type: str, patch: Any) -> Response:
        what = f"{method} deployment {namespace}/{name}"
        if method != "PATCH":
            self.violation(f"{what}: only PATCH is used on deployments")
            return json_response(405, status_object(405, f"the server does not allow method {method}"))
        if refused := self._check_patch_type(what, content_type, STRATEGIC):
            return refused
        stamp = _restart_stamp(patch)
        if stamp is None:
            self.violation(f"{what}: patch is not exactly the restartedAt annotation: {patch!r:.300}")
            return json_response(422, status_object(422, f'Deployment.apps "{name}" is invalid'))
        if not _RFC3339.fullmatch(stamp):
            self.violation(f"{what}: restartedAt {stamp!r} is not RFC 3339")
        deployment = self.deployments.get((namespace, name))
        if deployment is None:
            return self._missing_deployment(name)
        if deployment.template_annotations.get(RESTARTED_AT) != stamp:
            deployment.template_annotations[RESTARTED_AT] = stamp
            deployment.generation += 1
            deployment.rollouts += 1
        return json_response(200, self._deployment_object(namespace, name, deployment))

    def _scale(self, method: str, namespace: str, name: str, content_type: str, patch: Any) -> Response:
        what = f"{method} deployment {namespace}/{name}/scale"
        if method not in ("GET", "PATCH"):
            self.violation(f"{what}: only GET and PATCH are used on the scale subresource")
            return json_response(405, status_object(405, f"the server does not allow method {method}"))
        if method == "PATCH":
            if refused := self._check_patch_type(what, content_type, MERGE):
                return refused
            replicas = _replicas(patch)
            if replicas is None:
                self.violation(f"{what}: patch is not exactly spec.replicas: {patch!r:.300}")
                return json_response(422, status_object(422, f'Scale.autoscaling "{name}" is invalid'))
        deployment = self.deployments.get((namespace, name))
        if deployment is None:
            return self._missing_deployment(name)
        if method == "PATCH" and replicas != deployment.replicas:
            deployment.replicas = replicas
            deployment.generation += 1
        return json_response(200, self._scale_object(namespace, name, deployment))

    def _scale_object(self, namespace: str, name: str, deployment: FakeDeployment) -> dict[str, Any]:
        spec: dict[str, Any] = {"replicas": deployment.replicas} if deployment.replicas else {}  # omitempty
        return {
            "kind": "Scale", "apiVersion": "autoscaling/v1",
            "metadata": {"name": name, "namespace": namespace, "uid": deployment.uid,
                         "resourceVersion": self._next_version(), "creationTimestamp": CREATED},
            "spec": spec,
            "status": {"replicas": deployment.replicas, "selector": f"app={name}"},
        }

    def _deployment_object(self, namespace: str, name: str, deployment: FakeDeployment) -> dict[str, Any]:
        template_metadata: dict[str, Any] = {"labels": {"app": name}}
        if deployment.template_annotations:
            template_metadata["annotations"] = dict(deployment.template_annotations)
        return {
            "kind": "Deployment", "apiVersion": "apps/v1",
            "metadata": {"name": name, "namespace": namespace, "uid": deployment.uid,
                         "resourceVersion": self._next_version(), "generation": deployment.generation,
                         "creationTimestamp": CREATED},
            "spec": {
                "replicas": deployment.replicas,
                "selector": {"matchLabels": {"app": name}},
                "template": {"metadata": template_metadata,
                             "spec": {"containers": [{"name": "app", "image": "registry.local/app:1"}]}},
                "strategy": {"type": "RollingUpdate",
                             "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}},
            },
            "status": {"observedGeneration": deployment.generation - 1, "replicas": deployment.replicas},
        }


def _restart_stamp(patch: Any) -> str | None:
    """The restartedAt value when ``patch`` is exactly the rollout-restart patch, else None."""
    try:
        (spec_key, spec), = patch.items()
        (template_key, template), = spec.items()
        (metadata_key, metadata), = template.items()
        (annotations_key, annotations), = metadata.items()
        (annotation, value), = annotations.items()
    except (AttributeError, ValueError):
        return None
    keys = (spec_key, template_key, metadata_key, annotations_key, annotation)
    if keys != ("spec", "template", "metadata", "annotations", RESTARTED_AT) or not isinstance(value, str):
        return None
    return value


def _replicas(patch: Any) -> int | None:
    if not isinstance(patch, dict) or set(patch) != {"spec"} or not isinstance(patch["spec"], dict):
        return None
    if set(patch["spec"]) != {"replicas"}:
        return None
    replicas = patch["spec"]["replicas"]
    if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
        return None
    return replicas


def write_kubeconfig(path: Path, server: str, token: str, *, namespace: str = "default") -> Path:
    """A kubeconfig as `kubectl config view --raw` writes it, with a second, unused context, so the
    code under test loads its configuration exactly as in production."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "loopback", "cluster": {"server": server}},
                     {"name": "elsewhere", "cluster": {"server": f"http://127.0.0.1:{free_port()}"}}],
        "users": [{"name": "awoooi", "user": {"token": token}}],
        "contexts": [{"name": "loopback", "context": {"cluster": "loopback", "user": "awoooi", "namespace": namespace}},
                     {"name": "elsewhere", "context": {"cluster": "elsewhere", "user": "awoooi"}}],
        "current-context": "loopback",
    }
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path

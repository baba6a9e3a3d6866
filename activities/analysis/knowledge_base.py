"""The rule knowledge base: what operators know about common alerts, written down as data.

Rules are plain frozen dataclasses so they can be reviewed like a runbook, diffed in code review and
tested one by one (every rule carries ``examples`` that must resolve to it). Matching lives in
:mod:`activities.analysis.rules`; this module only holds the knowledge.

Order matters: the matcher takes the first rule whose pattern hits, so specific rules (a named
Prometheus/Alertmanager/database alert) come before broad families (host CPU, "something is down").

``kind`` separates the two worlds: ``"alert"`` rules describe metric alerts (Alertmanager, SigNoz,
Sentry metric alerts); ``"exception"`` rules describe application exceptions (Sentry issues/errors).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Literal

from activities.analysis.families import rule_family
from activities.analysis.meaning import RULE_MEANINGS
from core.models import RepairAction

RuleKind = Literal["alert", "exception"]

A = RepairAction


@dataclass(frozen=True)
class Rule:
    """One piece of knowledge: which alerts it explains, and what to say and do about them."""

    id: str
    category: str
    patterns: tuple[re.Pattern[str], ...]
    root_cause: str
    impact: str
    fix_suggestion: str
    prevention: str
    confidence: float
    action: RepairAction
    reason: str
    examples: tuple[str, ...] = ()
    kind: RuleKind = "alert"
    # When the alert carries pod+namespace labels the workload runs in Kubernetes, where a pod
    # restart is a safe first step for a dead process; elsewhere a human has to look.
    action_in_k8s: RepairAction | None = field(default=None)
    # Actions that do not help with this problem (a restart does not free a full disk): learning and
    # the repair plan never propose them for it.
    avoid: tuple[RepairAction, ...] = ()
    # What the text is about, in the failure modes' vocabulary (activities/analysis/meaning.py): the
    # failure modes it tells, the resources it names, the families of fix it proposes, the technology.
    modes: tuple[str, ...] = ()
    resources: tuple[str, ...] = ()
    fixes: tuple[str, ...] = ()
    technology: str | None = None


def _p(*regexes: str) -> tuple[re.Pattern[str], ...]:
    """Compile case-insensitive patterns (alert names arrive in any casing)."""
    return tuple(re.compile(r, re.IGNORECASE) for r in regexes)


# --------------------------------------------------------------------------------------------------
# Alert rules (metric alerts). Most specific first.
# --------------------------------------------------------------------------------------------------

_META: tuple[Rule, ...] = (
    Rule(
        id="watchdog",
        category="monitoring",
        patterns=_p(r"\bwatchdog\b", r"dead.?man'?s.?(snitch|switch)"),
        root_cause="This alert is expected to always fire: it is the heartbeat that proves the "
        "Prometheus -> Alertmanager -> receiver pipeline works end to end.",
        impact="None while it fires. If it STOPS arriving, alerting itself is broken.",
        fix_suggestion="Nothing to fix. Route Watchdog/DeadMansSnitch to a dead man's switch "
        "(e.g. healthchecks.io, PagerDuty heartbeat) instead of a human channel.",
        prevention="Add an Alertmanager route with a dedicated receiver and a long repeat_interval "
        "for alertname=Watchdog so it never pages people.",
        confidence=0.95,
        action=A.NOTIFY_TEAM,
        reason="informational heartbeat; only routing needs changing",
        examples=("Watchdog", "DeadMansSnitch", "DeadMansSwitch"),
    ),
    Rule(
        id="info-inhibitor",
        category="monitoring",
        patterns=_p(r"\bInfoInhibitor\b"),
        root_cause="kube-prometheus InfoInhibitor fires whenever severity=info alerts are firing; "
        "it exists only to inhibit them.",
        impact="None; it suppresses info-level noise.",
        fix_suggestion="Route it to a null receiver (kube-prometheus-stack does this by default).",
        prevention="Keep the default 'null' route for alertname=InfoInhibitor.",
        confidence=0.9,
        action=A.NOTIFY_TEAM,
        reason="informational alert; routing only",
        examples=("InfoInhibitor",),
    ),
)

_PROMETHEUS: tuple[Rule, ...] = (
    Rule(
        id="prometheus-target-missing",
        category="availability",
        patterns=_p(r"PrometheusTarget(Missing|Empty)", r"PrometheusJobMissing",
                    r"PrometheusAllTargetsMissing"),
        root_cause="Prometheus cannot scrape a target (up == 0) or a whole job disappeared: the "
        "exporter/process crashed, the pod was rescheduled, a NetworkPolicy/firewall blocks the "
        "port, or service discovery lost it.",
        impact="No metrics from the target, so other alerts for it cannot fire (silent blind spot).",
        fix_suggestion="Open Prometheus /targets for the scrape error. `curl -sv http://<instance>/metrics` "
        "from the Prometheus host/pod; `systemctl status <exporter>` or `kubectl get pods -l <selector>`; "
        "check ServiceMonitor/PodMonitor selectors and labels.",
        prevention="Alert on absent() for critical jobs, run exporters under a supervisor with "
        "restart policies, and test ServiceMonitor changes in CI with promtool.",
        confidence=0.8,
        action=A.MANUAL_INTERVENTION,
        reason="find out why the target is unreachable before restarting anything",
        examples=("PrometheusTargetMissing", "PrometheusJobMissing", "PrometheusAllTargetsMissing"),
        action_in_k8s=A.RESTART_POD,
    ),
    Rule(
        id="prometheus-rule-evaluation-failures",
        category="monitoring",
        patterns=_p(r"Prometheus(Rule(Evaluation)?Failures|MissingRuleEvaluations|"
                    r"RuleEvaluationSlow|RuleGroupEvaluationSlow)"),
        root_cause="Recording/alerting rules fail or run late: a query errors (many-to-many "
        "matching, duplicate series after a relabel change), exceeds query timeout, or the "
        "server is overloaded so groups miss their interval.",
        impact="Alerts that depend on these rules silently stop firing; recording-rule dashboards go blank.",
        fix_suggestion="Check `prometheus_rule_evaluation_failures_total` by rule_group and the "
        "Prometheus log for 'Evaluating rule failed'. Run the expression in the UI, fix the matching "
        "(use `on()`/`group_left`), then `promtool check rules <file>` and reload.",
        prevention="Lint rules with `promtool check rules` and `promtool test rules` in CI; keep "
        "rule groups small enough to finish within their interval.",
        confidence=0.8,
        action=A.UPDATE_CONFIG,
        reason="broken rule expressions are fixed in the rule files",
        examples=("PrometheusRuleEvaluationFailures", "PrometheusMissingRuleEvaluations",
                  "PrometheusRuleFailures"),
    ),
    Rule(
        id="prometheus-tsdb",
        category="monitoring",
        patterns=_p(r"PrometheusTSDB", r"PrometheusTsdb"),
        root_cause="Prometheus TSDB maintenance is failing: compactions/reloads/WAL truncation "
        "error out, usually because the data volume is full, a block is corrupt, or the pod runs "
        "out of memory during compaction.",
        impact="Disk usage and memory grow until Prometheus crashes; queries over old data may fail.",
        fix_suggestion="Check logs for 'compaction failed' / 'WAL corruption'. `df -h` on the data "
        "volume; `promtool tsdb analyze /prometheus`. If a block is corrupt, move it out of the data "
        "dir and restart. Expand the volume if it is full.",
        prevention="Alert on volume usage earlier (KubePersistentVolumeFillingUp), size retention "
        "(`--storage.tsdb.retention.size`) below the volume size, and give memory headroom.",
        confidence=0.75,
        action=A.MANUAL_INTERVENTION,
        reason="storage corruption or full disk needs an operator",
        examples=("PrometheusTSDBCompactionsFailing", "PrometheusTSDBReloadsFailing",
                  "PrometheusTsdbWalCorruptions"),
    ),
    Rule(
        id="prometheus-notification-queue",
        category="monitoring",
        patterns=_p(r"PrometheusNotificationQueueRunningFull",
                    r"PrometheusErrorSendingAlertsTo(Any|Some)Alertmanagers?",
                    r"PrometheusNotConnectedToAlertmanagers?",
                    r"PrometheusAlertmanager\w*(Failing|Error)"),
        root_cause="Prometheus cannot deliver alerts to Alertmanager fast enough or at all: "
        "Alertmanager is down/unreachable, its address in `alerting:` config is wrong, or an alert "
        "storm fills the notification queue.",
        impact="Alerts are delayed or dropped before reaching any receiver.",
        fix_suggestion="Check `prometheus_notifications_errors_total` and `/api/v1/alertmanagers`. "
        "Verify Alertmanager pods are Ready and reachable from Prometheus; fix the `alerting` "
        "section; for storms, find the noisy alert and silence/fix it.",
        prevention="Run Alertmanager in HA (3 replicas), monitor it from outside, and reduce alert "
        "cardinality (group_by, inhibition).",
        confidence=0.75,
        action=A.UPDATE_CONFIG,
        reason="usually the alerting endpoint configuration or Alertmanager availability",
        examples=("PrometheusNotificationQueueRunningFull", "PrometheusErrorSendingAlertsToAnyAlertmanager",
                  "PrometheusNotConnectedToAlertmanagers"),
    ),
    Rule(
        id="prometheus-config-reload",
        category="monitoring",
        patterns=_p(r"Prometheus(Config(uration)?Reload(Failure|Failed)?|BadConfig)"),
        root_cause="The last Prometheus configuration reload failed (invalid YAML, bad relabel "
        "regex, missing file referenced by rule_files/file_sd); Prometheus keeps running the "
        "previous config.",
        impact="Recent config/rule changes are not active; a restart would fail to start.",
        fix_suggestion="`promtool check config /etc/prometheus/prometheus.yml`; read the reload "
        "error in the log; revert or fix the last change, then `curl -X POST :9090/-/reload`.",
        prevention="Validate config with promtool in CI and in the config-reloader sidecar before applying.",
        confidence=0.85,
        action=A.UPDATE_CONFIG,
        reason="fix or revert the configuration change",
        examples=("PrometheusConfigReloadFailure", "PrometheusBadConfig",
                  "PrometheusConfigurationReloadFailure"),
    ),
    Rule(
        id="prometheus-restarts",
        category="monitoring",
        patterns=_p(r"PrometheusTooManyRestarts", r"Prometheus\w*Restart"),
        root_cause="Prometheus restarts repeatedly, most often OOM during WAL replay/compaction "
        "after a cardinality increase, or a failing liveness probe while replaying a large WAL.",
        impact="Gaps in metrics and alert evaluation during each restart.",
        fix_suggestion="`kubectl describe pod` for OOMKilled; check `prometheus_tsdb_head_series` "
        "growth and top series (`topk(10, count by (__name__)({__name__=~\".+\"}))`); drop "
        "high-cardinality labels via metric_relabel_configs; raise memory if growth is legitimate.",
        prevention="Set sample/label limits per scrape job and alert on head series growth.",
        confidence=0.65,
        action=A.MANUAL_INTERVENTION,
        reason="find the cause (memory/cardinality) before changing limits",
        examples=("PrometheusTooManyRestarts",),
    ),
    Rule(
        id="prometheus-remote-write",
        category="monitoring",
        patterns=_p(r"PrometheusRemote(Storage|Write)"),
        root_cause="Remote write is failing or falling behind: the remote endpoint (Thanos, Mimir, "
        "Cortex, VictoriaMetrics) rejects or throttles samples, or too few shards are configured.",
        impact="Long-term storage/global views lag or lose data; the WAL grows locally.",
        fix_suggestion="Check `prometheus_remote_storage_failed_samples_total` and the remote's "
        "ingestion errors (429/400 out-of-order); tune `queue_config.max_shards`; fix auth.",
        prevention="Monitor remote endpoint limits and tenant quotas; alert on shard saturation.",
        confidence=0.7,
        action=A.UPDATE_CONFIG,
        reason="remote_write queue/endpoint configuration",
        examples=("PrometheusRemoteStorageFailures", "PrometheusRemoteWriteBehind",
                  "PrometheusRemoteWriteDesiredShards"),
    ),
    Rule(
        id="prometheus-scrape-problems",
        category="monitoring",
        patterns=_p(r"Prometheus(TargetScrapingSlow|LargeScrape|TargetScrapeDuplicate|"
                    r"(Target|Label|ScrapeSample|ScrapeBodySize)LimitHit|SDRefreshFailure|"
                    r"DuplicateTimestamps|OutOfOrderTimestamps|TimeseriesCardinality)"),
        root_cause="Scrapes are too slow, too large, exceed configured limits, or service "
        "discovery cannot refresh; typically a target exposing too many series or a broken SD "
        "backend (API server, Consul).",
        impact="Samples are dropped or scrapes fail for the affected jobs.",
        fix_suggestion="Look at `scrape_duration_seconds` and `scrape_samples_scraped` for the job; "
        "reduce exposed series or raise `sample_limit`/`scrape_timeout`; check SD errors in logs.",
        prevention="Set per-job limits deliberately and review new exporters' cardinality.",
        confidence=0.65,
        action=A.UPDATE_CONFIG,
        reason="scrape limits/intervals are configuration",
        examples=("PrometheusTargetScrapingSlow", "PrometheusLabelLimitHit", "PrometheusSDRefreshFailure"),
    ),
    Rule(
        id="alertmanager-failed-to-send",
        category="monitoring",
        patterns=_p(r"Alertmanager(Cluster)?FailedToSend(Alerts|Notifications)?",
                    r"Alertmanager\w*Notification\w*(Fail|Error)"),
        root_cause="Alertmanager cannot deliver notifications to an integration: expired webhook/"
        "bot token, changed Slack/Telegram/PagerDuty credentials, receiver endpoint down, or "
        "egress blocked.",
        impact="People are not being notified about firing alerts through that integration.",
        fix_suggestion="Check `alertmanager_notifications_failed_total` by integration and the "
        "Alertmanager log for the HTTP status; test the receiver with `amtool` or curl; rotate "
        "the credential in the Alertmanager config/secret.",
        prevention="Have a second receiver for critical alerts and monitor the Watchdog end to end.",
        confidence=0.8,
        action=A.UPDATE_CONFIG,
        reason="receiver credentials/endpoint configuration",
        examples=("AlertmanagerFailedToSendAlerts", "AlertmanagerClusterFailedToSendAlerts",
                  "AlertmanagerNotificationFailing"),
    ),
    Rule(
        id="alertmanager-config",
        category="monitoring",
        patterns=_p(r"AlertmanagerConfig(Inconsistent|urationReloadFailure)",
                    r"AlertmanagerFailedReload"),
        root_cause="Alertmanager replicas run different configurations or the last reload failed "
        "(invalid route/receiver, template error, unreadable secret).",
        impact="Routing differs between replicas or new routes are not active; notifications may be "
        "duplicated or missing.",
        fix_suggestion="`amtool check-config alertmanager.yml`; compare `alertmanager_config_hash` "
        "across replicas; fix the config/secret and reload (`curl -X POST :9093/-/reload`).",
        prevention="Validate with amtool in CI and roll out config through one source (operator secret).",
        confidence=0.8,
        action=A.UPDATE_CONFIG,
        reason="configuration must be fixed and reloaded",
        examples=("AlertmanagerConfigInconsistent", "AlertmanagerFailedReload",
                  "AlertmanagerConfigurationReloadFailure"),
    ),
    Rule(
        id="alertmanager-cluster",
        category="monitoring",
        patterns=_p(r"AlertmanagerCluster(Down|Crashlooping)", r"AlertmanagerMembersInconsistent",
                    r"AlertmanagerJobMissing", r"Alertmanager\w*Down"),
        root_cause="Alertmanager HA cluster members are down or cannot gossip (port 9094 blocked, "
        "pods crashlooping, peers misconfigured).",
        impact="Notifications may be duplicated (split brain) or lost if all members are down.",
        fix_suggestion="`kubectl get pods -l app.kubernetes.io/name=alertmanager`; check "
        "`alertmanager_cluster_members`; verify the cluster peer addresses and that TCP/UDP 9094 is open.",
        prevention="Spread replicas across nodes (anti-affinity) and keep a PodDisruptionBudget.",
        confidence=0.75,
        action=A.MANUAL_INTERVENTION,
        reason="cluster membership must be diagnosed",
        examples=("AlertmanagerClusterDown", "AlertmanagerMembersInconsistent",
                  "AlertmanagerClusterCrashlooping"),
        action_in_k8s=A.RESTART_POD,
    ),
)

_CERTIFICATES: tuple[Rule, ...] = (
    Rule(
        id="cert-manager-certificate",
        category="certificate",
        patterns=_p(r"CertManager\w*(NotReady|Expir|Fail|RateLimit|Absent)",
                    r"cert.?manager.*(not.?ready|fail)"),
        root_cause="cert-manager cannot issue/renew a Certificate: ACME HTTP-01/DNS-01 challenge "
        "fails (ingress/DNS misrouted, DNS credentials expired), Issuer not ready, or Let's Encrypt "
        "rate limits hit.",
        impact="The certificate will expire and clients will get TLS errors.",
        fix_suggestion="`kubectl describe certificate <name> -n <ns>`, then the CertificateRequest, "
        "Order and Challenge (`kubectl get challenges -A`); `kubectl describe clusterissuer`; check "
        "cert-manager logs. Fix the solver/DNS credentials; `cmctl renew <name>` to retry.",
        prevention="Alert on certificate readiness well before expiry and test issuers in staging "
        "(Let's Encrypt staging endpoint).",
        confidence=0.8,
        action=A.UPDATE_CONFIG,
        reason="issuer/solver configuration must be fixed",
        examples=("CertManagerCertNotReady", "CertManagerCertExpirySoon"),
    ),
    Rule(
        id="certificate-expiry",
        category="certificate",
        patterns=_p(r"(SSL|TLS|X509)?Cert(ificate)?\w*(Expir|Renewal)", r"probe_ssl_earliest_cert_expiry",
                    r"ssl.?cert", r"\bx509\b", r"证书|憑證"),
        root_cause="A TLS certificate is close to (or past) expiry: auto-renewal is not set up or is "
        "failing, or a manually installed certificate was forgotten.",
        impact="After expiry, browsers and API clients reject connections (hard outage for HTTPS).",
        fix_suggestion="Find it: `echo | openssl s_client -connect <host>:443 -servername <host> 2>/dev/null "
        "| openssl x509 -noout -enddate -issuer`. Renew (certbot renew / cert-manager / CA portal), "
        "deploy the new cert and reload the server; for kubelet/apiserver certs run `kubeadm certs renew`.",
        prevention="Automate renewal (ACME/cert-manager) and alert at 30 and 7 days via blackbox "
        "`probe_ssl_earliest_cert_expiry`.",
        confidence=0.85,
        action=A.UPDATE_CONFIG,
        reason="install a renewed certificate",
        examples=("SSLCertExpiringSoon", "BlackboxSslCertificateWillExpireSoon",
                  "KubeClientCertificateExpiration", "probe_ssl_earliest_cert_expiry < 7 days"),
    ),
)

_KUBERNETES: tuple[Rule, ...] = (
    Rule(
        id="kube-pod-crashlooping",
        category="kubernetes",
        patterns=_p(r"crash.?loop"),
        root_cause="A container keeps exiting and Kubernetes backs off restarting it "
        "(CrashLoopBackOff): application error at startup, bad config/secret, missing dependency, "
        "failing liveness probe, or OOM. If it started right after a rollout, the new version is the "
        "likely cause.",
        impact="The pod serves no traffic; with all replicas affected the service is down.",
        fix_suggestion="`kubectl describe pod <pod> -n <ns>` (Last State, exit code, events); "
        "`kubectl logs <pod> -n <ns> --previous`. If it began after a deploy: "
        "`kubectl rollout undo <workload>`. Exit 137 = OOM (raise memory limit).",
        prevention="Use readiness/startup probes, canary rollouts with automatic rollback, and "
        "validate config before deploying.",
        confidence=0.8,
        action=A.RESTART_POD,
        reason="a restart clears transient startup failures; roll back if it followed a deploy",
        examples=("KubePodCrashLooping", "KubernetesPodCrashLooping", "CrashLoopBackOff"),
    ),
    Rule(
        id="kube-image-pull",
        category="kubernetes",
        patterns=_p(r"image.?pull", r"ErrImagePull", r"InvalidImageName"),
        root_cause="The kubelet cannot pull the container image: wrong tag/digest in the last "
        "deploy, registry credentials (imagePullSecret) expired, registry rate limit or outage.",
        impact="New pods cannot start; rollouts stall and scaling is impossible.",
        fix_suggestion="`kubectl describe pod <pod> -n <ns>` (Events show the pull error); verify the "
        "tag exists (`crane ls <repo>` / registry UI); refresh the pull secret; if the deploy is bad: "
        "`kubectl rollout undo <workload>`.",
        prevention="Deploy immutable digests produced by CI, mirror base images, monitor pull-secret expiry.",
        confidence=0.8,
        action=A.ROLLBACK,
        reason="most often a bad image reference in the latest rollout",
        examples=("ImagePullBackOff", "KubePodImagePullBackOff", "ErrImagePull"),
    ),
    Rule(
        id="kube-container-oomkilled",
        category="memory",
        patterns=_p(r"oom.?kill(ed|er)\b", r"oom.?kill(ed|er)[A-Z_]", r"OOMKilled",
                    r"ContainerOom", r"PodOom"),
        root_cause="A container exceeded its memory limit and the kernel OOM killer terminated it "
        "(exit code 137): the limit is too low for the workload, or the application leaks memory.",
        impact="In-flight requests are lost at every kill; repeated kills lead to CrashLoopBackOff.",
        fix_suggestion="`kubectl describe pod <pod> -n <ns>` (Last State: OOMKilled); compare "
        "`container_memory_working_set_bytes` to the limit over time. If usage climbs steadily it is a "
        "leak (take a heap profile); otherwise raise `resources.limits.memory` (and requests).",
        prevention="Right-size limits from observed p99 usage (VPA recommender), alert at 90% of "
        "limit, and load-test memory behaviour.",
        confidence=0.85,
        action=A.INCREASE_MEMORY,
        reason="the container needs more memory than its limit (or a leak fix)",
        examples=("KubeContainerOOMKilled", "OOMKilled", "KubernetesContainerOomKiller"),
    ),
    Rule(
        id="kube-container-waiting",
        category="kubernetes",
        patterns=_p(r"Container\w*Waiting", r"ContainerCreating", r"CreateContainerConfigError"),
        root_cause="A container has been in Waiting state for a long time: image pull problems, "
        "missing ConfigMap/Secret (CreateContainerConfigError), volume mount/attach failures, or a "
        "crashing container between restarts.",
        impact="The pod never becomes ready; capacity of the workload is reduced.",
        fix_suggestion="`kubectl get pod <pod> -n <ns> -o "
        "jsonpath='{.status.containerStatuses[*].state.waiting}'` "
        "for the reason; `kubectl describe pod` for events (FailedMount, secret not found); create the "
        "missing object or fix the volume.",
        prevention="Deploy config objects before workloads (Helm hooks/ordering) and test manifests "
        "with `kubectl apply --dry-run=server`.",
        confidence=0.65,
        action=A.MANUAL_INTERVENTION,
        reason="the waiting reason decides the fix; a restart rarely helps",
        examples=("KubeContainerWaiting", "KubernetesContainerWaiting", "CreateContainerConfigError"),
    ),
    Rule(
        id="kube-pod-unschedulable",
        category="kubernetes",
        patterns=_p(r"Pod\w*Pending", r"Unschedulable", r"FailedScheduling"),
        root_cause="Pods stay Pending: no node satisfies their resource requests, node selectors/"
        "affinity, taints, or a PVC cannot bind.",
        impact="Replicas are missing; scale-ups and rollouts cannot complete.",
        fix_suggestion="`kubectl describe pod <pod> -n <ns>` (FailedScheduling event says why); "
        "`kubectl describe nodes | grep -A5 'Allocated resources'`; add nodes/enable the cluster "
        "autoscaler, lower requests, or fix the affinity/PVC.",
        prevention="Keep cluster headroom, use the cluster autoscaler and review requests against usage.",
        confidence=0.7,
        action=A.MANUAL_INTERVENTION,
        reason="capacity or scheduling constraints need an operator",
        examples=("KubePodPending", "KubernetesPodPending", "PodUnschedulable"),
    ),
    Rule(
        id="kube-pod-not-ready",
        category="kubernetes",
        patterns=_p(r"Pod\w*Not\w*(Ready|Healthy)", r"pod.{0,20}not (ready|healthy)"),
        root_cause="A pod has been non-ready for a long time: its readiness probe fails (app "
        "unhealthy or dependency down), it is stuck Pending, or a container is restarting.",
        impact="The pod receives no Service traffic; remaining replicas carry more load.",
        fix_suggestion="`kubectl get pod <pod> -n <ns> -o wide`; `kubectl describe pod` (probe "
        "failures in events); `kubectl logs <pod> -n <ns>`. If the app is wedged, delete the pod so "
        "its controller recreates it.",
        prevention="Make readiness probes check the app's own health only (not every dependency) and "
        "use PodDisruptionBudgets.",
        confidence=0.7,
        action=A.RESTART_POD,
        reason="recreating a wedged pod is safe when it has a controller",
        examples=("KubePodNotReady", "KubernetesPodNotHealthy"),
    ),
    Rule(
        id="kube-rollout-stuck",
        category="kubernetes",
        patterns=_p(r"Rollout\w*Stuck", r"GenerationMismatch", r"UpdateNotRolledOut",
                    r"ProgressDeadlineExceeded"),
        root_cause="A Kubernetes rollout is not progressing: new pods fail readiness/crash, cannot be "
        "scheduled, or cannot pull the image; the controller keeps old and new pods side by side.",
        impact="The new version is not live; the service may run with reduced capacity.",
        fix_suggestion="`kubectl rollout status <workload>`; `kubectl describe <workload>` and its "
        "newest pods; if the new version is broken: `kubectl rollout undo <workload>`.",
        prevention="Set progressDeadlineSeconds and use progressive delivery (Argo Rollouts/Flagger) "
        "with automatic rollback.",
        confidence=0.75,
        action=A.ROLLBACK,
        reason="a stuck rollout is usually a broken release",
        examples=("KubeDeploymentRolloutStuck", "KubeDeploymentGenerationMismatch",
                  "KubeStatefulSetUpdateNotRolledOut", "KubeDaemonSetRolloutStuck"),
    ),
    Rule(
        id="kube-hpa-maxed-out",
        category="kubernetes",
        patterns=_p(r"Hpa\w*(MaxedOut|ReplicasMismatch|Saturat)", r"HorizontalPodAutoscaler\w*Max",
                    r"hpa.{0,20}max"),
        root_cause="The HorizontalPodAutoscaler has been at maxReplicas for a while: real load "
        "growth, a slowdown that raises CPU per request, or an HPA cap set too low.",
        impact="No further autoscaling; latency and errors rise if load keeps growing.",
        fix_suggestion="`kubectl describe hpa <name> -n <ns>`; check whether load (RPS) grew or per-pod "
        "efficiency dropped; raise `maxReplicas` if the cluster has capacity "
        "(`kubectl patch hpa <name> -p '{\"spec\":{\"maxReplicas\":N}}'`).",
        prevention="Capacity-plan maxReplicas from peak traffic and alert at 80% of max.",
        confidence=0.75,
        action=A.SCALE_UP,
        reason="more replicas are needed than the HPA allows",
        examples=("KubeHpaMaxedOut", "KubernetesHpaScaleMaximum"),
    ),
    Rule(
        id="kube-replicas-mismatch",
        category="kubernetes",
        patterns=_p(r"replicas?\W*mismatch", r"ReplicasMismatch"),
        root_cause="The Kubernetes workload has fewer available replicas than desired: pods "
        "crashlooping or failing readiness, Pending for lack of capacity, or a rollout in progress.",
        impact="Reduced redundancy and capacity; an outage if available replicas reach 0.",
        fix_suggestion="`kubectl get <workload>`; `kubectl get pods -n <ns> -l <selector>` "
        "and describe the non-ready ones; `kubectl get events -n <ns> --sort-by=.lastTimestamp`. "
        "Fix the pod-level cause (crash, scheduling, image) rather than the replica count.",
        prevention="Alert on the pod-level causes too and keep headroom for surge pods during rollouts.",
        confidence=0.7,
        action=A.MANUAL_INTERVENTION,
        reason="the missing replicas have a pod-level cause to find first",
        examples=("KubeDeploymentReplicasMismatch", "KubeStatefulSetReplicasMismatch",
                  "KubernetesDeploymentReplicasMismatch"),
    ),
    Rule(
        id="kube-daemonset-scheduling",
        category="kubernetes",
        patterns=_p(r"DaemonSet\w*(NotScheduled|MisScheduled)"),
        root_cause="DaemonSet pods are missing on some nodes or running where they should not: "
        "new taints without tolerations, node selectors, or insufficient node resources.",
        impact="Node-level agents (logging, CNI, monitoring) are missing on some nodes.",
        fix_suggestion="`kubectl get ds <name> -n <ns>`; compare desired vs scheduled; `kubectl "
        "describe node` for taints; add tolerations or free resources.",
        prevention="Give node agents a PriorityClass and tolerations for your node taints.",
        confidence=0.7,
        action=A.MANUAL_INTERVENTION,
        reason="scheduling constraints need review",
        examples=("KubeDaemonSetNotScheduled", "KubeDaemonSetMisScheduled"),
    ),
    Rule(
        id="kube-job-failed",
        category="kubernetes",
        patterns=_p(r"(Cron)?Job\w*(Failed|Failing|NotCompleted|Completion|TooLong|Suspended)"),
        root_cause="A Job (often spawned by a CronJob) failed or did not complete in time: the task "
        "errored, hit backoffLimit/activeDeadlineSeconds, or could not be scheduled.",
        impact="The batch work (backup, report, cleanup, migration) did not happen.",
        fix_suggestion="`kubectl get jobs -n <ns>`; `kubectl describe job <job> -n <ns>`; "
        "`kubectl logs job/<job> -n <ns>`. Fix the cause, then rerun: "
        "`kubectl create job --from=cronjob/<cronjob> <name>-manual -n <ns>`; delete the failed Job to "
        "clear the alert.",
        prevention="Make jobs idempotent, set sensible backoffLimit and ttlSecondsAfterFinished, and "
        "alert on success freshness (time since last success).",
        confidence=0.75,
        action=A.MANUAL_INTERVENTION,
        reason="the job's failure reason must be read before rerunning it",
        examples=("KubeJobFailed", "KubeJobNotCompleted", "KubeCronJobFailed"),
    ),
    Rule(
        id="kube-node-not-ready",
        category="kubernetes",
        patterns=_p(r"Node\w*(NotReady|Unreachable)", r"KubernetesNodeReady", r"node.{0,20}not.?ready"),
        root_cause="A node stopped reporting Ready: kubelet down, node out of memory/disk/PIDs, "
        "network partition, or the VM/host itself failed.",
        impact="Pods on the node are evicted after the toleration timeout; capacity drops; "
        "StatefulSet pods with local volumes may stay down.",
        fix_suggestion="`kubectl describe node <node>` (Conditions, events); on the node: "
        "`systemctl status kubelet containerd`, `journalctl -u kubelet -n 200`, `df -h`, `free -m`. "
        "If unrecoverable: `kubectl cordon` + `kubectl drain <node> --ignore-daemonsets "
        "--delete-emptydir-data` and replace it.",
        prevention="Use node auto-repair (managed node groups), reserve system resources "
        "(kubeReserved/systemReserved) and monitor kubelet health.",
        confidence=0.8,
        action=A.MANUAL_INTERVENTION,
        reason="node failures need an operator; nothing at pod level fixes them",
        examples=("KubeNodeNotReady", "KubeNodeUnreachable", "KubernetesNodeReady"),
    ),
    Rule(
        id="kube-node-pressure",
        category="kubernetes",
        patterns=_p(r"(Kube|Kubernetes)\w*(Memory|Disk|PID)Pressure", r"\b(Memory|Disk|PID)Pressure\b",
                    r"KubeletTooManyPods", r"KubeNodeEviction",
                    r"KubeletPlegDurationHigh"),
        root_cause="The kubelet reports resource pressure (memory/disk/PID) or is overloaded, and "
        "starts evicting pods or refuses new ones.",
        impact="Pods get evicted and rescheduled; the node may go NotReady.",
        fix_suggestion="`kubectl describe node <node>` (Conditions); on the node `df -h`, `free -m`, "
        "`crictl images`/`crictl rmi --prune` for image bloat; find pods without limits: "
        "`kubectl top pods -A --sort-by=memory`.",
        prevention="Set requests/limits everywhere (LimitRange), tune eviction thresholds and image GC.",
        confidence=0.7,
        action=A.MANUAL_INTERVENTION,
        reason="node-level resource exhaustion",
        examples=("KubernetesMemoryPressure", "KubernetesDiskPressure"),
    ),
    Rule(
        id="kube-persistent-volume-filling",
        category="disk",
        patterns=_p(r"PersistentVolume\w*(Filling|Full|Inodes|OutOf)", r"ContainerVolume\w*(Usage|Full)",
                    r"KubernetesVolume\w*(Space|Full|Inodes)",
                    r"\bpvc\b.{0,30}(full|filling)"),
        root_cause="A PersistentVolume is running out of space or inodes: data growth (DB, logs, "
        "queue), missing retention/cleanup, or an undersized claim.",
        impact="When full, the application's writes fail (databases go read-only or crash).",
        fix_suggestion="`kubectl exec -n <ns> <pod> -- df -h <mount>`; find big dirs with `du -xh "
        "--max-depth=2`; clean up or expand the claim: `kubectl patch pvc <pvc> -n <ns> -p "
        "'{\"spec\":{\"resources\":{\"requests\":{\"storage\":\"<bigger>\"}}}}'` (StorageClass needs "
        "allowVolumeExpansion).",
        prevention="Set retention for data/logs, enable volume expansion, and alert on predicted fill "
        "(predict_linear) days ahead.",
        confidence=0.8,
        action=A.SCHEDULE_FIX,
        reason="needs cleanup or a volume resize, not a restart",
        examples=("KubePersistentVolumeFillingUp", "KubePersistentVolumeInodesFillingUp",
                  "KubernetesVolumeOutOfDiskSpace"),
    ),
    Rule(
        id="kube-persistent-volume-errors",
        category="kubernetes",
        patterns=_p(r"PersistentVolume\w*Error", r"KubernetesPersistentvolumeError", r"VolumeAttach"),
        root_cause="A PersistentVolume is in Failed/Pending phase or cannot attach: CSI driver "
        "errors, the backing disk was deleted, or zone mismatch between node and volume.",
        impact="Pods using the volume cannot start.",
        fix_suggestion="`kubectl get pv,pvc -A | grep -v Bound`; `kubectl describe pv <pv>`; check "
        "CSI controller logs and the cloud disk status.",
        prevention="Use WaitForFirstConsumer binding and monitor the CSI driver.",
        confidence=0.7,
        action=A.MANUAL_INTERVENTION,
        reason="storage backend problem",
        examples=("KubePersistentVolumeErrors", "KubernetesPersistentvolumeError"),
    ),
    Rule(
        id="kube-overcommit",
        category="kubernetes",
        patterns=_p(r"Kube(CPU|Memory)(Quota)?Overcommit", r"overcommit"),
        root_cause="The sum of resource requests exceeds what the cluster can tolerate losing a "
        "node for: workloads grew without adding nodes.",
        impact="A single node failure would leave pods unschedulable.",
        fix_suggestion="`kubectl describe nodes | grep -A8 'Allocated resources'`; compare requests "
        "with real usage (`kubectl top pods -A`) and right-size over-requested workloads, or add nodes.",
        prevention="Capacity planning with N+1 headroom; cluster autoscaler; VPA recommendations.",
        confidence=0.8,
        action=A.SCHEDULE_FIX,
        reason="capacity planning, not an emergency",
        examples=("KubeCPUOvercommit", "KubeMemoryOvercommit"),
    ),
    Rule(
        id="kube-quota",
        category="kubernetes",
        patterns=_p(r"KubeQuota\w*", r"ResourceQuota\w*(Exceeded|Full)"),
        root_cause="A namespace ResourceQuota is nearly or fully used, so new pods/objects will be rejected.",
        impact="Deployments and scale-ups in the namespace fail with 'exceeded quota'.",
        fix_suggestion="`kubectl describe resourcequota -n <ns>`; remove unused workloads or raise the "
        "quota.",
        prevention="Review quotas with the owning team as their service grows.",
        confidence=0.75,
        action=A.ADJUST_LIMITS,
        reason="the namespace quota needs adjusting",
        examples=("KubeQuotaExceeded", "KubeQuotaAlmostFull", "KubeQuotaFullyUsed"),
    ),
    Rule(
        id="kube-control-plane",
        category="kubernetes",
        patterns=_p(r"KubeAPI\w*", r"Kube(let|Scheduler|ControllerManager|Proxy|StateMetrics)\w*Down",
                    r"KubeClientErrors", r"KubeAggregatedAPI", r"\betcd\w*"),
        root_cause="A Kubernetes control-plane component (API server, etcd, scheduler, controller-"
        "manager, kubelet) is down or erroring: certificate expiry, etcd quorum/disk latency, or "
        "resource exhaustion on control-plane nodes.",
        impact="Deployments, scaling and self-healing stop; a full API outage blocks all cluster changes.",
        fix_suggestion="`kubectl get --raw='/readyz?verbose'`; on control-plane nodes check "
        "`crictl ps`, static pod logs in /var/log/pods, `etcdctl endpoint health`, `kubeadm certs "
        "check-expiration`.",
        prevention="Run HA control planes, monitor etcd disk fsync latency, renew certs automatically.",
        confidence=0.7,
        action=A.MANUAL_INTERVENTION,
        reason="control-plane incidents need an operator",
        examples=("KubeAPIDown", "KubeletDown", "KubeSchedulerDown"),
    ),
)

_DATABASES: tuple[Rule, ...] = (
    # PostgreSQL
    Rule(
        id="postgres-down",
        category="database",
        patterns=_p(r"postgres(ql)?\w*(Down|Unavailable|NotUp|Unreachable)", r"\bpg_?down\b",
                    r"pg_up\s*==\s*0", r"postgres\w*Exporter\w*Error"),
        root_cause="PostgreSQL is not answering (pg_up == 0): the server crashed or was OOM-killed, "
        "the data disk is full, it is in recovery, or the exporter cannot authenticate.",
        impact="Every service depending on this database fails its queries.",
        fix_suggestion="`pg_isready -h <host>`; `systemctl status postgresql` / `kubectl logs <pod> "
        "--previous`; check the PostgreSQL log for 'PANIC'/'No space left on device'; `df -h` on the "
        "data directory. If only the exporter fails, check its DSN/credentials.",
        prevention="Run a replica with automatic failover (Patroni/CloudNativePG), alert on disk "
        "usage and connection saturation early.",
        confidence=0.8,
        action=A.MANUAL_INTERVENTION,
        reason="a database outage needs an operator to check data safety",
        examples=("PostgresqlDown", "PostgresDown"),
        action_in_k8s=A.RESTART_POD,
    ),
    Rule(
        id="postgres-connections",
        category="database",
        patterns=_p(r"postgres(ql)?\w*(TooMany|NotEnough|High)?Connections",
                    r"remaining connection slots are reserved", r"postgres\w*connection",
                    r"postgres.{0,10}连接"),
        root_cause="PostgreSQL connections approach max_connections: a connection leak, a traffic "
        "burst with per-request connections, idle-in-transaction sessions, or pool sizes multiplied "
        "by replica count.",
        impact="New connections are refused ('too many clients'); applications error out.",
        fix_suggestion="`SELECT usename, application_name, state, count(*) FROM pg_stat_activity "
        "GROUP BY 1,2,3 ORDER BY 4 DESC;` Kill idle-in-transaction sessions: `SELECT "
        "pg_terminate_backend(pid) FROM pg_stat_activity WHERE state='idle in transaction' AND "
        "state_change < now() - interval '10 min';` Put PgBouncer in front or lower pool sizes.",
        prevention="Use a connection pooler, set idle_in_transaction_session_timeout, and budget "
        "pool_size x replicas < max_connections.",
        confidence=0.8,
        action=A.UPDATE_CONFIG,
        reason="pooling/max_connections configuration",
        examples=("PostgresqlTooManyConnections", "PostgresqlNotEnoughConnections"),
    ),
    Rule(
        id="postgres-replication",
        category="database",
        patterns=_p(r"postgres(ql)?\w*(Replication|Replica|Lag|Slot|Standby|Wal)"),
        root_cause="A PostgreSQL replica lags behind or replication broke: heavy write load, slow "
        "replica disk/network, long queries on the standby blocking replay, or an inactive "
        "replication slot retaining WAL.",
        impact="Reads from replicas are stale; failover would lose data; retained WAL can fill the "
        "primary's disk.",
        fix_suggestion="On the primary: `SELECT client_addr, state, replay_lag FROM "
        "pg_stat_replication;` and `SELECT slot_name, active, pg_size_pretty(pg_wal_lsn_diff("
        "pg_current_wal_lsn(), restart_lsn)) FROM pg_replication_slots;`. Drop dead slots, check "
        "replica I/O, consider hot_standby_feedback/max_standby_streaming_delay.",
        prevention="Alert on slot retained bytes and lag; set max_slot_wal_keep_size.",
        confidence=0.75,
        action=A.MANUAL_INTERVENTION,
        reason="replication repair needs a DBA",
        examples=("PostgresqlReplicationLag", "PostgresqlReplicationSlotLag", "PostgresqlStandbyLagging"),
    ),
    Rule(
        id="postgres-deadlocks",
        category="database",
        patterns=_p(r"postgres(ql)?\w*Dead.?Locks?", r"postgres\w*(TooManyLocks|HighLocks)"),
        root_cause="Transactions lock rows/tables in conflicting order, so PostgreSQL aborts one of "
        "them ('deadlock detected'); or lock contention piles up behind a long transaction.",
        impact="Aborted transactions surface as application errors and retries.",
        fix_suggestion="Enable `log_lock_waits` and read the deadlock details in the server log; "
        "`SELECT * FROM pg_locks l JOIN pg_stat_activity a USING (pid) WHERE NOT granted;`. Make the "
        "code lock rows in a consistent order and keep transactions short.",
        prevention="Consistent lock ordering, short transactions, lock_timeout on migrations.",
        confidence=0.75,
        action=A.CREATE_ISSUE,
        reason="a code/transaction design fix",
        examples=("PostgresqlDeadLocks", "PostgresqlTooManyLocks"),
    ),
    Rule(
        id="postgres-slow-queries",
        category="database",
        patterns=_p(r"postgres(ql)?\w*(Slow|LongRunning|HighRollback|Query|Transaction)"),
        root_cause="Queries or transactions run unusually long: a missing index or changed plan, "
        "table bloat, lock waits, or a long-running transaction (often idle in transaction).",
        impact="Higher latency for callers; long transactions block vacuum and hold locks.",
        fix_suggestion="`SELECT pid, now()-xact_start AS age, state, query FROM pg_stat_activity "
        "WHERE state <> 'idle' ORDER BY age DESC LIMIT 10;` Cancel with `pg_cancel_backend(pid)`; "
        "inspect `pg_stat_statements` by total_exec_time and `EXPLAIN (ANALYZE, BUFFERS)` the worst.",
        prevention="Keep pg_stat_statements on, set statement_timeout per role, review plans of new queries.",
        confidence=0.7,
        action=A.CREATE_ISSUE,
        reason="query/index work for the owning team",
        examples=("PostgresqlSlowQueries", "PostgresqlLongRunningTransaction"),
    ),
    Rule(
        id="postgres-vacuum",
        category="database",
        patterns=_p(r"postgres(ql)?\w*(Vacuum|Analyze|Bloat|DeadTuples|Wraparound|TxId)", r"wraparound"),
        root_cause="Autovacuum is not keeping up: long transactions hold back cleanup, autovacuum "
        "settings too conservative for the write rate, or a table is huge; transaction ID age grows "
        "toward wraparound.",
        impact="Bloat slows queries and wastes disk; at wraparound PostgreSQL stops accepting writes.",
        fix_suggestion="`SELECT relname, n_dead_tup, last_autovacuum FROM pg_stat_user_tables ORDER "
        "BY n_dead_tup DESC LIMIT 10;` `SELECT datname, age(datfrozenxid) FROM pg_database;` Run "
        "`VACUUM (VERBOSE, ANALYZE) <table>`; end long transactions first.",
        prevention="Tune per-table autovacuum_vacuum_scale_factor and alert on xid age.",
        confidence=0.7,
        action=A.SCHEDULE_FIX,
        reason="maintenance work, urgent only near wraparound",
        examples=("PostgresqlTableNotAutoVacuumed", "PostgresqlBloatTableHigh", "PostgresqlTxIdWraparound"),
    ),
    # MySQL
    Rule(
        id="mysql-down",
        category="database",
        patterns=_p(r"mysql\w*(Down|Unavailable|Unreachable)", r"mysql_up\s*==\s*0", r"MariaDB\w*Down",
                    r"MysqlRestarted"),
        root_cause="MySQL is not answering (mysql_up == 0) or just restarted: crash (check the error "
        "log), OOM kill, full disk, or exporter credentials broken.",
        impact="Dependent services fail their queries.",
        fix_suggestion="`mysqladmin -h <host> ping`; `systemctl status mysqld` / `kubectl logs <pod> "
        "--previous`; read the error log; `df -h` on the datadir; `dmesg | grep -i oom`.",
        prevention="Replication with automated failover (Orchestrator/InnoDB Cluster), memory sized "
        "for innodb_buffer_pool_size plus connections.",
        confidence=0.8,
        action=A.MANUAL_INTERVENTION,
        reason="database outage needs an operator",
        examples=("MysqlDown", "MySQLDown", "MysqlRestarted"),
        action_in_k8s=A.RESTART_POD,
    ),
    Rule(
        id="mysql-replication",
        category="database",
        patterns=_p(r"mysql\w*(Slave|Replica|Replication|IoThread|SqlThread)"),
        root_cause="MySQL replication is broken or lagging: the IO thread cannot reach the source "
        "(network/credentials/purged binlog), the SQL thread stopped on an error (duplicate key, "
        "missing row), or the replica cannot keep up with writes.",
        impact="Replicas serve stale data; failover would lose transactions.",
        fix_suggestion="`SHOW REPLICA STATUS\\G` (Last_IO_Error, Last_SQL_Error, Seconds_Behind_Source). "
        "Fix the error, then `START REPLICA;`. For lag, check replica disk I/O and enable parallel "
        "replication (replica_parallel_workers).",
        prevention="Use GTID + row-based replication and keep replicas read-only (super_read_only).",
        confidence=0.75,
        action=A.MANUAL_INTERVENTION,
        reason="replication repair needs a DBA",
        examples=("MysqlSlaveIoThreadNotRunning", "MysqlSlaveSqlThreadNotRunning",
                  "MysqlSlaveReplicationLag", "MySQLReplicationLag"),
    ),
    Rule(
        id="mysql-connections",
        category="database",
        patterns=_p(r"mysql\w*(Connections?|Threads)", r"mysql.{0,10}连接"),
        root_cause="MySQL connections/threads approach max_connections: connection leaks, missing "
        "pooling, slow queries holding connections, or a traffic spike.",
        impact="New connections fail with 'Too many connections'.",
        fix_suggestion="`SHOW PROCESSLIST;` / `SELECT user, host, command, count(*) FROM "
        "information_schema.processlist GROUP BY 1,2,3 ORDER BY 4 DESC;` Kill runaway queries "
        "(`KILL <id>`), fix pool sizes, consider ProxySQL.",
        prevention="Pool connections, set wait_timeout, budget pool size x replicas below max_connections.",
        confidence=0.75,
        action=A.UPDATE_CONFIG,
        reason="pool/max_connections configuration",
        examples=("MysqlTooManyConnections", "MysqlHighThreadsRunning"),
    ),
    Rule(
        id="mysql-slow-queries",
        category="database",
        patterns=_p(r"mysql\w*(Slow|InnodbLogWaits|Deadlock)"),
        root_cause="MySQL reports slow queries or InnoDB waits: missing indexes, changed plans, "
        "lock contention, or an undersized redo log/buffer pool.",
        impact="Higher application latency and connection pile-up.",
        fix_suggestion="Check the slow query log or `performance_schema.events_statements_summary_by_digest` "
        "ordered by SUM_TIMER_WAIT; `EXPLAIN` the worst; `SHOW ENGINE INNODB STATUS\\G` for lock waits.",
        prevention="Review new queries' plans; pt-query-digest reports; index monitoring.",
        confidence=0.7,
        action=A.CREATE_ISSUE,
        reason="query/index work for the owning team",
        examples=("MysqlSlowQueries", "MysqlInnodbLogWaits"),
    ),
    # Redis
    Rule(
        id="redis-down",
        category="cache",
        patterns=_p(r"(redis|valkey|keydb)\w*(Down|Unavailable|Unreachable)", r"redis_up\s*==\s*0"),
        root_cause="Redis is not answering: the process crashed/was OOM-killed, the host is down, or "
        "the exporter lost access (password change).",
        impact="Caches miss (load shifts to the database), sessions/queues/locks stored in Redis fail.",
        fix_suggestion="`redis-cli -h <host> ping`; `systemctl status redis` / `kubectl logs <pod> "
        "--previous`; read the Redis log for OOM or 'Can't save in background'; `dmesg | grep -i oom`.",
        prevention="Redis Sentinel/Cluster or a replica with failover; maxmemory below the container limit.",
        confidence=0.8,
        action=A.MANUAL_INTERVENTION,
        reason="restart only after checking persistence/data safety",
        examples=("RedisDown", "ValkeyDown"),
        action_in_k8s=A.RESTART_POD,
    ),
    Rule(
        id="redis-memory",
        category="cache",
        patterns=_p(r"redis\w*(Memory|MaxMemory|OutOf)"),
        root_cause="Redis memory approaches maxmemory or the host/container limit: keys without TTL, "
        "a growing big key, or fragmentation.",
        impact="Writes fail (noeviction) or keys are evicted; at the container limit Redis is OOM-killed.",
        fix_suggestion="`redis-cli info memory` (used_memory vs maxmemory, mem_fragmentation_ratio); "
        "`redis-cli --bigkeys`/`--memkeys`; add TTLs, fix the growing key, or raise memory and "
        "maxmemory together (maxmemory ~75% of the container limit).",
        prevention="TTLs on cache keys, an explicit maxmemory-policy, alert at 80% of maxmemory.",
        confidence=0.75,
        action=A.INCREASE_MEMORY,
        reason="more memory buys time while the key growth is fixed",
        examples=("RedisOutOfMemory", "RedisMemoryHigh", "RedisOutOfConfiguredMaxmemory"),
    ),
    Rule(
        id="redis-evictions",
        category="cache",
        patterns=_p(r"redis\w*Evict", r"evicted.?keys"),
        root_cause="Redis is evicting keys because it hit maxmemory: the working set outgrew the cache.",
        impact="Cache hit ratio drops and the backing store takes more load; if Redis is used as a "
        "store (not a cache) data is lost.",
        fix_suggestion="`redis-cli info stats | grep evicted_keys`; `redis-cli config get maxmemory*`; "
        "raise maxmemory or shard; make sure non-cache data lives in an instance with noeviction.",
        prevention="Separate cache and durable data instances; size from keyspace growth trends.",
        confidence=0.7,
        action=A.ADJUST_LIMITS,
        reason="maxmemory/limits need raising or sharding",
        examples=("RedisEvictions", "RedisEvictedKeys"),
    ),
    Rule(
        id="redis-connections",
        category="cache",
        patterns=_p(r"redis\w*(Rejected|TooMany|NotEnough)?Connections?", r"redis\w*Clients?",
                    r"redis.{0,10}连接"),
        root_cause="Redis rejects clients because connected_clients hit maxclients (or the fd "
        "limit): connection leaks, no pooling, or many replicas each opening large pools.",
        impact="Clients get 'max number of clients reached'; requests that need Redis fail.",
        fix_suggestion="`redis-cli info clients`; `redis-cli client list | awk '{print $2}' | cut -d= "
        "-f2 | cut -d: -f1 | sort | uniq -c | sort -rn | head` to find the top client hosts; fix the "
        "pool; raise `maxclients` (and ulimit -n) if legitimate.",
        prevention="Bounded client pools, `timeout` for idle connections, alert at 80% of maxclients.",
        confidence=0.75,
        action=A.UPDATE_CONFIG,
        reason="client pool / maxclients configuration",
        examples=("RedisRejectedConnections", "RedisTooManyConnections", "RedisNotEnoughConnections"),
    ),
    Rule(
        id="redis-replication",
        category="cache",
        patterns=_p(r"redis\w*(Replication|Replica|Slave|Master|Flapping|Sentinel|Cluster)"),
        root_cause="Redis replication is broken or unstable: a replica lost its master (network, "
        "auth), full resyncs loop because the replication backlog is too small, or Sentinel/Cluster "
        "failovers flap.",
        impact="Reduced redundancy; stale reads from replicas; possible split brain.",
        fix_suggestion="`redis-cli info replication` on master and replicas (master_link_status, "
        "offsets); check logs for 'MASTER aborted replication' / full sync loops; raise "
        "repl-backlog-size; check Sentinel with `SENTINEL masters`.",
        prevention="Adequate repl-backlog-size and client-output-buffer-limit replica; monitor link status.",
        confidence=0.7,
        action=A.MANUAL_INTERVENTION,
        reason="replication topology needs an operator",
        examples=("RedisReplicationBroken", "RedisDisconnectedSlaves"),
    ),
    Rule(
        id="redis-persistence",
        category="cache",
        patterns=_p(r"redis\w*(Backup|Bgsave|Rdb|Aof|Persistence)"),
        root_cause="Redis persistence is failing: BGSAVE/AOF rewrite fails (disk full, fork fails "
        "without overcommit memory), or no backup completed recently.",
        impact="A restart would lose recent data; with stop-writes-on-bgsave-error writes are refused.",
        fix_suggestion="`redis-cli info persistence` (rdb_last_bgsave_status, aof_last_write_status); "
        "check disk space and `vm.overcommit_memory=1`; read the Redis log for the fork error.",
        prevention="Monitor persistence status and leave memory headroom for fork copy-on-write.",
        confidence=0.7,
        action=A.MANUAL_INTERVENTION,
        reason="persistence failures need an operator",
        examples=("RedisMissingBackup", "RedisRdbLastBgsaveFailed"),
    ),
)

_QUEUES: tuple[Rule, ...] = (
    Rule(
        id="elasticsearch-cluster",
        category="database",
        patterns=_p(r"Elasticsearch\w*", r"OpenSearch\w*"),
        root_cause="The Elasticsearch/OpenSearch cluster is degraded: unassigned shards (yellow/red) "
        "after a node loss, disk watermarks reached (indices become read-only), or JVM heap pressure.",
        impact="Red: some indices are unavailable for search/writes. Yellow: reduced redundancy. "
        "Flood-stage watermark: writes blocked.",
        fix_suggestion="`curl -s :9200/_cluster/health?pretty`; `curl -s ':9200/_cat/shards?v&h=index,shard,"
        "prirep,state,unassigned.reason' | grep UNASSIGNED`; `curl -s "
        "':9200/_cluster/allocation/explain?pretty'`; "
        "`_cat/allocation?v` for disk; free disk/delete old indices, then clear read_only_allow_delete.",
        prevention="ILM retention policies, disk alerts below the watermarks, heap <= 50% of RAM (max "
        "~31GB).",
        confidence=0.7,
        action=A.MANUAL_INTERVENTION,
        reason="shard allocation/disk needs an operator",
        examples=("ElasticsearchClusterRed",),
    ),
    Rule(
        id="kafka-consumer-lag",
        category="queue",
        patterns=_p(r"consumer\w*(group)?\w*lag", r"KafkaConsumer", r"kafka\w*lag"),
        root_cause="Consumers fall behind producers: consumer instances slowed or crashed, a "
        "rebalance storm, a poison message, or traffic outgrew the consumer group (consumers <= partitions).",
        impact="Processing is delayed; data is stale downstream; retention may delete unread messages.",
        fix_suggestion="`kafka-consumer-groups.sh --bootstrap-server <b> --describe --group <g>` "
        "(lag per partition, assigned consumers). If lag is on one partition, look for a poison message "
        "or hot key; if on all, scale consumers up to the partition count and check their logs.",
        prevention="Alert on lag in time (kafka-lag-exporter), autoscale consumers on lag (KEDA), "
        "size partitions for peak throughput.",
        confidence=0.75,
        action=A.SCALE_UP,
        reason="more consumers drain the backlog if they are healthy",
        examples=("KafkaConsumerLag", "KafkaConsumersGroupLag", "KafkaConsumerGroupLagHigh"),
    ),
    Rule(
        id="kafka-under-replicated",
        category="queue",
        patterns=_p(r"under.?replicated", r"KafkaTopicsReplicas", r"Kafka\w*Isr\w*(Shrink|Expand)",
                    r"UnderMinIsr"),
        root_cause="Some partitions have fewer in-sync replicas than configured: a broker is down, "
        "slow (disk/network), or overloaded so followers fall out of the ISR.",
        impact="Reduced durability; with min.insync.replicas unmet, producers using acks=all fail.",
        fix_suggestion="`kafka-topics.sh --bootstrap-server <b> --describe --under-replicated-partitions`; "
        "find the common broker; check its disk, GC pauses and network; restart or replace it; "
        "reassign partitions if it is gone.",
        prevention="Rack-aware replication factor 3 with min.insync.replicas=2; monitor broker disk/GC.",
        confidence=0.75,
        action=A.MANUAL_INTERVENTION,
        reason="broker health must be restored",
        examples=("KafkaUnderReplicatedPartitions", "KafkaTopicsReplicas", "KafkaIsrShrinks"),
    ),
    Rule(
        id="kafka-offline-partitions",
        category="queue",
        patterns=_p(r"offline.?partition", r"Kafka\w*(NoActiveController|ActiveController)",
                    r"Kafka\w*(Broker)?s?\w*Down", r"kafka\w*broker"),
        root_cause="Partitions have no leader or brokers are down: all replicas of a partition are "
        "offline, the controller is lost, or unclean leader election is disabled after data loss.",
        impact="Reads/writes to offline partitions fail — a hard outage for those topics.",
        fix_suggestion="`kafka-topics.sh --describe --unavailable-partitions`; bring the brokers "
        "holding those replicas back (check disk, `journalctl -u kafka`, ZooKeeper/KRaft quorum). "
        "Only as a last resort enable unclean leader election (data loss).",
        prevention="Replication factor >= 3 across racks, monitor controller count == 1.",
        confidence=0.8,
        action=A.MANUAL_INTERVENTION,
        reason="broker/controller recovery needs an operator",
        examples=("KafkaOfflinePartitions", "KafkaNoActiveController", "KafkaBrokerDown"),
    ),
    Rule(
        id="rabbitmq-queue-backlog",
        category="queue",
        patterns=_p(r"rabbitmq\w*(Queue|Messages|Consumer|Unack|Backlog)"),
        root_cause="Messages accumulate in a RabbitMQ queue: consumers are down, too few or too "
        "slow, or unacked messages pile up (consumer stuck or prefetch too high).",
        impact="Processing delay; memory/disk alarms on the broker that block publishers.",
        fix_suggestion="`rabbitmqctl list_queues name messages_ready messages_unacknowledged consumers`; "
        "restart stuck consumers, scale them out, fix prefetch; move poison messages to a DLQ.",
        prevention="Dead-letter exchanges, queue length limits, autoscaling consumers on queue depth (KEDA).",
        confidence=0.7,
        action=A.SCALE_UP,
        reason="more consumers drain the backlog",
        examples=("RabbitmqTooManyMessagesInQueue", "RabbitmqNoConsumer", "RabbitmqTooManyUnackMessages"),
    ),
    Rule(
        id="rabbitmq-node",
        category="queue",
        patterns=_p(r"rabbitmq\w*(Down|Node|Partition|Memory|Disk|Alarm|Cluster|FileDescriptor)",
                    r"rabbitmq"),
        root_cause="A RabbitMQ node is down, partitioned, or raised a memory/disk alarm "
        "(publishers are blocked while an alarm is active).",
        impact="Publishers block or fail; queues on the node (classic, non-mirrored) are unavailable.",
        fix_suggestion="`rabbitmq-diagnostics status` / `cluster_status` / `check_local_alarms`; check "
        "disk free vs disk_free_limit and memory vs vm_memory_high_watermark; drain backlogs; heal "
        "partitions by restarting the minority node.",
        prevention="Quorum queues, cluster of 3 nodes, pause_minority partition handling.",
        confidence=0.65,
        action=A.MANUAL_INTERVENTION,
        reason="broker health needs an operator",
        examples=("RabbitmqNodeDown", "RabbitmqNodeNotDistributed"),
        action_in_k8s=A.RESTART_POD,
    ),
    Rule(
        id="nats",
        category="queue",
        patterns=_p(r"\bnats\w*", r"jetstream"),
        root_cause="NATS reports a problem: slow consumers (clients not reading fast enough), "
        "server/cluster routes down, or JetStream storage/consumer lag.",
        impact="Slow consumers get disconnected and miss messages; JetStream streams may stop accepting "
        "writes.",
        fix_suggestion="Check `nats server report connections` / `nats stream report` / "
        "`nats consumer report`; look at /varz and /connz (slow_consumers); scale or fix the slow "
        "subscriber; check JetStream storage limits.",
        prevention="Use JetStream with pull consumers for heavy subscribers; alert on slow_consumers.",
        confidence=0.55,
        action=A.MANUAL_INTERVENTION,
        reason="depends on which NATS component is affected",
        examples=("NatsSlowConsumers",),
    ),
)

_TRACING: tuple[Rule, ...] = (
    Rule(
        id="otel-collector",
        category="tracing",
        patterns=_p(r"otel\w*col", r"opentelemetry", r"otelcol_\w+", r"\botel\w*",
                    r"(dropped|refused|failed)\w*spans?", r"spans?\w*(dropped|drop|refused|failed)"),
        root_cause="The OpenTelemetry collector drops or fails to export spans: the exporter "
        "backend is unreachable/slow, the sending queue is full, or memory_limiter refuses data "
        "under memory pressure.",
        impact="Traces (and possibly metrics/logs) are lost; observability gaps during incidents.",
        fix_suggestion="Check `otelcol_exporter_send_failed_spans`, `otelcol_exporter_queue_size` vs "
        "capacity and `otelcol_processor_refused_spans`; read collector logs for exporter errors; "
        "fix the backend endpoint/auth, raise `sending_queue.queue_size`/`num_consumers`, or give "
        "the collector more memory and tail-sample.",
        prevention="Run collectors as a scaled gateway tier with batch + memory_limiter processors and "
        "persistent queues; alert on send failures.",
        confidence=0.7,
        action=A.UPDATE_CONFIG,
        reason="exporter/queue configuration or backend reachability",
        examples=("OtelCollectorDroppedSpans", "OtelCollectorExporterFailedSpans",
                  "otelcol_exporter_send_failed_spans > 0", "SpansDropped"),
    ),
    Rule(
        id="awoooi-pipeline",
        category="alerting",
        patterns=_p(r"awoooi", r"alert[\s_-]*chain", r"no[\s_-]*alerts[\s_-]*received"),
        root_cause="awoooi, the alert pipeline itself, is degraded: alerts stop arriving (a sender's "
        "webhook URL or credentials changed), a link of the chain fails (worker not polling, Temporal or "
        "Valkey down, Telegram or Sentry refusing the token), or deliveries are refused or truncated.",
        impact="Alerts may not reach the chat: the thing that would tell people about an outage is the "
        "thing that is broken.",
        fix_suggestion="Run `awoooi probe` to see which link is red; check `/api/v1/health` (Temporal, "
        "Valkey, worker, spool depth), the API and worker logs, `awoooi_webhook_requests_total` by code "
        "and the senders' webhook configuration (URL path, token).",
        prevention="Keep the alert-chain probe schedule running and its dead man's switch routed outside "
        "awoooi; roll out with the CD probe step (deploy/ci/).",
        confidence=0.75,
        action=A.MANUAL_INTERVENTION,
        reason="the repair tooling depends on the pipeline that is broken",
        examples=("AlertChainBroken_Alertmanager", "AlertChainProbeFailing", "NoAlertsReceivedLong",
                  "AwoooiWebhookUnavailable", "AwoooiAbsent"),
    ),
    Rule(
        id="traces-missing",
        category="tracing",
        patterns=_p(r"no\w*(traces?|spans?)", r"(traces?|spans?)\w*(missing|absent|stopped)",
                    r"missing\w*(traces?|spans?)", r"没有\s*(链路|追踪)"),
        root_cause="A service that normally sends traces has sent none for a while: the service is down "
        "or idle, its tracing SDK/exporter is broken or misconfigured after a deploy, or the collector "
        "between it and the backend stopped forwarding.",
        impact="Requests of that service are no longer traced; latency and error alerts built on spans go "
        "silent, so an outage can look like calm.",
        fix_suggestion="Check that the service is up and receiving traffic; read its logs for exporter "
        "errors (OTLP endpoint, auth, TLS); check the collector's receiver counts "
        "(`otelcol_receiver_accepted_spans`) and export failures; compare with the last deploy's tracing "
        "config.",
        prevention="Alert on span absence per service (as here) and on collector send failures; keep the "
        "OTLP endpoint in one shared config; test tracing in the deploy pipeline.",
        confidence=0.7,
        action=A.MANUAL_INTERVENTION,
        reason="find out whether the service or its tracing path is what stopped",
        examples=("SigNozNoTraces", "NoTracesReceived", "NoTracesFor15Min", "TracesMissing"),
    ),
    Rule(
        id="tracing-backend",
        category="tracing",
        patterns=_p(r"jaeger\w*", r"tempo(Distributor|Ingester|Compactor|Querier|Request|Discarded)\w*",
                    r"signoz\w*", r"clickhouse\w*", r"tracing\w*(ingest|drop|fail)", r"zipkin"),
        root_cause="The trace backend (SigNoz/ClickHouse, Jaeger, Tempo) is not keeping up with "
        "ingestion: collector/ingester queues full, storage slow or full, or rate limits hit.",
        impact="Spans are discarded and traces are incomplete.",
        fix_suggestion="Check ingestion error/discard metrics (Jaeger "
        "`jaeger_collector_spans_dropped_total`, "
        "Tempo `tempo_discarded_spans_total` by reason, SigNoz/ClickHouse insert errors and disk); "
        "scale ingesters/collectors, raise per-tenant limits, or add storage.",
        prevention="Sample at the edge (tail/probabilistic), size storage for retention, alert on discards.",
        confidence=0.6,
        action=A.SCALE_UP,
        reason="more ingestion capacity usually resolves backpressure",
        examples=("JaegerCollectorDroppingSpans", "TempoDiscardedSpans", "SignozIngestionFailing"),
    ),
)

_CONTAINERS: tuple[Rule, ...] = (
    Rule(
        id="cpu-throttling",
        category="cpu",
        patterns=_p(r"cpu\w*throttl", r"throttling", r"Container\w*Throttl"),
        root_cause="The container's CPU usage hits its CFS quota (limits.cpu), so the kernel "
        "throttles it: the limit is too tight for bursts (common with multi-threaded runtimes like "
        "the JVM/Go).",
        impact="Latency spikes and timeouts even though node CPU looks idle.",
        fix_suggestion="Compare `rate(container_cpu_cfs_throttled_periods_total[5m]) / "
        "rate(container_cpu_cfs_periods_total[5m])` with usage; raise or remove `limits.cpu` "
        "(keep requests accurate), or set GOMAXPROCS/JVM ActiveProcessorCount to the limit.",
        prevention="Size CPU limits from p99 usage or use requests-only CPU; review after releases.",
        confidence=0.8,
        action=A.INCREASE_CPU,
        reason="the CPU limit is too low for the workload",
        examples=("CPUThrottlingHigh", "ContainerCpuThrottled", "KubernetesCpuThrottling"),
    ),
    Rule(
        id="container-memory-high",
        category="memory",
        patterns=_p(r"Container\w*Memory", r"KubeContainer\w*Memory", r"Pod\w*Memory"),
        root_cause="A container is close to its memory limit: real growth, a leak, or a cache sized "
        "without regard to the limit.",
        impact="The next spike gets the container OOM-killed.",
        fix_suggestion="Plot `container_memory_working_set_bytes` vs `kube_pod_container_resource_limits` "
        "for the pod; a steady climb means a leak (heap profile); otherwise raise limits.memory.",
        prevention="Right-size limits from usage history (VPA recommender); bound in-process caches.",
        confidence=0.75,
        action=A.INCREASE_MEMORY,
        reason="memory headroom before it is OOM-killed",
        examples=("ContainerHighMemoryUsage", "ContainerMemoryUsage", "PodMemoryUsageHigh"),
    ),
    Rule(
        id="container-cpu-high",
        category="cpu",
        patterns=_p(r"Container\w*Cpu", r"Pod\w*Cpu"),
        root_cause="A container uses most of its CPU limit/request: load growth, an inefficient "
        "code path or busy loop in a new release.",
        impact="Throttling and higher latency; HPA may scale out.",
        fix_suggestion="`kubectl top pod <pod> -n <ns> --containers`; check whether RPS rose or per-"
        "request CPU rose (new release -> profile it); raise limits.cpu or scale out.",
        prevention="Load-test releases; HPA on CPU with sensible targets.",
        confidence=0.7,
        action=A.INCREASE_CPU,
        reason="CPU headroom for the container",
        examples=("ContainerHighCpuUtilization", "ContainerCpuUsage", "PodCpuUsageHigh"),
    ),
    Rule(
        id="container-restarts",
        category="kubernetes",
        patterns=_p(r"Container\w*(Killed|Restart)", r"Pod\w*Restart", r"Kube\w*Restart",
                    r"too.?many.?restarts"),
        root_cause="Containers restart repeatedly: crashes, OOM kills, or liveness probes failing "
        "under load.",
        impact="Requests fail during restarts; frequent restarts turn into CrashLoopBackOff.",
        fix_suggestion="`kubectl get pods -n <ns> --sort-by='.status.containerStatuses[0].restartCount'`; "
        "`kubectl describe pod` (Last State reason/exit code); `kubectl logs --previous`.",
        prevention="Liveness probes with generous timeouts; fix crash causes rather than relying on "
        "restarts.",
        confidence=0.65,
        action=A.MANUAL_INTERVENTION,
        reason="restarting a restarting container fixes nothing; find the exit reason",
        examples=("ContainerKilled", "KubePodRestartsHigh", "ContainerRestarting"),
    ),
)

_HOSTS: tuple[Rule, ...] = (
    Rule(
        id="host-underutilized",
        category="capacity",
        patterns=_p(r"Underutili[sz]ed", r"(cpu|memory)\w*(is)?\w*(idle|unused|waste)"),
        root_cause="A host or workload uses far less CPU/memory than it has been given: over-"
        "provisioned instance size or requests, or traffic moved elsewhere.",
        impact="No user impact; money is spent on idle capacity.",
        fix_suggestion="Check utilisation over 1-2 weeks (not just now); downsize the instance or "
        "lower requests, or consolidate workloads.",
        prevention="Regular right-sizing reviews (VPA recommendations, cloud cost reports).",
        confidence=0.8,
        action=A.SCHEDULE_FIX,
        reason="cost optimisation, not an incident",
        examples=("HostCpuIsUnderutilized", "HostMemoryIsUnderutilized"),
    ),
    Rule(
        id="host-hardware-temperature",
        category="hardware",
        patterns=_p(r"temperature", r"\btemp\b", r"TooHot", r"Overtemperature", r"HwmonTemp", r"温度|溫度",
                    r"sensors_temp"),
        root_cause="A CPU/physical component runs hot: failing or blocked fans, high ambient "
        "temperature, dust, or sustained heavy load.",
        impact="The CPU throttles (slower), and sustained overheating can shut the machine down or "
        "damage hardware.",
        fix_suggestion="On the host: `sensors` (lm-sensors), `ipmitool sdr type temperature`, check fan "
        "speeds and BMC/IPMI event log; reduce load or migrate workloads; get the datacenter/hardware "
        "team to check cooling.",
        prevention="Monitor fan and ambient temperature sensors; keep thresholds per hardware model.",
        confidence=0.75,
        action=A.MANUAL_INTERVENTION,
        reason="physical hardware needs a person",
        examples=("High CPU Temperature", "HostPhysicalComponentTooHot", "NodeHwmonTempAlarm",
                  "HostNodeOvertemperatureAlarm"),
    ),
    Rule(
        id="host-disk-hardware",
        category="hardware",
        patterns=_p(r"\bsmart\w*", r"HostSmart", r"Raid\w*(Array|Disk|Degraded|Inactive|Fail)", r"\braid\b",
                    r"NodeRAID", r"HostEdac", r"\bedac\b", r"MdRaid"),
        root_cause="Disk or memory hardware reports errors: SMART failure predictions, a degraded "
        "RAID array, or ECC (EDAC) errors.",
        impact="Risk of data loss or crashes when the next component fails.",
        fix_suggestion="`smartctl -a /dev/<disk>`; `cat /proc/mdstat` / controller CLI; "
        "`edac-util -v`; schedule replacement and make sure backups are current.",
        prevention="Keep spares and monitor SMART/RAID/EDAC continuously.",
        confidence=0.75,
        action=A.MANUAL_INTERVENTION,
        reason="hardware replacement",
        examples=("HostSmartFailure", "HostRaidArrayGotInactive", "HostRaidDiskFailure",
                  "HostEdacUncorrectableErrorsDetected", "NodeRAIDDegraded"),
    ),
    Rule(
        id="host-clock-skew",
        category="time",
        patterns=_p(r"clock\w*(skew|sync|drift)", r"Clock\w*NotSynchronis", r"\bntp\w*", r"chrony",
                    r"时钟|時鐘|时间同步"),
        root_cause="The host clock drifts from real time: NTP/chrony stopped, cannot reach its "
        "servers, or the VM clock jumped after a pause/migration.",
        impact="TLS validation, token expiry (JWT/OIDC), distributed databases and log ordering break.",
        fix_suggestion="`timedatectl status`; `chronyc tracking` / `chronyc sources -v` (or `ntpq -p`); "
        "restart chronyd/ntpd, open UDP 123 to the NTP servers, `chronyc makestep` to step the clock.",
        prevention="Enable time sync on every host and alert on node_timex_offset_seconds.",
        confidence=0.8,
        action=A.MANUAL_INTERVENTION,
        reason="time sync on the host",
        examples=("HostClockSkew", "NodeClockSkewDetected", "NodeClockNotSynchronising",
                  "HostClockNotSynchronising"),
    ),
    Rule(
        id="host-oom-kill",
        category="memory",
        patterns=_p(r"Host\w*OomKill", r"oom.?kill.?detect", r"NodeOom\w*"),
        root_cause="The kernel OOM killer terminated a process on the host: the host ran out of "
        "memory (too many workloads, a leaking process, pods without limits).",
        impact="A random-looking process was killed (possibly a database or an agent).",
        fix_suggestion="`dmesg -T | grep -iE 'killed process|out of memory'` / `journalctl -k | grep -i "
        "oom`; "
        "identify the victim and the biggest consumers (`ps aux --sort=-rss | head`); add memory "
        "limits or move workloads.",
        prevention="Memory limits for all workloads, kube/system reserved memory, alert on host memory at "
        "90%.",
        confidence=0.8,
        action=A.SCHEDULE_FIX,
        reason="capacity/limits change on the host",
        examples=("HostOomKillDetected", "NodeOomKillDetected"),
    ),
    Rule(
        id="host-disk-io",
        category="disk",
        patterns=_p(r"(?:\bdisk|(?-i:Disk))\w*(Io|Latency|Read|Write|Saturat)", r"iowait", r"NodeDiskIO",
                    r"HostUnusualDisk",
                    r"磁盘\s*io|磁盘读写"),
        root_cause="Disk I/O is saturated or slow: heavy batch/backup jobs, a noisy neighbour, "
        "swapping, or a failing/throttled (cloud burst credit) disk.",
        impact="Everything that touches the disk slows down; databases stall on fsync.",
        fix_suggestion="`iostat -xz 1` (await, %util), `iotop -o`, `pidstat -d 1`; check cloud volume "
        "burst balance/IOPS limits; move heavy jobs off-peak.",
        prevention="Provisioned IOPS for databases, separate volumes for logs/data, schedule backups "
        "off-peak.",
        confidence=0.7,
        action=A.MANUAL_INTERVENTION,
        reason="identify the I/O consumer first",
        examples=("HostUnusualDiskReadLatency", "HostUnusualDiskWriteLatency", "HostCpuHighIowait",
                  "NodeDiskIOSaturation"),
    ),
    Rule(
        id="host-out-of-inodes",
        category="disk",
        patterns=_p(r"inode", r"Filesystem\w*Files\w*(Filling|OutOf|AlmostOut)", r"AlmostOutOfFiles"),
        root_cause="The filesystem runs out of inodes: millions of small files (session files, "
        "mail queue, cache shards, container layers) even though bytes are free.",
        impact="File creation fails with 'No space left on device' despite free space.",
        fix_suggestion="`df -i`; find the directory: `for d in /*; do echo $(find $d -xdev | wc -l) $d; "
        "done | sort -n | tail`; delete/rotate the small files; `docker/crictl image prune`.",
        prevention="Cleanup jobs for temp/cache dirs; filesystems created with enough inodes (or XFS).",
        confidence=0.8,
        action=A.MANUAL_INTERVENTION,
        reason="files must be cleaned up on the host",
        examples=("HostOutOfInodes", "NodeFilesystemFilesFillingUp", "NodeFilesystemAlmostOutOfFiles"),
    ),
    Rule(
        id="host-disk-space",
        category="disk",
        patterns=_p(r"(?:\bdisk|(?-i:Disk))\w*(full|space|usage|will\w*fill|filling)", r"OutOfDisk",
                    r"DiskRunningFull",
                    r"Filesystem\w*(Space|Full|Filling|AlmostOutOfSpace|Usage)",
                    r"disk.{0,20}(full|running out)",
                    r"no space left", r"磁盘|磁碟|硬盘|硬碟|存储空间|空间不足", r"node_filesystem_(avail|free|size)_bytes"),
        root_cause="A filesystem is (nearly) full: growing logs without rotation, old container "
        "images/volumes, core dumps, backups or database growth.",
        impact="Writes fail: applications crash, databases go read-only, logs are lost, the kubelet evicts "
        "pods.",
        fix_suggestion="`df -h`; `du -xh --max-depth=1 / 2>/dev/null | sort -h | tail` on the full "
        "mount; `journalctl --vacuum-size=500M`; `docker system prune` / `crictl rmi --prune`; "
        "check for deleted-but-open files with `lsof +L1`; grow the volume if the data is legitimate.",
        prevention="Log rotation and retention, image GC thresholds, predict_linear alerts 24h ahead, "
        "separate data volumes.",
        confidence=0.85,
        action=A.MANUAL_INTERVENTION,
        reason="space must be freed or added on the host; a restart does not help",
        examples=("HostOutOfDiskSpace", "NodeFilesystemSpaceFillingUp", "DiskRunningFull",
                  "NodeFilesystemAlmostOutOfSpace", "磁盘使用率"),
    ),
    Rule(
        id="host-memory",
        category="memory",
        patterns=_p(r"memory\w*(high|usage|pressure|low|filling|utili[sz]ation)", r"(high|low)\w*memory",
                    r"OutOfMemory", r"swap", r"MemoryMajorPagesFaults", r"内存|內存|記憶體|内存使用率",
                    r"node_memory_\w+"),
        root_cause="Host memory is nearly exhausted: a leaking or oversized process, too many "
        "workloads packed on the host, or page cache pressure from I/O heavy jobs; swap activity "
        "means it is already hurting.",
        impact="Swapping slows everything; next comes the OOM killer.",
        fix_suggestion="`free -m`; `ps aux --sort=-rss | head -15`; `vmstat 1` (si/so); on Kubernetes "
        "nodes `kubectl top pods -A --sort-by=memory` filtered by node. Restart/limit the leaking "
        "process or move workloads.",
        prevention="Memory limits for every workload, capacity headroom, leak detection in CI/load tests.",
        confidence=0.75,
        action=A.MANUAL_INTERVENTION,
        reason="find the consumer on the host first",
        examples=("HostOutOfMemory", "NodeMemoryHigh", "HostMemoryUnderMemoryPressure",
                  "HostSwapIsFillingUp", "内存使用率", "主机記憶體使用率"),
    ),
    Rule(
        id="host-cpu",
        category="cpu",
        patterns=_p(r"cpu\w*(usage|utili[sz]ation|load|high|busy|saturat)", r"high\w*cpu",
                    r"cpu使用|cpu利用|cpu占用|cpu使用率", r"node_cpu_seconds_total", r"HostHighCpu",
                    r"cpu\w*steal"),
        root_cause="Host CPU is saturated: a runaway process or busy loop, a traffic surge, batch "
        "jobs, or too many workloads on one machine.",
        impact="Latency rises for everything on the host; health checks may time out.",
        fix_suggestion="`top -o %CPU` / `pidstat 1`; `mpstat -P ALL 1` (one core or all?); on Kubernetes "
        "nodes `kubectl top pods -A --sort-by=cpu`. Throttle or move the culprit; add capacity if "
        "the load is legitimate.",
        prevention="CPU requests/limits on workloads, autoscaling, capacity headroom, alert on sustained "
        "(15m) usage.",
        confidence=0.75,
        action=A.MANUAL_INTERVENTION,
        reason="identify the consuming process before acting",
        examples=("HostHighCpuLoad", "NodeHighCPU", "主机CPU使用率", "HighCpuUsage", "NodeCPUUtilizationHigh"),
    ),
    Rule(
        id="host-load",
        category="cpu",
        patterns=_p(r"load\w*(high|average)", r"high\w*load", r"NodeLoad\d*", r"负载|負載",
                    r"NodeSystemSaturation", r"ContextSwitching",
                    r"node_load\d+"),
        root_cause="The load average exceeds the core count: CPU saturation or many processes "
        "blocked on I/O (D state).",
        impact="Processes wait for CPU/I/O; response times rise.",
        fix_suggestion="`uptime`; `top` (us/sy vs wa); `ps -eo state,pid,cmd | grep '^D'` for I/O-"
        "blocked processes; `iostat -xz 1` if iowait is high.",
        prevention="Capacity headroom; separate batch from latency-sensitive workloads.",
        confidence=0.7,
        action=A.MANUAL_INTERVENTION,
        reason="CPU vs I/O cause must be determined",
        examples=("HostHighLoad", "NodeLoadHigh", "NodeLoad15High", "主机负载过高", "NodeSystemSaturation"),
    ),
    Rule(
        id="host-network-errors",
        category="network",
        patterns=_p(r"network\w*(errors?|errs|drop|receive|transmit|saturat|flapping|bond|interface)",
                    r"HostNetwork", r"NodeNetwork", r"network\w*throughput", r"网络|網路|网卡|丢包"),
        root_cause="A network interface reports receive/transmit errors, drops or saturation: bad "
        "cable/NIC/driver, MTU mismatch, a degraded bond, or bandwidth exhaustion.",
        impact="Packet loss causes retransmits, timeouts and flaky connections.",
        fix_suggestion="`ip -s link show <iface>`; `ethtool -S <iface> | grep -iE 'err|drop'`; `ethtool "
        "<iface>` (speed/duplex); check MTU end to end (`ping -M do -s 1472`); look at switch port "
        "counters with the network team.",
        prevention="Monitor interface errors and bond state; consistent MTU; traffic shaping for bulk "
        "transfers.",
        confidence=0.7,
        action=A.MANUAL_INTERVENTION,
        reason="network hardware/config diagnosis",
        examples=("HostNetworkReceiveErrors", "HostNetworkTransmitErrors", "NodeNetworkReceiveErrs",
                  "HostNetworkBondDegraded"),
    ),
    Rule(
        id="host-conntrack",
        category="network",
        patterns=_p(r"conntrack", r"nf_conntrack"),
        root_cause="The connection-tracking table is nearly full: many short-lived connections "
        "(no keep-alive), a traffic surge or a SYN flood.",
        impact="New connections are dropped ('nf_conntrack: table full, dropping packet').",
        fix_suggestion="`sysctl net.netfilter.nf_conntrack_count net.netfilter.nf_conntrack_max`; "
        "`conntrack -S`; raise nf_conntrack_max (and hashsize) via sysctl; enable keep-alive/pooling "
        "in clients.",
        prevention="Size nf_conntrack_max for peak and use connection pooling.",
        confidence=0.8,
        action=A.UPDATE_CONFIG,
        reason="kernel sysctl change",
        examples=("HostConntrackLimit", "NodeHighNumberConntrackEntriesUsed"),
    ),
    Rule(
        id="host-file-descriptors",
        category="host",
        patterns=_p(r"file\w*descriptor", r"\bfd\w*(limit|exhaust)",
                    r"(Process|Open)\w*Fds?\w*(Limit|Exhaust|High)", r"too many open files"),
        root_cause="A process or the host is close to its open file descriptor limit: a socket/file "
        "leak or a limit (ulimit -n/LimitNOFILE) set too low.",
        impact="accept()/open() fail with 'too many open files'.",
        fix_suggestion="`cat /proc/sys/fs/file-nr`; `ls /proc/<pid>/fd | wc -l` and `lsof -p <pid> | "
        "awk '{print $5}' | sort | uniq -c`; raise LimitNOFILE in the systemd unit or fix the leak.",
        prevention="Alert on process_open_fds / process_max_fds ratio; close connections properly.",
        confidence=0.75,
        action=A.UPDATE_CONFIG,
        reason="limit configuration (or a leak fix)",
        examples=("NodeFileDescriptorLimit", "HostFileDescriptorsExhausted", "ProcessFdLimitHigh"),
    ),
    Rule(
        id="host-systemd-service",
        category="host",
        patterns=_p(r"systemd", r"Host\w*ServiceCrashed"),
        root_cause="A systemd unit on the host failed or keeps crashing.",
        impact="Whatever the unit provides (an agent, a daemon) is not running.",
        fix_suggestion="`systemctl --failed`; `systemctl status <unit>`; `journalctl -u <unit> -n 200 "
        "--no-pager`; fix and `systemctl restart <unit>`.",
        prevention="Restart=on-failure in units and monitor node_systemd_unit_state.",
        confidence=0.7,
        action=A.MANUAL_INTERVENTION,
        reason="host service repair",
        examples=("HostSystemdServiceCrashed", "NodeSystemdServiceFailed"),
    ),
)

_SERVICES: tuple[Rule, ...] = (
    Rule(
        id="blackbox-probe-failed",
        category="availability",
        patterns=_p(r"Blackbox\w*(Probe)?\w*Fail", r"probe_success\s*==\s*0", r"Probe\w*Fail",
                    r"Blackbox\w*HttpStatusCode", r"Endpoint\w*(Down|Unreachable)"),
        root_cause="A synthetic probe (blackbox exporter) cannot reach the endpoint or gets a bad "
        "status: service down, DNS/TLS failure, ingress/load balancer misrouting, or a firewall change.",
        impact="Users likely see the same failure the probe sees.",
        fix_suggestion="Reproduce: `curl -sv https://<target>`; check `probe_http_status_code`, "
        "`probe_dns_lookup_time_seconds` and the probe's debug output (`/probe?debug=true&target=...`); "
        "then the service, its ingress and DNS.",
        prevention="Probe from multiple locations and pair probes with SLO alerts.",
        confidence=0.7,
        action=A.MANUAL_INTERVENTION,
        reason="localise the failure (DNS, TLS, ingress, app) first",
        examples=("BlackboxProbeFailed", "BlackboxProbeHttpFailure", "EndpointDown"),
    ),
    Rule(
        id="target-down",
        category="availability",
        patterns=_p(r"TargetDown", r"InstanceDown", r"ServiceDown", r"HostDown", r"\bup\s*==\s*0",
                    r"\bup\s*(\{[^}]*\})?\s*(==\s*0|!=\s*1|<\s*1)\b", r"\bis down\b",
                    r"Unreachable", r"进程存活|存活|宕机|宕機|离线|離線|不可用", r"\w+Down$"),
        root_cause="A scrape target or instance is down (up == 0 / repeated check failures): the "
        "process stopped or crashed, the host is down, or the network/firewall blocks the port.",
        impact="The service on that instance is unavailable and its metrics are missing.",
        fix_suggestion="Check the instance directly: `curl -sv http://<instance>/metrics` (or its "
        "health endpoint); `systemctl status <service>` / `kubectl get pods -o wide`; check the "
        "host is up (`ping`, console) and recent deploys/config changes; restart the process once "
        "the cause is known.",
        prevention="Run services under a supervisor (systemd Restart=, Kubernetes) with health checks "
        "and redundancy across hosts.",
        confidence=0.7,
        action=A.MANUAL_INTERVENTION,
        reason="the instance is outside Kubernetes control; someone must check it",
        examples=("TargetDown", "InstanceDown", "Grafana进程存活", "ServiceDown"),
        action_in_k8s=A.RESTART_POD,
    ),
    Rule(
        id="http-4xx-rate",
        category="http",
        patterns=_p(r"4xx", r"Http4\d\d",
                    r"(High|Too\w*Many)\w*(Unauthorized|Forbidden|NotFound|ClientError)"),
        root_cause="Client errors spiked: a client release calling a removed/renamed endpoint, "
        "expired credentials (401/403), a misconfigured route, or a bot/scanner.",
        impact="Some users or integrations fail; usually not a server fault.",
        fix_suggestion="Break down by status, path and client (user agent/API key) in access logs; "
        "compare with recent API/ingress changes; block abusive clients at the edge.",
        prevention="Version APIs, deprecate endpoints with warnings, rate-limit clients.",
        confidence=0.6,
        action=A.NOTIFY_TEAM,
        reason="the owning team must decide whether clients or server changed",
        examples=("Http4xxErrors", "HighUnauthorizedRate"),
    ),
    Rule(
        id="http-error-rate",
        category="http",
        patterns=_p(r"error\w*rate", r"5xx", r"Http5\d\d", r"ErrorBudget", r"\bslo\w*", r"burn\w*rate",
                    r"too many errors", r"(high|increased)\w*errors?", r"errors?\w*(high|ratio|spike)",
                    r"错误率|錯誤率"),
        root_cause="The service's server error rate (5xx) is elevated and burning the SLO error "
        "budget: a bad release, a failing dependency (database, downstream API), resource "
        "exhaustion, or an overloaded upstream.",
        impact="A share of user requests fails right now; the error budget is being consumed.",
        fix_suggestion="Check what changed: `kubectl rollout history deployment/<name> -n <ns>`; if "
        "errors started with a deploy, `kubectl rollout undo deployment/<name> -n <ns>`. Otherwise "
        "break errors down by route/status in logs/traces and check dependencies' health.",
        prevention="Canary releases with automated analysis, SLO burn-rate alerts, circuit breakers "
        "and timeouts for dependencies.",
        confidence=0.65,
        action=A.ROLLBACK,
        reason="rollback when errors follow a deploy; otherwise fix the failing dependency",
        examples=("HighErrorRate", "Http5xxErrors", "ErrorBudgetBurn", "SLOBurnRateHigh", "Too many errors"),
    ),
    Rule(
        id="http-latency",
        category="latency",
        patterns=_p(r"latency", r"\bp9[059]\b", r"p9[059]\w*", r"slow\w*(response|request|probe)",
                    r"response\w*time", r"request\w*duration", r"Probe\w*Slow", r"延迟|延遲|响应时间"),
        root_cause="Request latency (p95/p99) is above target: saturation (CPU throttling, thread/"
        "connection pool exhaustion), a slow dependency or query, GC pauses, or a traffic surge.",
        impact="Users wait longer; timeouts and retries can cascade into errors.",
        fix_suggestion="Find the slow span in traces; check saturation (CPU, throttling, pool waits) "
        "and dependency latency (DB slow queries); scale out if all replicas are saturated; roll back "
        "if it started with a release.",
        prevention="Latency SLOs, load tests before release, autoscaling on saturation signals.",
        confidence=0.6,
        action=A.SCALE_UP,
        reason="more replicas help when latency comes from saturation",
        examples=("HighLatency", "HighRequestLatency", "P99LatencyHigh", "APIHighResponseTime"),
    ),
)

# Catch-alls per technology: honest, lower-confidence analyses for alerts of a known system that
# no specific rule covers. They sit after all specific rules.
# --------------------------------------------------------------------------------------------------
# Exception rules (Sentry issues/errors). Examples are exception types, optionally "Type: message".
# --------------------------------------------------------------------------------------------------

_EXCEPTIONS: tuple[Rule, ...] = (
    # Recursion first: "RangeError: Maximum call stack size exceeded" is not a validation error.
    Rule(
        id="exc-recursion",
        category="application",
        patterns=_p(r"RecursionError", r"StackOverflow\w*", r"Maximum call stack size exceeded",
                    r"too much recursion"),
        root_cause="Unbounded recursion: a cycle in data (self-referencing objects), a missing base "
        "case, or mutually recursive calls (e.g. serializers, re-render loops).",
        impact="The request/thread fails; in browsers the page can freeze.",
        fix_suggestion="Read the repeating frames in the stack; find the cycle in data or the "
        "missing termination; convert deep recursion to iteration.",
        prevention="Guard against cycles and depth in recursive code; tests with deep/cyclic data.",
        confidence=0.75,
        action=A.APPLY_HOTFIX,
        reason="a code fix is required",
        examples=("RecursionError", "StackOverflowError", "RangeError: Maximum call stack size exceeded"),
        kind="exception",
    ),
    Rule(
        id="exc-json-decode",
        category="application",
        patterns=_p(r"JSONDecodeError", r"Json\w*(Parse|Processing|Mapping|Syntax)\w*Exception",
                    r"Unexpected token .{0,10} in JSON", r"is not valid JSON", r"JSON\.parse",
                    r"json\w*(decode|parse)\w*error"),
        root_cause="Code parsed a response or payload as JSON but it was not JSON: an upstream "
        "returned an HTML error page/empty body (often a 502/504 from a proxy), or the payload "
        "format changed.",
        impact="The request fails; if it is an upstream outage, many requests fail the same way.",
        fix_suggestion="Log the raw body/status before parsing; check the upstream's status at the "
        "time (502/504?). Handle non-2xx and empty bodies before parsing; validate schema changes.",
        prevention="Check content-type/status before decoding; contract tests with the upstream.",
        confidence=0.7,
        action=A.APPLY_HOTFIX,
        reason="defensive parsing in code, or fix the upstream",
        examples=("JSONDecodeError", "SyntaxError: Unexpected token < in JSON at position 0",
                  "JsonParseException"),
        kind="exception",
    ),
    Rule(
        id="exc-db-integrity",
        category="database",
        patterns=_p(r"IntegrityError", r"UniqueViolation", r"ForeignKeyViolation", r"duplicate key",
                    r"ConstraintViolation\w*", r"SQLIntegrityConstraintViolation"),
        root_cause="A write violated a database constraint (unique, foreign key, not null): a race "
        "between concurrent inserts, missing existence checks, or data from an unexpected client.",
        impact="The operation fails for the affected user/records.",
        fix_suggestion="Read the constraint name in the error; make the write idempotent (INSERT ... "
        "ON CONFLICT / upsert), or validate references before writing.",
        prevention="Idempotency keys and upserts for concurrent writers; tests for duplicate submissions.",
        confidence=0.7,
        action=A.APPLY_HOTFIX,
        reason="application logic fix",
        examples=("IntegrityError", "UniqueViolation", "SQLIntegrityConstraintViolationException"),
        kind="exception",
    ),
    Rule(
        id="exc-database-operational",
        category="database",
        patterns=_p(r"OperationalError", r"DatabaseError", r"InterfaceError", r"PSQLException",
                    r"SQLException", r"psycopg", r"sqlalchemy\.exc", r"PoolTimeout", r"QueuePool limit",
                    r"too many (connections|clients)", r"deadlock detected", r"lock wait timeout",
                    r"could not connect to server", r"SequelizeConnection\w*", r"MongoServerError",
                    r"PrismaClient\w*Error"),
        root_cause="The application's database calls fail at the driver level: the database is "
        "down or restarting, the connection pool is exhausted, connection limits are hit, a "
        "deadlock/lock timeout occurred, or credentials/network changed.",
        impact="Every request needing the database fails; often many issues at once across services.",
        fix_suggestion="Read the driver message. Check the database health (`pg_isready`, "
        "`SELECT count(*) FROM pg_stat_activity`), pool settings (pool_size/max_overflow vs "
        "max_connections), and whether a failover/maintenance happened.",
        prevention="Connection pooling with timeouts and retries on transient errors; alert on the "
        "database itself so this is not the first signal.",
        confidence=0.7,
        action=A.MANUAL_INTERVENTION,
        reason="database availability/pooling needs an operator",
        examples=("OperationalError", "psycopg2.OperationalError", "SQLException", "DatabaseError"),
        kind="exception",
    ),
    Rule(
        id="exc-out-of-memory",
        category="memory",
        patterns=_p(r"OutOfMemory", r"MemoryError", r"heap out of memory", r"\bOOM\b",
                    r"Allocation failed", r"GC overhead limit exceeded"),
        root_cause="The process ran out of memory: heap/limit too small for the workload, loading "
        "too much data at once (unbounded queries, large files), or a memory leak.",
        impact="The request fails and the process may crash or be restarted.",
        fix_suggestion="Find what allocates: the stack in the issue, heap dumps "
        "(-XX:+HeapDumpOnOutOfMemoryError, tracemalloc, node --heapsnapshot-near-heap-limit); stream/"
        "paginate large data; raise heap (-Xmx, --max-old-space-size) and container memory together.",
        prevention="Bound in-memory data, load-test with production-sized data, alert on memory at 80% of "
        "limit.",
        confidence=0.75,
        action=A.INCREASE_MEMORY,
        reason="memory headroom now; leak/batching fix after",
        examples=("OutOfMemoryError", "MemoryError", "java.lang.OutOfMemoryError",
                  "FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory"),
        kind="exception",
    ),
    Rule(
        id="exc-disk-full",
        category="disk",
        patterns=_p(r"No space left on device", r"(?-i:ENOSPC)", r"DiskFull\w*"),
        root_cause="The process could not write because its filesystem is full.",
        impact="Writes (uploads, temp files, logs, DB) fail until space is freed.",
        fix_suggestion="`df -h` on the host/container; free space (logs, temp, old images) or grow the "
        "volume.",
        prevention="Disk usage alerts with predict_linear; log rotation.",
        confidence=0.8,
        action=A.MANUAL_INTERVENTION,
        reason="space must be freed on the host",
        examples=("OSError: [Errno 28] No space left on device", "ENOSPC"),
        kind="exception",
    ),
    Rule(
        id="exc-timeout",
        category="network",
        patterns=_p(r"timeout", r"timed out", r"(?-i:ETIMEDOUT)", r"DeadlineExceeded",
                    r"(?-i:ESOCKETTIMEDOUT)"),
        root_cause="A call to a dependency (HTTP API, database, cache) did not answer within the "
        "timeout: the dependency is slow/overloaded, the network drops packets, or the timeout is "
        "shorter than legitimate work.",
        impact="The request fails or is retried; retries can amplify load on the slow dependency.",
        fix_suggestion="Identify the dependency from the stack/culprit; check its latency and health "
        "at that time; look at traces for the slow span. Tune timeouts/retries (with backoff) only if "
        "the work is legitimately slow.",
        prevention="Explicit timeouts per dependency, retries with jitter, circuit breakers, latency SLOs.",
        confidence=0.65,
        action=A.MANUAL_INTERVENTION,
        reason="the slow dependency must be identified",
        examples=("Timeout", "ReadTimeout", "TimeoutError", "SocketTimeoutException", "ConnectTimeout"),
        kind="exception",
    ),
    Rule(
        id="exc-connection",
        category="network",
        patterns=_p(r"Connection\w*(Error|Refused|Reset|Aborted|Exception|Closed)", r"ConnectError",
                    r"ConnectException", r"(?-i:ECONNREFUSED|ECONNRESET|EHOSTUNREACH)", r"(?-i:ENOTFOUND)",
                    r"NetworkError", r"Failed to fetch", r"Network request failed", r"UnknownHost",
                    r"Name or service not known", r"getaddrinfo", r"BrokenPipe", r"SSLError"),
        root_cause="The application could not reach a dependency: the service is down or "
        "restarting, DNS fails, the port/firewall/NetworkPolicy blocks it, TLS fails, or it resets "
        "connections under load. In browsers, 'Failed to fetch' also covers CORS and offline users.",
        impact="Features needing that dependency fail while it is unreachable.",
        fix_suggestion="From the stack, find host:port; check that service (`kubectl get pods,svc`, "
        "`curl -v`, `nslookup`); look for concurrent deploys/restarts of it. Add retries with "
        "backoff for transient resets.",
        prevention="Retries with backoff, readiness probes and PodDisruptionBudgets on the dependency, "
        "alerting on the dependency itself.",
        confidence=0.65,
        action=A.MANUAL_INTERVENTION,
        reason="the unreachable dependency must be checked",
        examples=("ConnectionError", "ConnectionRefusedError", "ConnectionResetError", "ECONNREFUSED",
                  "TypeError: Failed to fetch"),
        kind="exception",
    ),
    Rule(
        id="exc-permission",
        category="security",
        patterns=_p(r"Permission\w*(Error|Denied)", r"Unauthori[sz]ed", r"Forbidden", r"AccessDenied\w*",
                    r"Authentication\w*(Error|Failed|Exception)", r"AuthError", r"\b40[13]\b",
                    r"SecurityException", r"InvalidToken\w*", r"TokenExpired\w*", r"(?-i:EACCES)"),
        root_cause="An operation was denied: expired/rotated credentials or tokens, missing IAM/RBAC "
        "permission after an infrastructure change, or file permissions (EACCES) in the container.",
        impact="The affected operation fails every time until the credential/permission is fixed.",
        fix_suggestion="Determine who was denied what: for API keys/tokens check expiry and rotation "
        "(secret store, `kubectl get secret`); for cloud IAM check the role policy; for files check "
        "`ls -l` and the container's runAsUser.",
        prevention="Automated secret rotation with monitoring of expiry; IaC-managed permissions with "
        "review.",
        confidence=0.65,
        action=A.UPDATE_CONFIG,
        reason="credentials or permissions configuration",
        examples=("PermissionError", "Unauthorized", "Forbidden", "AccessDeniedException",
                  "HTTPError: 401 Client Error: Unauthorized"),
        kind="exception",
    ),
    Rule(
        id="exc-upstream-http",
        category="network",
        patterns=_p(r"HTTPError", r"HttpServerError", r"\b5\d\d Server Error", r"Bad Gateway",
                    r"Service Unavailable", r"Gateway Time-?out", r"Request failed with status code 5\d\d",
                    r"AxiosError", r"HTTPStatusError", r"UpstreamError"),
        root_cause="A downstream HTTP API answered with an error status (often 5xx): the upstream "
        "is failing, overloaded, or the request became invalid after an API change.",
        impact="Features depending on that API fail.",
        fix_suggestion="Read the URL and status from the event; check the upstream's status page/"
        "metrics; retry transient 502/503/504 with backoff; fix request shape for 4xx.",
        prevention="Timeouts, retries with jitter, circuit breakers and graceful degradation.",
        confidence=0.6,
        action=A.NOTIFY_TEAM,
        reason="the owner of the upstream must be involved",
        examples=("HTTPError", "AxiosError: Request failed with status code 502", "HTTPStatusError"),
        kind="exception",
    ),
    Rule(
        id="exc-import-error",
        category="application",
        patterns=_p(r"ImportError", r"ModuleNotFoundError", r"ClassNotFoundException",
                    r"NoClassDefFoundError",
                    r"Cannot find module", r"ChunkLoadError", r"Loading chunk \S+ failed",
                    r"Failed to fetch dynamically imported module", r"NoSuchMethodError", r"LinkageError"),
        root_cause="Code or a dependency could not be loaded: a package missing from the built "
        "image/lockfile, a version mismatch, or (frontend) stale clients requesting chunks deleted "
        "by a new deploy.",
        impact="Every code path that imports it fails; at startup the service does not boot.",
        fix_suggestion="Compare the deployed image's dependencies with the lockfile (`pip freeze`, "
        "`npm ls`); if it appeared with a release, roll back, then fix the build. For ChunkLoadError "
        "keep old assets available for a while after deploys and reload the page on failure.",
        prevention="Build from lockfiles, smoke-test the built image in CI, keep previous frontend "
        "assets after a deploy.",
        confidence=0.75,
        action=A.ROLLBACK,
        reason="a broken build/release is the usual cause",
        examples=("ImportError", "ModuleNotFoundError", "ClassNotFoundException", "ChunkLoadError"),
        kind="exception",
    ),
    Rule(
        id="exc-null-reference",
        category="application",
        patterns=_p(r"NullPointerException", r"NullReferenceException",
                    r"Cannot read propert(y|ies) of (undefined|null)",
                    r"(undefined|null) is not an object", r"'NoneType' object", r"NoneType",
                    r"Cannot set propert(y|ies) of (undefined|null)", r"nil pointer dereference",
                    r"KotlinNullPointer"),
        root_cause="Code dereferenced a null/None/undefined value: a missing field in data or an "
        "API response, an optional value used without a check, or an initialisation order bug.",
        impact="The affected request/page fails for inputs that hit this path.",
        fix_suggestion="Open the stack trace at the culprit; find which value was null and why "
        "(missing DB row, optional API field, not-yet-loaded state); add the check or fix the data "
        "source; add a regression test with that input.",
        prevention="Static typing/null-safety (mypy --strict, TypeScript strictNullChecks, Kotlin), "
        "schema validation at boundaries.",
        confidence=0.75,
        action=A.APPLY_HOTFIX,
        reason="a code fix is required",
        examples=("NullPointerException", "TypeError: Cannot read properties of undefined (reading 'id')",
                  "AttributeError: 'NoneType' object has no attribute 'get'", "NullReferenceException"),
        kind="exception",
    ),
    Rule(
        id="exc-reference-error",
        category="application",
        patterns=_p(r"ReferenceError", r"is not defined", r"NameError", r"UnboundLocalError"),
        root_cause="Code uses a variable or function that does not exist at runtime: a typo or "
        "rename missed in one place, a missing import, a script loaded in the wrong order, or a "
        "browser/runtime lacking a global (JavaScript ReferenceError / Python NameError).",
        impact="The code path throws every time it runs; in a browser the feature is broken for "
        "affected users.",
        fix_suggestion="Open the culprit frame and search the codebase for the undefined name; check "
        "the last release diff for renames; for browser code check script load order and polyfills. "
        "Roll back if the release broke a common path.",
        prevention="Linting (ESLint no-undef, pyflakes), type checking, and a test that exercises the path.",
        confidence=0.8,
        action=A.APPLY_HOTFIX,
        reason="a code fix is required",
        examples=("ReferenceError", "ReferenceError: blooopy is not defined", "NameError"),
        kind="exception",
    ),
    Rule(
        id="exc-type-error",
        category="application",
        patterns=_p(r"TypeError", r"ClassCastException", r"InvalidCastException", r"is not a function",
                    r"is not iterable", r"is not callable"),
        root_cause="A value had an unexpected type: calling something that is not a function, "
        "wrong argument types/count after a signature change, or data of a different shape than "
        "the code expects.",
        impact="The code path fails for the inputs that hit it.",
        fix_suggestion="Use the message and the culprit frame to find the value; check recent "
        "signature/API changes in the release diff; fix the caller or validate the data shape.",
        prevention="Type checking (mypy/TypeScript) and schema validation at boundaries.",
        confidence=0.7,
        action=A.APPLY_HOTFIX,
        reason="a code fix is required",
        examples=("TypeError", "TypeError: foo.map is not a function", "ClassCastException"),
        kind="exception",
    ),
    Rule(
        id="exc-attribute-error",
        category="application",
        patterns=_p(r"AttributeError", r"has no attribute", r"NoSuchFieldError", r"MissingMethod"),
        root_cause="Code accessed an attribute or method the object does not have: an API/library "
        "change after an upgrade, a wrong object type, or a renamed field.",
        impact="The code path fails every time it runs.",
        fix_suggestion="Check the object type at the culprit and the library versions in the deployed "
        "image vs the lockfile; fix the call or pin the dependency.",
        prevention="Type checking and pinned dependencies; upgrade with changelog review and tests.",
        confidence=0.7,
        action=A.APPLY_HOTFIX,
        reason="a code fix is required",
        examples=("AttributeError", "AttributeError: 'dict' object has no attribute 'foo'"),
        kind="exception",
    ),
    Rule(
        id="exc-key-error",
        category="application",
        patterns=_p(r"KeyError", r"IndexError", r"KeyNotFoundException", r"IndexOutOfBounds\w*",
                    r"ArrayIndexOutOfBounds\w*", r"IndexOutOfRange\w*", r"NoSuchElementException",
                    r"StopIteration"),
        root_cause="Code looked up a key/index that is not present: data without an expected field, "
        "empty lists, config keys missing in one environment.",
        impact="Requests with such data fail.",
        fix_suggestion="Read the missing key/index in the message; check whether the data source "
        "changed (API response, DB row, config/env var); use .get()/bounds checks with explicit "
        "defaults, or fix the data.",
        prevention="Schema validation at boundaries; typed config loaded and checked at startup.",
        confidence=0.7,
        action=A.APPLY_HOTFIX,
        reason="a code or data fix is required",
        examples=("KeyError", "IndexError", "ArrayIndexOutOfBoundsException"),
        kind="exception",
    ),
    Rule(
        id="exc-validation-error",
        category="application",
        patterns=_p(r"ValueError", r"ValidationError", r"IllegalArgumentException", r"ArgumentException",
                    r"IllegalStateException", r"InvalidOperationException", r"RangeError", r"Invalid\w*Error",
                    r"UnicodeDecodeError", r"UnicodeEncodeError", r"DecimalException",
                    r"NumberFormatException"),
        root_cause="Input or state failed validation: clients sending data the code does not "
        "accept, a schema/contract change between services, or unexpected encodings/formats.",
        impact="The affected requests fail; often limited to specific clients or records.",
        fix_suggestion="Look at the offending value in the event (breadcrumbs/request body); decide "
        "whether the input is invalid (return a 4xx instead of an exception) or the validation is "
        "too strict (fix it).",
        prevention="Validate at the API boundary and return client errors explicitly; contract tests "
        "between services.",
        confidence=0.6,
        action=A.APPLY_HOTFIX,
        reason="validation/handling fix in code",
        examples=("ValueError", "ValidationError", "IllegalArgumentException", "RangeError",
                  "UnicodeDecodeError"),
        kind="exception",
    ),
)

def _declared(rule: Rule) -> Rule:
    """The rule with what its text is about (meaning.py), exceptions all being application code."""
    if rule.kind == "exception":
        return replace(rule, modes=("exception",), fixes=("fix-code",), technology="application")
    meaning = RULE_MEANINGS.get(rule.id)
    technology = rule_family(rule.id) or _TECHNOLOGY.get(rule.id)
    if meaning is None:
        return replace(rule, technology=technology)
    return replace(rule, modes=meaning.modes, resources=meaning.resources, fixes=meaning.fixes,
                   technology=technology)


# Rules whose id does not start with their technology's prefix (families.rule_family).
_TECHNOLOGY = {"blackbox-probe-failed": "blackbox", "traces-missing": "otel", "watchdog": "prometheus",
               "info-inhibitor": "alertmanager"}


ALERT_RULES: tuple[Rule, ...] = tuple(_declared(r) for r in (
    _META
    + _PROMETHEUS
    + _CERTIFICATES
    + _DATABASES
    + _QUEUES
    + _TRACING
    + _KUBERNETES
    + _CONTAINERS
    + _HOSTS
    + _SERVICES
))
EXCEPTION_RULES: tuple[Rule, ...] = tuple(_declared(r) for r in _EXCEPTIONS)
RULES: tuple[Rule, ...] = ALERT_RULES + EXCEPTION_RULES

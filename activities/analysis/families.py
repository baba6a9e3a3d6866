"""Technology families: which system an alert is about, recognised from every signal it carries.

A family is identified by the alert name's first word (rules are named after their system), the
metric names in the alert's expression (an exporter prefixes all its metrics), any word of the
name, the ``job``/``service`` labels and finally the summary/description text. Each family carries
what an operator checks first on that system, so an alert nobody wrote a rule for still gets the
right commands (docs/adr/0012-knowledge-base-organisation.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Family:
    id: str
    name: str
    category: str
    metric_prefixes: tuple[str, ...]
    # Matched against the alert name's words (lower case, space-joined) and, weaker, the text.
    words: str
    checks: str
    # A Kubernetes pod restart is a sane first step for a dead process of this system.
    restartable: bool = True
    # Adding replicas helps with saturation/latency (stateless or horizontally scalable).
    scalable: bool = False
    # How some failure modes are fixed for this kind of system (failure_modes.Mode.by_kind): a proxy's
    # errors come from its backends, a database's latency from its queries, a queue's backlog from
    # its consumers. One of: database, proxy, queue, backend, service, platform.
    kind: str = "platform"

    @property
    def pattern(self) -> re.Pattern[str]:
        return _compiled(self.words)


_CACHE: dict[str, re.Pattern[str]] = {}


def _compiled(words: str) -> re.Pattern[str]:
    if words not in _CACHE:
        _CACHE[words] = re.compile(words, re.IGNORECASE)
    return _CACHE[words]


def _f(id: str, name: str, category: str, prefixes: str, words: str, checks: str, *,
       restartable: bool = True, scalable: bool = False) -> Family:
    return Family(id, name, category, tuple(prefixes.split()), words, checks, restartable, scalable, _KINDS.get(id, "platform"))


_KINDS = {
    **dict.fromkeys(("postgres", "mysql", "redis", "mongodb", "cassandra", "clickhouse", "memcached",
                     "elasticsearch"), "database"),
    **dict.fromkeys(("nginx", "haproxy", "traefik", "envoy", "apache"), "proxy"),
    **dict.fromkeys(("kafka", "rabbitmq", "nats", "pulsar", "queue-workers"), "queue"),
    **dict.fromkeys(("thanos", "loki", "mimir", "grafana", "otel"), "backend"),
    **dict.fromkeys(("http", "jvm", "golang", "phpfpm"), "service"),
}


# Order matters where prefixes or words overlap: the first family that matches wins, so systems
# that embed another's metric names (Elasticsearch's JVM metrics, ClickHouse's ZooKeeper session)
# come before the embedded one.
FAMILIES: tuple[Family, ...] = (
    _f("elasticsearch", "Elasticsearch", "search", "elasticsearch_ opensearch_ es_",
       r"\b(elasticsearch|elastic|open ?search|es cluster)\b",
       "`curl -s :9200/_cluster/health?pretty`, `_cat/nodes?v`, `_cat/shards?v | grep -v STARTED`, "
       "`_cluster/allocation/explain`, node heap and disk watermarks.", restartable=False),
    _f("clickhouse", "ClickHouse", "database", "clickhouse clickhouseasyncmetrics_ clickhousemetrics_ "
       "clickhouseprofileevents_ clickhouseerrormetric_", r"\bclick ?house\b",
       "`SELECT * FROM system.replicas`, `system.mutations`, `system.errors`, the server log, and ZooKeeper/"
       "Keeper connectivity.", restartable=False),
    _f("postgres", "PostgreSQL", "database", "pg_ pgbouncer_ postgresql_ postgres_",
       r"\b(postgres|postgresql|pg|pgbouncer|patroni)\b|postgre",
       "`SELECT * FROM pg_stat_activity`, `pg_stat_replication`, `pg_locks`, the server log and "
       "`df -h` on the data volume.", restartable=False),
    _f("mysql", "MySQL", "database", "mysql_ mysqld_ mariadb_", r"\b(my ?sql|maria ?db|galera|mysqld|innodb)\b|mysql",
       "`SHOW PROCESSLIST`, `SHOW REPLICA STATUS\\G`, `SHOW ENGINE INNODB STATUS`, the error log and disk space.",
       restartable=False),
    _f("redis", "Redis", "cache", "redis_ valkey_", r"\b(redis|valkey|sentinel)\b|redis",
       "`redis-cli info` (memory, clients, replication, persistence), `redis-cli --latency`, "
       "`slowlog get 10` and the Redis log."),
    _f("mongodb", "MongoDB", "database", "mongodb_ mongo_", r"\b(mongo|mongodb|mongod)\b",
       "`rs.status()`, `db.serverStatus()`, `db.currentOp()`, `mongostat` and the mongod log.", restartable=False),
    _f("cassandra", "Cassandra", "database", "cassandra_ scylla_", r"\b(cassandra|scylla)\b",
       "`nodetool status`, `nodetool tpstats`, `nodetool compactionstats`, `nodetool tablestats` and system.log.",
       restartable=False),
    _f("memcached", "Memcached", "cache", "memcached_", r"\bmemcached?\b",
       "`echo stats | nc <host> 11211` (curr_connections, evictions, limit_maxbytes) and client timeouts."),
    _f("zookeeper", "ZooKeeper", "queue", "zk_ zookeeper_", r"\b(zoo ?keeper|zk)\b",
       "`echo mntr | nc <host> 2181`, `echo stat | nc <host> 2181`, leader election in the log, and disk "
       "latency of the dataLogDir.", restartable=False),
    _f("kafka", "Kafka", "queue", "kafka_", r"\bkafka\b",
       "`kafka-topics.sh --describe --under-replicated-partitions`, `kafka-consumer-groups.sh --describe "
       "--group <g>`, broker logs and disk space of the log dirs.", restartable=False),
    _f("rabbitmq", "RabbitMQ", "queue", "rabbitmq_ erlang_", r"\b(rabbit|rabbitmq)\b|rabbitmq",
       "`rabbitmq-diagnostics status`, `rabbitmqctl list_queues name messages consumers`, "
       "`rabbitmq-diagnostics alarms` and cluster partitions."),
    _f("nats", "NATS", "queue", "gnatsd_ nats_", r"\b(nats|jet ?stream)\b",
       "`nats server report jetstream`, `/varz` and `/connz` monitoring endpoints, slow consumers in the log."),
    _f("pulsar", "Pulsar", "queue", "pulsar_ bookie_ bookkeeper_", r"\b(pulsar|bookie|bookkeeper)\b",
       "`pulsar-admin topics stats <topic>`, `pulsar-admin brokers healthcheck`, bookie ledger disk usage.",
       restartable=False),
    _f("etcd", "etcd", "kubernetes", "etcd_", r"\betcd\b",
       "`etcdctl endpoint status --cluster -w table`, `etcdctl endpoint health`, `etcdctl alarm list`, "
       "disk fsync latency of the data dir.", restartable=False),
    _f("coredns", "CoreDNS", "network", "coredns_", r"\b(core ?dns|kube ?dns|dns)\b",
       "`kubectl -n kube-system logs -l k8s-app=kube-dns`, the Corefile, upstream resolvers, "
       "`dig @<coredns-ip> kubernetes.default.svc.cluster.local`.", scalable=True),
    _f("certmanager", "cert-manager", "certificate", "certmanager_", r"\bcert ?manager\b",
       "`kubectl get certificate,certificaterequest,order,challenge -A`, `kubectl describe certificate <c>` "
       "and the cert-manager controller log."),
    _f("thanos", "Thanos", "monitoring", "thanos_", r"\bthanos\b",
       "the component's log, object storage credentials/bucket reachability, `thanos tools bucket inspect`, "
       "store/query gRPC endpoints.", scalable=True),
    _f("loki", "Loki", "monitoring", "loki_ promtail_", r"\b(loki|promtail)\b",
       "the component's log, `/ready` and `/metrics` of ingesters/distributors, object storage reachability "
       "and per-tenant limits.", scalable=True),
    _f("mimir", "Mimir/Cortex", "monitoring", "cortex_ mimir_", r"\b(mimir|cortex)\b",
       "the component's log, ring status page, per-tenant limits and object storage reachability.", scalable=True),
    _f("otel", "OpenTelemetry/tracing", "tracing", "otelcol_ jaeger_ tempo_ zipkin_",
       r"\b(otel|open ?telemetry|otelcol|collector|jaeger|tempo|zipkin)\b",
       "the collector's log, exporter queue size, the backend's reachability and the memory_limiter settings.",
       scalable=True),
    _f("alertmanager", "Alertmanager", "monitoring", "alertmanager_", r"\balertmanager\b",
       "`amtool check-config`, `amtool cluster show`, the Alertmanager log and receiver reachability."),
    _f("grafana", "Grafana", "monitoring", "grafana_", r"\bgrafana\b",
       "Grafana's log, data source health (Connections > Data sources > Test) and its database."),
    _f("prometheus", "Prometheus", "monitoring", "prometheus_ prometheus_operator_ pushgateway_",
       r"\b(prometheus|pushgateway)\b",
       "Prometheus /targets, /rules and /tsdb-status pages, its log, and `promtool check config`."),
    _f("blackbox", "Blackbox probe", "availability", "probe_ blackbox_", r"\b(blackbox|probe|probes|ping)\b",
       "`curl -sv` the probed URL from the exporter's network, DNS resolution, TLS handshake "
       "(`openssl s_client -connect <host>:443`) and the module's expectations.", restartable=False),
    _f("ssl", "TLS certificate", "certificate", "ssl_ x509_ cert_exporter_", r"\b(ssl|tls|x ?509)\b",
       "`openssl s_client -connect <host>:443 -servername <host> | openssl x509 -noout -dates -issuer`, "
       "the renewal job (certbot/cert-manager/ACME) and where the certificate is deployed.", restartable=False),
    _f("ceph", "Ceph", "storage", "ceph_", r"\b(ceph|osd|rgw|rbd|mds)\b",
       "`ceph -s`, `ceph health detail`, `ceph osd tree`, `ceph osd df`, `ceph pg dump_stuck`.", restartable=False),
    _f("minio", "MinIO", "storage", "minio_ disk_storage_", r"\bmin ?io\b",
       "`mc admin info <alias>`, `mc admin heal <alias>`, drive status and the MinIO log.", restartable=False),
    _f("zfs", "ZFS", "storage", "zfs_ node_zfs_", r"\b(zfs|zpool)\b",
       "`zpool status -x`, `zpool list`, `zfs list -o space`, `dmesg` for disk errors.", restartable=False),
    _f("gpu", "GPU", "hardware", "nvidia_ dcgm_ nvidia_smi_ amd_gpu_", r"\b(gpu|nvidia|dcgm|cuda)\b",
       "`nvidia-smi -q`, `dmesg | grep -i xid`, DCGM diagnostics (`dcgmi diag -r 1`), cooling and power.",
       restartable=False),
    _f("hardware", "Server hardware", "hardware", "ipmi_ smartctl_ node_hwmon_ redfish_",
       r"\b(ipmi|smart|smartctl|hwmon|redfish|raid|fan|psu|voltage|bmc)\b",
       "`ipmitool sel list`, `ipmitool sensor`, `smartctl -a /dev/<disk>`, the BMC event log.", restartable=False),
    _f("windows", "Windows host", "host", "windows_ wmi_", r"\b(windows|wmi|iis|mssql)\b",
       "Event Viewer (System/Application), `Get-Counter`, Task Manager/Resource Monitor, `Get-Service`.",
       restartable=False),
    _f("jvm", "JVM", "application", "jvm_ jmx_ java_lang_", r"\b(jvm|java|gc|heap|tomcat|jetty)\b",
       "`jcmd <pid> GC.heap_info`, `jstack <pid>` for blocked/deadlocked threads, GC logs and -Xmx vs the "
       "container limit.", scalable=True),
    _f("golang", "Go runtime", "application", "go_ process_", r"\b(goroutine|goroutines|golang)\b",
       "`/debug/pprof/goroutine?debug=1`, `/debug/pprof/heap`, open file descriptors (`ls /proc/<pid>/fd | wc -l`).",
       scalable=True),
    _f("phpfpm", "PHP-FPM", "application", "phpfpm_ php_fpm_", r"\b(php|phpfpm|fpm)\b",
       "the FPM status page (`/status?full`), slowlog, `pm.max_children` vs memory per worker.", scalable=True),
    _f("nginx", "NGINX", "http", "nginx_ nginx_ingress_", r"\b(nginx|ingress)\b",
       "the error log, `nginx -t`, upstream health, `stub_status` and the ingress controller's log.", scalable=True),
    _f("haproxy", "HAProxy", "http", "haproxy_", r"\bha ?proxy\b",
       "the stats page/`show stat` on the admin socket, backend health checks and the HAProxy log.", scalable=True),
    _f("traefik", "Traefik", "http", "traefik_", r"\btraefik\b",
       "the Traefik dashboard (routers/services), its log, backend health and dynamic configuration.", scalable=True),
    _f("envoy", "Envoy/Istio", "http", "envoy_ istio_ pilot_", r"\b(envoy|istio|pilot|mesh|sidecar)\b",
       "`istioctl proxy-status`, `istioctl analyze`, Envoy `/clusters` and `/stats` admin endpoints, the "
       "upstream workload's health.", scalable=True),
    _f("apache", "Apache httpd", "http", "apache_", r"\b(apache|httpd)\b",
       "`apachectl -S`, `/server-status`, the error log and MaxRequestWorkers.", scalable=True),
    _f("consul", "Consul", "network", "consul_", r"\bconsul\b",
       "`consul members`, `consul operator raft list-peers`, failing health checks in the UI, the agent log.",
       restartable=False),
    _f("vault", "Vault", "security", "vault_", r"\bvault\b",
       "`vault status`, `vault operator raft list-peers`, the audit device and server log, unseal keys/auto-unseal.",
       restartable=False),
    _f("cloud", "Cloud provider service", "cloud", "aws_ stackdriver_ azure_ gcp_ cloudwatch_ do_",
       r"\b(aws|dynamo|rds|elb|alb|sqs|lambda|ec2|dynamodb|ebs|gcp|cloud sql|cloudsql|pubsub|azure|cloudwatch)\b",
       "the provider's console/CLI for the resource (CloudWatch/Cloud Monitoring/Azure Monitor metrics and "
       "events), service health dashboard, quotas and recent changes.", restartable=False),
    _f("ci", "CI/CD and GitOps", "deployment", "jenkins_ default_jenkins_ argocd_ gotk_ flux_",
       r"\b(jenkins|argocd|argo|flux|gitlab|runner|build|builds)\b",
       "the controller's UI/log (Jenkins, Argo CD `argocd app get <app>`, `flux get all -A`), the failing "
       "job's console output and recent commits.", restartable=False),
    _f("queue-workers", "Background workers", "queue", "celery_ sidekiq_ resque_ bull_",
       r"\b(celery|sidekiq|resque|worker|workers|jobs)\b",
       "the worker log, queue depth per queue, failed/dead job details and the broker's health.", scalable=True),
    _f("container", "Container", "container", "container_ cadvisor_ docker_ k8s_container_",
       r"\b(container|containers|docker|cadvisor|容器)\b|容器",
       "`kubectl describe pod <pod>` (last state, limits), `kubectl top pod`, `docker stats`, container logs.",
       scalable=True),
    _f("kubernetes", "Kubernetes", "kubernetes", "kube_ kubelet_ apiserver_ scheduler_ kubeproxy_ rest_client_ "
       "aggregator_ workqueue_ k8s_ kubernetes_",
       r"\b(kube|kubernetes|k ?8s|kubelet|apiserver|pod|pods|deployment|statefulset|daemonset|hpa|pvc)\b|pod",
       "`kubectl get events -A --sort-by=.lastTimestamp | tail -30`, `kubectl describe` the named object, "
       "runbooks at https://runbooks.prometheus-operator.dev.", scalable=True),
    _f("node", "Linux host", "host", "node_ system_ host_", r"\b(host|node|server|machine|主机|节点|服务器)\b|主机|节点|服务器",
       "`uptime`, `top`/`htop`, `free -m`, `df -h`/`df -i`, `iostat -x 1`, `dmesg -T | tail` and "
       "`journalctl -p err -S -1h`.", restartable=False),
    _f("http", "HTTP/API service", "http", "http_ grpc_ signoz_ requests_",
       r"\b(http|https|api|endpoint|grpc|request|requests|transaction|transactions|service|services|"
       r"web|frontend|gateway|checkout|payment|payments|slo|apdex|sessions|接口|服务)\b|接口|服务",
       "the service's error logs and traces for the failing route, recent deploys, and its dependencies' health "
       "(database, cache, downstream APIs).", scalable=True),
)

BY_ID: dict[str, Family] = {f.id: f for f in FAMILIES}

# Metric names that say nothing about the technology (the job label has to).
NEUTRAL_METRICS = frozenset({"up", "process_start_time_seconds", "time", "vector", "scalar"})

# The family an existing hand-written rule belongs to, by rule id prefix; None means the rule is a
# cross-technology one (target down, HTTP error rate, certificate expiry...).
_RULE_FAMILY_PREFIXES: tuple[tuple[str, str], ...] = (
    ("host-", "node"), ("kube-", "kubernetes"), ("kubernetes-", "kubernetes"), ("container-", "container"),
    ("cpu-throttling", "container"), ("postgres-", "postgres"), ("mysql-", "mysql"), ("redis-", "redis"),
    ("elasticsearch-", "elasticsearch"), ("kafka-", "kafka"), ("rabbitmq-", "rabbitmq"), ("nats", "nats"),
    ("otel-", "otel"), ("tracing-", "otel"), ("prometheus-", "prometheus"), ("alertmanager-", "alertmanager"),
    ("cert-manager-", "certmanager"), ("http-", "http"),
)


# Cross-technology rules that stand whenever the alert's name hits them: a certificate expiry or a
# failed probe is the same problem whatever serves it.
UNIVERSAL_RULES = frozenset({"certificate-expiry", "blackbox-probe-failed", "target-down", "watchdog", "info-inhibitor",
                             "awoooi-pipeline"})


def rule_family(rule_id: str) -> str | None:
    for prefix, family in _RULE_FAMILY_PREFIXES:
        if rule_id.startswith(prefix):
            return family
    return None

"""Failure modes: what kind of trouble an alert describes, whatever system it is about.

Each mode carries the knowledge that holds across technologies: the usual causes, the families of fix
that follow (``fixes``, in the vocabulary below), the repair tier, and the actions that do not help
(restarting a process does not free a full disk). A mode is recognised from the alert name split into
words first, then the expression's metric names and functions, then the summary/description, in
English and Chinese (rules.py, docs/adr/0030). Order is precedence: the specific stories (a
certificate, a backup, a skew between members, a failing upstream) come before the broad ones (down,
latency, saturation, errors), so "ThanosBucketReplicateErrorRate" is replication, not "errors".

Saturation and capacity forecasts are told per resource (``RESOURCES``): a full disk is freed, a CPU is
relieved by finding its consumer, a connection pool by finding the leak. Some modes are fixed
differently by kind of technology (``Family.kind``): a proxy's errors and latency come from its
backends, a database's latency from its queries, a queue's backlog from its consumers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from core.models import RepairAction

A = RepairAction
_RESTARTS = (A.RESTART_POD, A.RESTART_CONTAINER, A.DELETE_POD)

# The vocabulary (tests/evaluation/README.md labels alerts with it).
MODE_IDS = (
    "down", "crashloop", "errors", "latency", "saturation", "capacity-forecast", "config", "skew", "replication",
    "backup", "cert-expiry", "quota", "data-loss", "backlog", "scrape", "rollout", "scheduling", "provisioning",
    "job-failed", "hardware", "clock", "security", "cluster", "traffic", "underutilized", "nodata", "maintenance",
    "info", "exception",
)
FIXES = (
    "restore", "investigate", "dependency", "find-consumer", "add-capacity", "free-space", "fix-config", "align",
    "fix-replication", "backup", "renew-cert", "quota", "protect-data", "consumers", "fix-exporter", "rollout",
    "schedule", "storage", "rerun-job", "hardware", "network", "sync-clock", "security", "quorum", "tune",
    "rightsize", "route", "telemetry", "fix-code",
)


@dataclass(frozen=True)
class Fix:
    """How one kind of technology fixes a mode: the text and the fix families it proposes."""

    text: str
    fixes: tuple[str, ...]


@dataclass(frozen=True)
class Mode:
    id: str
    tells: tuple[str, ...]  # the vocabulary's failure modes this story is about
    pattern: re.Pattern[str]
    cause: str  # formatted with {name}
    impact: str
    fix: Fix
    prevention: str
    action: RepairAction
    reason: str
    avoid: tuple[RepairAction, ...] = ()
    category: str | None = None  # overrides the family's category (a certificate is a certificate)
    by_kind: dict[str, Fix] = field(default_factory=dict)  # Family.kind -> a different fix
    per_resource: bool = False  # the story is told per resource (saturation, capacity forecast)
    # Words that tell this mode only when no mode's own words do ("high", "too many": an error rate
    # that is high is about errors, a usage that is high about saturation).
    weak: re.Pattern[str] | None = None

    def fix_for(self, kind: str) -> Fix:
        return self.by_kind.get(kind, self.fix)


def _w(english: str, chinese: str = "") -> re.Pattern[str]:
    regex = rf"\b(?:{english})\b"
    return re.compile(f"{regex}|{chinese}" if chinese else regex, re.IGNORECASE)


def _f(text: str, fixes: str) -> Fix:
    return Fix(text, tuple(fixes.split()))


@dataclass(frozen=True)
class Resource:
    """One resource a system saturates, and what that means and what relieves it."""

    id: str
    pattern: re.Pattern[str]
    what: str  # "CPU", "memory" ...
    cause: str
    fix: Fix
    action: RepairAction
    avoid: tuple[RepairAction, ...] = ()


_FIND = "find-consumer add-capacity"
RESOURCES: tuple[Resource, ...] = (
    Resource("conntrack", _w(r"conntrack|nf conntrack"), "connection-tracking table",
             "many short-lived connections (no keep-alive), a connection flood, or a table sized for less traffic",
             _f("Count entries by source (`conntrack -L | awk '{print $5}' | sort | uniq -c | sort -n | tail`), "
                "enable keep-alive on the noisy client, and raise `net.netfilter.nf_conntrack_max` if the load is "
                "legitimate.", _FIND), A.UPDATE_CONFIG),
    Resource("fds", _w(r"open files|file descriptors?|fds?|fd|descriptors|nofile"), "open file descriptors",
             "a socket or file leak, or a limit (ulimit/LimitNOFILE/open_files_limit) set too low for the load",
             _f("Count open descriptors per process (`ls /proc/<pid>/fd | wc -l`, `lsof -p <pid>`), look for leaks "
                "(sockets in CLOSE_WAIT), and raise the limit if the usage is legitimate.", "add-capacity find-consumer"),
             A.UPDATE_CONFIG),
    Resource("inodes", _w(r"inodes?|files free|out of files|filesystem files|files filling", "inode"), "inodes",
             "millions of small files (sessions, caches, mail queues, build artefacts) filling the filesystem's "
             "inode table while bytes remain",
             _f("Find the directories with the most files (`find <mount> -xdev -type f | cut -d/ -f2-3 | sort | "
                "uniq -c | sort -n | tail`), delete or archive them, and fix the job that creates them.", "free-space"),
             A.MANUAL_INTERVENTION, _RESTARTS + (A.SCALE_UP,)),
    Resource("disk-io", _w(r"iowait|io wait|disk io|disk i o|io time|i o|iops|io saturation|disk (read|write) "
                           r"(rate|latency)|io queue|io utili[sz]ation|burst balance"), "disk I/O",
             "heavy batch, backup or compaction jobs, a noisy neighbour on shared storage, swapping, or a slow or "
             "failing disk",
             _f("Find who does the I/O (`iotop -o`, `pidstat -d 1`, `iostat -x 1` for await and %util per device) "
                "and move, throttle or reschedule it; check the disk's health and the volume's IOPS limit.", _FIND),
             A.MANUAL_INTERVENTION),
    Resource("memory", _w(r"memory|mem|heap|oom|oom kill|oom killed|out of memory|rss|resident|swap|working set|"
                          r"memory pressure|evictions?|evicted|maxmemory|page faults?|pgmajfault|cardinality|"
                          r"time ?series|head series",
                          "内存"), "memory",
             "a leak, a cache or heap sized without regard to the limit, a burst of large requests, or too many "
             "workloads packed on one machine",
             _f("Find the consumer (`ps aux --sort=-rss | head`, per-process or per-key/query memory), compare the "
                "growth with deploys and traffic; fix the leak or cap the cache, and raise the limit only if the "
                "usage is legitimate.", _FIND), A.INCREASE_MEMORY),
    Resource("disk", _w(r"disk|disks|space|filesystem|file system|storage|volume|volumes|full|fill|filling|"
                        r"data available|free bytes|nearfull|near full|backfill full|out of space|wal size|"
                        r"db size|database size|quota low space|fragmentation",
                        "磁盘|空间|存储"), "disk space",
             "data grows faster than planned, retention or cleanup stopped, or something writes unexpectedly "
             "(logs, dumps, temp files, old snapshots)",
             _f("Find what grows (`du -xh --max-depth=1 <mount> | sort -h`, per-table/index/topic sizes), delete or "
                "compact what is not needed, fix retention, and expand the volume if the data is legitimate.",
                "free-space add-capacity"), A.MANUAL_INTERVENTION, _RESTARTS + (A.SCALE_UP,)),
    Resource("gpu", _w(r"gpu utili[sz]ation|gpu usage|gpu util|sm clock|framebuffer|fb used|gpu memory"), "GPU",
             "more jobs than GPUs, a runaway training/inference job, or memory held by a crashed process",
             _f("`nvidia-smi` for utilisation and memory per process; stop or reschedule the job that holds it, and "
                "add GPUs if the demand is real.", _FIND), A.MANUAL_INTERVENTION),
    Resource("connections", _w(r"connections?|conn|clients?|sessions?|max connections|too many connections|"
                               r"connected clients|maxclients|max active session", "连接数|连接"), "connections",
             "a connection leak, missing connection pooling, a traffic burst with long-held connections, or "
             "slow requests that keep connections open",
             _f("List connections per client (`SELECT client_addr, count(*) ...`, `CLIENT LIST`, `ss -tn state "
                "established | awk '{print $5}' | sort | uniq -c | sort -n`), fix the leaking or unpooled client, "
                "and raise the limit only with memory to back it.", _FIND), A.MANUAL_INTERVENTION),
    Resource("threads", _w(r"threads?|workers?|worker pool|handlers?|handler idle|request handler|goroutines?|"
                           r"tickets?|processes|children|max children|busy workers|thread pool"),
             "threads/workers",
             "requests that hold a worker too long (a slow dependency, lock contention), a thread leak, or a pool "
             "sized below the traffic",
             _f("See what the workers wait on (thread dump: `jstack`, `/debug/pprof/goroutine`, the server-status "
                "page), fix the slow dependency or leak, and enlarge the pool only with CPU and memory to back it.",
                _FIND), A.MANUAL_INTERVENTION),
    Resource("network", _w(r"network|throughput|bandwidth|receive bytes|transmit bytes|net|interface|nic|"
                           r"traffic in|traffic out"), "network bandwidth",
             "a traffic burst, a backup or replication stream, a noisy neighbour, or an interface slower than "
             "expected (negotiated speed)",
             _f("Find the flows (`iftop`, `nethogs`, per-pod traffic), throttle or reschedule bulk transfers, and "
                "check the interface's negotiated speed (`ethtool <if>`).", _FIND), A.MANUAL_INTERVENTION),
    Resource("pods", _w(r"too many pods|pod capacity|max pods"), "pod slots",
             "more pods scheduled on the node than its max-pods setting allows",
             _f("`kubectl describe node <node>` (Allocatable pods vs running); spread the workloads, add nodes, or "
                "raise `maxPods` where the CNI has addresses for them.", "add-capacity quota"), A.MANUAL_INTERVENTION),
    Resource("cpu", _w(r"cpu|cpus|load|load average|steal|throttling|throttled|context switch\w*|context switching|"
                       r"system saturation|dtu|processor", "CPU|负载"), "CPU",
             "a runaway process or busy loop, a traffic surge, batch jobs, an inefficient code path after a "
             "release, or a limit (CFS quota) set too low",
             _f("Find the consumer (`top`/`pidstat 1`, per-container CPU, a CPU profile), compare with deploys and "
                "traffic; fix or throttle the runaway work, and add CPU or replicas if the load is real.", _FIND),
             A.SCALE_UP),
)
RESOURCES_BY_ID: dict[str, Resource] = {r.id: r for r in RESOURCES}


def resource_in(text: str) -> Resource | None:
    for resource in RESOURCES:
        if resource.pattern.search(text):
            return resource
    return None


_UPSTREAM = _f("Find which upstream fails (the error log names it), check it from this host (`curl -sv`, `dig`, "
               "`nc -vz`), and fix or fail over the upstream; this component only reports it.", "dependency investigate")
_DB_SLOW = _f("Find the slow statements (slow log, `pg_stat_statements`/`performance_schema`/profiler), check their "
              "plans, locks and missing indexes, and tune or kill them; add capacity only when every query is slow.",
              "tune find-consumer")
_SERVICE_ERRORS = _f("Find which operation or route fails (logs and traces by status), correlate its start with deploys "
                     "and the health of its dependencies, and roll back or fix the cause.", "investigate dependency")

MODES: tuple[Mode, ...] = (
    Mode("quota", ("quota",), _w(r"quota|quotas|rate limits?|rate limited|ratelimit\w*|throttled requests|"
                                 r"maxed out|max replicas|scale maximum|scale inability|at max|sample limit|"
                                 r"exceeded the limits|limits? (reached|exceeded|hit)|discarded samples?|discarding|"
                                 r"large scrape", "配额|限流"),
         "{name} reached a configured quota or limit: demand grew, a client misbehaves, or the limit was set for "
         "a smaller load.",
         "New work on {name} is rejected or throttled until usage drops or the limit is raised.",
         _f("See which consumer uses the quota and whether the growth is legitimate; lower the usage or raise the "
            "quota/limit (with the capacity behind it).", "quota add-capacity"),
         "Size {name}'s quotas from usage history and alert at 80 % of them.",
         A.ADJUST_LIMITS, "a limit is adjusted deliberately", _RESTARTS),
    Mode("cert-expiry", ("cert-expiry",), _w(r"certs?|certificates?|ssl|tls|x509|x 509", "证书"),
         "A {name} TLS certificate is expiring, expired or failing to renew: automatic renewal failed (ACME "
         "challenge, issuer credentials, rate limits) or a manually deployed certificate was forgotten.",
         "Clients of {name} will fail the TLS handshake once it expires and refuse to connect.",
         _f("Check the expiry and chain (`openssl s_client -connect <host>:443 | openssl x509 -noout -dates`), renew "
            "and redeploy it, and find out why renewal did not run.", "renew-cert"),
         "Automate renewal for {name} (cert-manager/certbot/kubelet rotation) and alert at 30 and 7 days.",
         A.UPDATE_CONFIG, "a certificate is renewed and redeployed, not restarted", _RESTARTS + (A.SCALE_UP,),
         "certificate"),
    Mode("security", ("security",), _w(r"auth|authentication|unauthori[sz]ed|forbidden|logins?|brute|access denied|"
                                       r"intrusion|audit|privilege|security", "认证|登录|权限|安全|攻击|入侵"),
         "{name} reports failed authentication or authorisation: wrong or rotated credentials, an expired token, a "
         "misconfigured client, or someone probing the system.",
         "Legitimate clients of {name} may be locked out; if it is an attack, data may be at risk.",
         _f("Find the source (client IP, user, token) in {name}'s logs; rotate credentials if they leaked; block "
            "abusive sources.", "security"),
         "Centralise {name}'s secrets with rotation, alert on auth failure rates per client, rate-limit logins.",
         A.NOTIFY_TEAM, "security events need a human decision", _RESTARTS + (A.SCALE_UP,), "security"),
    Mode("backup", ("backup",), _w(r"backups?|snapshots?|last save|bgsave|rdb|aof|dump|barman|velero|restic|"
                                   r"pgbackrest|wal g|archiv\w*", "备份|快照"),
         "{name}'s backup or snapshot is missing, failed or stale: the backup job did not run or errored (credentials, "
         "disk space, a lock), or writes the copy somewhere that is full or unreachable.",
         "Nothing is lost yet, but a failure of {name} now could not be restored to a recent point.",
         _f("Check the last successful backup and the job's log, fix why it fails (space, credentials, target "
            "reachability), run it again and verify that the copy restores.", "backup"),
         "Alert on the age of {name}'s last good backup, and test restores on a schedule.",
         A.MANUAL_INTERVENTION, "a backup is re-run and verified by a person", _RESTARTS + (A.SCALE_UP,)),
    Mode("clock", ("clock",), _w(r"clock|clocks|ntp|chrony|time sync|timesync|timex|time offset|time drift|"
                                 r"out of sync clock|time computed"),
         "{name}'s clock drifts from real time: NTP/chrony stopped or cannot reach its servers, or the hardware "
         "clock is unreliable.",
         "Timestamps, TLS validation, leases and consensus on {name} go wrong; distributed members may disagree.",
         _f("`chronyc tracking` / `timedatectl` on the host, check reachability of the NTP servers, and restart "
            "the time service; never step the clock of a running database blindly.", "sync-clock"),
         "Run a time service on every host of {name} and alert on offset.",
         A.MANUAL_INTERVENTION, "time is fixed at the host's time service", _RESTARTS + (A.SCALE_UP,)),
    Mode("hardware", ("hardware",), _w(r"temperature|temp|hot|overtemperature|thermal|fans?|fan speed|psu|"
                                       r"power supply|voltage|ecc|edac|smart|wearout|wear|sensors?|power draw|"
                                       r"power high|chassis|bmc|sel", "温度|风扇|电源"),
         "{name} reports a hardware condition: heat (a failing or blocked fan, ambient temperature), power, memory "
         "ECC errors or a wearing disk.",
         "The component may throttle, corrupt data or fail; on {name} that can take a host or its data down.",
         _f("Read the hardware's own log (`ipmitool sel list`, `ipmitool sensor`, `smartctl -a`, `nvidia-smi -q`, "
            "`dmesg`), check cooling and power, and plan the replacement of the failing part.", "hardware"),
         "Monitor {name}'s sensors with vendor thresholds and keep spare parts for the components that wear.",
         A.MANUAL_INTERVENTION, "hardware is replaced by a person", _RESTARTS + (A.SCALE_UP,), "hardware"),
    Mode("skew", ("skew",), _w(r"versions? (mismatch|deviations?|differ\w*)|different (semantic )?versions?|"
                               r"kernel version|version skew|config(uration)? (mismatch|differ\w*|out of sync)|"
                               r"instances different", "版本不一致"),
         "Members of {name} run different versions or configurations: a rollout or upgrade stopped half-way, or "
         "one member was changed by hand.",
         "Members of {name} may behave differently; some features or protocols break between old and new members.",
         _f("List the version or config per member, find the rollout or change that stopped, and finish it or roll "
            "it back so all members match.", "align"),
         "Upgrade {name} through one pipeline that finishes or rolls back, and alert on version skew.",
         A.MANUAL_INTERVENTION, "members are aligned deliberately, one at a time", (A.SCALE_UP, A.SCALE_DOWN)),
    Mode("scrape", ("scrape",), _w(r"exporter scrape\w*|exporter (errors?|down)|scrape (errors?|"
                                   r"fail\w*|collector)|collector (failed|failure|error)|collection (failed|slow|"
                                   r"errors?)|slow collection|file missing|files missing|metrics? unavailab\w*|"
                                   r"duplicate timestamps|out of order samples|scrape collector success"),
         "The exporter or agent that collects {name}'s metrics cannot collect them: its credentials or target "
         "address are wrong, the target refuses it, a collector module fails, or the collection is too slow.",
         "{name}'s metrics are missing or stale, so the other alerts about {name} may stay silent.",
         _f("Read the exporter's log and its own `*_scrape_*`/`*_up` metrics, run the collection by hand "
            "(`curl <exporter>/metrics`), and fix its credentials, target or module configuration.", "fix-exporter"),
         "Alert on the exporter's own success metric for {name}, and test exporter configuration in CI.",
         A.UPDATE_CONFIG, "the collector's configuration is fixed, {name} itself may be fine", (A.SCALE_UP,)),
    Mode("config", ("config",), _w(r"config(?!ured)\w*|(?<!tsdb )(failed reload|reload fail\w*)|misconfigured|"
                                   r"misconfig|template|expansion|"
                                   r"reconcil\w*|suspended|unroutable|bad config|invalid config|cronjob suspended|"
                                   r"routes count|reweighted|multiple running", "配置"),
         "{name} is running with a configuration that failed to load, is invalid, or does something unintended: "
         "a bad edit, a partial rollout, or drift from what is declared.",
         "{name} may not do what is declared; a restart could pick up the broken configuration.",
         _f("Read the reload or reconcile error in {name}'s log, validate the configuration with its checker, and "
            "fix or revert the last change.", "fix-config"),
         "Validate {name}'s configuration in CI and roll it out through one pipeline.",
         A.UPDATE_CONFIG, "configuration is fixed at its source", (A.SCALE_UP, A.SCALE_DOWN)),
    Mode("cluster", ("cluster",), _w(r"cluster (size|health|partition|members?|red|yellow|unhealthy)|quorum|"
                                     r"leaders?|leader election|split brain|too many masters|missing master|"
                                     r"no master|elections?|members inconsistent|healthy nodes|proposals?|raft|"
                                     r"partitions? detected|cluster partition|peers?|gossip|cluster flapping",
                                     "集群|选主"),
         "The {name} cluster is unhealthy as a whole: members left or cannot reach each other (network partition), "
         "leadership changes repeatedly, or quorum is at risk.",
         "{name} may refuse writes or serve inconsistent data; one more lost member can take it down.",
         _f("List members and leader with {name}'s status commands, check the network between members, bring "
            "missing members back, and restore quorum before anything else.", "quorum restore"),
         "Run {name} with an odd number of members across failure domains and alert on membership changes.",
         A.MANUAL_INTERVENTION, "cluster membership is restored deliberately", ()),
    Mode("backlog", ("backlog",), _w(r"backlog|consumer lag|consumers? lag\w*|group lag|queue (size|length|depth|"
                                     r"full)|pending (messages|tasks|requests|bytes)|unack\w*|messages ready|"
                                     r"outstanding requests|pending tasks|blocked tasks|commitlog pending|queue running full|"
                                     r"messages in queue|too many messages|slow consumers?|"
                                     r"pending requests|queued", "堆积|积压"),
         "Work is piling up in {name}: consumers are down, too few or too slow, or producers outpace them.",
         "Processing through {name} is delayed; queues grow until memory or disk limits stop producers.",
         _f("Find the slow or stuck consumers (their logs, the backlog per queue/partition) and whether the input "
            "rate jumped; fix or scale the consumers.", "add-capacity find-consumer"),
         "Alert on {name}'s backlog growth and age, and autoscale consumers on it.",
         A.MANUAL_INTERVENTION, "the consumers are fixed or scaled, the backlog is a symptom", (),
         by_kind={"queue": _f("Find the slow or stuck consumers (consumer group/queue listing, their logs) and "
                              "whether producers surged; fix or scale the consumers.", "consumers")}),
    Mode("network-errors", ("errors",), _w(r"(network|interface|nic|packets?|net) (receive |transmit )?(errors?|"
                                           r"drops?|dropped|discards?)|(receive|transmit) errors|bond (degraded|down)"),
         "{name}'s network interface reports errors or drops: a bad cable, NIC or driver, an MTU mismatch, or "
         "buffers overflowing under load.",
         "Packets are lost or retransmitted; connections through {name} slow down or fail.",
         _f("`ip -s link` and `ethtool -S <if>` for the error counters, the switch port's counters, MTU on both "
            "ends; replace the cable/NIC or fix the driver.", "network hardware"),
         "Monitor interface error counters per host and keep NIC drivers and firmware current.",
         A.MANUAL_INTERVENTION, "network hardware is checked by a person", _RESTARTS + (A.SCALE_UP,)),
    Mode("data-loss", ("data-loss",), _w(r"under ?replicated|offline partitions?|in sync replicas?|isr|"
                                         r"pgs? (incomplete|inconsistent|down|damaged|stale)|pg (incomplete|"
                                         r"inconsistent|down|damaged)|degraded|raid|insufficient drives|"
                                         r"disk failure|heal errors|corrupt\w*|inconsistent|pool unhealthy|"
                                         r"data loss|lost|missing blocks|unhealthy pool|topics replicas",
                                         "数据丢失|损坏"),
         "{name} has lost redundancy or integrity: a replica, drive or member is gone or damaged, so some data "
         "now lives in fewer copies than configured, or copies disagree.",
         "One more failure on {name} can lose data; reads may already fail for the affected part.",
         _f("Find the affected members and data (status commands of {name}), restore redundancy first (bring the "
            "member back, replace the drive, re-replicate or repair), and only then clean up.", "protect-data restore"),
         "Keep {name}'s replication factor above the failures you plan for, and alert on degraded redundancy early.",
         A.MANUAL_INTERVENTION, "redundancy is restored deliberately; a restart can make it worse", _RESTARTS),
    Mode("replication", ("replication",), _w(r"replication|replicas? lag|replica lag|lag|lagging|slaves?|standby|"
                                             r"followers?|binlog|oplog|wsrep|galera out of sync|out of sync|"
                                             r"headroom|hints|behind master|replication slot|not synced|unsynced",
                                             "复制|同步|主从|滞后"),
         "{name} replication is falling behind or broken: the replica is slower than the primary (I/O, CPU, long "
         "transactions), the link between them dropped, or a replica left the set.",
         "Reads from {name}'s replicas are stale and a failover now may lose recent writes.",
         _f("Compare the primary's and replicas' positions, check the link and the slow side's I/O and CPU, and "
            "look for long transactions; resync a replica that broke.", "fix-replication"),
         "Size {name}'s replicas like the primary, alert on lag trends, and test failover regularly.",
         A.MANUAL_INTERVENTION, "replication is repaired deliberately; a restart can force a full resync",
         _RESTARTS),
    Mode("rollout", ("rollout",), _w(r"replicas? mismatch|generation mismatch|rollout|rolled out|not rolled out|"
                                     r"update not rolled out|rollout stuck|not progressing|replicas mismatch|image pull\w*|"
                                     r"err image pull|image pull back ?off|invalid image name|"
                                     r"progress deadline"),
         "A {name} workload is not at its desired state: new pods fail readiness or crash, cannot be scheduled or "
         "pull their image, or the rollout was paused half-way.",
         "The workload runs with fewer ready replicas than declared, or on a mix of old and new versions.",
         _f("Inspect the rollout and its newest pods (`kubectl rollout status <workload>`, `kubectl describe "
            "<workload>`, the events), fix the pod-level cause, or roll back if the new version is broken.",
            "rollout"),
         "Set progress deadlines and use progressive delivery with automatic rollback.",
         A.ROLLBACK, "a stuck rollout is usually a broken release", ()),
    Mode("scheduling", ("scheduling",), _w(r"unschedulable|not scheduled|mis scheduled|misscheduled|pending pods?|"
                                           r"cannot be scheduled|failed scheduling"),
         "{name} cannot place pods: no node satisfies their requests, selectors, affinity or tolerations, or a "
         "node's taints changed.",
         "The missing pods do not run; for a DaemonSet a node runs without its agent.",
         _f("`kubectl describe pod <pending-pod>` (the scheduler's reason), compare requests with node "
            "allocatable, check taints and selectors, and free or add node capacity.", "schedule"),
         "Keep spare node capacity (or a cluster autoscaler) and review taints with tolerations together.",
         A.MANUAL_INTERVENTION, "scheduling constraints or capacity need a decision", (A.RESTART_POD,)),
    Mode("provisioning", ("provisioning",), _w(r"persistent ?volume ?claim pending|persistentvolumeclaim pending|"
                                               r"persistent ?volume ?errors?|"
                                               r"pvc pending|volume errors|persistent volume errors|provision\w*"),
         "{name} cannot provision or bind storage: no matching StorageClass, the CSI driver or backend failed, or a "
         "quota or zone constraint blocks it.",
         "Pods that need the volume stay Pending.",
         _f("`kubectl describe pvc <claim>` and `kubectl describe pv <volume>` (events), the CSI driver's logs, the "
            "StorageClass and the storage backend's quota.", "storage"),
         "Test StorageClasses after CSI upgrades and alert on Pending claims.",
         A.MANUAL_INTERVENTION, "storage provisioning needs a person", _RESTARTS),
    Mode("job-failed", ("job-failed",), _w(r"job (failed|not completed|not starting)|jobs? failed|job failure|"
                                           r"cron ?jobs? (too long|failed|missed)|cronjob too long|builds? failed|"
                                           r"last build failed|build health|builds health|missed (its )?check in|"
                                           r"has not run|not run|job not completed|job did not complete"),
         "A {name} job did not complete: the task errored, hit its deadline or backoff limit, or never started "
         "(no capacity, suspended, a missing secret).",
         "The work the job does (exports, backups, reports, builds) did not happen this time.",
         _f("Read the failed run's logs and events, fix the cause, and run it again by hand once fixed.",
            "rerun-job"),
         "Alert on the last successful run's age, and make the job idempotent so a re-run is safe.",
         A.MANUAL_INTERVENTION, "a failed job is re-run after its cause is fixed", (A.SCALE_UP,)),
    Mode("underutilized", ("underutilized",), _w(r"underutili[sz]ed|under utili[sz]ed|over ?provisioned"),
         "{name} uses far less than it has been given: over-provisioned, or its load moved elsewhere.",
         "Money is wasted; nothing is broken.",
         _f("Compare usage with requests/size over weeks and scale {name} down or consolidate.", "rightsize"),
         "Review {name}'s sizing quarterly from usage history.",
         A.SCHEDULE_FIX, "right-sizing is planned work, not an incident", _RESTARTS),
    Mode("nodata", ("nodata", "down"), _w(r"no (traces|spans|data|logs|metrics)|traces? missing|spans? missing|"
                                          r"no ?data|nodata|heartbeat|not received|stopped sending",
                                          "没有数据|无数据"),
         "{name} stopped sending the telemetry it normally sends: the service is down or idle, its SDK/exporter is "
         "broken or misconfigured after a deploy, or the collector between it and the backend stopped forwarding.",
         "{name} is no longer observed; alerts built on its data go silent, so an outage can look like calm.",
         _f("Check that the service is up and has traffic, read its logs for exporter errors (endpoint, auth, "
            "TLS), and check the collector's receive and export counters.", "telemetry restore"),
         "Alert on the absence of {name}'s telemetry per service, and test tracing in the deploy pipeline.",
         A.MANUAL_INTERVENTION, "find out whether the service or its telemetry path stopped", ()),
    Mode("latency", ("latency",), _w(r"latency|latencies|slow|slowing|response time|duration|durations|p99|p95|p90|"
                                     r"p75|percentile|delay|delayed|timeouts?|ttfb|took|lcp|apdex|too long|missing (rule )?evaluations|"
                                     r"iterations missed|"
                                     r"pleg|relist|slow ops|locks waited|lock waits?|gc duration|gc pause|"
                                     r"start ?up latency|time to first byte", "延迟|慢|耗时|超时|响应时间"),
         "{name} is slow: one step of its work takes longer (a hot query or lock, a slow disk or dependency, GC "
         "pressure) or it is saturated.",
         "Users of {name} wait longer or time out; upstream timeouts turn slowness into errors.",
         _f("Break {name}'s latency down by operation, find the slow step (its slow log, profiles, saturation of "
            "its CPU and disk), and tune it or add capacity.", "tune add-capacity"),
         "Set latency objectives per operation for {name}, load-test before releases, and keep headroom.",
         A.SCALE_UP, "more capacity helps when slowness comes from saturation",
         by_kind={"database": _DB_SLOW,
                  "proxy": _f("Split the time between {name} and its backends (upstream response time in the "
                              "access log or stats); fix or scale the slow backend.", "dependency add-capacity"),
                  "service": _f("Break the latency down by route and dependency (traces), check the slow "
                                "dependency and recent deploys, and fix, roll back or add capacity.",
                                "investigate dependency")}),
    Mode("upstream", ("errors", "down"), _w(r"forward\w*|upstream|backend connection|server connection|"
                                            r"connect fail\w*|connection errors|datasource|data source|bucket|"
                                            r"objstore|object storage|flush fail\w*|push (errors|failures)|"
                                            r"send(ing)? fail\w*|failed to send|retry|retries|unhealthy hosts"),
         "{name} cannot get good answers from what it depends on: an upstream/backend is down, slow or refusing it "
         "(network, DNS, credentials, limits).",
         "Requests through {name} fail or retry; the failure is usually in the upstream, not in {name}.",
         _UPSTREAM,
         "Health-check {name}'s upstreams, alert on them directly, and keep retries bounded.",
         A.MANUAL_INTERVENTION, "the upstream is fixed, restarting {name} would not help", _RESTARTS),
    Mode("crashloop", ("crashloop",), _w(r"crash ?loop\w*|crash looping|restarting|restarts|restarted|"
                                         r"too many restarts|flapping|crashed|"
                                         r"crashes|start time", "重启|崩溃"),
         "{name} keeps dying and restarting: an error at start-up, a bad config or secret, a missing dependency, "
         "OOM kills, or a failing liveness probe; if it began after a release, the release is the likely cause.",
         "{name} is unavailable for part of the time; each restart drops in-flight work.",
         _f("Read why the last instance exited (previous logs, exit code, OOM in the events or `dmesg`), fix that "
            "cause, or roll back the release that introduced it.", "restore"),
         "Alert on restarts before they become outages, and gate releases of {name} on start-up health.",
         A.MANUAL_INTERVENTION, "find out why it crashes; another restart does not fix it", ()),
    Mode("down", ("down",), _w(r"(?<!slowing )down|missing|absent|unavailable|unreachable|offline|not ready|notready|dead(?! ?locks?)|"
                               r"sealed|unhealthy|health ?check\w*|healthy|disappeared|stopped|not running|"
                               r"failed state|service failed|systemd|no alive|not ok|alive|not ingesting|"
                               r"is absent|availability|probe failed|target down|not connected|not healthy",
                               "宕机|不可用|离线|停止|存活|挂|无法访问|不可达|失联"),
         "{name} (or part of it) is down, unreachable or unhealthy: the process crashed or was killed, its host or "
         "pod went away, or the network path to it broke.",
         "Whatever depends on {name} fails or degrades until it is back.",
         _f("Check whether the process runs and why it stopped (logs, exit code, OOM), reachability from the "
            "monitoring side, and bring it back; restart it only once the reason is known.", "restore"),
         "Run {name} under a supervisor with health checks and restart policies, with N+1 instances.",
         A.MANUAL_INTERVENTION, "find out why it is down before restarting anything", (), "availability"),
    Mode("traffic", ("traffic",), _w(r"qps|rps|requests per second|traffic (spike|drop)|offset stuck|"
                                     r"offset not increasing|not increasing|no messages|unusual traffic"),
         "{name}'s traffic changed sharply: a client surge or retry storm, a crawler, or producers that stopped.",
         "A surge saturates {name}; a stop means something upstream broke.",
         _f("Find who sends the traffic (per client/route/topic) and whether producers or clients changed; throttle "
            "the surge or fix the stopped producer.", "find-consumer dependency"),
         "Alert on {name}'s traffic against its own weekly baseline and rate-limit per client.",
         A.MANUAL_INTERVENTION, "traffic changes are judged by a person", ()),
    Mode("maintenance", ("maintenance",), _w(r"bloat\w*|vacuum\w*|auto ?vacuum\w*|auto ?analy[sz]\w*|"
                                             r"not auto analy[sz]ed|dead tuples|wraparound"),
         "{name}'s routine maintenance is not keeping up: vacuum/analyze or compaction falls behind because of long "
         "transactions, settings too timid for the write rate, or the job is disabled.",
         "Tables and indexes bloat, statistics go stale and queries on {name} slow down; in the worst case "
         "transaction IDs wrap around.",
         _f("Find the tables behind (last vacuum/analyze, dead tuples), look for long transactions holding cleanup "
            "back, run the maintenance by hand, and tune its settings for the write rate.", "tune"),
         "Tune {name}'s maintenance for its busiest tables and alert on its age.",
         A.SCHEDULE_FIX, "maintenance is tuned and run deliberately", _RESTARTS),
    Mode("client-errors", ("errors",), _w(r"4xx|client errors?|unauthori[sz]ed rate|forbidden rate"),
         "Clients get errors from {name} (4xx): a client release calls a removed or renamed endpoint, credentials "
         "expired, a routing rule changed, or a scanner probes it.",
         "The affected clients of {name} fail; the server itself may be healthy.",
         _f("Break the 4xx down by status, route and client (access log), find the client or route change that "
            "started it, and fix the route or tell the client's owners; block scanners.", "investigate security"),
         "Alert on {name}'s 4xx ratio per client, and keep removed routes answering with a clear error for a while.",
         A.NOTIFY_TEAM, "client errors need the client's owners", _RESTARTS + (A.SCALE_UP,)),
    Mode("saturation", ("saturation",), _w(r"usage|utili[sz]ation|pressure|exhausted|saturat\w*|busy|full|"
                                           r"overload\w*|cardinality|evictions?|evicting|space|memory|cpu|heap|"
                                           r"load(?! balanc\w*)|threads?|connections?|workers|disk|oom|out of|"
                                           r"throughput|bandwidth|open files|file descriptors|conntrack|steal|"
                                           r"iowait|context switching|swap|inodes?|fill|fills|filling",
                                           "使用率|内存|负载|连接数|CPU"),
         "{name} is running out of {resource}: {resource_cause}.",
         "{name} slows down as {resource} runs out; at the limit new work is rejected or the process is killed.",
         _f("", _FIND),
         "Right-size {name}'s {resource} from usage history, alert at 80 % with headroom, and cap per-client use.",
         A.SCALE_UP, "more capacity relieves saturation while the consumer is found", per_resource=True,
         weak=_w(r"high|too many|limit|approaching|low|max|maximum|number|count|open|cursors|tickets",
                 "过高|过多|不足")),
    Mode("errors", ("errors",), _w(r"errors?|errs?|err|fail|fails|failed|failures?|failing|5xx|4xx|rejected|"
                                   r"rejections?|rejects|dropped|dropping|drops?|exceptions?|refused|abort\w*|"
                                   r"deadlock\w*|conflicts?|rollback|invalid|discard\w*|asserts?|assertions|servfail|"
                                   r"xid|incomplete|halted|broken|issues|problems?|abnormal|terminated|panic|burn ?rate|"
                                   r"error budget",
                                   "错误|失败|异常|报错"),
         "{name} reports a rising error rate: a recent deploy or configuration change, a failing dependency, bad "
         "input, or a bug triggered by new traffic.",
         "Operations on {name} fail for some users or jobs; retries may amplify the load.",
         _f("Find which operation fails in {name}'s logs, correlate the start with deploys and the health of its "
            "dependencies, and roll back or fix the cause.", "investigate dependency"),
         "Canary releases of {name} with automatic rollback on error ratios; alert on ratios, not counts.",
         A.MANUAL_INTERVENTION, "errors have a cause to find first; a restart rarely fixes them",
         by_kind={"proxy": _UPSTREAM, "backend": _UPSTREAM, "service": _SERVICE_ERRORS}),
)

BY_ID: dict[str, Mode] = {m.id: m for m in MODES}
# A capacity forecast is recognised from the expression (predict_linear) or words that say "will".
FORECAST = _w(r"predict\w*|forecast|will fill|may fill|fill in|fill up within|expected to (fill|run out)|"
              r"running out in|run out of \w+ within|filling up within", "预计|将在")
CAPACITY_FORECAST = Mode(
    "capacity-forecast", ("capacity-forecast", "saturation"), FORECAST,
    "{name} will run out of {resource} at the current growth: {resource_cause}.",
    "Nothing fails yet; once {resource} is exhausted, {name} stops accepting writes or work.",
    _f("", "free-space add-capacity"),
    "Plan {name}'s {resource} from the growth trend, enforce retention, and keep alerting on the forecast.",
    A.SCHEDULE_FIX, "there is time to plan: free or add capacity before it runs out", _RESTARTS + (A.SCALE_UP,),
    per_resource=True)
BY_ID[CAPACITY_FORECAST.id] = CAPACITY_FORECAST


def identify(text: str) -> Mode | None:
    for mode in MODES:
        if mode.pattern.search(text):
            return mode
    for mode in MODES:
        if mode.weak is not None and mode.weak.search(text):
            return mode
    return None

"""Failure modes: what kind of trouble an alert describes, whatever system it is about.

Each mode carries the knowledge that holds across technologies (the usual causes, the repair tier,
and the actions that do not help: restarting a process does not free a full disk). The words are
matched against the alert name split into words, then the expression's metric names and functions,
then the summary/description, in English and Chinese. Order is precedence: a name that says both
"replication" and "errors" is about replication.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.models import RepairAction

A = RepairAction
_RESTARTS = (A.RESTART_POD, A.RESTART_CONTAINER, A.DELETE_POD)


@dataclass(frozen=True)
class Mode:
    id: str
    pattern: re.Pattern[str]
    cause: str  # formatted with {name}
    impact: str
    fix: str
    prevention: str
    action: RepairAction
    reason: str
    avoid: tuple[RepairAction, ...] = ()
    category: str | None = None  # overrides the family's category (a certificate is a certificate)


def _w(english: str, chinese: str = "") -> re.Pattern[str]:
    regex = rf"\b(?:{english})\b"
    return re.compile(f"{regex}|{chinese}" if chinese else regex, re.IGNORECASE)


MODES: tuple[Mode, ...] = (
    Mode("certificates", _w(r"certs?|certificates?|ssl|tls|x509", "证书"),
         "A {name} TLS certificate is expiring, expired or invalid: automatic renewal failed (ACME challenge, "
         "issuer credentials, rate limits) or a manually deployed certificate was forgotten.",
         "Clients will fail the TLS handshake once it expires; browsers and API clients refuse to connect.",
         "Check the expiry and chain, then renew and redeploy; find out why renewal did not run.",
         "Automate renewal (cert-manager/certbot) and alert at 30 and 7 days before expiry.",
         A.UPDATE_CONFIG, "a certificate is renewed and redeployed, not restarted", _RESTARTS + (A.SCALE_UP,),
         "certificate"),
    Mode("security", _w(r"auth|authentication|unauthori[sz]ed|forbidden|logins?|brute|denied|security|intrusion|"
                        r"audit|access denied|privilege", "认证|登录|权限|安全|攻击|入侵"),
         "{name} reports failed authentication/authorisation or audit problems: wrong or rotated credentials, "
         "an expired token, a misconfigured client, or someone probing the system.",
         "Legitimate clients may be locked out; if it is an attack, data may be at risk.",
         "Find the source (client IP, user, token) in the logs; rotate credentials if they leaked; block "
         "abusive sources.",
         "Centralise secrets with rotation, alert on auth failure rates per client, rate-limit logins.",
         A.NOTIFY_TEAM, "security events need a human decision", _RESTARTS + (A.SCALE_UP,), "security"),
    Mode("replication", _w(r"replication|replicas? lag|lag|lagging|isr|under ?replicated|synced|unsynced|"
                           r"behind|standby|slaves?|followers?|binlog|oplog|galera|wsrep|read ?only|in sync replica|"
                           r"headroom|out of sync|hints", "复制|同步|主从|积压|滞后"),
         "{name} replication or consumption is falling behind or broken: the replica/consumer is slower than "
         "the writer (I/O, CPU, long transactions), the link between them dropped, or a member left the set.",
         "Reads from replicas are stale, failover may lose data, and consumers process events late.",
         "Compare the leader's and followers' positions, check the link and the slow side's I/O and CPU, and "
         "look for long-running transactions or stuck consumers.",
         "Size replicas like the primary, alert on lag trends, and test failover regularly.",
         A.MANUAL_INTERVENTION, "replication is repaired deliberately; a restart can force a full resync",
         _RESTARTS),
    Mode("configuration", _w(r"config|configuration|reload|reloads|versions?|mismatch|changed|misconfigured|misconfig|"
                             r"settings?|outdated|generation|suspended|duplicate|not synced|sharding|"
                             r"force recovery|reweighted|different versions", "配置|版本"),
         "{name} is running with a configuration that failed to load, changed unexpectedly, or differs between "
         "members: a bad edit, a partial rollout, or drift between instances.",
         "The running system may not be what is declared; a restart could pick up a broken configuration.",
         "Diff the running configuration against the declared one, validate it with the tool's checker, and "
         "fix or roll back the change.",
         "Validate configuration in CI and roll it out through one pipeline.",
         A.UPDATE_CONFIG, "configuration is fixed at its source", (A.SCALE_UP, A.SCALE_DOWN)),
    Mode("availability", _w(r"down|missing|absent|unavailable|unreachable|offline|not ready|notready|dead|crash\w*|"
                            r"restarts?|restarted|restarting|flapping|unhealthy|health|healthy|healthcheck|quorum|"
                            r"leaders?|members?|status|stopped|no data|nodata|heartbeat|killed|evicted|"
                            r"partition|split|election|not running|alive|sealed|not ok|no alive|not ingesting|"
                            r"has not run|missed|not starting|red|yellow|insufficient|not enough|disappeared|no connection|availability",
                            "宕机|不可用|离线|停止|存活|挂|重启|无法访问|不可达|失联"),
         "{name} (or part of it) is down, unreachable or unhealthy: the process crashed or was OOM-killed, its "
         "host/pod went away, a cluster lost members, or the exporter cannot reach it.",
         "Dependent services fail or degrade; with a cluster, redundancy is reduced until members return.",
         "Check whether the process runs and why it stopped (logs, exit code, OOM), network reachability from "
         "the monitoring side, and cluster membership.",
         "Run it under a supervisor with health checks and restart policies, keep N+1 members, and alert on "
         "flapping before outages.",
         A.MANUAL_INTERVENTION, "find out why it is down before restarting anything", (), "availability"),
    Mode("errors", _w(r"errors?|errs?|err|fail|fails|failed|failures?|failing|5xx|4xx|rejected|rejections?|rejects|"
                      r"dropped|dropping|drops?|exceptions?|refused|abort\w*|panics?|corrupt\w*|deadlock\w*|"
                      r"conflicts?|rollback|invalid|discard\w*|retry|retries|unroutable|throttles|throttled|"
                      r"dead jobs?|asserts?|assertions|servfail|xid|ecc|inconsistent|incomplete|halted|broken|"
                      r"issues|tombstone|problems?|wearout|media errors|abnormal", "错误|失败|异常|报错"),
         "{name} reports a rising error rate: a recent deploy or configuration change, a failing dependency "
         "(database, network, disk), bad input, or a bug triggered by new traffic.",
         "Requests or operations fail for some users or jobs; retries may amplify load.",
         "Find which operation/route/component fails in the logs, correlate the start with deploys and "
         "dependency health, and roll back or fix the cause.",
         "Canary releases with automatic rollback on error-rate SLOs; alert on error ratios, not counts.",
         A.MANUAL_INTERVENTION, "errors have a cause to find first; a restart rarely fixes them"),
    Mode("latency", _w(r"latency|latencies|slow|slowing|response time|duration|durations|p99|p95|p90|p75|percentile|"
                       r"delay|delayed|timeouts?|ttfb|took|lcp|apdex|pending|waiting|waits|waited|too long|stuck|"
                       r"relocating|initializing|slow ops|blocked|long", "延迟|慢|耗时|超时|响应时间"),
         "{name} is slow: it is saturated (CPU, I/O, connections, locks), a dependency is slow, or a change "
         "introduced expensive work (queries, payloads, GC pressure).",
         "Users wait longer or time out; upstream timeouts turn slowness into errors.",
         "Break the latency down by operation and dependency (traces, slow logs), check saturation of the "
         "slow component, and look for recent changes.",
         "Set latency SLOs per operation, load-test before releases, and keep headroom.",
         A.SCALE_UP, "more capacity helps when slowness comes from saturation"),
    Mode("capacity", _w(r"full|space|filling|fill|fills|inodes?|quota|free|capacity|storage|retention|"
                        r"fragmentation|bloat|growing|growth|out of files|burst balance|disk|disks|volumes?|size|"
                        r"wal", "磁盘|空间|容量|满|存储"),
         "{name} is running out of storage capacity: data grows faster than expected, retention/cleanup "
         "stopped working, or something writes unexpectedly (logs, dumps, temp files).",
         "Writes will fail once it is full; databases and brokers may stop or corrupt data.",
         "Find what grows (`du -xh --max-depth=1 | sort -h`, per-table/topic/index sizes), free or expand "
         "space, and fix retention.",
         "Alert on predicted fill time (predict_linear), enforce retention, and plan capacity.",
         A.MANUAL_INTERVENTION, "space has to be freed or added; a restart does not help",
         _RESTARTS + (A.SCALE_UP,)),
    Mode("saturation", _w(r"high|usage|utili[sz]ation|too many|pressure|throttling|throttle|exhausted|saturat\w*|cpu|"
                          r"memory|mem|heap|load|threads?|connections?|conn|queue|backlog|gc|fds?|descriptors|limit|"
                          r"overload\w*|busy|workers|sessions?|goroutines|underutili[sz]ed|low|max|maximum|"
                          r"cardinality|temperature|hot|power|fan|evictions?|evicting|requests|traffic|qps|rate|"
                          r"number|count|cursors|tickets|open files|messages|ready|unack|oom|out of memory|"
                          r"subscriptions|routes|dtu|io|iops|swap|steal|iowait|context switching",
                          "使用率|过高|内存|负载|连接数|堆积|过多|CPU"),
         "{name} is saturated on a resource (CPU, memory, connections, threads, queue depth): traffic grew, a "
         "client misbehaves (connection leak, hot key, runaway query), or its limits are too small.",
         "Throughput drops and latency rises; at the limit new work is rejected or the process is killed.",
         "Find which resource is at its limit and who consumes it (top clients/queries/consumers), then shed "
         "the bad load or add capacity.",
         "Right-size from usage history, alert at 80% with headroom, and cap per-client usage.",
         A.SCALE_UP, "more capacity relieves saturation while the consumer is found"),
)

BY_ID: dict[str, Mode] = {m.id: m for m in MODES}


def identify(text: str) -> Mode | None:
    for mode in MODES:
        if mode.pattern.search(text):
            return mode
    return None

"""The composition root: Settings -> clients -> adapters -> activity instances -> Worker.

The only place that constructs clients. Everything below receives what it needs, so tests can
build the same graph against a test Valkey and loopback Telegram/Sentry servers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

# Retried on a fresh connection; every other RedisError (a script error, OOM) is not transient.
_REDIS_TRANSIENT = [RedisConnectionError, RedisTimeoutError]
from temporalio.client import Client
from temporalio.service import TLSConfig
from core.converter import data_converter
from temporalio.runtime import Runtime
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions
from temporalio.worker import Worker

from activities.analysis import LlmAnalyzer, RuleAnalyzer
from activities.analysis.activity import AnalysisActivities
from activities.chat.gate import ChatGate
from activities.chat.digest import Digest
from activities.probe.chain_checks import ChainChecks, ChainConfig, SentryReader
from activities.incident.records import IncidentActivities
from activities.incident.settings import IncidentSettingsActivities
from activities.chat.pacing import PacingLimits, TelegramPacer
from activities.incident.learning import LearningActivities
from activities.chat.cards import CardActivities, CardSettings
from activities.chat.telegram.renderer import TelegramRenderer
from activities.valkey.messages import RedisMessageRefs
from activities.probe.activities import ProbeActivities
from activities.valkey.budget import RedisRepairBudget
from activities.valkey.counter import RedisAnomalyCounter
from activities.valkey.incidents import RedisIncidentRepository, RedisOccurrenceLog
from activities.valkey.learning import RedisLearningRepository
from activities.valkey.probe import RedisOutageStore
from activities.valkey.ledger import RedisLedger
from activities.valkey.spool import RedisSpool
from activities.repair import DryRunExecutor, KubernetesExecutor, WebhookExecutor, connect_kubernetes
from activities.repair.activities import RepairActivities
from activities.sentry.client import SentryClient
from activities.sentry.comments import CommentSettings, SentryActivities
from activities.chat.telegram.client import TelegramClient
from core.learning_service import LearningService
from core.metrics import Metrics
from core.ports import RepairExecutor
from core.settings import Settings
from starter.api import ApiDeps
from starter.intake import Intake
from starter.legacy_runs import LegacyRuns
from worker.incident_settings import incident_settings
from starter.spool_drainer import SpoolDrainer
from workflows.incident import Incident
from workflows.legacy.incident import IncidentWorkflow
from workflows.probe import AlertChainProbe

# Generation 2 for new incidents, generation 1 until its open runs have ended (ADR 0019).
WORKFLOWS: Sequence[type] = (Incident, IncidentWorkflow, AlertChainProbe)
# Generation 1's helper modules (stateless mixins and constants): imported once, not per workflow.
LEGACY_PASSTHROUGH = ("workflows.legacy.patches", "workflows.legacy.cards", "workflows.legacy.steps",
                      "workflows.legacy.deliveries", "workflows.legacy.repair_flow")


def temporal_tls(settings: Settings) -> TLSConfig | bool:
    """TLS for a production Temporal: mTLS from AWOOOI_TEMPORAL_TLS_CERT/_KEY, a private CA from
    _TLS_CA, or system roots for Temporal Cloud's API key (Settings checked that the files exist)."""
    if not settings.temporal_tls:
        return False
    if not (settings.temporal_tls_cert or settings.temporal_tls_ca):
        return True

    def read(path: Path | None) -> bytes | None:
        return None if path is None else path.read_bytes()

    return TLSConfig(server_root_ca_cert=read(settings.temporal_tls_ca),
                     client_cert=read(settings.temporal_tls_cert),
                     client_private_key=read(settings.temporal_tls_key))


async def connect_temporal(settings: Settings, runtime: Runtime | None = None) -> Client:
    """``runtime``: the worker's, whose MetricBuffer feeds the SDK's metrics to /metrics."""
    api_key = settings.temporal_api_key.get_secret_value() if settings.temporal_api_key else None
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=data_converter,
        runtime=runtime,
        tls=temporal_tls(settings),
        api_key=api_key,
    )


def connect_redis(settings: Settings) -> Redis:
    """A client that survives a Valkey restart: a command on a dead pooled connection reconnects
    and retries with exponential backoff (0.2 s doubling to 2 s, 5 retries, 5 s in all: a restart
    with AOF takes well under that), and a connection idle for 10 s is pinged before reuse.

    The pool is bounded (AWOOOI_REDIS_MAX_CONNECTIONS) and a command waits for a free connection
    (up to the socket timeout) instead of failing: redis-py's default pool raises
    MaxConnectionsError at its 100th concurrent command, which 200 card activities waiting on
    digest renders reached in a storm (a failed ledger write there can repeat a digest message)."""
    timeout = settings.redis_socket_timeout_seconds
    pool = BlockingConnectionPool.from_url(
        settings.redis_url,
        max_connections=settings.redis_max_connections,
        timeout=timeout,
        decode_responses=True,
        health_check_interval=10,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        socket_keepalive=True,
        retry=Retry(ExponentialBackoff(cap=2.0, base=0.1), retries=5, supported_errors=tuple(_REDIS_TRANSIENT)),
        retry_on_error=_REDIS_TRANSIENT,
    )
    return Redis.from_pool(pool)


def http_client() -> httpx.AsyncClient:
    # Explicit, bounded timeouts: an activity must fail and retry, not hang until its own timeout.
    return httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=5.0))


def chat_renderer(settings: Settings) -> TelegramRenderer:
    """How the chat words cards, digests and notices (AWOOOI_LOCALE, AWOOOI_TIMEZONE)."""
    return TelegramRenderer(locale=settings.locale, tz=settings.tz)


def telegram_client(settings: Settings, http: httpx.AsyncClient) -> TelegramClient | None:
    if settings.telegram_bot_token is None:
        return None
    return TelegramClient(http, settings.telegram_bot_token.get_secret_value(), settings.telegram_api_base)


def learning_service(redis: Redis) -> LearningService:
    return LearningService(RedisLearningRepository(redis), RedisOccurrenceLog(redis))


def repair_executor(settings: Settings, http: httpx.AsyncClient, ledger: RedisLedger) -> RepairExecutor:
    """AWOOOI_REPAIR_EXECUTOR: dry-run (default), kubernetes or webhook."""
    bounds = {"default_namespace": settings.kubernetes_namespace, "scale_min": settings.repair_scale_min,
              "scale_max": settings.repair_scale_max}
    if settings.repair_executor == "kubernetes":
        client = connect_kubernetes(settings.kubernetes_kubeconfig, settings.kubernetes_context)
        return KubernetesExecutor(client, memo=ledger, **bounds)
    if settings.repair_executor == "webhook":
        if not settings.repair_webhook_url:
            raise ValueError("AWOOOI_REPAIR_EXECUTOR=webhook needs AWOOOI_REPAIR_WEBHOOK_URL")
        secret = settings.repair_webhook_secret.get_secret_value() if settings.repair_webhook_secret else None
        return WebhookExecutor(http, settings.repair_webhook_url, secret)
    return DryRunExecutor(**bounds)


def llm_analyzer(settings: Settings, http: httpx.AsyncClient) -> LlmAnalyzer | None:
    if not settings.llm_base_url:
        return None
    key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else None
    return LlmAnalyzer(http, settings.llm_base_url, settings.llm_model, api_key=key,
                       timeout_seconds=settings.llm_timeout_seconds)


def build_api_deps(settings: Settings, client: Client, redis: Redis, http: httpx.AsyncClient,
                   metrics: Metrics) -> ApiDeps:
    ledger = RedisLedger(redis)
    spool = RedisSpool(redis)
    return ApiDeps(settings=settings, temporal=client, redis=redis, intake=Intake(client, settings, ledger, spool, LegacyRuns(client)),
                   chat=telegram_client(settings, http), metrics=metrics, ledger=ledger,
                   learning=learning_service(redis), spool=spool)


def spool_drainer(deps: ApiDeps) -> SpoolDrainer:
    """The API replica's drainer of the intake spool (one drains at a time, by lease)."""
    return SpoolDrainer(deps.spool, deps.intake, deps.metrics, rpc_timeout=deps.settings.temporal_rpc_timeout_seconds,
                        lease_seconds=deps.settings.spool_lease_seconds, concurrency=deps.settings.intake_concurrency)


def chain_checks(settings: Settings, client: Client | None, http: httpx.AsyncClient) -> ChainChecks:
    """The alert-chain checks, shared by the probe's activities and `awoooi probe`."""
    secret = settings.sentry_client_secret.get_secret_value() if settings.sentry_client_secret else None
    token = settings.webhook_token.get_secret_value() if settings.webhook_token else None
    config = ChainConfig(api_base=settings.probe_api_base, webhook_token=token, sentry_client_secret=secret,
                         chat_id=settings.telegram_chat_id, probe_chat_id=settings.telegram_probe_chat_id,
                         sentry_org=settings.sentry_org)
    sentry = (SentryReader(http, settings.sentry_api_url, settings.sentry_api_token.get_secret_value())
              if settings.sentry_api_token is not None else None)
    return ChainChecks(http, client, config, telegram_client(settings, http), sentry)


def build_activities(
    settings: Settings, redis: Redis, http: httpx.AsyncClient, metrics: Metrics, client: Client | None = None
) -> list[Callable[..., Any]]:
    counter = RedisAnomalyCounter(redis)
    ledger = RedisLedger(redis)
    sentry = (
        SentryClient(http, settings.sentry_api_url, settings.sentry_api_token.get_secret_value())
        if settings.sentry_api_token is not None
        else None
    )
    learning_svc = learning_service(redis)
    analysis = AnalysisActivities(RuleAnalyzer(), counter, llm=llm_analyzer(settings, http), learning=learning_svc,
                                  llm_timeout_seconds=settings.llm_timeout_seconds)
    repairs = RepairActivities(
        repair_executor(settings, http, ledger),
        learning_svc,
        RedisRepairBudget(redis, max_per_hour=settings.repair_max_per_hour, max_per_day=settings.repair_max_per_day),
        ledger,
        metrics,
    )
    incidents = IncidentActivities(counter, RedisIncidentRepository(redis), ledger)
    telegram = CardActivities(
        telegram_client(settings, http),
        chat_renderer(settings),
        RedisMessageRefs(redis),
        CardSettings(chat_id=settings.telegram_chat_id, probe_chat_id=settings.telegram_probe_chat_id),
        metrics,
        ChatGate(redis, pacer=TelegramPacer(redis, pacing_limits(settings), metrics)),
        Digest(redis, threshold=settings.digest_threshold,
               edit_interval=timedelta(seconds=settings.digest_edit_interval_seconds),
               window=timedelta(seconds=settings.digest_window_seconds)),
    )
    comments = SentryActivities(
        sentry, ledger, CommentSettings(org=settings.sentry_org, locale=settings.locale, tz=settings.tz), metrics
    )
    learning = LearningActivities(RedisOccurrenceLog(redis))
    probe = ProbeActivities(chain_checks(settings, client, http), RedisOutageStore(redis),
                            telegram_client(settings, http), chat_renderer(settings), settings.telegram_chat_id,
                            metrics)
    return [
        IncidentSettingsActivities(incident_settings(settings)).incident_settings,
        analysis.analyze,
        incidents.save,
        incidents.save_batch,
        incidents.delivery_seen,
        telegram.post_card,
        telegram.place_card,
        telegram.edit_card,
        telegram.escalate,
        comments.post_comment,
        learning.record,
        repairs.recommend,
        repairs.budget,
        repairs.execute,
        repairs.record,
        probe.api,
        probe.alertmanager,
        probe.sentry,
        probe.telegram,
        probe.sentry_api,
        probe.report,
    ]


def pacing_limits(settings: Settings) -> PacingLimits:
    return PacingLimits(chat_interval_seconds=settings.telegram_chat_interval_seconds,
                        group_per_minute=settings.telegram_group_per_minute,
                        global_per_second=settings.telegram_global_per_second,
                        best_effort_wait_seconds=settings.telegram_best_effort_wait_seconds)


def workflow_runner() -> SandboxedWorkflowRunner:
    """The sandbox, with our deterministic helper modules imported once instead of per workflow.

    The sandbox re-imports a workflow's non-passthrough modules for every new workflow instance; in
    a storm of new incidents that was a fifth of the worker's CPU (bench/storm.py, py-spy). The
    helpers hold no state and only call ``workflow.*`` at run time, so sharing them is safe."""
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(
            "workflows.retries", "workflows.incident_steps", *LEGACY_PASSTHROUGH)
    )


def build_worker(client: Client, settings: Settings, activities: list[Callable[..., Any]]) -> Worker:
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=list(WORKFLOWS),
        workflow_runner=workflow_runner(),
        activities=activities,
        # Telegram's flood limits are the pacer's job; card calls of one incident never race (the
        # workflow makes them one at a time under its card lock).
        max_concurrent_activities=settings.worker_max_concurrent_activities,
        # Each cached workflow instance holds its sandbox and state (about 0.3 MB, bench phase 4);
        # past this many, the least recent is evicted and replays from its history at its next task.
        max_cached_workflows=settings.worker_max_cached_workflows,
        # On SIGTERM (a rollout) running activities get this long to finish before they are
        # cancelled: under Kubernetes' 30 s terminationGracePeriodSeconds.
        graceful_shutdown_timeout=timedelta(seconds=settings.worker_shutdown_grace_seconds),
    )

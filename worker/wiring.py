"""The worker's composition root: Settings -> clients -> adapters -> activity instances -> Worker.

The only place the worker's object graph is built. Everything below receives what it needs, so tests
build the same graph against a test Valkey and loopback Telegram/Sentry servers. It never imports
starter/ (the API's root, starter/wiring.py): the CLI imports both.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from typing import Any

import httpx
from redis.asyncio import Redis
from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

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
from activities.chat.renotify import RenotifyActivities, RenotifySettings
from activities.incident.observe import ObserveActivities
from activities.chat.channels import chat_channel, chat_renderer
from activities.valkey.messages import RedisMessageRefs
from activities.probe.activities import ProbeActivities
from activities.valkey.budget import RedisRepairBudget
from activities.valkey.counter import RedisAnomalyCounter
from activities.valkey.incidents import RedisIncidentRepository, RedisOccurrenceLog
from activities.valkey.learning import learning_service
from activities.valkey.probe import RedisOutageStore
from activities.valkey.ledger import RedisLedger
from activities.repair import DryRunExecutor, KubernetesExecutor, WebhookExecutor, connect_kubernetes
from activities.repair.activities import RepairActivities
from activities.sentry.client import SentryClient
from activities.sentry.comments import CommentSettings, SentryActivities
from activities.silences.activities import SilenceActivities
from activities.silences.maintenance_file import MaintenanceFile
from activities.valkey.silences import RedisSilenceStore
from core.metrics import Metrics
from core.ports import RepairExecutor
from core.settings import Settings
from worker.incident_settings import incident_settings
from workflows.incident import Incident
from workflows.legacy.incident import IncidentWorkflow
from workflows.probe import AlertChainProbe

# Generation 2 for new incidents, generation 1 until its open runs have ended (ADR 0019).
WORKFLOWS: Sequence[type] = (Incident, IncidentWorkflow, AlertChainProbe)
# Generation 1's helper modules (stateless mixins and constants): imported once, not per workflow.
LEGACY_PASSTHROUGH = ("workflows.legacy.patches", "workflows.legacy.cards", "workflows.legacy.steps",
                      "workflows.legacy.deliveries", "workflows.legacy.repair_flow")


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


def chain_checks(settings: Settings, client: Client | None, http: httpx.AsyncClient) -> ChainChecks:
    """The alert-chain checks, shared by the probe's activities and `awoooi probe`."""
    secret = settings.sentry_client_secret.get_secret_value() if settings.sentry_client_secret else None
    token = settings.webhook_token.get_secret_value() if settings.webhook_token else None
    config = ChainConfig(api_base=settings.probe_api_base, webhook_token=token, sentry_client_secret=secret,
                         chat_id=settings.telegram_chat_id, probe_chat_id=settings.telegram_probe_chat_id,
                         sentry_org=settings.sentry_org)
    sentry = (SentryReader(http, settings.sentry_api_url, settings.sentry_api_token.get_secret_value())
              if settings.sentry_api_token is not None else None)
    return ChainChecks(http, client, config, chat_channel(settings, http), sentry)


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
    cards = CardActivities(
        chat_channel(settings, http),
        chat_renderer(settings),
        RedisMessageRefs(redis),
        CardSettings(chat_id=settings.telegram_chat_id, probe_chat_id=settings.telegram_probe_chat_id),
        metrics,
        ChatGate(redis, pacer=TelegramPacer(redis, pacing_limits(settings), metrics)),
        Digest(redis, threshold=settings.digest_threshold,
               edit_interval=timedelta(seconds=settings.digest_edit_interval_seconds),
               window=timedelta(seconds=settings.digest_window_seconds)),
        tokens=ledger,
    )
    renotify = RenotifyActivities(cards, chat_channel(settings, http), chat_renderer(settings),
                                  RenotifySettings(chat_id=settings.telegram_chat_id,
                                                   escalation_chat_id=settings.escalation_chat_id), metrics)
    observe = ObserveActivities(ledger, metrics)
    comments = SentryActivities(
        sentry, ledger, CommentSettings(org=settings.sentry_org, locale=settings.locale, tz=settings.tz), metrics
    )
    learning = LearningActivities(RedisOccurrenceLog(redis))
    silences = SilenceActivities(RedisSilenceStore(redis), MaintenanceFile(settings.maintenance_file))
    probe = ProbeActivities(chain_checks(settings, client, http), RedisOutageStore(redis),
                            chat_channel(settings, http), chat_renderer(settings), settings.telegram_chat_id,
                            metrics)
    return [
        IncidentSettingsActivities(incident_settings(settings)).incident_settings,
        analysis.analyze,
        incidents.save,
        incidents.save_batch,
        incidents.delivery_seen,
        cards.post_card,
        cards.place_card,
        cards.edit_card,
        cards.escalate,
        renotify.renotify,
        observe.observe,
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
        silences.verdict,
        silences.create,
        silences.expire,
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
            "workflows.retries", "workflows.incident_steps", "workflows.incident_silences", *LEGACY_PASSTHROUGH)
    )


@contextlib.contextmanager
def sandbox_validation() -> Iterator[None]:
    """Around a Worker's construction, which loads every workflow in the sandbox to validate it: no
    garbage collection meanwhile. Before Python 3.12 a module's import lock is not re-entrant, and a
    finalizer run by the collector in the middle of a sandboxed import (a never-awaited coroutine's
    warning imports ``warnings``) fails the import with ``KeyError: <thread id>``, so the worker does
    not start: "Failed validating workflow" (CPython gh-91351, temporalio/sdk-python#585; seen in two
    of our full test runs). This removes the collector's part, not a finalizer run by a reference
    count reaching zero. The same failure in a later workflow task is a task failure that Temporal
    retries."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def build_worker(client: Client, settings: Settings, activities: list[Callable[..., Any]]) -> Worker:
    with sandbox_validation():
        return Worker(
            client,
            task_queue=settings.task_queue,
            workflows=list(WORKFLOWS),
            workflow_runner=workflow_runner(),
            activities=activities,
            # The chat's flood limits are the pacer's job; card calls of one incident never race (the
            # workflow makes them one at a time).
            max_concurrent_activities=settings.worker_max_concurrent_activities,
            # Few, so a backlog waits in Temporal's queue in priority order, not in the worker's FIFO.
            max_concurrent_workflow_tasks=settings.worker_max_concurrent_workflow_tasks,
            max_concurrent_local_activities=settings.worker_max_concurrent_local_activities,
            # Each cached workflow instance holds its sandbox and state (about 0.3 MB, bench phase 4);
            # past this many, the least recent is evicted and replays from its history at its next task.
            max_cached_workflows=settings.worker_max_cached_workflows,
            # On SIGTERM (a rollout) running activities get this long to finish before they are
            # cancelled: under Kubernetes' 30 s terminationGracePeriodSeconds.
            graceful_shutdown_timeout=timedelta(seconds=settings.worker_shutdown_grace_seconds),
        )

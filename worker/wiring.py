"""The composition root: Settings -> clients -> adapters -> activity instances -> Worker.

The only place that constructs clients. Everything below receives what it needs, so tests can
build the same graph against a test Valkey and loopback Telegram/Sentry servers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

import httpx
from redis.asyncio import Redis
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Worker

from activities.analysis import RuleAnalyzer
from activities.analyze import AnalysisActivities
from activities.incidents import IncidentActivities
from activities.learning import LearningActivities
from activities.notify import CardSettings, TelegramActivities
from activities.redis_counter import RedisAnomalyCounter
from activities.redis_incidents import RedisIncidentRepository, RedisOccurrenceLog
from activities.redis_ledger import RedisLedger
from activities.sentry_api import SentryClient
from activities.sentry_comment import CommentSettings, SentryActivities
from activities.telegram_api import TelegramClient
from core.metrics import Metrics
from core.settings import Settings
from workflows.incident import IncidentWorkflow

WORKFLOWS: Sequence[type] = (IncidentWorkflow,)


async def connect_temporal(settings: Settings) -> Client:
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=pydantic_data_converter,
    )


def connect_redis(settings: Settings) -> Redis:
    return Redis.from_url(settings.redis_url, decode_responses=True, health_check_interval=30)


def http_client() -> httpx.AsyncClient:
    # Explicit, bounded timeouts: an activity must fail and retry, not hang until its own timeout.
    return httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=5.0))


def telegram_client(settings: Settings, http: httpx.AsyncClient) -> TelegramClient | None:
    if settings.telegram_bot_token is None:
        return None
    return TelegramClient(http, settings.telegram_bot_token.get_secret_value(), settings.telegram_api_base)


def build_activities(
    settings: Settings, redis: Redis, http: httpx.AsyncClient, metrics: Metrics
) -> list[Callable[..., Any]]:
    counter = RedisAnomalyCounter(redis)
    ledger = RedisLedger(redis)
    sentry = (
        SentryClient(http, settings.sentry_api_url, settings.sentry_api_token.get_secret_value())
        if settings.sentry_api_token is not None
        else None
    )
    analysis = AnalysisActivities(RuleAnalyzer(), counter)
    incidents = IncidentActivities(counter, RedisIncidentRepository(redis), ledger)
    telegram = TelegramActivities(
        telegram_client(settings, http),
        ledger,
        CardSettings(chat_id=settings.telegram_chat_id, locale=settings.locale, tz=settings.tz),
        metrics,
    )
    comments = SentryActivities(
        sentry, ledger, CommentSettings(org=settings.sentry_org, locale=settings.locale, tz=settings.tz), metrics
    )
    learning = LearningActivities(RedisOccurrenceLog(redis))
    return [
        analysis.analyze,
        incidents.save,
        incidents.delivery_seen,
        telegram.post_card,
        telegram.edit_card,
        comments.post_comment,
        learning.record,
    ]


def build_worker(client: Client, settings: Settings, activities: list[Callable[..., Any]]) -> Worker:
    return Worker(
        client,
        task_queue=settings.task_queue,
        workflows=list(WORKFLOWS),
        activities=activities,
        # Card edits of one incident must not race; a small pool keeps Telegram's flood limits.
        max_concurrent_activities=20,
        graceful_shutdown_timeout=timedelta(seconds=10),
    )

"""The API's composition root: Settings -> clients -> adapters -> the dependencies its routes use.

The only place the API's object graph is built (the worker's is worker/wiring.py; the two never
import each other, the CLI imports both).
"""

from __future__ import annotations

import httpx
from redis.asyncio import Redis
from temporalio.client import Client

from activities.chat.channels import chat_channel, document_channel
from activities.valkey.learning import learning_service
from activities.valkey.ledger import RedisLedger
from activities.valkey.postmortems import RedisPostmortemMarks
from activities.valkey.silences import RedisSilenceStore
from activities.valkey.spool import RedisSpool
from core.metrics import Metrics
from core.settings import Settings
from starter.http.deps import ApiDeps
from starter.intake import Intake
from starter.legacy_runs import LegacyRuns
from starter.postmortem_taps import PostmortemTaps
from starter.chat_ack import AckCommand
from starter.chat_commands import ChatCommands
from starter.chat_silences import SilenceCommands
from starter.chat_status import StatusCommands
from starter.silence_signals import silence_added, silence_changed
from starter.spool_drainer import SpoolDrainer


def build_api_deps(settings: Settings, client: Client, redis: Redis, http: httpx.AsyncClient,
                   metrics: Metrics) -> ApiDeps:
    ledger = RedisLedger(redis)
    spool = RedisSpool(redis)
    deps = ApiDeps(settings=settings, temporal=client, redis=redis,
                   intake=Intake(client, settings, ledger, spool, LegacyRuns(client)),
                   chat=chat_channel(settings, http), metrics=metrics, ledger=ledger,
                   learning=learning_service(redis), spool=spool, silences=RedisSilenceStore(redis),
                   silence_changed=silence_changed(client, timeout=settings.temporal_rpc_timeout_seconds),
                   silence_added=silence_added(client, timeout=settings.temporal_rpc_timeout_seconds))
    deps.commands = chat_commands(deps)
    deps.postmortems = PostmortemTaps(settings, client, ledger, RedisPostmortemMarks(redis), document_channel(deps.chat),
                                      metrics)
    return deps


def chat_commands(deps: ApiDeps) -> ChatCommands:
    """The operators' chat commands and their handlers (docs/adr/0025, docs/adr/0029)."""
    commands = ChatCommands(deps.settings, deps.chat)
    AckCommand(deps.temporal, timeout=deps.settings.temporal_rpc_timeout_seconds).register(commands)
    assert deps.silences is not None
    SilenceCommands(deps.silences, deps.silence_changed, deps.silence_added).register(commands)
    StatusCommands(deps.temporal, timeout=deps.settings.temporal_rpc_timeout_seconds).register(commands)
    return commands


def spool_drainer(deps: ApiDeps) -> SpoolDrainer:
    """The API replica's drainer of the intake spool (one drains at a time, by lease)."""
    return SpoolDrainer(deps.spool, deps.intake, deps.metrics, rpc_timeout=deps.settings.temporal_rpc_timeout_seconds,
                        lease_seconds=deps.settings.spool_lease_seconds, concurrency=deps.settings.intake_concurrency,
                        hold_seconds=deps.settings.intake_storm_hold_ms / 1000,
                        quiet_seconds=deps.settings.intake_storm_quiet_ms / 1000,
                        ripe=deps.settings.intake_storm_batch)

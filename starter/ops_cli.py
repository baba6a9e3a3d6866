"""`awoooi approve|reject|card|learning|playbooks`: the operator's side of incidents, from a shell.

Talks to Temporal and Valkey directly (the same addresses as the worker); with none configured it
uses the servers `awoooi dev` embeds, so it works beside `make dev` with no setup. Tables go to
stdout; `--json` prints the API's JSON instead.
"""

from __future__ import annotations

import getpass
import json
from collections.abc import Awaitable, Sequence
from datetime import datetime, timezone
from typing import Any, Protocol, TextIO

from temporalio.client import Client

from core.acks import AckAnswer, AckRequest
from core.errors import AwoooiError, UpstreamError
from core.identity import workflow_id_for
from core.learning_service import LearningService
from core.repair import Decision, DecisionAnswer
from core.settings import Settings
from starter.approvals import request_own_card, send_ack, send_decision


def with_dev_defaults(settings: Settings) -> Settings:
    """The embedded servers' addresses when none are configured (what `awoooi dev` starts)."""
    update: dict[str, str] = {}
    if not settings.temporal_address:
        update["temporal_address"] = f"127.0.0.1:{settings.dev_temporal_port}"
    if not settings.redis_url:
        update["redis_url"] = f"redis://127.0.0.1:{settings.dev_valkey_port}/0"
    return settings.model_copy(update=update) if update else settings


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    cells = [[str(h) for h in headers], *[[("-" if v is None else str(v)) for v in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(value.ljust(widths[i]) for i, value in enumerate(row)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{round(value * 100)}%"


def _cli_person(by: str | None) -> str:
    """Who is at the terminal, as a decision or an ack records them."""
    return f"{(by or getpass.getuser() or 'someone')[:90]} (cli)"


async def _say(answer: Awaitable[DecisionAnswer | AckAnswer], out: TextIO, err: TextIO) -> int:
    """The workflow's answer on stdout (exit 0), or why it was refused on stderr (exit 1)."""
    try:
        message = (await answer).message
    except AwoooiError as exc:
        print(f"awoooi: {exc}", file=err)
        return 1
    print(message, file=out)
    return 0


async def decide(client: Client, settings: Settings, incident_id: str, *, approve: bool, by: str | None,
                 note: str, out: TextIO, err: TextIO) -> int:
    decision = Decision(approve=approve, by=_cli_person(by), via="cli", at=datetime.now(timezone.utc),
                        note=note[:500])
    return await _say(send_decision(client, workflow_id_for(incident_id), decision,
                                    timeout=settings.temporal_rpc_timeout_seconds), out, err)


async def ack(client: Client, settings: Settings, incident_id: str, *, by: str | None, note: str, out: TextIO,
              err: TextIO) -> int:
    """`awoooi ack`: "I'm on it" (docs/adr/0025); exit 1 when refused (someone else acked first, closed)."""
    request = AckRequest(by=_cli_person(by), via="cli", at=datetime.now(timezone.utc), note=note[:500])
    return await _say(send_ack(client, workflow_id_for(incident_id), request,
                               timeout=settings.temporal_rpc_timeout_seconds), out, err)


async def own_card(client: Client, settings: Settings, incident_id: str, *, out: TextIO, err: TextIO) -> int:
    """Give an incident that a storm digest lists its own card now (docs/adr/0016-digest-cards.md)."""
    try:
        placement = await request_own_card(client, workflow_id_for(incident_id),
                                           timeout=settings.temporal_rpc_timeout_seconds)
    except AwoooiError as exc:
        print(f"awoooi: {exc}", file=err)
        return 1
    if placement.message_id is None:
        print("awoooi: no card was sent: Telegram is not configured (AWOOOI_TELEGRAM_BOT_TOKEN, "
              "AWOOOI_TELEGRAM_CHAT_ID)", file=err)
        return 1
    print(f"{incident_id}: its own card is message {placement.message_id}", file=out)
    return 0


async def learning_text(service: LearningService, what: str, key: str | None, as_json: bool) -> str:
    if what == "playbooks":
        books = await service.playbooks()
        if as_json:
            return json.dumps({"playbooks": [b.model_dump(mode="json") for b in books]}, indent=2)
        return table(["anomaly key", "action", "success", "executions", "updated", "root cause"],
                     [[b.anomaly_key, b.action.value, _pct(b.success_rate), b.executions,
                       b.updated_at.strftime("%Y-%m-%d %H:%M"), b.root_cause[:60]] for b in books])
    assert key is not None
    if what == "summary":
        summary = await service.get_learning_summary(key)
        if as_json:
            return summary.model_dump_json(indent=2)
        head = table(["anomaly key", "occurrences", "repairs", "success", "best action", "status"],
                     [[key, summary.occurrences, summary.repair_attempts, _pct(summary.success_rate),
                       summary.best_action.value if summary.best_action else None, summary.status]])
        actions = table(["action", "tried", "succeeded", "success", "blocked"],
                        [[a.action.value, a.total, a.successes, _pct(a.success_rate),
                          "yes" if a.action in summary.blocked_actions else ""] for a in summary.actions_tried])
        return f"{head}\n\n{actions}"
    fix = await service.get_recommended_fix(key)
    if as_json:
        return fix.model_dump_json(indent=2)
    avg = None if fix.avg_execution_seconds is None else f"{fix.avg_execution_seconds:.1f}s"
    rows = [["recommended", fix.action.value, fix.tier, _pct(fix.confidence), fix.based_on, avg, fix.source]]
    rows += [["alternative", a.action.value, a.tier, _pct(a.confidence), a.based_on, None, ""] for a in fix.alternatives]
    return table(["", "action", "tier", "confidence", "based on", "avg time", "source"], rows)


TELEGRAM_HOOK_PATH = "/api/v1/webhooks/telegram"


class WebhookSetter(Protocol):
    """The Telegram client's setWebhook (activities/chat/telegram/client.py)."""

    async def set_webhook(self, url: str, secret_token: str, allowed_updates: list[str]) -> None: ...


async def set_telegram_webhook(telegram: WebhookSetter, settings: Settings, public_url: str, *, out: TextIO,
                               err: TextIO) -> int:
    """setWebhook to awoooi's public URL with AWOOOI_TELEGRAM_WEBHOOK_SECRET, for button taps and the
    operators' chat commands (/silence, /incidents...: starter/chat_commands.py)."""
    if settings.telegram_webhook_secret is None:
        print("awoooi: set AWOOOI_TELEGRAM_WEBHOOK_SECRET first (1-256 of A-Z a-z 0-9 _ -)", file=err)
        return 2
    url = public_url.rstrip("/")
    if not url.endswith(TELEGRAM_HOOK_PATH):
        url += TELEGRAM_HOOK_PATH
    try:
        await telegram.set_webhook(url, settings.telegram_webhook_secret.get_secret_value(),
                                   ["callback_query", "message"])
    except UpstreamError as exc:
        print(f"awoooi: {exc}", file=err)
        return 1
    print(f"Telegram now sends button taps and chat commands to {url}", file=out)
    if not settings.telegram_approver_ids:
        print("note: AWOOOI_TELEGRAM_APPROVER_IDS is empty, so every tap will be refused", file=out)
    return 0

"""Shared pieces of the repair tests: alerts that recommend a known action, Telegram taps built
from the real update fixture, and the incident's card buttons."""

from __future__ import annotations

import copy
import itertools
import json
from typing import Any

from tests.conftest import fixture_bytes
from tests.loopback.telegram import TelegramLoopback

APPROVER_ID = 996202131  # the tapper in tests/fixtures/telegram_callback_query_update.json
STRANGER_ID = 1111111
WEBHOOK_SECRET = "tg-webhook-secret-0123456789"
API_TOKEN = "api-token-0123456789abcdef"
TELEGRAM_HOOK = "/api/v1/webhooks/telegram"
_update_ids = itertools.count(734997099)

# kube-hpa-maxed-out recommends scale_up (tier 2); kube-pod-crashlooping restart_pod (tier 1).
HPA_ALERT = "KubeHpaMaxedOut"


def alertmanager(alertname: str, status: str = "firing", *, fingerprint: str = "f00dfeed00000001",
                 starts_at: str = "2026-11-25T10:00:00Z", ends_at: str = "0001-01-01T00:00:00Z",
                 labels: dict[str, str] | None = None) -> bytes:
    alert_labels = {"alertname": alertname, "namespace": "shop", "deployment": "checkout",
                    "service": "checkout", "severity": "warning", **(labels or {})}
    alert = {"status": status, "labels": alert_labels, "annotations": {"summary": f"{alertname} on checkout"},
             "startsAt": starts_at, "endsAt": ends_at if status == "resolved" else "0001-01-01T00:00:00Z",
             "generatorURL": "http://prometheus.example/graph", "fingerprint": fingerprint}
    body = {"version": "4", "groupKey": "{}:{alertname=\"%s\"}" % alertname, "truncatedAlerts": 0,
            "status": status, "receiver": "awoooi", "groupLabels": {"alertname": alertname},
            "commonLabels": alert_labels, "commonAnnotations": {}, "externalURL": "http://am.example",
            "alerts": [alert]}
    return json.dumps(body).encode()


def tap(data: str, message_id: int, *, user_id: int = APPROVER_ID, update_id: int | None = None) -> dict[str, Any]:
    """A callback_query update in the exact shape Telegram sends (the captured fixture), re-aimed."""
    update = copy.deepcopy(json.loads(fixture_bytes("telegram_callback_query_update.json")))
    update["update_id"] = update_id if update_id is not None else next(_update_ids)
    query = update["callback_query"]
    query["id"] = str(4278655576057498272 + update["update_id"])
    query["data"] = data
    query["message"]["message_id"] = message_id
    if user_id != APPROVER_ID:
        query["from"] = {"id": user_id, "is_bot": False, "first_name": "Mallory", "username": "mallory"}
    return update


def buttons(telegram: TelegramLoopback, message_id: int) -> dict[str, str]:
    """{"approve": callback_data, "reject": callback_data} of the card's current keyboard (its
    approval row; the Silence row of an open card is not one of them)."""
    markup = telegram.keyboard(message_id)
    rows = [row for row in (markup or {}).get("inline_keyboard", []) if row[0]["callback_data"].startswith("rp:")]
    if not rows:
        return {}
    data = [button["callback_data"] for row in markup["inline_keyboard"] for button in row]
    found = {"approve": next((d for d in data if d.startswith("rp:a:")), None),
             "reject": next((d for d in data if d.startswith("rp:r:")), None)}
    return {k: v for k, v in found.items() if v is not None}


def ack_button(telegram: TelegramLoopback, message_id: int) -> str | None:
    """The callback data of the card's Ack button, None when it has none (docs/adr/0025)."""
    markup = telegram.keyboard(message_id) or {"inline_keyboard": []}
    return next((b["callback_data"] for row in markup["inline_keyboard"] for b in row
                 if b["callback_data"].startswith("ak:")), None)


def silence_buttons(telegram: TelegramLoopback, message_id: int) -> dict[str, str]:
    """{"Silence 1h": callback_data, ...} of the card's Silence row (empty when it has none)."""
    markup = telegram.keyboard(message_id) or {}
    return {b["text"].removeprefix("🔕 "): b["callback_data"] for row in markup.get("inline_keyboard", [])
            for b in row if b["callback_data"].startswith("sil:")}


def card_text(telegram: TelegramLoopback, message_id: int) -> str:
    return telegram.messages[message_id][-1]


def hook_headers(secret: str = WEBHOOK_SECRET) -> dict[str, str]:
    return {"X-Telegram-Bot-Api-Secret-Token": secret, "content-type": "application/json"}

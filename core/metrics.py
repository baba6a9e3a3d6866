"""Prometheus metrics, registered on an injected registry so each test owns its own."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram


class Metrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.webhook_requests = Counter(
            "awoooi_webhook_requests_total",
            "Webhook deliveries by source and HTTP outcome.",
            ["source", "code"],
            registry=registry,
        )
        self.alerts = Counter(
            "awoooi_alerts_total",
            "Alerts taken by source, alert status and intake result (started/updated/duplicate/ignored).",
            ["source", "status", "result"],
            registry=registry,
        )
        self.truncated_alerts = Counter(
            "awoooi_alerts_truncated_total",
            "Alerts the sender dropped before delivery (Alertmanager truncatedAlerts).",
            ["source"],
            registry=registry,
        )
        self.intake_seconds = Histogram(
            "awoooi_intake_seconds",
            "Time to hand one delivery to Temporal durably.",
            ["source"],
            registry=registry,
        )
        self.telegram_messages = Counter(
            "awoooi_telegram_messages_total", "Telegram card operations.", ["kind"], registry=registry
        )
        self.sentry_comments = Counter(
            "awoooi_sentry_comments_total", "Sentry comment outcomes.", ["outcome"], registry=registry
        )
        self.repairs = Counter(
            "awoooi_repairs_total",
            "Repairs run by executor, action and outcome (executed/simulated/failed/unsupported/refused).",
            ["executor", "action", "status"],
            registry=registry,
        )
        self.repair_decisions = Counter(
            "awoooi_repair_decisions_total",
            "Approve/Reject decisions by outcome (approved/rejected/refused/unauthorized) and channel.",
            ["outcome", "via"],
            registry=registry,
        )
        self.api_errors = Counter(
            "awoooi_api_errors_total",
            "Requests a route failed on with an unexpected exception (answered 500), by route template.",
            ["route", "code"],
            registry=registry,
        )

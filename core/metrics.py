"""Prometheus metrics, registered on an injected registry so each test owns its own."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info

# Time to acknowledge / resolve an incident: from a minute to a day (issue 21).
INCIDENT_BUCKETS = (60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0, 14400.0, 28800.0, 86400.0)
# What awoooi_repair_outcomes_total counts (docs/adr/0025).
REPAIR_OUTCOMES = ("verified", "ineffective", "rejected", "expired")

# The seed's webhook buckets (0.1 ... 30 s) with finer ones below 0.1 s, where intake usually is.
WEBHOOK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class Metrics:
    def __init__(self, registry: CollectorRegistry, version: str = "0.1.0") -> None:
        self.registry = registry
        self._chain_metrics(registry, version)
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
        self.telegram_paced_seconds = Histogram(
            "awoooi_telegram_paced_seconds", "How long a Telegram call waited for a slot under Telegram's limits.",
            ["priority"], buckets=(0.01, 0.1, 0.5, 1, 2, 5, 10, 30), registry=registry,
        )
        self.telegram_paced_skipped = Counter(
            "awoooi_telegram_paced_skipped_total",
            "Count-only card edits skipped because Telegram's limits left no slot soon (shown at the next interval).",
            registry=registry,
        )
        self.digest_lines = Counter(
            "awoooi_digest_lines_total",
            "Storm digest line changes (added/updated/removed: the incident got its own card).",
            ["change"],
            registry=registry,
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
        self.spool_depth = Gauge(
            "awoooi_spool_depth",
            "Deliveries waiting in the Valkey spool for Temporal (taken while it was slow or down).",
            registry=registry,
        )
        self.spool_started = Counter(
            "awoooi_spool_started_total", "Spooled deliveries handed to Temporal by the drainer.", registry=registry
        )
        self.spool_refused = Counter(
            "awoooi_spool_refused_total",
            "Spooled deliveries Temporal refused for good (logged whole, then removed).",
            registry=registry,
        )
        self.lingering_closes = Counter(
            "awoooi_http_lingering_closes_total",
            "Answers sent before the request body was read (413, 401...), after which the rest of the body "
            "was read and discarded until: complete, disconnect, bytes, time or idle (starter/lingering_close.py).",
            ["outcome"],
            registry=registry,
        )
        self.discarded_body_bytes = Counter(
            "awoooi_http_discarded_body_bytes_total",
            "Request body bytes read and thrown away after an early answer (never kept in memory).",
            registry=registry,
        )
        self.api_errors = Counter(
            "awoooi_api_errors_total",
            "Requests a route failed on with an unexpected exception (answered 500), by route template.",
            ["route", "code"],
            registry=registry,
        )

        self._incident_metrics(registry)

    def _incident_metrics(self, registry: CollectorRegistry) -> None:
        """Observed once per incident lifecycle (or repair) by the observe_incident activity, after a
        Valkey once-key, so a retry or a replay never observes twice (docs/adr/0025)."""
        self.time_to_acknowledge = Histogram(
            "awoooi_incident_time_to_acknowledge_seconds",
            "From an incident opening to its first acknowledgement, once per incident.",
            ["service", "severity", "source"], buckets=INCIDENT_BUCKETS, registry=registry,
        )
        self.time_to_resolve = Histogram(
            "awoooi_incident_time_to_resolve_seconds",
            "From an incident opening to its resolution being handled, once per incident.",
            ["service", "severity", "source"], buckets=INCIDENT_BUCKETS, registry=registry,
        )
        self.repair_outcomes = Counter(
            "awoooi_repair_outcomes_total",
            "Repairs by how they ended: verified (the alert resolved within the verify window), ineffective "
            "(it ran and the alert did not resolve), rejected, expired (no decision in time).",
            ["service", "action", "outcome"], registry=registry,
        )
        self.postmortems = Counter(
            "awoooi_postmortems_total",
            "Postmortem button taps by an approver, by outcome: sent, already_sent (a copy was sent or is on its "
            "way), refused (no chat, incident unknown, history gone), failed (the chat refused it), unconfirmed "
            "(the send timed out: it may have arrived).",
            ["outcome"], registry=registry,
        )
        self.renotifications = Counter(
            "awoooi_incident_renotifications_total",
            "Re-notifications of unacknowledged incidents, and escalations to the escalation chat, sent.",
            ["severity", "kind"], registry=registry,
        )

    def _chain_metrics(self, registry: CollectorRegistry, version: str) -> None:
        """The seed's alert-chain metrics (F-4), named as the seed's rules expect them."""
        self.last_alert_received = Gauge(
            "awoooi_last_alert_received_timestamp", "Unix time the last alert was received.",
            registry=registry,
        )
        self.alerts_received = Counter(
            "awoooi_alerts_received_total", "Alerts received by source and alert status.", ["source", "status"],
            registry=registry,
        )
        self.webhook_latency = Histogram(
            "awoooi_webhook_latency_seconds", "Webhook handling time.", ["webhook_type"], buckets=WEBHOOK_BUCKETS,
            registry=registry,
        )
        self.http_requests = Counter(
            "http_requests_total", "HTTP requests by route template and status code.", ["path", "status"],
            registry=registry,
        )
        self.probe_success = Gauge(
            "awoooi_probe_success", "1 when the link passed the last probe run, else 0.", ["link"],
            registry=registry,
        )
        self.probe_last_success = Gauge(
            "awoooi_probe_last_success_timestamp", "Unix time of the last probe run where every link passed.",
            registry=registry,
        )
        self.probe_duration = Gauge(
            "awoooi_probe_duration_seconds", "How long the last probe run took.", registry=registry,
        )
        self.build_info = Info("awoooi_build", "awoooi's version.", registry=registry)
        self.build_info.info({"version": version})

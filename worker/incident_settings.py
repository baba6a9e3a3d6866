"""The incident workflow's settings, from the worker's own environment (one Settings object)."""

from __future__ import annotations

from core.incident.state import IncidentSettings
from core.repair import RepairPolicy
from core.settings import Settings


def incident_settings(settings: Settings) -> IncidentSettings:
    return IncidentSettings(
        idle_timeout_seconds=settings.incident_idle_timeout_seconds,
        resolve_grace_seconds=settings.resolve_grace_seconds,
        max_deliveries_per_run=settings.incident_max_deliveries_per_run,
        policy=RepairPolicy(auto_repair_confidence=settings.auto_repair_confidence,
                            approval_timeout_seconds=settings.approval_timeout.total_seconds(),
                            verify_window_seconds=settings.verify_window.total_seconds()),
        # Long enough for the LLM's own bounded timeout, with room for its answer.
        analysis_timeout_seconds=max(60.0, settings.llm_timeout_seconds + 30.0) if settings.llm_enabled else 60.0,
        card_edit_interval_seconds=settings.card_edit_interval.total_seconds(),
        card_budget_calls=settings.card_budget_calls,
        card_budget_window_seconds=settings.card_budget_window.total_seconds(),
        local_steps=settings.local_steps,
        llm_enabled=settings.llm_enabled,
        digest_window_seconds=settings.digest_window_seconds,
        # acks, re-notification and escalation (docs/adr/0025)
        acks=settings.acks,
        renotify_seconds={severity: [minutes * 60.0 for minutes in waits]
                          for severity, waits in settings.renotify_minutes.items() if waits} if settings.acks else {},
        escalate_after_seconds={severity: float(settings.escalate_after) for severity in settings.escalate_severities}
        if settings.acks and settings.escalation_chat_id else {},
        metrics=settings.incident_metrics,
        silences=settings.incident_silences,
        silence_recheck_seconds=settings.silence_recheck_seconds,
        # flapping (docs/adr/0031); a re-fire after the grace is a new lifecycle even in a run not ended yet
        flap_count=settings.flap_count,
        flap_window_seconds=float(settings.flap_window),
        new_lifecycle_after_grace=True,
    )

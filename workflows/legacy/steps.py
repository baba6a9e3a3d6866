"""Generation 1's quick steps (frozen): analysis, the incident record, Sentry, learning, status.

A mixin of :class:`workflows.legacy.incident.IncidentWorkflow`, split out only to keep files short;
it reads and writes its host's attributes (``self._state``, ``self._input`` ...).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from core import search_attributes as sa
    from core.inputs import AnalyzeInput, LearningRecordInput, SaveIncidentInput, SentryCommentInput
    from core.models import AlertDelivery, Analysis, Frequency, IncidentStatus, RecommendedRepair, RepairAction

from workflows import retries
from workflows.legacy.patches import ANALYZE, POST_COMMENT, RECORD, SAVE


def fallback_analysis(reason: str) -> Analysis:
    """Used when the analyze step itself failed: the card still goes out, and says so."""
    return Analysis(
        category="unknown",
        root_cause=f"Analysis unavailable ({reason}); look at the alert itself.",
        impact="Unknown.",
        fix_suggestion="Investigate manually.",
        prevention="Check the awoooi worker logs for why analysis failed.",
        confidence=0.0,
        analyzed_by="fallback",
        recommended_repair=RecommendedRepair(
            action=RepairAction.MANUAL_INTERVENTION, tier=4, reason="no analysis available"
        ),
        rule_id=None,
    )


class IncidentSteps:
    async def _quick_step(self, activity: str, result_type: Any, arg: Any, *, summary: str) -> Any:
        """A Valkey step of milliseconds: a local activity under storm-v1 when the workflow input asks
        for it (no extra workflow task per step), else a regular one (ADR 0003)."""
        if self._storm and self.require_input().local_steps:
            return await workflow.execute_local_activity(
                activity, arg, result_type=result_type, start_to_close_timeout=timedelta(seconds=30),
                schedule_to_close_timeout=timedelta(minutes=10), retry_policy=retries.API, summary=summary,
            )
        return await workflow.execute_activity(
            activity, arg, result_type=result_type, start_to_close_timeout=timedelta(seconds=30),
            schedule_to_close_timeout=timedelta(minutes=10), retry_policy=retries.API, summary=summary,
        )


    # -- steps ------------------------------------------------------------------------------

    async def _analyze(self, delivery: AlertDelivery) -> Analysis:
        attempt = self.require_input().analysis_timeout_seconds if self._repairs_enabled else 60
        inp = self.require_input()
        try:
            if self._storm and inp.local_steps and not inp.llm_enabled:
                # The rule analysis is CPU for a millisecond: no task round trip for it (ADR 0003).
                return await workflow.execute_local_activity(
                    ANALYZE,
                    AnalyzeInput(alert=delivery.alert, anomaly_key=inp.anomaly_key),
                    result_type=Analysis,
                    start_to_close_timeout=timedelta(seconds=attempt),
                    schedule_to_close_timeout=timedelta(seconds=max(300, 3 * attempt)),
                    retry_policy=retries.QUICK,
                    summary="analyze the alert (rules)",
                )
            return await workflow.execute_activity(
                ANALYZE,
                AnalyzeInput(alert=delivery.alert, anomaly_key=self.require_input().anomaly_key),
                result_type=Analysis,
                start_to_close_timeout=timedelta(seconds=attempt),
                # Room for three attempts however long the LLM may take (the rules answer each time).
                schedule_to_close_timeout=timedelta(seconds=max(300, 3 * attempt)),
                # The LLM analyzer heartbeats while it waits, so a dead worker is noticed in seconds.
                heartbeat_timeout=timedelta(seconds=20) if self._repairs_enabled else None,
                retry_policy=retries.QUICK,
                summary="analyze the alert",
            )
        except ActivityError as exc:
            workflow.logger.warning("analysis failed, using fallback", extra={"error": str(exc.cause or exc)})
            return fallback_analysis(type(exc.cause or exc).__name__)

    async def _save(self, delivery: AlertDelivery | None, *, count: bool) -> None:
        state = self.require_state()
        delivery_id = delivery.delivery_id if delivery else f"{state.lifecycle_id}:{state.status.value}"
        if self._storm:
            try:
                state.frequency = await self._quick_step(
                    SAVE, Frequency,
                    SaveIncidentInput(view=state.view(), workflow_id=workflow.info().workflow_id,
                                      lifecycle_id=state.lifecycle_id, delivery_id=delivery_id,
                                      count_occurrence=count, at=workflow.now()),
                    summary="save the incident",
                )
            except ActivityError as exc:
                workflow.logger.error("incident record not saved", extra={"error": str(exc.cause or exc)})
            return
        try:
            state.frequency = await workflow.execute_activity(
                SAVE,
                SaveIncidentInput(
                    view=state.view(),
                    workflow_id=workflow.info().workflow_id,
                    lifecycle_id=state.lifecycle_id,
                    delivery_id=delivery_id,
                    count_occurrence=count,
                    at=workflow.now(),
                ),
                result_type=Frequency,
                start_to_close_timeout=timedelta(seconds=30),
                schedule_to_close_timeout=timedelta(minutes=10),
                retry_policy=retries.API,
                summary="save the incident",
            )
        except ActivityError as exc:
            # The card matters more than the record: go on, and say so in the log.
            workflow.logger.error("incident record not saved", extra={"error": str(exc.cause or exc)})

    async def _comment(self) -> None:
        state = self.require_state()
        ref = state.alert.sentry
        if ref is None or not ref.issue_id:
            return
        try:
            state.sentry_comment = await workflow.execute_activity(
                POST_COMMENT,
                SentryCommentInput(
                    view=state.view(), comment_key=f"{ref.issue_id}:{state.lifecycle_id}", at=workflow.now()
                ),
                result_type=str,
                start_to_close_timeout=timedelta(seconds=30),
                schedule_to_close_timeout=timedelta(minutes=30),
                retry_policy=retries.API,
                summary="comment on the Sentry issue",
            )
        except ActivityError as exc:
            state.sentry_comment = "failed"
            workflow.logger.error("sentry comment failed", extra={"error": str(exc.cause or exc)})

    async def _record(self, delivery: AlertDelivery) -> None:
        if self._probe:
            return  # probe-alerts-v1: a probe teaches nothing
        state = self.require_state()
        record = LearningRecordInput(
            incident_id=state.incident_id,
            anomaly_key=state.anomaly_key,
            delivery_id=delivery.delivery_id,
            status=state.status,
            analysis=state.analysis,
            occurrences=state.occurrences,
            at=workflow.now(),
        )
        try:
            if self._storm:
                await self._quick_step(RECORD, bool, record, summary="record for learning")
                return
            await workflow.execute_activity(
                RECORD,
                record,
                result_type=bool,
                start_to_close_timeout=timedelta(seconds=30),
                schedule_to_close_timeout=timedelta(minutes=10),
                retry_policy=retries.API,
                summary="record for learning",
            )
        except ActivityError as exc:
            workflow.logger.error("learning record failed", extra={"error": str(exc.cause or exc)})

    # -- helpers ----------------------------------------------------------------------------

    async def _set_status(self, status: IncidentStatus) -> None:
        await self._set_status_raw(status.value)

    async def _set_status_raw(self, status: str) -> None:
        workflow.upsert_search_attributes([sa.INCIDENT_STATUS.value_set(status)])


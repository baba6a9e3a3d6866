"""The analyze step: what is wrong, what it breaks, what to do.

The rule knowledge base always answers (pure CPU, deterministic), so an incident is never left
unanalysed. When an LLM is configured it is asked too, with the frequency and the learning history
as context; its validated answer is preferred, but any failure (timeout, HTTP error, invalid answer)
keeps the rule analysis and records why in ``Analysis.fallback_reason``. The LLM call can take tens
of seconds, so the activity heartbeats while it waits: the workflow's heartbeat timeout then notices
a dead worker long before the start-to-close timeout would.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable
from typing import Protocol, TypeVar

import structlog
from temporalio import activity

from core.errors import UpstreamError
from core.inputs import AnalyzeInput
from core.learning import LearningSummary
from core.models import Analysis, Frequency
from core.ports import Analyzer, AnomalyCounter

log = structlog.get_logger(__name__)

HEARTBEAT_SECONDS = 2.0  # well inside the workflow's 20 s heartbeat timeout
MAX_FALLBACK_REASON = 200

T = TypeVar("T")


class LearningHistory(Protocol):
    """What learning knows about an anomaly key (``core.learning_service.LearningService``)."""

    async def get_learning_summary(self, anomaly_key: str) -> LearningSummary: ...


class AnalysisActivities:
    """Rule analysis always; the LLM's analysis instead when one is configured and answers in time."""

    def __init__(
        self,
        rules: Analyzer,
        counter: AnomalyCounter,
        llm: Analyzer | None = None,
        learning: LearningHistory | None = None,
        llm_timeout_seconds: float = 30.0,
        *,
        heartbeat_seconds: float = HEARTBEAT_SECONDS,
    ) -> None:
        if llm_timeout_seconds <= 0 or heartbeat_seconds <= 0:
            raise ValueError("llm_timeout_seconds and heartbeat_seconds must be positive")
        self._rules = rules
        self._counter = counter
        self._llm = llm
        self._learning = learning
        self._llm_timeout = llm_timeout_seconds
        self._heartbeat = heartbeat_seconds

    @activity.defn(name="analyze_alert")
    async def analyze(self, inp: AnalyzeInput) -> Analysis:
        frequency = await self._frequency(inp.anomaly_key)
        # Learning history is prompt context: only read when there is a prompt to put it in.
        history = await self._history(inp.anomaly_key) if self._llm is not None else None
        analysis = await self._rules.analyze(inp.alert, frequency, history)
        if self._llm is not None:
            analysis = await self._ask_llm(self._llm, inp, frequency, history, analysis)
        log.info(
            "alert analyzed",
            anomaly_key=inp.anomaly_key,
            rule=analysis.rule_id,
            category=analysis.category,
            confidence=analysis.confidence,
            analyzed_by=analysis.analyzed_by,
            fallback_reason=analysis.fallback_reason,
        )
        return analysis

    async def _frequency(self, anomaly_key: str) -> Frequency | None:
        # Frequency is context for the analysis ("recurring 6 times today"); a Redis hiccup must not
        # block the analysis, so it degrades to no frequency rather than failing the step.
        try:
            return await self._counter.frequency(anomaly_key, activity.info().current_attempt_scheduled_time)
        except Exception as exc:  # noqa: BLE001 - degraded context is better than no analysis
            log.warning("frequency unavailable for analysis", anomaly_key=anomaly_key, error=type(exc).__name__)
            return None

    async def _history(self, anomaly_key: str) -> LearningSummary | None:
        """Learning history is prompt context only; without it the LLM still gets the alert."""
        if self._learning is None:
            return None
        try:
            return await self._learning.get_learning_summary(anomaly_key)
        except Exception as exc:  # noqa: BLE001 - degraded context is better than no analysis
            log.warning("learning history unavailable for analysis", anomaly_key=anomaly_key,
                        error=type(exc).__name__)
            return None

    async def _ask_llm(
        self,
        llm: Analyzer,
        inp: AnalyzeInput,
        frequency: Frequency | None,
        history: LearningSummary | None,
        rules: Analysis,
    ) -> Analysis:
        """The LLM's analysis, or ``rules`` with ``fallback_reason`` set when it cannot be used.

        Only ``UpstreamError`` messages are quoted: adapters build them without secrets. Any other
        exception is reduced to its type name, since its text may hold a URL or a header.
        Cancellation (``CancelledError``) is not caught: a cancelled activity must stop.
        """
        try:
            return await self._heartbeating(llm.analyze(inp.alert, frequency, history))
        except TimeoutError:
            reason = f"{llm.name} timed out after {self._llm_timeout:g}s"
        except UpstreamError as exc:
            reason = str(exc)
        except Exception as exc:  # noqa: BLE001 - any LLM failure leaves the rule analysis standing
            reason = f"{llm.name}: {type(exc).__name__}"
        reason = reason if len(reason) <= MAX_FALLBACK_REASON else reason[: MAX_FALLBACK_REASON - 1] + "…"
        log.warning("llm analysis not used, rule analysis stands", anomaly_key=inp.anomaly_key,
                    analyzer=llm.name, reason=reason)
        return rules.model_copy(update={"fallback_reason": reason})

    async def _heartbeating(self, call: Awaitable[T]) -> T:
        """Await ``call`` within the LLM timeout, heartbeating at the start and every interval."""
        task = asyncio.ensure_future(call)
        try:
            async with asyncio.timeout(self._llm_timeout):
                while True:
                    activity.heartbeat()
                    done, _ = await asyncio.wait({task}, timeout=self._heartbeat)
                    if done:
                        return task.result()
        finally:
            if not task.done():
                task.cancel()
                # Wait for the cancelled call to unwind (no orphaned HTTP request); whatever it
                # raises while unwinding must not replace the timeout or error being handled.
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task

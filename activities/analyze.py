"""The analyze step: what is wrong, what it breaks, what to do (rule knowledge base first)."""

from __future__ import annotations

import structlog
from temporalio import activity

from core.inputs import AnalyzeInput
from core.models import Analysis
from core.ports import Analyzer, AnomalyCounter

log = structlog.get_logger(__name__)


class AnalysisActivities:
    def __init__(self, analyzer: Analyzer, counter: AnomalyCounter) -> None:
        self._analyzer = analyzer
        self._counter = counter

    @activity.defn(name="analyze_alert")
    async def analyze(self, inp: AnalyzeInput) -> Analysis:
        # Frequency is context for the analysis ("recurring 6 times today"); a Redis hiccup must not
        # block the analysis, so it degrades to no frequency rather than failing the step.
        try:
            frequency = await self._counter.frequency(inp.anomaly_key, activity.info().current_attempt_scheduled_time)
        except Exception as exc:  # noqa: BLE001 - degraded context is better than no analysis
            log.warning("frequency unavailable for analysis", anomaly_key=inp.anomaly_key, error=type(exc).__name__)
            frequency = None
        analysis = await self._analyzer.analyze(inp.alert, frequency)
        log.info(
            "alert analyzed",
            anomaly_key=inp.anomaly_key,
            rule=analysis.rule_id,
            category=analysis.category,
            confidence=analysis.confidence,
            analyzed_by=analysis.analyzed_by,
        )
        return analysis

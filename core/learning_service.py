"""The learning service (seed phase G): what past repairs say about the next one.

Pure logic over a :class:`core.learning.LearningRepository`; it never holds a Redis client, so the
workflow's activities and the API share it with whatever storage the composition root wires in.
The thresholds are the named constants of ``core.learning``.

Why these formulas:

- An action is recommended only with MIN_SAMPLES results at SUCCESS_RATE_THRESHOLD or better, and
  never while it is *blocked* (it failed FAILURE_STREAK_BLOCK times in a row on this key and has
  not succeeded anywhere since): repeating a repair that just failed twice only delays a human.
- Qualifying actions are ranked by ``success_rate * ln(samples + 1)``: the logarithm lets a long
  track record outweigh a perfect but short one (0.9 over 20 beats 1.0 over 5), with diminishing
  returns for sheer volume. Ties go to the lower (less invasive) tier.
- ``confidence`` of a learned action is the lower bound of the 95 % Wilson score interval of its
  success rate (core/stats.py), ``based_on`` its count of results: 5 successes of 5 is "at least
  57 %", 20 of 20 "at least 84 %". The qualifying rule and the ranking above read the plain rate; what
  the recommendation *claims*, and so what reaches AWOOOI_AUTO_REPAIR_CONFIDENCE and SMART_CONFIDENCE,
  is the bound, so a short perfect record no longer runs a repair without asking
  (docs/adr/0026-timelines-from-histories.md).
- Without qualifying history the analysis decides: its recommended action and tier (passed in, or
  the last analysis recorded for the key in the occurrence log), and the seed's restart_pod default
  only when there is no analysis at all. Actions the analysis says do not help (a restart for a full
  disk) are never recommended, however well they did elsewhere on the key.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from core.learning import (
    BEST_ACTION_MIN_SAMPLES,
    DEFAULT_ACTION,
    DEFAULT_ALTERNATIVE,
    DEFAULT_CONFIDENCE,
    FAILURE_STREAK_BLOCK,
    MIN_SAMPLES,
    PLAYBOOK_MIN_SAMPLES,
    PLAYBOOK_MIN_SUCCESS_RATE,
    SMART_CONFIDENCE,
    SUCCESS_RATE_THRESHOLD,
    TIMING_WINDOW,
    ActionStats,
    Alternative,
    FixRecommendation,
    LearningRepository,
    LearningSummary,
    Playbook,
    RecordOutcome,
    RepairRecord,
    SmartRecommendation,
    SummaryStatus,
)
from core.models import Analysis, RepairAction
from core.ports import OccurrenceLog
from core.stats import wilson_lower

__all__ = ["LearningService", "confidence", "from_analysis", "score"]

_ALTERNATIVES = 2
# The fields of a SmartRecommendation whose origin ``sources`` reports.
_LEARNED_FIELDS = ("action", "tier", "confidence", "based_on", "avg_execution_seconds", "alternatives")
_ANALYSIS_FIELDS = ("root_cause", "fix_suggestion")


def score(stats: ActionStats) -> float:
    """``success_rate * ln(samples + 1)``: quality weighted by how much evidence there is."""
    return stats.success_rate * math.log(stats.total + 1)


def _ranking_key(stats: ActionStats) -> tuple[float, int, str]:
    # Higher score first, then the lower tier; the action name only makes the order total.
    return (-score(stats), stats.action.tier, stats.action.value)


def _best_action_key(stats: ActionStats) -> tuple[float, int, int, str]:
    return (-stats.success_rate, -stats.total, stats.action.tier, stats.action.value)


def _alternative(stats: ActionStats) -> Alternative:
    return Alternative(action=stats.action, confidence=confidence(stats), tier=stats.action.tier, based_on=stats.total)


def confidence(stats: ActionStats) -> float:
    """How sure learning is of an action: the Wilson lower bound of its success rate (95 %)."""
    return round(wilson_lower(stats.successes, stats.total), 4)


def _status(attempts: int, success_rate: float) -> SummaryStatus:
    """Evaluated in this order: too few to say anything, still learning, then how good it is."""
    if attempts < 3:
        return "insufficient"
    if attempts < 10:
        return "learning"
    if success_rate >= 0.8:
        return "excellent"
    return "sufficient"


def _beats(stats: ActionStats, stored: Playbook | None) -> bool:
    """A new playbook replaces the stored one only when it is better evidence: a higher success
    rate, or the same rate over more executions."""
    if stored is None:
        return True
    if stats.success_rate != stored.success_rate:
        return stats.success_rate > stored.success_rate
    return stats.total > stored.executions


def _describe(anomaly_key: str, stats: ActionStats) -> str:
    return (
        f"{stats.action.value} resolved {anomaly_key} in {stats.successes} of {stats.total} "
        f"recorded repairs ({stats.success_rate:.0%})."
    )


def _blocked(streaks: dict[RepairAction, int]) -> list[RepairAction]:
    return sorted((a for a, n in streaks.items() if n >= FAILURE_STREAK_BLOCK), key=lambda a: (a.tier, a.value))


@dataclass(frozen=True)
class _Knowledge:
    """One read of what the repository knows about a key, so a method decides on one snapshot."""

    stats: list[ActionStats]
    blocked: list[RepairAction]

    def qualifying(self, avoid: Sequence[RepairAction] = ()) -> list[ActionStats]:
        """Recommendable actions, best first; never one the analysis says does not help."""
        ok = [
            s for s in self.stats
            if s.total >= MIN_SAMPLES and s.success_rate >= SUCCESS_RATE_THRESHOLD and s.action not in self.blocked
            and s.action not in avoid
        ]
        return sorted(ok, key=_ranking_key)


@dataclass(frozen=True)
class _Hint:
    """What the analysis recommends for a key, when learning has nothing qualifying."""

    action: RepairAction
    tier: int
    confidence: float
    avoid: tuple[RepairAction, ...] = ()

    @classmethod
    def of(cls, analysis: Analysis) -> _Hint:
        repair = analysis.recommended_repair
        return cls(repair.action, repair.tier, analysis.confidence, tuple(analysis.avoid_actions))

    @classmethod
    def from_record(cls, record: dict[str, object]) -> _Hint | None:
        """An occurrence record (activities/incident/learning.py); None when it is unreadable."""
        try:
            action = RepairAction(str(record["recommended_action"]))
            avoid = tuple(RepairAction(str(a)) for a in record.get("avoid_actions") or ())  # type: ignore[union-attr]
            confidence = float(record.get("confidence") or 0.0)  # type: ignore[arg-type]
        except (KeyError, ValueError, TypeError):
            return None
        return cls(action, action.tier, confidence, avoid)


class LearningService:
    def __init__(self, repo: LearningRepository, occurrences: OccurrenceLog | None = None) -> None:
        self._repo = repo
        # The occurrence log knows the last analysis of a key, for callers that have none (API, CLI).
        self._occurrences = occurrences

    # ------------------------------------------------------------------------------------ writing

    async def record_repair_result(self, record: RepairRecord) -> RecordOutcome:
        """Record a repair's outcome once per ``repair_id`` and learn from it.

        The playbook check runs even when the record was already there: a retry after a crash
        between recording and saving the playbook must still save it (the check is idempotent,
        since an equal playbook never "beats" the stored one).
        """
        recorded = await self._repo.add_repair_result(record)
        stats = await self._repo.action_stats(record.anomaly_key)
        this = next((s for s in stats if s.action is record.action), ActionStats(action=record.action))
        playbook_updated = await self._update_playbook(record, this)
        return RecordOutcome(
            recorded=recorded,
            playbook_updated=playbook_updated,
            blocked=await self.is_blocked(record.anomaly_key, record.action),
        )

    async def _update_playbook(self, record: RepairRecord, stats: ActionStats) -> bool:
        if stats.total < PLAYBOOK_MIN_SAMPLES or stats.success_rate < PLAYBOOK_MIN_SUCCESS_RATE:
            return False
        if not _beats(stats, await self._repo.get_playbook(record.anomaly_key)):
            return False
        await self._repo.save_playbook(
            Playbook(
                anomaly_key=record.anomaly_key,
                root_cause=record.root_cause,
                action=record.action,
                description=_describe(record.anomaly_key, stats),
                success_rate=stats.success_rate,
                executions=stats.total,
                source="auto_learning",
                updated_at=record.at,
            )
        )
        return True

    # ------------------------------------------------------------------------------------ reading

    async def _knowledge(self, anomaly_key: str) -> _Knowledge:
        stats = await self._repo.action_stats(anomaly_key)
        streaks = await self._repo.failure_streaks(anomaly_key)
        return _Knowledge(stats=stats, blocked=_blocked(streaks))

    async def is_blocked(self, anomaly_key: str, action: RepairAction) -> bool:
        streaks = await self._repo.failure_streaks(anomaly_key)
        return streaks.get(action, 0) >= FAILURE_STREAK_BLOCK

    async def playbooks(self) -> list[Playbook]:
        return await self._repo.playbooks()

    async def get_recommended_fix(self, anomaly_key: str, analysis: Analysis | None = None) -> FixRecommendation:
        hint = _Hint.of(analysis) if analysis is not None else await self._last_analysis(anomaly_key)
        return await self._recommend(anomaly_key, await self._knowledge(anomaly_key), hint)

    async def _last_analysis(self, anomaly_key: str) -> _Hint | None:
        if self._occurrences is None:
            return None
        for record in await self._occurrences.recent(anomaly_key, 1):
            return _Hint.from_record(record)
        return None

    async def _recommend(self, anomaly_key: str, knowledge: _Knowledge, hint: _Hint | None = None) -> FixRecommendation:
        ranked = knowledge.qualifying(hint.avoid if hint else ())
        if not ranked:
            return _from_hint(anomaly_key, hint) if hint else _default(anomaly_key)
        best = ranked[0]
        return FixRecommendation(
            anomaly_key=anomaly_key,
            action=best.action,
            confidence=confidence(best),
            tier=best.action.tier,
            based_on=best.total,
            avg_execution_seconds=await self._average_execution(anomaly_key, best.action),
            alternatives=[_alternative(s) for s in ranked[1 : 1 + _ALTERNATIVES]],
            source="learning",
        )

    async def _average_execution(self, anomaly_key: str, action: RepairAction) -> float | None:
        """Mean execution time of the last TIMING_WINDOW records: recent runs predict the next
        one better than the whole history. None when the records have expired."""
        records = await self._repo.recent_records(anomaly_key, action, TIMING_WINDOW)
        if not records:
            return None
        return sum(r.execution_seconds for r in records) / len(records)

    async def get_learning_summary(self, anomaly_key: str) -> LearningSummary:
        knowledge = await self._knowledge(anomaly_key)
        attempts = sum(s.total for s in knowledge.stats)
        successes = sum(s.successes for s in knowledge.stats)
        rate = successes / attempts if attempts else 0.0
        candidates = sorted((s for s in knowledge.stats if s.total >= BEST_ACTION_MIN_SAMPLES), key=_best_action_key)
        return LearningSummary(
            anomaly_key=anomaly_key,
            occurrences=await self._repo.occurrences(anomaly_key),
            repair_attempts=attempts,
            success_rate=rate,
            actions_tried=sorted(knowledge.stats, key=lambda s: (-s.total, s.action.tier, s.action.value)),
            best_action=candidates[0].action if candidates else None,
            status=_status(attempts, rate),
            blocked_actions=knowledge.blocked,
        )

    async def smart_recommendation(self, anomaly_key: str, analysis: Analysis) -> SmartRecommendation:
        """Learning when it is sure, learning's action with the analysis' explanation when it
        is less sure, the analysis alone when learning has nothing qualifying."""
        knowledge = await self._knowledge(anomaly_key)
        fix = await self._recommend(anomaly_key, knowledge, _Hint.of(analysis))
        if fix.source != "learning":
            return from_analysis(anomaly_key, analysis, knowledge.blocked)
        if fix.confidence >= SMART_CONFIDENCE:
            playbook = await self._repo.get_playbook(anomaly_key)
            return _from_learning(fix, analysis, playbook, knowledge.blocked)
        return _merged(fix, analysis, knowledge.blocked)


def _from_hint(anomaly_key: str, hint: _Hint) -> FixRecommendation:
    """No qualifying history: the analysis' own action and tier, at the analysis' confidence."""
    return FixRecommendation(
        anomaly_key=anomaly_key,
        action=hint.action,
        confidence=hint.confidence,
        tier=hint.tier,
        based_on=0,
        source="analysis",
    )


def _default(anomaly_key: str) -> FixRecommendation:
    """The seed's answer when nothing has been learned: the least invasive restart."""
    return FixRecommendation(
        anomaly_key=anomaly_key,
        action=DEFAULT_ACTION,
        confidence=DEFAULT_CONFIDENCE,
        tier=DEFAULT_ACTION.tier,
        based_on=0,
        alternatives=[
            Alternative(action=DEFAULT_ALTERNATIVE, confidence=DEFAULT_CONFIDENCE, tier=DEFAULT_ALTERNATIVE.tier, based_on=0)
        ],
        source="default",
    )


def _learned_fields(fix: FixRecommendation) -> dict[str, object]:
    return {
        "anomaly_key": fix.anomaly_key,
        "action": fix.action,
        "tier": fix.tier,
        "confidence": fix.confidence,
        "based_on": fix.based_on,
        "avg_execution_seconds": fix.avg_execution_seconds,
        "alternatives": fix.alternatives,
    }


def _from_learning(
    fix: FixRecommendation, analysis: Analysis, playbook: Playbook | None, blocked: list[RepairAction]
) -> SmartRecommendation:
    """The playbook's root cause is what was true when this action kept working; without one
    (or with an empty one) the analysis explains the anomaly."""
    root_from_playbook = playbook is not None and bool(playbook.root_cause)
    return SmartRecommendation(
        **_learned_fields(fix),
        root_cause=playbook.root_cause if root_from_playbook else analysis.root_cause,
        fix_suggestion=analysis.fix_suggestion,
        source="learning",
        sources={
            **dict.fromkeys(_LEARNED_FIELDS, "learning"),
            "root_cause": "learning" if root_from_playbook else "analysis",
            "fix_suggestion": "analysis",
        },
        blocked_actions=blocked,
    )


def _merged(fix: FixRecommendation, analysis: Analysis, blocked: list[RepairAction]) -> SmartRecommendation:
    return SmartRecommendation(
        **_learned_fields(fix),
        root_cause=analysis.root_cause,
        fix_suggestion=analysis.fix_suggestion,
        source="merged",
        sources={**dict.fromkeys(_LEARNED_FIELDS, "learning"), **dict.fromkeys(_ANALYSIS_FIELDS, "analysis")},
        blocked_actions=blocked,
    )


def from_analysis(
    anomaly_key: str, analysis: Analysis, blocked: Sequence[RepairAction] = ()
) -> SmartRecommendation:
    """The analysis' own recommendation: learning knows nothing usable (or cannot be asked). Learned failures still count: if the analysis proposes an
    action that is blocked here, nothing is left to try automatically, so escalate."""
    action = analysis.recommended_repair.action
    return SmartRecommendation(
        anomaly_key=anomaly_key,
        action=action,
        tier=analysis.recommended_repair.tier,
        confidence=analysis.confidence,
        based_on=0,
        root_cause=analysis.root_cause,
        fix_suggestion=analysis.fix_suggestion,
        source="analysis",
        sources=dict.fromkeys(("action", "tier", "confidence", *_ANALYSIS_FIELDS), "analysis"),
        blocked_actions=list(blocked),
        escalate=action in blocked,
    )

"""The learning service over the real Redis repository: every formula and each boundary.

Histories are recorded failures first, then successes, so no history ends in a failure streak
unless a test means it to (a streak of FAILURE_STREAK_BLOCK blocks the action).
"""

from __future__ import annotations

import itertools
import math
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis

from activities.valkey.counter import RedisAnomalyCounter
from activities.valkey.learning import RedisLearningRepository
from core.learning import (
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
    RepairRecord,
)
from core.learning_service import LearningService, score
from core.models import Analysis, RecommendedRepair, RepairAction

KEY = "disk:db"
NOW = datetime.now(UTC).replace(microsecond=0)
RESTART = RepairAction.RESTART_POD  # tier 1
RESTART_CONTAINER = RepairAction.RESTART_CONTAINER  # tier 1
DELETE = RepairAction.DELETE_POD  # tier 1
SCALE_UP = RepairAction.SCALE_UP  # tier 2
HOTFIX = RepairAction.APPLY_HOTFIX  # tier 3
_ids = itertools.count()


def record(action: RepairAction, success: bool, key: str = KEY, **extra: object) -> RepairRecord:
    fields: dict[str, object] = {
        "repair_id": f"rep-{next(_ids)}",
        "incident_id": "inc-1",
        "anomaly_key": key,
        "action": action,
        "success": success,
        "execution_seconds": 2.0,
        "executor": "dry-run",
        "root_cause": "logs filled the disk",
        "at": NOW,
    }
    return RepairRecord.model_validate(fields | extra)


@pytest.fixture
def repo(redis: Redis) -> RedisLearningRepository:
    return RedisLearningRepository(redis)


@pytest.fixture
def service(repo: RedisLearningRepository) -> LearningService:
    return LearningService(repo)


async def history(
    service: LearningService, action: RepairAction, successes: int, failures: int = 0, key: str = KEY
) -> None:
    """Failures first, then successes, through the service (so playbooks are learned too)."""
    for success in [False] * failures + [True] * successes:
        await service.record_repair_result(record(action, success, key))


async def seed(repo: RedisLearningRepository, action: RepairAction, successes: int, failures: int = 0) -> None:
    """The same, straight into the repository: data learned without a playbook (or just faster)."""
    for success in [False] * failures + [True] * successes:
        await repo.add_repair_result(record(action, success))


def analysis(action: RepairAction = SCALE_UP, tier: int = 2, confidence: float = 0.55) -> Analysis:
    return Analysis(
        category="resource", root_cause="disk almost full", impact="writes fail", fix_suggestion="rotate the logs",
        prevention="log retention", confidence=confidence, analyzed_by="rules",
        recommended_repair=RecommendedRepair(action=action, tier=tier),
    )


# ------------------------------------------------------------------------------ recommended fix


async def test_with_nothing_learned_the_default_restart_pod(service: LearningService) -> None:
    fix = await service.get_recommended_fix(KEY)
    assert (fix.action, fix.confidence, fix.tier, fix.based_on, fix.source) == (RESTART, 0.3, 1, 0, "default")
    assert fix.confidence == DEFAULT_CONFIDENCE
    assert [a.action for a in fix.alternatives] == [DELETE]
    assert fix.avg_execution_seconds is None


async def test_four_samples_are_not_enough_five_are(service: LearningService) -> None:
    assert MIN_SAMPLES == 5
    await history(service, SCALE_UP, successes=4)
    assert (await service.get_recommended_fix(KEY)).source == "default"
    await history(service, SCALE_UP, successes=1)
    fix = await service.get_recommended_fix(KEY)
    # confidence is the Wilson lower bound (core/stats.py): 5 of 5 is "at least 57 %", not 100 %.
    assert (fix.source, fix.action, fix.confidence, fix.tier, fix.based_on) == ("learning", SCALE_UP, 0.5655, 2, 5)


async def test_a_rate_of_exactly_0_6_qualifies(service: LearningService, repo: RedisLearningRepository) -> None:
    assert SUCCESS_RATE_THRESHOLD == 0.6
    await seed(repo, SCALE_UP, successes=3, failures=2)
    fix = await service.get_recommended_fix(KEY)
    assert (fix.action, fix.confidence, fix.based_on) == (SCALE_UP, 0.2307, 5)  # qualifies on the rate, claims the bound


async def test_a_rate_just_below_0_6_does_not(service: LearningService, repo: RedisLearningRepository) -> None:
    await seed(repo, SCALE_UP, successes=59, failures=40)  # 59/99 = 0.596
    assert (await service.get_recommended_fix(KEY)).source == "default"
    await seed(repo, SCALE_UP, successes=1)  # 60/100 = 0.6
    assert (await service.get_recommended_fix(KEY)).action == SCALE_UP


async def test_score_prefers_a_long_record_over_a_short_perfect_one(
    service: LearningService, repo: RedisLearningRepository
) -> None:
    perfect_short = ActionStats(action=RESTART, total=5, successes=5)
    good_long = ActionStats(action=SCALE_UP, total=20, successes=18)
    assert score(perfect_short) == pytest.approx(1.0 * math.log(6))  # 1.79
    assert score(good_long) == pytest.approx(0.9 * math.log(21))  # 2.74
    await seed(repo, RESTART, successes=5)
    await seed(repo, SCALE_UP, successes=18, failures=2)
    fix = await service.get_recommended_fix(KEY)
    assert (fix.action, fix.confidence, fix.tier, fix.based_on) == (SCALE_UP, 0.699, 2, 20)  # 18/20: >= 69.9 %
    assert fix.alternatives == [Alternative(action=RESTART, confidence=0.5655, tier=1, based_on=5)]


async def test_a_score_tie_goes_to_the_lower_tier(service: LearningService, repo: RedisLearningRepository) -> None:
    # apply_hotfix sorts first by name and is recorded first: only the tier can make scale_up win.
    await seed(repo, HOTFIX, successes=5)
    await seed(repo, SCALE_UP, successes=5)
    fix = await service.get_recommended_fix(KEY)
    assert (fix.action, fix.tier) == (SCALE_UP, 2)
    assert [a.action for a in fix.alternatives] == [HOTFIX]


async def test_average_execution_time_is_over_the_last_20_records_only(
    service: LearningService, repo: RedisLearningRepository
) -> None:
    assert TIMING_WINDOW == 20
    for _ in range(5):
        await repo.add_repair_result(record(RESTART, True, execution_seconds=100.0))
    for i in range(20):
        await repo.add_repair_result(record(RESTART, True, execution_seconds=float(i)))
    fix = await service.get_recommended_fix(KEY)
    assert fix.based_on == 25
    assert fix.avg_execution_seconds == pytest.approx(sum(range(20)) / 20)  # the five slow ones are older


async def test_the_next_two_qualifying_actions_are_the_alternatives(
    service: LearningService, repo: RedisLearningRepository
) -> None:
    await seed(repo, RESTART, successes=10)  # 1.0 * ln 11 = 2.40
    await seed(repo, DELETE, successes=8, failures=2)  # 0.8 * ln 11 = 1.92
    await seed(repo, SCALE_UP, successes=5)  # 1.0 * ln 6 = 1.79
    await seed(repo, HOTFIX, successes=3, failures=2)  # 0.6 * ln 6 = 1.08
    await seed(repo, RESTART_CONTAINER, successes=4)  # too few samples
    fix = await service.get_recommended_fix(KEY)
    assert fix.action == RESTART
    assert fix.alternatives == [
        Alternative(action=DELETE, confidence=0.4902, tier=1, based_on=10),  # 8/10: [0.490, 0.943]
        Alternative(action=SCALE_UP, confidence=0.5655, tier=2, based_on=5),
    ]


# ------------------------------------------------------------------------------------ playbooks


async def test_playbook_needs_five_samples(service: LearningService, repo: RedisLearningRepository) -> None:
    assert PLAYBOOK_MIN_SAMPLES == 5
    for _ in range(4):
        outcome = await service.record_repair_result(record(RESTART, True))
        assert outcome.recorded and not outcome.playbook_updated
    assert await service.playbooks() == []
    fifth = record(RESTART, True, at=NOW + timedelta(minutes=5))
    assert (await service.record_repair_result(fifth)).playbook_updated is True
    playbook = await repo.get_playbook(KEY)
    assert playbook is not None
    assert (playbook.action, playbook.success_rate, playbook.executions) == (RESTART, 1.0, 5)
    assert (playbook.root_cause, playbook.source, playbook.updated_at) == ("logs filled the disk", "auto_learning", fifth.at)
    assert playbook.description == "restart_pod resolved disk:db in 5 of 5 recorded repairs (100%)."
    assert await service.playbooks() == [playbook]


async def test_playbook_at_exactly_80_percent(service: LearningService) -> None:
    assert PLAYBOOK_MIN_SUCCESS_RATE == 0.8
    await history(service, RESTART, successes=3, failures=1)
    outcome = await service.record_repair_result(record(RESTART, True))  # 4/5 = 0.8
    assert outcome.playbook_updated is True
    [playbook] = await service.playbooks()
    assert (playbook.success_rate, playbook.executions) == (0.8, 5)


async def test_no_playbook_just_below_80_percent(service: LearningService) -> None:
    # 4 failures then 15 successes: k/(k+4) stays below 0.8 for every k <= 15; it ends at 15/19 = 0.789.
    await history(service, RESTART, successes=15, failures=4)
    assert await service.playbooks() == []
    outcome = await service.record_repair_result(record(RESTART, True))  # 16/20 = 0.8
    assert outcome.playbook_updated is True


async def test_a_playbook_is_replaced_only_by_a_better_one(service: LearningService, repo: RedisLearningRepository) -> None:
    await history(service, RESTART, successes=4, failures=1)  # 0.8 over 5
    assert (await repo.get_playbook(KEY)).action == RESTART  # type: ignore[union-attr]

    await history(service, DELETE, successes=5)  # higher rate
    assert (await repo.get_playbook(KEY)).action == DELETE  # type: ignore[union-attr]

    outcome = await service.record_repair_result(record(RESTART, True))  # 5/6 = 0.83 < 1.0
    assert outcome.playbook_updated is False
    assert (await repo.get_playbook(KEY)).action == DELETE  # type: ignore[union-attr]

    sixth = record(DELETE, True)
    assert (await service.record_repair_result(sixth)).playbook_updated is True  # same rate, more executions
    assert (await repo.get_playbook(KEY)).executions == 6  # type: ignore[union-attr]

    retried = await service.record_repair_result(sixth)  # an equal playbook does not beat the stored one
    assert (retried.recorded, retried.playbook_updated) == (False, False)


async def test_a_repair_id_is_recorded_once(service: LearningService, repo: RedisLearningRepository) -> None:
    rec = record(RESTART, False)
    assert (await service.record_repair_result(rec)).recorded is True
    assert (await service.record_repair_result(rec)).recorded is False
    assert await repo.action_stats(KEY) == [ActionStats(action=RESTART, total=1, successes=0)]
    assert await service.is_blocked(KEY, RESTART) is False, "the retried failure did not extend the streak"


# -------------------------------------------------------------------------------------- summary


@pytest.mark.parametrize(
    ("successes", "failures", "status"),
    [
        (2, 0, "insufficient"),  # 2 attempts, even at 100%
        (3, 0, "learning"),
        (9, 0, "learning"),  # 9 attempts, even at 100%
        (8, 2, "excellent"),  # 10 attempts at exactly 0.8
        (7, 3, "sufficient"),  # 10 attempts at 0.7
    ],
)
async def test_summary_status(
    service: LearningService, repo: RedisLearningRepository, successes: int, failures: int, status: str
) -> None:
    await seed(repo, RESTART, successes=successes, failures=failures)
    summary = await service.get_learning_summary(KEY)
    assert summary.repair_attempts == successes + failures
    assert summary.success_rate == pytest.approx(successes / (successes + failures))
    assert summary.status == status


async def test_summary_counts_occurrences_actions_and_blocked(
    redis: Redis, service: LearningService, repo: RedisLearningRepository
) -> None:
    counter = RedisAnomalyCounter(redis)
    for occurrence in ("o1", "o2", "o3"):
        await counter.record(KEY, occurrence, NOW)
    await seed(repo, DELETE, successes=2, failures=1)
    await seed(repo, RESTART, successes=2)
    await seed(repo, SCALE_UP, successes=0, failures=2)
    summary = await service.get_learning_summary(KEY)
    assert summary.occurrences == 3
    assert summary.repair_attempts == 7
    assert summary.success_rate == pytest.approx(4 / 7)
    assert summary.actions_tried == [
        ActionStats(action=DELETE, total=3, successes=2),
        ActionStats(action=RESTART, total=2, successes=2),
        ActionStats(action=SCALE_UP, total=2, successes=0),
    ]
    assert summary.best_action == DELETE, "restart_pod's 100% is over only 2 samples"
    assert summary.blocked_actions == [SCALE_UP]
    assert summary.status == "learning"


async def test_empty_summary(service: LearningService) -> None:
    summary = await service.get_learning_summary("never:seen")
    assert (summary.occurrences, summary.repair_attempts, summary.success_rate) == (0, 0, 0.0)
    assert (summary.best_action, summary.status, summary.actions_tried) == (None, "insufficient", [])


async def test_best_action_tie_goes_to_more_samples_then_lower_tier(
    service: LearningService, repo: RedisLearningRepository
) -> None:
    await seed(repo, HOTFIX, successes=3)
    await seed(repo, SCALE_UP, successes=3)
    assert (await service.get_learning_summary(KEY)).best_action == SCALE_UP, "same rate and samples: lower tier"
    await seed(repo, HOTFIX, successes=1)
    assert (await service.get_learning_summary(KEY)).best_action == HOTFIX, "same rate, more samples"


# ---------------------------------------------------------------------------- failure streaks


async def test_two_failures_in_a_row_block_and_a_success_on_the_key_unblocks(service: LearningService) -> None:
    assert FAILURE_STREAK_BLOCK == 2
    assert (await service.record_repair_result(record(RESTART, False))).blocked is False
    assert (await service.record_repair_result(record(RESTART, False))).blocked is True
    assert await service.is_blocked(KEY, RESTART) is True
    assert await service.is_blocked(KEY, DELETE) is False
    await service.record_repair_result(record(DELETE, True))
    assert await service.is_blocked(KEY, RESTART) is True, "another action's success does not unblock it"
    assert (await service.record_repair_result(record(RESTART, True))).blocked is False
    assert (await service.record_repair_result(record(RESTART, False))).blocked is False, "the streak restarted"


async def test_a_success_on_another_key_unblocks(service: LearningService) -> None:
    await history(service, RESTART, successes=0, failures=2)
    await history(service, RESTART, successes=0, failures=2, key="cpu:api")
    assert await service.is_blocked(KEY, RESTART) and await service.is_blocked("cpu:api", RESTART)
    await service.record_repair_result(record(RESTART, True, key="mem:worker"))
    assert not await service.is_blocked(KEY, RESTART)
    assert not await service.is_blocked("cpu:api", RESTART)


async def test_a_blocked_action_is_not_recommended(service: LearningService, repo: RedisLearningRepository) -> None:
    await seed(repo, RESTART, successes=10)
    await seed(repo, DELETE, successes=5)
    await seed(repo, RESTART, successes=0, failures=2)  # 10/12 = 0.83, but the last two failed
    fix = await service.get_recommended_fix(KEY)
    assert fix.action == DELETE
    assert RESTART not in [a.action for a in fix.alternatives]


# ------------------------------------------------------------------------- smart recommendation


async def test_smart_learning_with_the_playbooks_root_cause(service: LearningService) -> None:
    assert SMART_CONFIDENCE == 0.8
    # Learning alone needs its Wilson lower bound at 0.8: 24 of 25 (>= 80.5 %), with a playbook.
    await history(service, RESTART, successes=24, failures=1)
    smart = await service.smart_recommendation(KEY, analysis())
    assert (smart.source, smart.action, smart.tier, smart.confidence, smart.based_on) == (
        "learning", RESTART, 1, 0.8046, 25)
    assert smart.avg_execution_seconds == 2.0
    assert smart.root_cause == "logs filled the disk"
    assert smart.fix_suggestion == "rotate the logs"
    assert smart.sources["action"] == smart.sources["confidence"] == "learning"
    assert smart.sources["root_cause"] == "learning"
    assert smart.sources["fix_suggestion"] == "analysis"
    assert (smart.escalate, smart.blocked_actions) == (False, [])


async def test_smart_learning_without_a_playbook_explains_with_the_analysis(
    service: LearningService, repo: RedisLearningRepository
) -> None:
    await seed(repo, RESTART, successes=20)  # straight into the repository: no playbook
    smart = await service.smart_recommendation(KEY, analysis())
    assert (smart.source, smart.action, smart.confidence) == ("learning", RESTART, 0.8389)  # 20/20
    assert (smart.root_cause, smart.sources["root_cause"]) == ("disk almost full", "analysis")


async def test_smart_merged_below_0_8(service: LearningService, repo: RedisLearningRepository) -> None:
    await seed(repo, DELETE, successes=15, failures=5)  # 0.75 over 20: at least 0.53
    await seed(repo, RESTART, successes=3, failures=2)
    smart = await service.smart_recommendation(KEY, analysis(confidence=0.9))
    assert (smart.source, smart.action, smart.tier, smart.confidence, smart.based_on) == (
        "merged", DELETE, 1, 0.5313, 20)
    assert [a.action for a in smart.alternatives] == [RESTART]
    assert (smart.root_cause, smart.fix_suggestion) == ("disk almost full", "rotate the logs")
    assert smart.sources == {
        "action": "learning", "tier": "learning", "confidence": "learning", "based_on": "learning",
        "avg_execution_seconds": "learning", "alternatives": "learning",
        "root_cause": "analysis", "fix_suggestion": "analysis",
    }


async def test_smart_analysis_when_learning_has_nothing(service: LearningService, repo: RedisLearningRepository) -> None:
    await seed(repo, RESTART, successes=4)  # too few to qualify
    smart = await service.smart_recommendation(KEY, analysis(SCALE_UP, tier=2, confidence=0.55))
    assert (smart.source, smart.action, smart.tier, smart.confidence, smart.based_on) == ("analysis", SCALE_UP, 2, 0.55, 0)
    assert set(smart.sources.values()) == {"analysis"}
    assert (smart.escalate, smart.blocked_actions, smart.alternatives) == (False, [], [])


async def test_a_blocked_analysis_action_escalates(service: LearningService) -> None:
    await history(service, SCALE_UP, successes=0, failures=2)
    smart = await service.smart_recommendation(KEY, analysis(SCALE_UP, tier=2))
    assert (smart.source, smart.action) == ("analysis", SCALE_UP)
    assert smart.blocked_actions == [SCALE_UP]
    assert smart.escalate is True


async def test_blocked_actions_are_reported_even_when_learning_answers(
    service: LearningService, repo: RedisLearningRepository
) -> None:
    await seed(repo, RESTART, successes=20)  # sure enough to answer alone (>= 0.8 at 95 %)
    await history(service, SCALE_UP, successes=0, failures=2)
    smart = await service.smart_recommendation(KEY, analysis(SCALE_UP, tier=2))
    assert (smart.source, smart.action, smart.escalate) == ("learning", RESTART, False)
    assert smart.blocked_actions == [SCALE_UP]


# ------------------------------------------------- no history: the analysis decides (issue 10)


def full_disk() -> Analysis:
    return analysis(RepairAction.MANUAL_INTERVENTION, tier=4, confidence=0.85).model_copy(
        update={"avoid_actions": [RESTART, RESTART_CONTAINER, DELETE, SCALE_UP]}
    )


async def test_without_history_the_fix_follows_the_analysis(service: LearningService) -> None:
    fix = await service.get_recommended_fix(KEY, full_disk())
    assert (fix.source, fix.action, fix.tier, fix.confidence) == ("analysis", RepairAction.MANUAL_INTERVENTION, 4, 0.85)
    assert RESTART not in [a.action for a in fix.alternatives]


async def test_an_action_the_analysis_says_does_not_help_is_never_learned(
    service: LearningService, repo: RedisLearningRepository
) -> None:
    await seed(repo, RESTART, successes=10)  # restarts "worked" before, but the disk stays full
    smart = await service.smart_recommendation(KEY, full_disk())
    assert (smart.source, smart.action) == ("analysis", RepairAction.MANUAL_INTERVENTION)
    fix = await service.get_recommended_fix(KEY, full_disk())
    assert fix.action is not RESTART


async def test_without_an_analysis_the_last_recorded_one_decides(redis: Redis, repo: RedisLearningRepository) -> None:
    from activities.valkey.incidents import RedisOccurrenceLog

    log = RedisOccurrenceLog(redis)
    service = LearningService(repo, log)
    assert (await service.get_recommended_fix(KEY)).source == "default"
    record_ = {"recommended_action": "manual_intervention", "tier": 4, "confidence": 0.85,
               "avoid_actions": ["restart_pod", "scale_up"]}
    await log.append(KEY, "inc-1:d-1", record_)
    await seed(repo, RESTART, successes=10)
    fix = await service.get_recommended_fix(KEY)
    assert (fix.source, fix.action, fix.tier) == ("analysis", RepairAction.MANUAL_INTERVENTION, 4)


async def test_summary_has_the_seeds_field_names_too(service: LearningService) -> None:
    await history(service, SCALE_UP, successes=3, failures=1)
    body = (await service.get_learning_summary(KEY)).model_dump(mode="json")
    assert body["total_repair_attempts"] == body["repair_attempts"] == 4
    assert body["overall_success_rate"] == body["success_rate"] == 0.75
    assert body["learning_status"] == body["status"] == "learning"
    assert body["total_occurrences"] == body["occurrences"]

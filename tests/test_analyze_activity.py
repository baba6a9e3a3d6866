"""The analyze_alert activity in Temporal's ActivityEnvironment, with the real RuleAnalyzer, a real
Valkey counter and the loopback LLM: the LLM's answer when it is usable, otherwise the rule analysis
with ``fallback_reason``; heartbeats while the LLM is awaited."""

from __future__ import annotations

import dataclasses
import json
import socket
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import structlog
from redis.asyncio import Redis
from temporalio.testing import ActivityEnvironment

from activities.analysis import LlmAnalyzer, RuleAnalyzer
from activities.analysis.activity import AnalysisActivities
from activities.valkey.counter import RedisAnomalyCounter
from core.inputs import AnalyzeInput
from core.learning import ActionStats, LearningSummary
from core.models import Alert, AlertStatus, Analysis, RepairAction, Severity, Source
from tests.loopback.openai import GOOD_ANSWER, OpenAILoopback

MODEL = "gpt-4o-mini"
KEY = "shop/checkout/KubePodOOMKilled"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
ALERT = Alert(
    source=Source.ALERTMANAGER,
    fingerprint="fp-oom",
    status=AlertStatus.FIRING,
    severity=Severity.CRITICAL,
    title="KubePodOOMKilled",
    service="checkout",
    labels={"alertname": "KubePodOOMKilled", "namespace": "shop", "pod": "checkout-7d9f"},
    annotations={"description": "Container checkout was OOM killed."},
)
SUMMARY = LearningSummary(
    anomaly_key=KEY,
    occurrences=3,
    repair_attempts=5,
    success_rate=0.8,
    actions_tried=[ActionStats(action=RepairAction.RESTART_POD, total=5, successes=4)],
    best_action=RepairAction.RESTART_POD,
    status="learning",
)


class FixedHistory:
    """A LearningHistory with a known summary (the service itself is tested in test_learning)."""

    def __init__(self, summary: LearningSummary | None = None) -> None:
        self.summary = summary
        self.asked: list[str] = []

    async def get_learning_summary(self, anomaly_key: str) -> LearningSummary:
        self.asked.append(anomaly_key)
        if self.summary is None:
            raise ConnectionError("learning store unreachable")
        return self.summary


@pytest.fixture
async def counter(redis: Redis) -> RedisAnomalyCounter:
    counter = RedisAnomalyCounter(redis)
    for minutes in (5, 30, 300):
        await counter.record(KEY, f"occurrence-{minutes}", NOW - timedelta(minutes=minutes))
    return counter


@pytest.fixture
def heartbeats() -> list[tuple[Any, ...]]:
    return []


@pytest.fixture
def env(heartbeats: list[tuple[Any, ...]]) -> ActivityEnvironment:
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, current_attempt_scheduled_time=NOW)
    env.on_heartbeat = lambda *details: heartbeats.append(details)
    return env


def _llm(http: httpx.AsyncClient, openai: OpenAILoopback, timeout: float = 5.0) -> LlmAnalyzer:
    return LlmAnalyzer(http, openai.api_base, MODEL, api_key=openai.api_key, timeout_seconds=timeout)


async def _run(env: ActivityEnvironment, activities: AnalysisActivities) -> Analysis:
    return await env.run(activities.analyze, AnalyzeInput(alert=ALERT, anomaly_key=KEY))


async def _rules_alone() -> Analysis:
    return await RuleAnalyzer().analyze(ALERT)


async def test_the_llm_answer_is_used(env, heartbeats, counter, http, openai) -> None:
    history = FixedHistory(SUMMARY)
    activities = AnalysisActivities(RuleAnalyzer(), counter, _llm(http, openai), history, llm_timeout_seconds=5)

    analysis = await _run(env, activities)

    assert analysis.analyzed_by == f"llm:{MODEL}"
    assert analysis.root_cause == GOOD_ANSWER["root_cause"]
    assert analysis.fallback_reason is None and analysis.rule_id is None
    assert history.asked == [KEY]
    assert heartbeats, "the activity heartbeats while it waits for the LLM"
    user = openai.requests[0]["messages"][1]["content"]
    assert "Seen 3 times in total, 2 in the last hour, 3 in the last 24 hours" in user
    assert "restart_pod: 4/5 succeeded" in user
    assert "KubePodOOMKilled" in user


async def test_an_llm_timeout_keeps_the_rules_and_heartbeats(env, heartbeats, counter, http, openai) -> None:
    openai.answer_next(GOOD_ANSWER, delay=5.0)
    activities = AnalysisActivities(
        RuleAnalyzer(), counter, _llm(http, openai), FixedHistory(SUMMARY), llm_timeout_seconds=0.5,
        heartbeat_seconds=0.1,
    )
    started = time.monotonic()

    analysis = await _run(env, activities)

    assert time.monotonic() - started < 2.0
    assert analysis.analyzed_by == "rules"
    assert analysis.fallback_reason == f"llm:{MODEL} timed out after 0.5s"
    rules = await _rules_alone()
    assert analysis.model_copy(update={"fallback_reason": None}) == rules
    assert len(heartbeats) >= 3


async def test_the_analyzers_own_timeout_also_falls_back(env, counter, http, openai) -> None:
    openai.answer_next(GOOD_ANSWER, delay=5.0)
    activities = AnalysisActivities(RuleAnalyzer(), counter, _llm(http, openai, timeout=0.2), llm_timeout_seconds=5)
    analysis = await _run(env, activities)
    assert analysis.analyzed_by == "rules"
    assert analysis.fallback_reason == f"llm:{MODEL} timed out after 0.2s"


@pytest.mark.parametrize(
    ("script", "reason"),
    [
        (lambda o: o.answer_next("I think the pod ran out of memory."), "answer is not JSON"),
        (lambda o: o.answer_next({**GOOD_ANSWER, "recommended_action": "pray"}), "recommended_action"),
        (lambda o: o.fail_next(500, "The server had an error"), "HTTP 500: The server had an error"),
        (lambda o: o.fail_next(429, "Rate limit reached", type_="requests", code="rate_limit_exceeded"),
         "HTTP 429"),
    ],
    ids=["malformed", "schema", "server-error", "rate-limited"],
)
async def test_an_unusable_llm_answer_keeps_the_rules(env, counter, http, openai, script, reason) -> None:
    script(openai)
    activities = AnalysisActivities(RuleAnalyzer(), counter, _llm(http, openai), llm_timeout_seconds=5)
    with structlog.testing.capture_logs() as events:
        analysis = await _run(env, activities)

    assert analysis.analyzed_by == "rules"
    assert analysis.rule_id == (await _rules_alone()).rule_id
    assert analysis.fallback_reason is not None and reason in analysis.fallback_reason
    [warning] = [e for e in events if e["log_level"] == "warning"]
    assert warning["analyzer"] == f"llm:{MODEL}" and warning["reason"] == analysis.fallback_reason
    assert openai.api_key is not None
    assert openai.api_key not in json.dumps(events, default=str)


async def test_without_an_llm_the_rules_answer(env, heartbeats, counter) -> None:
    history = FixedHistory(SUMMARY)
    analysis = await _run(env, AnalysisActivities(RuleAnalyzer(), counter, learning=history))
    assert analysis == await _rules_alone()
    assert analysis.analyzed_by == "rules" and analysis.fallback_reason is None
    assert heartbeats == []
    assert history.asked == [], "no prompt, so no reason to read the learning history"


async def test_missing_context_still_asks_the_llm(env, http, openai) -> None:
    """Frequency and history are best effort: a dead Valkey and a failing learning store leave the
    LLM with the alert alone, not the incident without analysis."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    dead = Redis.from_url(f"redis://127.0.0.1:{port}/0", socket_connect_timeout=0.5)
    try:
        activities = AnalysisActivities(
            RuleAnalyzer(), RedisAnomalyCounter(dead), _llm(http, openai), FixedHistory(None), llm_timeout_seconds=5
        )
        analysis = await _run(env, activities)
    finally:
        await dead.aclose()
    assert analysis.analyzed_by == f"llm:{MODEL}"
    user = openai.requests[0]["messages"][1]["content"]
    assert "## Frequency\nUnknown." in user and "## Learning history\nNone available." in user

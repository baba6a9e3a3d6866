"""LlmAnalyzer against the loopback chat-completions API over real HTTP: a valid answer becomes an
Analysis; every way an answer can be unusable (transport, timeout, HTTP status, not JSON, wrong
schema) becomes an UpstreamError whose text never carries the API key or URL credentials."""

from __future__ import annotations

import json
import socket
import time

import httpx
import pytest

from activities.analysis.llm import MAX_USER_PROMPT_CHARS, MAX_VALUE_CHARS, LlmAnalyzer, parse_answer
from core.errors import RateLimited, UpstreamError
from core.learning import ActionStats, LearningSummary
from core.models import Alert, AlertStatus, Frequency, RepairAction, SentryRef, Severity, Source
from tests.loopback.openai import GOOD_ANSWER, OpenAILoopback

MODEL = "gpt-4o-mini"


@pytest.fixture
def analyzer(http: httpx.AsyncClient, openai: OpenAILoopback) -> LlmAnalyzer:
    return LlmAnalyzer(http, openai.api_base, MODEL, api_key=openai.api_key, timeout_seconds=2.0)


def _alert(**overrides: object) -> Alert:
    fields: dict[str, object] = {
        "source": Source.ALERTMANAGER,
        "fingerprint": "fp-1",
        "status": AlertStatus.FIRING,
        "severity": Severity.CRITICAL,
        "title": "KubePodOOMKilled",
        "service": "checkout",
        "labels": {"alertname": "KubePodOOMKilled", "namespace": "shop", "pod": "checkout-7d9f"},
        "annotations": {"description": "Container checkout in pod checkout-7d9f was OOM killed."},
    }
    fields.update(overrides)
    return Alert.model_validate(fields)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _assert_secret_free(exc: BaseException, *secrets: str) -> None:
    for secret in secrets:
        for text in (str(exc), repr(exc), str(exc.args)):
            assert secret not in text, text


# ------------------------------------------------------------------------------------------- success


async def test_a_valid_answer_becomes_the_analysis(analyzer: LlmAnalyzer, openai: OpenAILoopback) -> None:
    analysis = await analyzer.analyze(_alert())

    assert analysis.analyzed_by == f"llm:{MODEL}" == analyzer.name
    assert analysis.category == "memory"
    assert analysis.root_cause == GOOD_ANSWER["root_cause"]
    assert analysis.confidence == 0.82
    assert analysis.recommended_repair.action is RepairAction.RESTART_POD
    assert analysis.recommended_repair.tier == 1
    assert analysis.recommended_repair.reason == GOOD_ANSWER["reason"]
    assert analysis.rule_id is None and analysis.fallback_reason is None

    [request] = openai.requests
    assert request["model"] == MODEL
    assert request["temperature"] == 0
    assert request["response_format"] == {"type": "json_object"}
    assert [m["role"] for m in request["messages"]] == ["system", "user"]
    assert openai.authorizations == [f"Bearer {openai.api_key}"]


async def test_the_tier_comes_from_the_action(analyzer: LlmAnalyzer, openai: OpenAILoopback) -> None:
    openai.answer_next({**GOOD_ANSWER, "recommended_action": "Rollback", "category": "Application"})
    analysis = await analyzer.analyze(_alert())
    assert analysis.recommended_repair.action is RepairAction.ROLLBACK
    assert analysis.recommended_repair.tier == 3
    assert analysis.category == "application"


async def test_a_fenced_answer_is_accepted(analyzer: LlmAnalyzer, openai: OpenAILoopback) -> None:
    openai.answer_next(f"Here is the analysis:\n```json\n{json.dumps(GOOD_ANSWER, indent=2)}\n```\n")
    analysis = await analyzer.analyze(_alert())
    assert analysis.recommended_repair.action is RepairAction.RESTART_POD
    assert analysis.impact == GOOD_ANSWER["impact"]


async def test_without_a_key_no_authorization_is_sent(http: httpx.AsyncClient) -> None:
    """Ollama and vLLM run without keys; an empty Bearer header would be noise at best."""
    with OpenAILoopback(api_key=None) as server:
        analysis = await LlmAnalyzer(http, server.api_base + "/", "llama3.1:8b").analyze(_alert())
        assert server.authorizations == [None]
        assert server.violations == []
    assert analysis.analyzed_by == "llm:llama3.1:8b"


def test_parse_answer_normalises_the_spelling_of_an_action() -> None:
    answer = parse_answer(json.dumps({**GOOD_ANSWER, "recommended_action": " Scale-Up "}))
    assert answer.recommended_action is RepairAction.SCALE_UP


def test_parse_answer_finds_json_after_reasoning_text() -> None:
    answer = parse_answer("<think>memory, probably</think>\n" + json.dumps(GOOD_ANSWER))
    assert answer.confidence == 0.82


# ------------------------------------------------------------------------------------------ the prompt


async def test_the_prompt_holds_the_alert_frequency_and_history(
    analyzer: LlmAnalyzer, openai: OpenAILoopback
) -> None:
    alert = _alert(
        source=Source.SENTRY,
        labels={"alertname": "KubePodOOMKilled", "namespace": "shop"},
        sentry=SentryRef(exception_type="MemoryError", exception_value="cannot allocate 2GiB", culprit="cart.py"),
    )
    frequency = Frequency(count=12, last_1h=3, last_24h=9)
    history = LearningSummary(
        anomaly_key="shop/checkout/oom",
        occurrences=12,
        repair_attempts=5,
        success_rate=0.8,
        actions_tried=[ActionStats(action=RepairAction.RESTART_POD, total=5, successes=4)],
        best_action=RepairAction.RESTART_POD,
        status="learning",
        blocked_actions=[RepairAction.DELETE_POD],
    )
    await analyzer.analyze(alert, frequency, history)

    system, user = (m["content"] for m in openai.requests[0]["messages"])
    for text in ("KubePodOOMKilled", "sentry", "critical", "checkout", "namespace: shop",
                 "was OOM killed", "MemoryError", "cannot allocate 2GiB", "cart.py"):
        assert text in user, text
    assert "Seen 12 times in total, 3 in the last hour, 9 in the last 24 hours" in user
    for text in ("Repair attempts: 5", "80%", "restart_pod: 4/5 succeeded", "Best action so far: restart_pod",
                 "learning status: learning", "delete_pod"):
        assert text in user, text
    for action in RepairAction:
        assert action.value in system
    for key in ("category", "root_cause", "impact", "fix_suggestion", "prevention", "confidence",
                "recommended_action", "reason"):
        assert f'"{key}"' in system


async def test_the_prompt_is_bounded(analyzer: LlmAnalyzer, openai: OpenAILoopback) -> None:
    labels = {f"label_{i:03}": "x" * 5000 for i in range(200)}
    await analyzer.analyze(_alert(labels=labels, annotations={"description": "y" * 50_000}))
    user = openai.requests[0]["messages"][1]["content"]
    assert len(user) <= MAX_USER_PROMPT_CHARS
    assert "x" * (MAX_VALUE_CHARS + 1) not in user
    assert "y" * 5000 not in user


async def test_the_prompt_holds_the_alerts_own_words_and_the_knowledge_base_candidate(
    analyzer: LlmAnalyzer, openai: OpenAILoopback
) -> None:
    runbook = "https://runbooks.prometheus-operator.dev/runbooks/kubernetes/kubedaemonsetrolloutstuck"
    alert = _alert(title="KubeDaemonSetRolloutStuck",
                   labels={"alertname": "KubeDaemonSetRolloutStuck", "namespace": "monitoring",
                           "daemonset": "node-exporter"},
                   annotations={"summary": "DaemonSet rollout is stuck.",
                                "description": "DaemonSet monitoring/node-exporter has not finished or progressed.",
                                "runbook_url": runbook})
    analysis = await analyzer.analyze(alert)

    system, user = (m["content"] for m in openai.requests[0]["messages"])
    own = user.split("## The alert's own words\n", 1)[1]
    assert own.startswith("DaemonSet rollout is stuck. — DaemonSet monitoring/node-exporter has not finished")
    assert f"Runbook: {runbook}" in own
    candidate = user.split("## Knowledge base candidate\n", 1)[1]
    assert "Rule: kube-rollout-stuck" in candidate and "Failure mode: rollout; technology: kubernetes" in candidate
    assert "daemonset/node-exporter -n monitoring" in candidate
    assert "runbook" in system and "not recognised" in system
    # The model's answer is used, and it still carries what the alert itself said.
    assert analysis.analyzed_by == f"llm:{MODEL}" and analysis.alert_says.startswith("DaemonSet rollout is stuck.")
    assert [link.title for link in analysis.alert_links][0] == "Runbook"


async def test_without_context_the_prompt_says_so(analyzer: LlmAnalyzer, openai: OpenAILoopback) -> None:
    await analyzer.analyze(_alert())
    user = openai.requests[0]["messages"][1]["content"]
    assert "## Frequency\nUnknown." in user
    assert "## Learning history\nNone available." in user


# -------------------------------------------------------------------------------------- bad answers


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("The pod ran out of memory; restart it.", "not JSON"),
        ("[1, 2, 3]", "not a JSON object"),
        (json.dumps({**GOOD_ANSWER, "recommended_action": "reboot_the_datacenter"}), "recommended_action"),
        (json.dumps({**GOOD_ANSWER, "confidence": 1.5}), "confidence"),
        (json.dumps({**GOOD_ANSWER, "confidence": "very"}), "confidence"),
        (json.dumps({k: v for k, v in GOOD_ANSWER.items() if k not in ("root_cause", "impact")}), "root_cause"),
        (json.dumps({**GOOD_ANSWER, "fix_suggestion": "   "}), "fix_suggestion"),
        ("   ", "empty answer"),
    ],
    ids=["prose", "array", "unknown-action", "confidence-1.5", "confidence-text", "missing-fields", "blank-field",
         "empty"],
)
async def test_an_unusable_answer_is_an_upstream_error(
    analyzer: LlmAnalyzer, openai: OpenAILoopback, content: str, reason: str
) -> None:
    openai.answer_next(content)
    with pytest.raises(UpstreamError) as caught:
        await analyzer.analyze(_alert())
    assert str(caught.value).startswith(f"llm:{MODEL}: ")
    assert reason in str(caught.value)
    assert caught.value.retryable is False
    assert len(str(caught.value)) < 300


async def test_a_server_error_is_retryable(analyzer: LlmAnalyzer, openai: OpenAILoopback) -> None:
    openai.fail_next(500, "The server had an error while processing your request.")
    with pytest.raises(UpstreamError) as caught:
        await analyzer.analyze(_alert())
    assert caught.value.status_code == 500 and caught.value.retryable
    assert str(caught.value) == f"llm:{MODEL}: HTTP 500: The server had an error while processing your request."


async def test_rate_limited_carries_retry_after(analyzer: LlmAnalyzer, openai: OpenAILoopback) -> None:
    openai.fail_next(429, "Rate limit reached for gpt-4o-mini on requests per min (RPM): Limit 3.",
                     type_="requests", code="rate_limit_exceeded", headers={"retry-after": "7"})
    with pytest.raises(RateLimited) as caught:
        await analyzer.analyze(_alert())
    assert caught.value.retry_after == 7.0
    assert "HTTP 429: Rate limit reached" in str(caught.value)


async def test_a_client_error_is_not_retryable(analyzer: LlmAnalyzer, openai: OpenAILoopback) -> None:
    openai.fail_next(404, "The model `gpt-9` does not exist", type_="invalid_request_error",
                     code="model_not_found")
    with pytest.raises(UpstreamError) as caught:
        await analyzer.analyze(_alert())
    assert caught.value.status_code == 404 and not caught.value.retryable


async def test_a_slow_server_fails_within_the_bound(http: httpx.AsyncClient, openai: OpenAILoopback) -> None:
    analyzer = LlmAnalyzer(http, openai.api_base, MODEL, api_key=openai.api_key, timeout_seconds=0.3)
    openai.answer_next(GOOD_ANSWER, delay=5.0)
    started = time.monotonic()
    with pytest.raises(UpstreamError) as caught:
        await analyzer.analyze(_alert())
    assert time.monotonic() - started < 1.5
    assert str(caught.value) == f"llm:{MODEL} timed out after 0.3s"
    assert caught.value.retryable


async def test_a_refused_connection_is_a_retryable_upstream_error(http: httpx.AsyncClient) -> None:
    analyzer = LlmAnalyzer(http, f"http://127.0.0.1:{_closed_port()}/v1", MODEL, api_key="sk-x")
    with pytest.raises(UpstreamError) as caught:
        await analyzer.analyze(_alert())
    assert caught.value.retryable
    assert "127.0.0.1" not in str(caught.value)


# ------------------------------------------------------------------------------------------- secrets


async def test_the_key_never_appears_in_error_text(http: httpx.AsyncClient, openai: OpenAILoopback) -> None:
    key = openai.api_key
    assert key is not None
    analyzer = LlmAnalyzer(http, openai.api_base, MODEL, api_key=key, timeout_seconds=0.3)
    # A proxy that echoes the key it was given, a timeout, and a schema error: none may show it.
    openai.fail_next(502, f"upstream refused the key {key} (Bearer {key})", type_="proxy_error")
    openai.answer_next(GOOD_ANSWER, delay=5.0)
    openai.answer_next({**GOOD_ANSWER, "confidence": 7})
    for _ in range(3):
        with pytest.raises(UpstreamError) as caught:
            await analyzer.analyze(_alert())
        _assert_secret_free(caught.value, key)

    openai.fail_next(502, f"upstream refused the key {key}", type_="proxy_error")
    with pytest.raises(UpstreamError) as caught:
        await analyzer.analyze(_alert())
    assert str(caught.value) == f"llm:{MODEL}: HTTP 502: upstream refused the key <redacted>"


async def test_a_wrong_key_is_rejected_without_echoing_it(http: httpx.AsyncClient, openai: OpenAILoopback) -> None:
    wrong = "sk-wrong-key-9876543210"
    with pytest.raises(UpstreamError) as caught:
        await LlmAnalyzer(http, openai.api_base, MODEL, api_key=wrong).analyze(_alert())
    assert caught.value.status_code == 401 and not caught.value.retryable
    _assert_secret_free(caught.value, wrong)


async def test_url_credentials_never_appear_in_error_text(http: httpx.AsyncClient) -> None:
    analyzer = LlmAnalyzer(http, f"http://proxyuser:s3cr3t-pw@127.0.0.1:{_closed_port()}/v1", MODEL)
    with pytest.raises(UpstreamError) as caught:
        await analyzer.analyze(_alert())
    _assert_secret_free(caught.value, "s3cr3t-pw", "proxyuser")
    assert "s3cr3t-pw" not in repr(analyzer)


def test_a_non_positive_timeout_is_refused(http: httpx.AsyncClient) -> None:
    with pytest.raises(ValueError):
        LlmAnalyzer(http, "http://127.0.0.1:1/v1", MODEL, timeout_seconds=0)

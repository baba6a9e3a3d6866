"""LlmAnalyzer: alert analysis by any OpenAI-compatible chat-completions API.

One wire format covers OpenAI, Ollama (``http://localhost:11434/v1``), vLLM and LiteLLM, so the
base URL (including its version path) and the model name are all that differ between them.

The model sees the alert, how often it recurs and what repairs learning has seen work, so it can
say more than a static rule; but its answer is untrusted text. It is parsed as JSON and validated
against :class:`LlmAnswer` (a known repair action, confidence in 0..1, every field present), and
anything else (transport error, timeout, non-2xx, 429, invalid JSON, wrong schema) raises
``UpstreamError``, so the analyze activity can keep the rule analysis instead.

Error messages are built here, never formatted from a library exception: httpx puts URLs into its
exception text, and the base URL may carry credentials. The API key travels only in the
``Authorization`` header and is redacted from any text the server sends back.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Annotated, Any, NoReturn

import httpx
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, field_validator

from activities.analysis.rules import RuleAnalyzer
from activities.failures import retry_after_seconds
from core.alert_words import alert_links, alert_words
from activities.redaction import hiding, redact
from core.errors import RateLimited, UpstreamError
from core.learning import LearningSummary
from core.models import ACTION_TIERS, Alert, Analysis, Frequency, RecommendedRepair, RepairAction

__all__ = ["LlmAnalyzer", "LlmAnswer", "build_messages", "parse_answer"]

# Prompt bounds: alerts carry arbitrary label/annotation values (stack traces, whole PromQL
# expressions); a prompt that grows with them costs tokens and time and can overflow the context.
MAX_VALUE_CHARS = 300
MAX_ITEMS = 40
MAX_DESCRIPTION_CHARS = 1500
MAX_USER_PROMPT_CHARS = 8000
# Text fields of an answer are cut to this before they reach the card.
MAX_ANSWER_FIELD_CHARS = 2000
MAX_REASON_CHARS = 300

_TIER_MEANING = {
    1: "safe automatic restart",
    2: "resource change",
    3: "code, config or deployment change",
    4: "a human decides",
}
_CATEGORIES = (
    "application, availability, cache, capacity, certificate, cpu, database, disk, hardware, host, "
    "http, kubernetes, latency, memory, monitoring, network, queue, security, time, tracing"
)

_FENCED = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.DOTALL)

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class LlmAnswer(BaseModel):
    """The JSON object the model must answer with. Extra keys are ignored (models like to add
    some); a missing key, an unknown action or a confidence outside 0..1 is an invalid answer."""

    model_config = ConfigDict(extra="ignore")

    category: Text
    root_cause: Text
    impact: Text
    fix_suggestion: Text
    prevention: Text
    confidence: float = Field(ge=0.0, le=1.0)
    recommended_action: RepairAction
    reason: Text

    @field_validator("recommended_action", mode="before")
    @classmethod
    def _normalise_action(cls, value: object) -> object:
        """Models vary the spelling ("Restart_Pod ", "restart-pod"); the meaning is what counts."""
        if isinstance(value, str):
            return value.strip().lower().replace("-", "_").replace(" ", "_")
        return value

    @field_validator("category", mode="after")
    @classmethod
    def _lower_category(cls, value: str) -> str:
        return value.lower()


def _cut(text: str, limit: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _mapping(title: str, values: dict[str, str]) -> list[str]:
    if not values:
        return []
    items = sorted(values.items())
    lines = [f"{title}:"] + [f"  {k}: {_cut(v, MAX_VALUE_CHARS)}" for k, v in items[:MAX_ITEMS]]
    if len(items) > MAX_ITEMS:
        lines.append(f"  ... {len(items) - MAX_ITEMS} more omitted")
    return lines


def _alert_section(alert: Alert) -> list[str]:
    lines = [
        "## Alert",
        f"Title: {_cut(alert.title, MAX_VALUE_CHARS)}",
        f"Source: {alert.source.value}",
        f"Status: {alert.status.value}",
        f"Severity: {alert.severity.value}",
        f"Service: {_cut(alert.service, MAX_VALUE_CHARS)}",
    ]
    if alert.starts_at is not None:
        lines.append(f"Started at: {alert.starts_at.isoformat()}")
    if alert.description:
        lines.append(f"Description: {_cut(alert.description, MAX_DESCRIPTION_CHARS)}")
    lines += _mapping("Labels", alert.labels)
    lines += _mapping("Annotations", alert.annotations)
    sentry = alert.sentry
    if sentry is not None and (sentry.exception_type or sentry.exception_value or sentry.culprit):
        lines.append("Sentry exception:")
        for label, value in (("type", sentry.exception_type), ("value", sentry.exception_value),
                             ("culprit", sentry.culprit)):
            if value:
                lines.append(f"  {label}: {_cut(value, MAX_VALUE_CHARS * 2)}")
    return lines


def _own_words_section(alert: Alert) -> list[str]:
    """What the alert itself says and links: its authors know it better than any knowledge base."""
    lines = ["## The alert's own words"]
    words = alert_words(alert, MAX_DESCRIPTION_CHARS)
    lines.append(words or "None (the alert carries no summary or description).")
    lines += [f"{link.title}: {_cut(link.url, MAX_VALUE_CHARS)}" for link in alert_links(alert)]
    return lines


def _candidate_section(candidate: Analysis | None) -> list[str]:
    """The rule knowledge base's analysis, so the model starts from it instead of from nothing."""
    if candidate is None:
        return ["## Knowledge base candidate", "None."]
    return [
        "## Knowledge base candidate",
        f"Rule: {candidate.rule_id or 'generic'} (confidence {candidate.confidence:.2f})",
        f"Failure mode: {candidate.failure_mode or 'not recognised'}; technology: {candidate.technology or 'unknown'}",
        f"Root cause: {_cut(candidate.root_cause, MAX_VALUE_CHARS * 2)}",
        f"Fix: {_cut(candidate.fix_suggestion, MAX_VALUE_CHARS * 2)}",
        f"Recommended action: {candidate.recommended_repair.action.value}",
    ]


def _frequency_section(frequency: Frequency | None) -> list[str]:
    if frequency is None:
        return ["## Frequency", "Unknown."]
    lines = [
        "## Frequency",
        f"Seen {frequency.count} times in total, {frequency.last_1h} in the last hour, "
        f"{frequency.last_24h} in the last 24 hours.",
    ]
    if frequency.first_seen is not None:
        lines.append(f"First seen: {frequency.first_seen.isoformat()}")
    return lines


def _history_section(history: LearningSummary | None) -> list[str]:
    if history is None:
        return ["## Learning history", "None available."]
    lines = [
        "## Learning history",
        f"Repair attempts: {history.repair_attempts}, overall success rate: {history.success_rate:.0%}, "
        f"learning status: {history.status}.",
    ]
    if history.actions_tried:
        lines.append("Actions tried:")
        lines += [f"  {s.action.value}: {s.successes}/{s.total} succeeded ({s.success_rate:.0%})"
                  for s in history.actions_tried[:MAX_ITEMS]]
    if history.best_action is not None:
        lines.append(f"Best action so far: {history.best_action.value}")
    if history.blocked_actions:
        blocked = ", ".join(a.value for a in history.blocked_actions)
        lines.append(f"Blocked actions (failed repeatedly here; never recommend them): {blocked}")
    return lines


def system_prompt() -> str:
    """What the model must answer: the exact JSON shape and the closed list of actions."""
    actions = "\n".join(
        f"- {action.value} (tier {tier}: {_TIER_MEANING[tier]})" for action, tier in ACTION_TIERS.items()
    )
    return (
        "You are an experienced site reliability engineer analysing one production alert for an "
        "AIOps pipeline. Use the alert, its frequency and the learning history of past repairs.\n"
        "Answer with a single JSON object and nothing else, with exactly these keys:\n"
        "{\n"
        f'  "category": "one lowercase word, e.g. {_CATEGORIES}",\n'
        '  "root_cause": "the most likely cause, concrete and specific to this alert",\n'
        '  "impact": "what breaks for users or systems",\n'
        '  "fix_suggestion": "the steps an operator should take now",\n'
        '  "prevention": "how to keep it from happening again",\n'
        '  "confidence": a number from 0 to 1,\n'
        '  "recommended_action": "one of the actions listed below",\n'
        '  "reason": "one sentence: why this action"\n'
        "}\n"
        f"recommended_action must be exactly one of:\n{actions}\n"
        "Prefer the lowest tier that addresses the cause. Do not recommend a restart for a problem "
        "a restart cannot fix, and never an action the history lists as blocked. If the evidence "
        "is thin, choose manual_intervention with a low confidence.\n"
        "The alert's own words (summary, description, runbook) come from the people who wrote the "
        "alert: build on them and point to the runbook when there is one. The knowledge base "
        "candidate is a starting point: keep its failure mode unless the alert contradicts it, and "
        "when it says the failure mode was not recognised, do not invent a confident story."
    )


def user_prompt(alert: Alert, frequency: Frequency | None, history: LearningSummary | None,
                candidate: Analysis | None = None) -> str:
    """The facts, bounded: long values are cut and the whole text is capped. The alert's own words
    and the knowledge base's candidate come first, so a cut never drops them."""
    text = "\n".join([*_alert_section(alert), "", *_own_words_section(alert), "", *_candidate_section(candidate), "",
                      *_frequency_section(frequency), "", *_history_section(history)])
    if len(text) > MAX_USER_PROMPT_CHARS:
        text = text[: MAX_USER_PROMPT_CHARS - 20] + "\n... (truncated)"
    return text


def build_messages(
    alert: Alert, frequency: Frequency | None = None, history: LearningSummary | None = None,
    candidate: Analysis | None = None,
) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": system_prompt()},
        {"role": "user", "content": user_prompt(alert, frequency, history, candidate)},
    ]


def _json_text(content: str) -> str:
    """The JSON inside an answer: a ```json fenced block, or the outermost ``{...}`` (reasoning
    models put text around it), or the content itself."""
    fenced = _FENCED.search(content)
    if fenced:
        return fenced.group(1).strip()
    stripped = content.strip()
    if stripped.startswith("{"):
        return stripped
    start, end = stripped.find("{"), stripped.rfind("}")
    return stripped[start : end + 1] if 0 <= start < end else stripped


def _schema_problem(exc: ValidationError) -> str:
    """A short, value-free summary (the model's text may be long; the field and rule suffice)."""
    parts = [f"{'.'.join(str(p) for p in e['loc']) or 'answer'}: {e['type']}" for e in exc.errors()[:3]]
    more = f" (+{exc.error_count() - 3} more)" if exc.error_count() > 3 else ""
    return "; ".join(parts) + more


def parse_answer(content: str) -> LlmAnswer:
    """Parse and validate a model's message content. Raises ``ValueError`` with a short reason."""
    try:
        data = json.loads(_json_text(content))
    except json.JSONDecodeError as exc:
        raise ValueError("answer is not JSON") from exc
    if not isinstance(data, dict):
        raise ValueError("answer is not a JSON object")
    try:
        return LlmAnswer.model_validate(data)
    except ValidationError as exc:
        raise ValueError(f"answer does not match the schema ({_schema_problem(exc)})") from exc


class LlmAnalyzer:
    """The ``Analyzer`` port backed by an OpenAI-compatible ``/chat/completions`` endpoint."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: str,
        model: str,
        api_key: str | None = None,
        timeout_seconds: float = 30.0,
    ) -> None:
        if timeout_seconds <= 0:
            raise ValueError("timeout_seconds must be positive")
        self.name = f"llm:{model}"
        self._rules = RuleAnalyzer()
        self._http = http
        self._url = f"{base_url.rstrip('/')}/chat/completions"
        self._model = model
        self._api_key = api_key or None
        self._timeout_seconds = timeout_seconds
        # Per phase, and the whole call is also bounded (a slow trickle of bytes resets httpx's
        # read timeout, so only an overall deadline really bounds the call).
        self._timeout = httpx.Timeout(timeout_seconds, connect=min(timeout_seconds, 10.0))
        url = httpx.URL(self._url)
        self._secrets = hiding(self._api_key, url.password, url.userinfo.decode() or None)

    def __repr__(self) -> str:
        return f"LlmAnalyzer(model={self._model!r})"

    async def analyze(
        self, alert: Alert, frequency: Frequency | None = None, history: LearningSummary | None = None
    ) -> Analysis:
        # The knowledge base's candidate is pure CPU (well under a millisecond), so the model always
        # gets it, whoever calls; the activity's own rule analysis is the same deterministic answer.
        candidate = await self._rules.analyze(alert, frequency, history)
        body = await self._complete(build_messages(alert, frequency, history, candidate))
        content = self._content(body)
        try:
            answer = parse_answer(content)
        except ValueError as exc:
            raise UpstreamError(f"{self.name}: {exc}", retryable=False) from exc
        action = answer.recommended_action
        return Analysis(
            category=_cut(answer.category, 60),
            root_cause=_cut(answer.root_cause, MAX_ANSWER_FIELD_CHARS),
            impact=_cut(answer.impact, MAX_ANSWER_FIELD_CHARS),
            fix_suggestion=_cut(answer.fix_suggestion, MAX_ANSWER_FIELD_CHARS),
            prevention=_cut(answer.prevention, MAX_ANSWER_FIELD_CHARS),
            confidence=round(answer.confidence, 2),
            analyzed_by=self.name,
            recommended_repair=RecommendedRepair(
                action=action, tier=action.tier, reason=_cut(answer.reason, MAX_REASON_CHARS)
            ),
            rule_id=None,
            alert_says=candidate.alert_says,
            alert_links=candidate.alert_links,
        )

    async def _complete(self, messages: list[dict[str, str]]) -> dict[str, Any]:
        """POST the chat completion; return the decoded body of a 2xx answer or raise UpstreamError."""
        payload = {
            "model": self._model,
            "messages": messages,
            "temperature": 0,
            "response_format": {"type": "json_object"},
        }
        headers = {"Authorization": f"Bearer {self._api_key}"} if self._api_key else {}
        try:
            async with asyncio.timeout(self._timeout_seconds):
                response = await self._http.post(self._url, json=payload, headers=headers, timeout=self._timeout)
        except (TimeoutError, httpx.TimeoutException) as exc:
            raise UpstreamError(
                f"{self.name} timed out after {self._timeout_seconds:g}s", retryable=True
            ) from exc
        except (httpx.TransportError, httpx.DecodingError) as exc:
            raise UpstreamError(f"{self.name}: {type(exc).__name__}", retryable=True) from exc
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise UpstreamError(f"{self.name}: {type(exc).__name__}", retryable=False) from exc
        status = response.status_code
        try:
            body = response.json()
        except ValueError:
            body = None
        if not 200 <= status < 300:
            self._raise_status(status, body, response.headers.get("retry-after"))
        if not isinstance(body, dict):
            raise UpstreamError(f"{self.name}: HTTP {status} without a JSON object body", retryable=True,
                                status_code=status)
        return body

    def _raise_status(self, status: int, body: object, retry_after: str | None) -> NoReturn:
        """Map a non-2xx answer (OpenAI's ``{"error": {"message", "type", "code"}}``) onto core.errors."""
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict):
            detail = str(error.get("message") or error.get("code") or "no message")
        elif isinstance(error, str):  # some compatible servers (Ollama) answer {"error": "..."}
            detail = error
        else:
            detail = "no error message"
        message = f"{self.name}: HTTP {status}: {self._redact(_cut(detail, 200))}"
        if status == 429:
            raise RateLimited(message, retry_after=retry_after_seconds(retry_after))
        raise UpstreamError(message, retryable=status >= 500 or status in (408, 409), status_code=status)

    def _content(self, body: dict[str, Any]) -> str:
        try:
            choice = body["choices"][0]
            content = choice["message"]["content"]
        except (KeyError, IndexError, TypeError) as exc:
            raise UpstreamError(f"{self.name}: answer without choices[0].message.content", retryable=False) from exc
        if not isinstance(content, str) or not content.strip():
            raise UpstreamError(f"{self.name}: empty answer", retryable=False)
        return content

    def _redact(self, text: str) -> str:
        return redact(text, self._secrets)

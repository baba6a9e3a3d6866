"""What reached the chat, with arrival times: the Telegram loopback plus the bench's counting.

An alert is *shown* by a message when the message's final text (after every edit) contains the
alert's unique ``instance`` label (bench/payloads.py): its own card, or its line in a digest card.
"Shown exactly once" means exactly one message in the chat shows it, whatever kind it is.
"""

from __future__ import annotations

import re
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from tests.loopback import Response, decode_json
from tests.loopback.telegram import TelegramLoopback

_ANY_ALERT = re.compile(r"node-([0-9a-f]{6})-(\d{5})")
_TEXT_METHODS = {"sendmessage", "editmessagetext"}


@dataclass(frozen=True)
class Call:
    at: float  # time.monotonic() when the request arrived
    method: str
    ok: bool
    alerts: frozenset[str]  # "run-i" of every alert the text names


class TimedTelegram(TelegramLoopback):
    """The contract-checking Telegram loopback, also noting when each call arrived and which
    alerts its text names, so end-to-end latency is webhook -> the sendMessage that shows it."""

    def __init__(self) -> None:
        super().__init__()
        self.timed: list[Call] = []
        self.first_shown: dict[str, float] = {}

    def handle(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Response:
        at = time.monotonic()
        answer = super().handle(method, path, headers, body)
        name = path.rsplit("/", 1)[-1].split("?", 1)[0].lower()
        params = decode_json(body) if name in _TEXT_METHODS else None
        text = params.get("text") if isinstance(params, dict) and isinstance(params.get("text"), str) else ""
        alerts = frozenset(f"{m.group(1)}-{int(m.group(2))}" for m in _ANY_ALERT.finditer(text))
        ok = answer[0] == 200
        with self._lock:
            self.timed.append(Call(at, name, ok, alerts))
            if ok:
                for alert in alerts:
                    self.first_shown.setdefault(alert, at)
        return answer

    def shown(self, run: str, number: int) -> float | None:
        """When an alert was first shown (arrival of the call), or None."""
        with self._lock:
            return self.first_shown.get(f"{run}-{number}")

    def shown_counts(self, run: str) -> Counter[int]:
        """How many messages show each alert of ``run`` in their final text."""
        pattern = re.compile(rf"node-{re.escape(run)}-(\d{{5}})")
        with self._lock:
            finals = [texts[-1] for texts in self.messages.values() if texts]
        counts: Counter[int] = Counter()
        for text in finals:
            for number in {int(m) for m in pattern.findall(text)}:
                counts[number] += 1
        return counts

    def where_shown(self, run: str, number: int) -> list[str]:
        """Each message whose final text shows the alert: its id, its edit count and its first line."""
        label = f"node-{run}-{number:05d}"
        with self._lock:
            found = [(mid, texts) for mid, texts in self.messages.items() if texts and label in texts[-1]]
        return [f"message {mid} ({len(texts) - 1} edits): {texts[-1].splitlines()[0][:80]}" for mid, texts in found]

    def calls_between(self, start: float, end: float) -> list[Call]:
        with self._lock:
            return [c for c in self.timed if start <= c.at <= end]


def max_calls_per_alert_minute(calls: list[Call], run: str, start: float) -> int:
    """The most calls whose text names one alert of ``run`` in one minute (minutes counted from
    ``start``). A digest edit names many alerts and counts once for each of them."""
    buckets: dict[tuple[str, int], int] = defaultdict(int)
    prefix = f"{run}-"
    for call in calls:
        minute = int((call.at - start) // 60)
        for alert in call.alerts:
            if alert.startswith(prefix):
                buckets[(alert, minute)] += 1
    return max(buckets.values(), default=0)


def max_share_per_alert_minute(calls: list[Call], run: str, start: float) -> float:
    """As :func:`max_calls_per_alert_minute`, but a call naming k alerts counts 1/k for each: a
    digest edit listing 90 incidents is one call, shared by the 90, not 90 calls."""
    buckets: dict[tuple[str, int], float] = defaultdict(float)
    prefix = f"{run}-"
    for call in calls:
        named = [a for a in call.alerts if a.startswith(prefix)]
        minute = int((call.at - start) // 60)
        for alert in named:
            buckets[(alert, minute)] += 1 / len(named)
    return max(buckets.values(), default=0.0)


def summary(counts: Counter[int], expected: range) -> dict[str, Any]:
    """Alerts shown exactly once, not at all, and more than once (duplicates: extra messages)."""
    return {
        "once": sum(1 for i in expected if counts.get(i) == 1),
        "missing": sum(1 for i in expected if not counts.get(i)),
        "duplicates": sum(max(counts.get(i, 0) - 1, 0) for i in expected),
    }

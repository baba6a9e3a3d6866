"""Rule analysis time per alert over the coverage corpus (tests/corpus/alert_rules.jsonl).

    .venv/bin/python bench/analysis.py [--rounds 5]

Alerts are parsed once (parsing is not analysis); then every round analyses all of them with the
RuleAnalyzer. Prints the median time per alert, the bare reference (json.loads + json.dumps of the
same alert bodies, the least any step that reads an alert costs) and the ratio, and the budget the
issue sets (< 5 ms per alert). Pure CPU, no servers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from activities.analysis import RuleAnalyzer  # noqa: E402
from starter.analyze_cli import alerts_in  # noqa: E402

CORPUS = Path(__file__).resolve().parents[1] / "tests" / "corpus" / "alert_rules.jsonl"
BUDGET_MS = 5.0


async def main(rounds: int) -> None:
    lines = [line for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]
    bodies = [json.dumps(json.loads(line)["payload"]) for line in lines]
    alerts = [a for body in bodies for a in alerts_in(json.loads(body))]
    analyzer = RuleAnalyzer()
    for alert in alerts:  # warm up: compiled regexes, caches
        await analyzer.analyze(alert)
    per_alert: list[float] = []
    reference: list[float] = []
    for _ in range(rounds):
        start = time.perf_counter()
        for alert in alerts:
            await analyzer.analyze(alert)
        per_alert.append((time.perf_counter() - start) / len(alerts))
        start = time.perf_counter()
        for body in bodies:
            json.dumps(json.loads(body))
        reference.append((time.perf_counter() - start) / len(bodies))
    analysis_ms = statistics.median(per_alert) * 1000
    reference_ms = statistics.median(reference) * 1000
    print(f"alerts: {len(alerts)}, rounds: {rounds}")
    print(f"rule analysis: {analysis_ms:.3f} ms/alert (median of rounds; budget {BUDGET_MS} ms)")
    print(f"bare reference (json.loads+dumps of the same body): {reference_ms:.4f} ms/alert")
    print(f"ratio analysis/reference: {analysis_ms / reference_ms:.1f}x")
    print("within budget" if analysis_ms < BUDGET_MS else "OVER BUDGET")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    asyncio.run(main(parser.parse_args().rounds))

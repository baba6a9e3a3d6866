"""Coverage of the rule analysis over the alert corpus (tests/corpus/, see build_corpus.py).

Every alert goes through the real parser of its sender, then the RuleAnalyzer. The test prints the
share of specific (non-generic) analyses per technology family and fails if the whole corpus or any
family with at least five alerts falls under 90 %. It also reports how many of the specific ones
rest on the family alone (``<family>-other``) or the failure mode alone (``mode-<mode>``): those are
honest but thinner answers. Timing is measured in bench/analysis.py, not here.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from activities.analysis import RuleAnalyzer
from starter.analyze_cli import alerts_in

CORPUS = Path(__file__).parent / "corpus" / "alert_rules.jsonl"
GENERIC = ("generic", "generic-exception")
THRESHOLD = 0.9


def corpus_rows() -> list[dict]:
    return [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_corpus_is_broad() -> None:
    rows = corpus_rows()
    assert len(rows) >= 500
    assert len({r["family"] for r in rows}) >= 25
    assert {r["source"] for r in rows} == {"alertmanager", "signoz", "sentry"}


async def test_share_of_specific_analyses_per_family() -> None:
    analyzer = RuleAnalyzer()
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    thin: dict[str, int] = defaultdict(int)
    generic: list[str] = []
    for row in corpus_rows():
        alerts = alerts_in(row["payload"])
        assert len(alerts) == 1, row["family"]
        analysis = await analyzer.analyze(alerts[0])
        counts[row["family"]][1] += 1
        if analysis.rule_id in GENERIC:
            generic.append(f"{row['family']}: {alerts[0].alertname}")
        else:
            counts[row["family"]][0] += 1
            rule_id = analysis.rule_id or ""
            if rule_id.startswith("mode-") or rule_id.endswith("-other"):
                thin[row["family"]] += 1
    total = sum(t for _, t in counts.values())
    specific = sum(s for s, _ in counts.values())
    report = [f"{f:14s} {s:3d}/{t:3d} {s / t:6.1%}  (family or mode only: {thin[f]})"
              for f, (s, t) in sorted(counts.items())]
    print(f"\nspecific analyses: {specific}/{total} = {specific / total:.1%}\n" + "\n".join(report))
    print("still generic:\n  " + "\n  ".join(generic or ["none"]))
    assert specific / total >= THRESHOLD
    low = {f: s / t for f, (s, t) in counts.items() if t >= 5 and s / t < THRESHOLD}
    assert not low, low


async def test_disk_full_never_gets_a_restart() -> None:
    analyzer = RuleAnalyzer()
    for row in corpus_rows():
        alert = alerts_in(row["payload"])[0]
        analysis = await analyzer.analyze(alert)
        if analysis.rule_id and analysis.rule_id.endswith("-capacity"):
            assert analysis.recommended_repair.action.value not in ("restart_pod", "restart_container")
            assert "restart_pod" in [a.value for a in analysis.avoid_actions]

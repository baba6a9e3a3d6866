"""The judged evaluation set (tests/evaluation/, issue 22): the rule analysis stays right, not only
specific. Fails when precision (right / (right + wrong)), the share of right analyses, or the share of
specific analyses that name their technology drops below what docs/analysis-evaluation.md records,
less a small margin (about two alerts in a hundred). Timing lives in bench/analysis.py."""

from __future__ import annotations

import pytest

from tests.evaluation.evaluate import figures, held_out, load_labels, report, verdicts
from tests.evaluation.evaluate import alerts as evaluation_alerts

# Achieved (docs/analysis-evaluation.md): labelled 97.2 %, held-out 96.7 %, all 97.1 %; technology
# named 99.3 %.
FLOORS = {"labelled": 0.95, "held-out": 0.93, "all": 0.95}
RIGHT_FLOOR = 0.93
NAMED_FLOOR = 0.95


def test_the_set_is_labelled_whole_and_held_out_a_fifth() -> None:
    ids = [id_ for id_, _ in evaluation_alerts()]
    labels, held = load_labels(), held_out()
    assert len(ids) >= 300 and len(set(ids)) == len(ids)
    assert set(labels) == set(ids)
    assert held <= set(ids) and len(held) == len(ids) // 5
    origins = {id_.split(":", 1)[0] for id_ in ids}
    assert origins == {"corpus", "kube-prometheus", "fixture", "signoz-seed"}


@pytest.mark.parametrize("part", ["labelled", "held-out", "all"])
async def test_precision_does_not_drop(part: str) -> None:
    fig = figures(await verdicts(part))
    print("\n" + report(part, fig, per_technology=False))
    assert fig.precision >= FLOORS[part], report(part, fig)
    if part == "all":
        assert fig.rate(fig.right) >= RIGHT_FLOOR
        assert fig.named_rate >= NAMED_FLOOR


async def test_the_seed_signoz_rules_get_specific_right_analyses() -> None:
    found = {v.id: v for v in await verdicts("all") if v.id.startswith("signoz-seed:")}
    assert set(found) == {f"signoz-seed:{name}" for name in ("APIHighErrorRate", "APIHighLatencyP99",
                                                               "APIHighLatencyP95", "NoTracesReceived",
                                                               "HighSpanDropRate")}
    assert {id_: v.outcome for id_, v in found.items()} == dict.fromkeys(found, "right")


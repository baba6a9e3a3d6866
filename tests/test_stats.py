"""core/stats.py against known values."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.stats import percentile, wilson_interval, wilson_lower


@pytest.mark.parametrize(("successes", "total", "lower", "upper"), [
    (8, 10, 0.490, 0.943),   # the example
    (5, 5, 0.566, 1.000),
    (0, 10, 0.000, 0.278),
    (1, 2, 0.095, 0.905),
    (81, 263, 0.255, 0.366),  # Wilson (1927) via Newcombe (1998), example (method 3): 0.2553-0.3662
    (20, 20, 0.839, 1.000),
])
def test_wilson_interval_matches_known_values(successes: int, total: int, lower: float, upper: float) -> None:
    low, high = wilson_interval(successes, total)
    assert (round(low, 3), round(high, 3)) == (lower, upper)


def test_no_trials_know_nothing_and_impossible_counts_are_refused() -> None:
    assert wilson_interval(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError):
        wilson_interval(3, 2)


@given(st.integers(min_value=1, max_value=500).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_the_interval_holds_the_ratio_and_stays_in_0_1(pair: tuple[int, int]) -> None:
    successes, total = pair
    low, high = wilson_interval(successes, total)
    assert 0.0 <= low <= successes / total <= high <= 1.0
    assert wilson_lower(successes, total) == low


def test_more_evidence_at_the_same_rate_raises_the_lower_bound() -> None:
    assert wilson_lower(4, 5) < wilson_lower(40, 50) < wilson_lower(400, 500) < 0.8


def test_nearest_rank_percentiles() -> None:
    values = [15, 20, 35, 40, 50]
    assert percentile(values, 50) == 35 and percentile(values, 90) == 50 and percentile(values, 0) == 15
    assert percentile([], 50) is None
    assert percentile([7.0], 90) == 7.0

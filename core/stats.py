"""Small statistics with stated formulas: the Wilson score interval and nearest-rank percentiles.

Why Wilson (docs/adr/0026): a success rate over a handful of repairs is mostly noise, and the plain
ratio says 5/5 is as sure as 500/500. The Wilson score interval (Wilson 1927) stays inside [0, 1]
and is honest for small n and for rates near 0 or 1, where the normal approximation is not. Its
lower bound is what learning's ``confidence`` reports: "at least this often, at 95 %".
"""

from __future__ import annotations

import math
from collections.abc import Sequence

# The two-sided 95 % normal quantile.
Z95 = 1.959963984540054


def wilson_interval(successes: int, total: int, z: float = Z95) -> tuple[float, float]:
    """(lower, upper) of the Wilson score interval; (0.0, 1.0) with no trials (nothing is known)."""
    if total <= 0:
        return 0.0, 1.0
    if not 0 <= successes <= total:
        raise ValueError(f"successes must be within 0..{total}, got {successes}")
    p = successes / total
    z2 = z * z
    centre = p + z2 / (2 * total)
    margin = z * math.sqrt(p * (1 - p) / total + z2 / (4 * total * total))
    denominator = 1 + z2 / total
    # At 0 and n successes the bounds are exactly 0 and 1; floating point would leave a 1e-17.
    lower = 0.0 if successes == 0 else max(0.0, (centre - margin) / denominator)
    upper = 1.0 if successes == total else min(1.0, (centre + margin) / denominator)
    return lower, upper


def wilson_lower(successes: int, total: int, z: float = Z95) -> float:
    return wilson_interval(successes, total, z)[0]


def percentile(values: Sequence[float], q: float) -> float | None:
    """The nearest-rank percentile (q in 0..100) of ``values``; None for no values. Nearest rank
    reports a value that happened, which reads better for a handful of incidents than interpolation."""
    if not values:
        return None
    if not 0 <= q <= 100:
        raise ValueError("q must be within 0..100")
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]

"""Pareto optimality of variants: more quality for less cost (MB, latency).

A point is (quality, cost): higher quality is better, lower cost is better. A point is
Pareto-optimal when no other point is at least as good on both and strictly better on one.
A point with an unmeasured (None) coordinate is never optimal and dominates nothing.
Plain Python, no imports: the TUI and the reports both use it.
"""

from __future__ import annotations

from collections.abc import Sequence

Point = tuple[float | None, float | None]  # (quality: higher is better, cost: lower is better)


def dominates(a: Point, b: Point) -> bool:
    """True when ``a`` is at least as good as ``b`` on both axes and better on one."""
    (qa, ca), (qb, cb) = a, b
    if None in (qa, ca, qb, cb):
        return False
    return qa >= qb and ca <= cb and (qa > qb or ca < cb)


def pareto_optimal(points: Sequence[Point]) -> list[bool]:
    """One flag per point: is it on the Pareto frontier? Equal points are both optimal."""
    return [
        None not in point and not any(dominates(other, point) for other in points)
        for point in points
    ]


def frontier(points: Sequence[Point]) -> list[tuple[float, float]]:
    """The Pareto-optimal points sorted by cost: the staircase to draw on a plot."""
    flags = pareto_optimal(points)
    chosen = {(float(q), float(c)) for (q, c), on in zip(points, flags, strict=True) if on}
    return sorted(chosen, key=lambda point: (point[1], point[0]))

"""The one way figures become text: "n/a" for what was not measured or does not apply, never 0.

Every table (the run summary, bench, eval, the report, the TUI, bundle cards) formats its
numbers here, so a missing figure looks the same everywhere.
"""

from __future__ import annotations

from typing import Any

NA = "n/a"


def fmt(value: Any, spec: str | None = None, unit: str = "") -> str:
    """A figure as text followed by ``unit`` (``"x"``, ``" MB"``); :data:`NA` alone for None.

    Without ``spec``: integers as they are, other numbers with 4 decimals; strings and
    booleans as they are.
    """
    if value is None:
        return NA
    if isinstance(value, str | bool):
        return str(value) + unit
    if spec is None:
        spec = "d" if isinstance(value, int) else ".4f"
    return format(value, spec) + unit


def fmt_signed(value: float | None, spec: str = ".4f") -> str:
    """A difference with its sign (``+0.0123``); :data:`NA` for None."""
    return NA if value is None else format(value, "+" + spec)


def fmt_percent(value: float | None, digits: int = 2) -> str:
    """A signed percentage (``+1.25%``) of a value already in percent; :data:`NA` for None."""
    return NA if value is None else f"{value:+.{digits}f}%"


def fmt_share(fraction: float | None, digits: int = 1) -> str:
    """A fraction as an unsigned percentage (``0.125`` -> ``12.5%``); :data:`NA` for None."""
    return NA if fraction is None else f"{100 * fraction:.{digits}f}%"


def fmt_interval(
    point: float | None,
    low: float | None,
    high: float | None,
    spec: str = ".4f",
    *,
    style: str = "pm",
) -> str:
    """A figure with its interval: ``0.9395 ±0.0031`` (``pm``: half the interval's width;
    bootstrap intervals need not be symmetric, ``range`` shows both ends) or
    ``0.9395 [0.9364, 0.9426]`` (``range``). Without bounds, the figure alone (:func:`fmt`)."""
    if point is None or low is None or high is None:
        return fmt(point, spec)
    if style == "range":
        return f"{format(point, spec)} [{format(low, spec)}, {format(high, spec)}]"
    return f"{format(point, spec)} ±{format((high - low) / 2, spec)}"


def fmt_delta(
    point: float | None,
    low: float | None,
    high: float | None,
    spec: str = ".4f",
    *,
    significant: bool | None = None,
) -> str:
    """A signed difference with its interval, ``-0.0123 [-0.0180, -0.0066]``; a trailing
    ``*`` marks an interval that excludes 0 (significant), ``~`` one that contains it."""
    if point is None:
        return NA
    text = fmt_signed(point, spec)
    if low is not None and high is not None:
        text += f" [{fmt_signed(low, spec)}, {fmt_signed(high, spec)}]"
        if significant is None:
            significant = low > 0 or high < 0
        text += " *" if significant else " ~"
    return text

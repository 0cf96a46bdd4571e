"""AUC against a cost (MB, latency) as a terminal plot, with the Pareto frontier drawn.

The frontier is a step line (the best AUC reachable at each cost, as the report draws it).
Labels sit one cell beside their marker, never on it; variants at the same point share one
label ("a, b"); a label that would overlap another moves up or down a row
(:func:`place_labels`, checked by the tests).
"""

from __future__ import annotations

from dataclasses import dataclass

from textual_plotext import PlotextPlot

from emocompress.measure.pareto import frontier
from tui.data import VariantView


@dataclass
class PlacedLabel:
    text: str
    column: int  # the first character's cell, from the plot's left edge
    row: int  # from the top
    align_right: bool  # drawn ending at ``column + len(text)``

    @property
    def span(self) -> tuple[int, int]:
        return self.column, self.column + len(self.text)


def step_frontier(front: list[tuple[float, float]]) -> tuple[list[float], list[float]]:
    """(costs, qualities) of the frontier as steps: flat until the next point's cost, then up."""
    xs: list[float] = []
    ys: list[float] = []
    for index, (quality, cost) in enumerate(front):
        if index:
            xs.append(cost)
            ys.append(front[index - 1][0])
        xs.append(cost)
        ys.append(quality)
    return xs, ys


def group_points(
    points: list[tuple[str, float, float]], x_cell: float, y_cell: float
) -> list[tuple[str, float, float]]:
    """Points that fall in the same character cell become one: their names joined."""
    groups: dict[tuple[int, int], list[tuple[str, float, float]]] = {}
    for name, cost, quality in points:
        cell = (round(cost / x_cell) if x_cell else 0, round(quality / y_cell) if y_cell else 0)
        groups.setdefault(cell, []).append((name, cost, quality))
    return [
        (", ".join(name for name, _, _ in members), members[0][1], members[0][2])
        for members in groups.values()
    ]


def place_labels(anchors: list[tuple[str, int, int]], width: int, height: int) -> list[PlacedLabel]:
    """Labels for markers at (column, row) cells: one cell right of the marker (left of it in
    the right half), moved a row up or down when they would overlap a placed label or a
    marker, and kept inside ``width`` x ``height``."""
    markers = {(column, row) for _, column, row in anchors}
    placed: list[PlacedLabel] = []

    def clashes(label: PlacedLabel) -> bool:
        start, end = label.span
        if label.row < 0 or label.row >= height or start < 0 or end > width:
            return True
        if any(m_row == label.row and start <= m_col < end for m_col, m_row in markers):
            return True
        return any(
            other.row == label.row and start < other.span[1] and other.span[0] < end
            for other in placed
        )

    for text, column, row in sorted(anchors, key=lambda a: (a[2], a[1])):
        right = column > width / 2
        text = text[: max(1, width // 2)]
        start = column - 1 - len(text) if right else column + 2
        candidates = [
            PlacedLabel(text, start, row + shift, right) for shift in (0, -1, 1, -2, 2, -3, 3)
        ]
        choice = next((c for c in candidates if not clashes(c)), candidates[0])
        placed.append(choice)
    return placed


class TradeoffPlot(PlotextPlot):
    _drawn: tuple | None = None

    def on_resize(self) -> None:
        """Label placement depends on the size in cells: place them again."""
        if self._drawn is not None:
            self.draw(*self._drawn)

    def draw(
        self, variants: list[VariantView], cost_key: str | None, cost_label: str, title: str
    ) -> None:
        self._drawn = (variants, cost_key, cost_label, title)
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title(title)
        plt.xlabel(cost_label)
        plt.ylabel("macro AUC")
        points = [
            (v.key, v.row.get("macro_auc"), v.row.get(cost_key) if cost_key else None)
            for v in variants
        ]
        points = [(k, q, c) for k, q, c in points if q is not None and c is not None]
        self.display = bool(points)  # nothing measured: the screen's note says so
        if not points:
            return
        costs = [c for _, _, c in points]
        qualities = [q for _, q, _ in points]
        x_low, x_high = _padded(min(costs), max(costs))
        y_low, y_high = _padded(min(qualities), max(qualities))
        plt.xlim(x_low, x_high)
        plt.ylim(y_low, y_high)
        front = frontier([(q, c) for _, q, c in points])
        if front:
            xs, ys = step_frontier(front)
            plt.plot(xs, ys, marker="braille")  # (no legend: it would cover points; the note says)
        plt.scatter(costs, qualities, marker="●")
        # the canvas in cells (about: the axes and their labels take some of the widget)
        width, height = max(10, self.size.width - 12), max(4, self.size.height - 6)
        x_cell, y_cell = (x_high - x_low) / width, (y_high - y_low) / height
        grouped = group_points([(k, c, q) for k, q, c in points], x_cell, y_cell)
        anchors = [
            (name, int((cost - x_low) / x_cell), int((y_high - quality) / y_cell))
            for name, cost, quality in grouped
        ]
        for label in place_labels(anchors, width, height):
            x = x_low + (label.column + (len(label.text) if label.align_right else 0)) * x_cell
            y = y_high - label.row * y_cell
            plt.text(label.text, x, y, alignment="right" if label.align_right else "left")
        self.refresh()


def _padded(low: float, high: float, share: float = 0.08) -> tuple[float, float]:
    span = (high - low) or abs(high) or 1.0
    return low - share * span, high + share * span

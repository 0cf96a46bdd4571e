"""AUC against a cost (MB, latency) as a terminal plot, with the Pareto frontier drawn."""

from __future__ import annotations

from textual_plotext import PlotextPlot

from emocompress.measure.pareto import frontier
from tui.data import VariantView


class TradeoffPlot(PlotextPlot):
    def draw(self, variants: list[VariantView], cost_key: str | None, cost_label: str) -> None:
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title(f"macro AUC against {cost_label}")
        plt.xlabel(cost_label)
        plt.ylabel("macro AUC")
        points = [
            (v, v.row.get("macro_auc"), v.row.get(cost_key) if cost_key else None) for v in variants
        ]
        points = [(v, q, c) for v, q, c in points if q is not None and c is not None]
        self.display = bool(points)  # nothing measured: the screen's note says so
        if not points:
            return
        plt.scatter(
            [c for _, _, c in points], [q for _, q, _ in points], marker="o", label="variant"
        )
        front = frontier([(q, c) for _, q, c in points])
        if front:
            plt.plot([c for _, c in front], [q for q, _ in front], marker="braille", label="Pareto")
        costs = [c for _, _, c in points]
        qualities = [q for _, q, _ in points]
        low, high = min(costs), max(costs)
        middle = (low + high) / 2
        # margins keep points and their labels off the plot border
        plt.xlim(*_padded(low, high))
        plt.ylim(*_padded(min(qualities), max(qualities)))
        for view, quality, cost in points:
            # labels point inwards: right-hand points get their label on their left
            plt.text(view.name, cost, quality, alignment="right" if cost > middle else "left")
        self.refresh()


def _padded(low: float, high: float, share: float = 0.08) -> tuple[float, float]:
    span = (high - low) or abs(high) or 1.0
    return low - share * span, high + share * span

"""Tradeoffs: AUC against size and against latency, Pareto frontier, and the table beside."""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Header, Static

from tui.data import COLUMN_BY_KEY, Catalog, figure_cell, latency_key, text_cell
from tui.keys import GLOBAL_KEYS, footer
from tui.widgets.sortable_table import CellTable
from tui.widgets.tradeoff_plot import TradeoffPlot

# the axis of the latency plot and the table's header, by the figure latency_key chose
LATENCY_LABELS = {
    "p50_ms_batch_1": "p50 latency, ms, batch 1",
    "p50_ms_batch_32": "p50 latency, ms, batch 32",
}
NARROW = 80  # below this width the table goes under the plots (beside them, with its
# min-width of 47, each plot kept about 13 columns at 60)


class TradeoffScreen(Screen):
    AUTO_FOCUS = "#tradeoff-table"
    BINDINGS = [*GLOBAL_KEYS, Binding("escape", "app.pop_screen", "back")]

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="tradeoff-body"):
            with Vertical(id="plots"):
                yield TradeoffPlot(id="plot-size")
                yield TradeoffPlot(id="plot-latency")
            with Vertical(id="tradeoff-side"):
                yield CellTable(id="tradeoff-table", better={"macro_auc": "high"})
                yield Static("", id="tradeoff-note")
        yield footer()

    def on_mount(self) -> None:
        self.sub_title = "tradeoffs"
        self.watch(self.app, "catalog", self.show, init=True)

    def on_resize(self, event: events.Resize) -> None:
        self.query_one("#tradeoff-body").set_class(event.size.width < NARROW, "-stacked")

    def show(self, catalog: Catalog) -> None:
        variants = [v for v in catalog.variants if not v.error]
        latency = latency_key(variants)
        latency_label = LATENCY_LABELS.get(latency or "", "latency")
        self.query_one("#plot-size", TradeoffPlot).draw(
            variants, "mb", "MB on disk", "macro AUC against size"
        )
        self.query_one("#plot-latency", TradeoffPlot).draw(
            variants, latency, latency_label, "macro AUC against latency"
        )
        latency_header = COLUMN_BY_KEY[latency].header if latency else "ms"
        headers = [
            ("variant", "variant"),
            ("macro_auc", "mAUC"),
            ("mb", "MB"),
            ("latency", latency_header),
            ("pareto", "pareto"),
        ]
        ranked = sorted(variants, key=lambda v: (v.row.get("mb") is None, v.row.get("mb") or 0))
        rows = [
            (
                view.key,
                [
                    text_cell(view.key),
                    figure_cell(view.row.get("macro_auc"), ".4f"),
                    figure_cell(view.row.get("mb"), ".1f"),
                    figure_cell(view.row.get(latency) if latency else None, ".2f"),
                    text_cell(view.pareto_mark, "bold green"),
                ],
            )
            for view in ranked
        ]
        self.query_one("#tradeoff-table", CellTable).show(headers, rows)
        note = (
            f"{latency_header}: {latency_label}. Pareto S: no variant has at least the AUC with "
            "fewer MB; L: with less latency. The frontier is drawn as steps."
        )
        if latency is None:
            note += " No latency measured yet (emocompress bench)."
        self.query_one("#tradeoff-note", Static).update(note)

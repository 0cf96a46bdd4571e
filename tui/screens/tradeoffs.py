"""Tradeoffs: AUC against size and against latency, Pareto frontier, and the table beside."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from emocompress.format import fmt
from tui.data import Catalog, latency_key
from tui.widgets.tradeoff_plot import TradeoffPlot

# the axis of the latency plot, by the summary row's figure that latency_key chose
LATENCY_LABELS = {"p50_ms_batch_1": "p50 ms, batch 1", "p50_ms_batch_32": "p50 ms, batch 32"}


class TradeoffScreen(Screen):
    BINDINGS = [Binding("escape", "app.pop_screen", "back")]

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="tradeoff-body"):
            with Vertical(id="plots"):
                yield TradeoffPlot(id="plot-size")
                yield TradeoffPlot(id="plot-latency")
            with Vertical(id="tradeoff-side"):
                yield DataTable(id="tradeoff-table", cursor_type="row", zebra_stripes=True)
                yield Static("", id="tradeoff-note")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "tradeoffs"
        self.watch(self.app, "catalog", self.show, init=True)

    def show(self, catalog: Catalog) -> None:
        variants = [v for v in catalog.variants if not v.error]
        latency = latency_key(variants)
        self.query_one("#plot-size", TradeoffPlot).draw(variants, "mb", "MB on disk")
        self.query_one("#plot-latency", TradeoffPlot).draw(
            variants, latency, LATENCY_LABELS.get(latency or "", "latency")
        )
        table = self.query_one("#tradeoff-table", DataTable)
        table.clear(columns=True)
        table.add_columns("variant", "mAUC", "MB", "ms", "pareto")
        ranked = sorted(variants, key=lambda v: (v.row.get("mb") is None, v.row.get("mb") or 0))
        for view in ranked:
            table.add_row(
                view.key,
                fmt(view.row.get("macro_auc"), ".4f"),
                fmt(view.row.get("mb"), ".1f"),
                fmt(view.row.get(latency) if latency else None, ".2f"),
                view.pareto_mark,
                key=view.key,
            )
        note = "pareto S: no variant has more AUC for fewer MB; L: for less latency."
        if latency is None:
            note += " No latency measured yet (emocompress bench)."
        self.query_one("#tradeoff-note", Static).update(note)

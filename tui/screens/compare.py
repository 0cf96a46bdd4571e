"""Two variants side by side: every figure with delta and percent, and per-emotion deltas."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from tui.data import Catalog, compare_rows, emotion_deltas


class CompareScreen(Screen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "back"),
        Binding("w", "swap", "swap"),
    ]

    def __init__(self, a: str, b: str) -> None:
        super().__init__()
        self.a, self.b = a, b

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="compare-title")
        with Horizontal(id="compare-body"):
            yield DataTable(id="compare-figures", cursor_type="row", zebra_stripes=True)
            yield DataTable(id="compare-emotions", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.watch(self.app, "catalog", self.show, init=True)

    def show(self, catalog: Catalog) -> None:
        a, b = catalog.get(self.a), catalog.get(self.b)
        title = self.query_one("#compare-title", Static)
        if a is None or b is None:
            title.update(f"{self.a} or {self.b} is no longer in the run")
            return
        self.sub_title = f"{a.key} vs {b.key}"
        title.update(
            f"A = {a.key}   B = {b.key}   (Δ = B − A, % of A; F1 under each one's selected strategy)"
        )
        figures = self.query_one("#compare-figures", DataTable)
        figures.clear(columns=True)
        figures.add_columns("figure", "A", "B", "Δ", "%")
        for row in compare_rows(a, b):
            figures.add_row(*row)
        emotions = self.query_one("#compare-emotions", DataTable)
        emotions.clear(columns=True)
        rows = emotion_deltas(a, b)
        headers = ["emotion", "F1 A", "F1 B", "ΔF1", "AUC A", "AUC B", "ΔAUC"]
        if rows and len(rows[0]) > len(headers):  # paired: support and intervals (~: not sig.)
            headers.insert(1, "support")
        emotions.add_columns(*headers)
        for row in rows:
            emotions.add_row(*row)

    def action_swap(self) -> None:
        self.a, self.b = self.b, self.a
        self.show(self.app.catalog)

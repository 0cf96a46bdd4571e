"""Two variants side by side: every figure with delta and percent, and per-emotion deltas.

Both tables sort from the keyboard (←/→ pick the column, ``s`` sorts); below 120 columns
they stack, so each keeps all its columns in view.
"""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container
from textual.screen import Screen
from textual.widgets import Header, Static

from tui.data import COMPARE_HEADERS, EMOTION_DELTA_HEADERS, Catalog, compare_rows, emotion_deltas
from tui.keys import GLOBAL_KEYS, footer
from tui.widgets.sortable_table import CellTable

WIDE = 120  # from this width the two tables stand side by side


class CompareScreen(Screen):
    AUTO_FOCUS = "#compare-figures"
    BINDINGS = [
        *GLOBAL_KEYS,
        Binding("escape", "app.pop_screen", "back"),
        Binding("w", "swap", "swap A/B"),
        Binding("tab", "app.focus_next", "next table", show=False),
    ]

    def __init__(self, a: str, b: str) -> None:
        super().__init__()
        self.a, self.b = a, b

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="compare-title")
        with Container(id="compare-body"):
            yield CellTable(id="compare-figures")
            yield CellTable(id="compare-emotions", better={"f1_delta": "high", "auc_delta": "high"})
        yield footer()

    def on_mount(self) -> None:
        self.watch(self.app, "catalog", self.show, init=True)

    def on_resize(self, event: events.Resize) -> None:
        self.query_one("#compare-body").set_class(event.size.width < WIDE, "-stacked")

    def show(self, catalog: Catalog) -> None:
        a, b = catalog.get(self.a), catalog.get(self.b)
        title = self.query_one("#compare-title", Static)
        if a is None or b is None:
            title.update(f"{self.a} or {self.b} is no longer in the run")
            return
        self.sub_title = f"{a.key} vs {b.key}"
        title.update(
            f"A = {a.key}   B = {b.key}   (Δ = B − A, % of A; F1 under each one's selected "
            "strategy; n: support on the report split)"
        )
        self.query_one("#compare-figures", CellTable).show(COMPARE_HEADERS, compare_rows(a, b))
        self.query_one("#compare-emotions", CellTable).show(
            EMOTION_DELTA_HEADERS, emotion_deltas(a, b)
        )

    def action_swap(self) -> None:
        self.a, self.b = self.b, self.a
        self.show(self.app.catalog)

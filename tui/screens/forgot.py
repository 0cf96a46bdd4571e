"""What compression forgot: per-emotion paired deltas and the examples that changed most.

One section per comparison of the variant (against the reference, against its parent),
read from the run's comparison.json (``emocompress compare RUN`` writes it for older runs).
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Header, Static

from tui.data import Catalog
from tui.intervals import (
    FORGOT_EMOTION_HEADERS,
    FORGOT_EXAMPLE_HEADERS,
    forgot_emotion_rows,
    forgot_example_rows,
    forgot_pairs,
    forgot_title,
)
from tui.keys import GLOBAL_KEYS, footer


class ForgotScreen(Screen):
    BINDINGS = [*GLOBAL_KEYS, Binding("escape", "app.pop_screen", "back")]

    def __init__(self, key: str) -> None:
        super().__init__()
        self.key = key

    def compose(self) -> ComposeResult:
        yield Header()
        yield VerticalScroll(id="forgot-body")
        yield footer()

    def on_mount(self) -> None:
        self.watch(self.app, "catalog", self.show, init=True)

    def show(self, catalog: Catalog) -> None:
        body = self.query_one("#forgot-body", VerticalScroll)
        body.remove_children()
        view = catalog.get(self.key)
        self.sub_title = f"what {self.key} forgot"
        pairs = forgot_pairs(view) if view is not None else []
        if not pairs:
            body.mount(
                Static(
                    f"{self.key}: no comparison to show (the reference itself, or a run "
                    "without comparison.json: run `emocompress compare RUN`)",
                    id="forgot-empty",
                )
            )
            return
        for i, pair in enumerate(pairs):
            emotions = DataTable(id=f"forgot-emotions-{i}", zebra_stripes=True)
            emotions.add_columns(*FORGOT_EMOTION_HEADERS)
            emotions.add_rows(forgot_emotion_rows(pair))
            examples = DataTable(id=f"forgot-examples-{i}", zebra_stripes=True)
            examples.add_columns(*FORGOT_EXAMPLE_HEADERS)
            examples.add_rows(forgot_example_rows(pair))
            body.mount(Static(forgot_title(pair), classes="forgot-title"), emotions, examples)

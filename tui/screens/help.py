"""The help screen: every key of every screen, read from the bindings themselves."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

INTRO = """\
# emocompress tui

Figures come from each variant's `metrics.json`; "n/a" means not measured.
**mAUC/µAUC**: macro/micro AUC on the report split. **mF1**: macro F1 under the threshold
strategy chosen on the tune split. **pareto**: `S` no other variant has at least the AUC
with fewer MB, `L` the same against latency. `ctrl+p` opens the command palette.
"""


def bindings_markdown() -> str:
    from tui.app import EmoCompressApp
    from tui.screens.compare import CompareScreen
    from tui.screens.detail import DetailScreen
    from tui.screens.inspect import InspectScreen
    from tui.screens.run import RunScreen
    from tui.screens.tradeoffs import TradeoffScreen
    from tui.screens.variants import VariantsScreen
    from tui.widgets.sortable_table import SortableTable

    sections = [
        ("Everywhere", EmoCompressApp.BINDINGS),
        ("Variants", VariantsScreen.BINDINGS + SortableTable.BINDINGS),
        ("Detail", DetailScreen.BINDINGS + SortableTable.BINDINGS),
        ("Tradeoffs", TradeoffScreen.BINDINGS),
        ("Compare", CompareScreen.BINDINGS),
        ("Inspect", InspectScreen.BINDINGS),
        ("Run a recipe", RunScreen.BINDINGS),
    ]
    lines = [INTRO]
    for title, bindings in sections:
        lines += [f"## {title}", "", "| key | does |", "| --- | --- |"]
        for binding in bindings:
            assert isinstance(binding, Binding)
            key = binding.key_display or binding.key
            lines.append(f"| `{key}` | {binding.description} |")
        lines.append("")
    return "\n".join(lines)


class HelpScreen(ModalScreen):
    BINDINGS = [
        Binding("escape", "app.pop_screen", "close"),
        Binding("question_mark", "app.pop_screen", "close", show=False),
    ]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-body"):
            yield Markdown(bindings_markdown())

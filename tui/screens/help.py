"""The help screen: every key of every screen, read from the bindings themselves."""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

from emocompress.artifacts.schema import Metrics
from emocompress.format import NA

INTRO = f"""\
# emocompress tui

Figures come from each variant's `{Metrics.FILE}`; "{NA}" means not measured.
**mAUC/µAUC**: macro/micro AUC on the report split. **mF1**: macro F1 under the threshold
strategy chosen on the tune split. **pareto**: `S` no other variant has at least the AUC
with fewer MB, `L` the same against latency. `ctrl+p` opens the command palette.
In every table `←`/`→` pick the column to sort by (its header is shown reversed) and `s`
sorts by it (again: reverse). In a text field, `escape` or `tab` leaves it.
"""


def columns_markdown() -> str:
    """What each column of the variants table is, with its unit."""
    from tui.data import COLUMNS

    lines = ["## Columns (units)", "", "| column | is |", "| --- | --- |"]
    lines += [f"| `{c.header}` | {c.meaning} |" for c in COLUMNS if c.meaning]
    return "\n".join(lines) + "\n"


def bindings_markdown(sections: Sequence[tuple[str, Sequence[Binding]]]) -> str:
    """The key table of each (title, bindings) section, then the columns' meanings."""
    lines = [INTRO]
    for title, bindings in sections:
        lines += [f"## {title}", "", "| key | does |", "| --- | --- |"]
        for binding in bindings:
            assert isinstance(binding, Binding)
            key = binding.key_display or binding.key
            lines.append(f"| `{key}` | {binding.description} |")
        lines.append("")
    lines.append(columns_markdown())
    return "\n".join(lines)


class HelpScreen(ModalScreen):
    """Every key, in the sections the app gives (the app knows its screens; this does not)."""

    BINDINGS = [
        Binding("escape", "app.pop_screen", "close"),
        Binding("question_mark", "app.pop_screen", "close", show=False),
    ]

    def __init__(self, sections: Sequence[tuple[str, Sequence[Binding]]]) -> None:
        super().__init__()
        self.sections = sections

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-body"):
            yield Markdown(bindings_markdown(self.sections))

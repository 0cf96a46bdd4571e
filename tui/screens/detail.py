"""Detail of one variant: parameter tree, per-emotion table, threshold strategies, training
history, speed (every thread count, batching and batch size bench measured, with speedups
and shares of the machine's limit) and checks (gates, ONNX parity), lineage.

Focus starts in the parameter tree, and each tab key focuses that tab's table, so the
arrows, enter and ``s`` work without Tab first.
"""

from __future__ import annotations

from rich.table import Table
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Header, Static, TabbedContent, TabPane

from emocompress.artifacts.schema import CONFIG_FILE, Metrics
from emocompress.errors import UserError
from tui.data import (
    HISTORY_HEADERS,
    SPEED_HEADERS,
    STRATEGIES,
    STRATEGY_BETTER,
    STRATEGY_HEADERS,
    ParamNode,
    VariantView,
    checks_lines,
    emotion_rows,
    history_rows,
    lineage_chain,
    parameter_tree,
    settings_lines,
    shown_path,
    speed_caption,
    speed_rows,
    strategy_rows,
)
from tui.keys import GLOBAL_KEYS, footer
from tui.widgets.emotion_table import EmotionTable
from tui.widgets.param_tree import ParamTree
from tui.widgets.sortable_table import CellTable

# tab id: the widget that takes focus when the tab is shown
TABS = {
    "parameters": "#param-tree",
    "emotions": "#emotion-table",
    "thresholds": "#strategy-table",
    "training": "#history-table",
    "speed": "#speed-table",
    "about": "#about-scroll",
}


class TreeLoaded(Message):
    def __init__(self, tree: ParamNode | None, error: str | None = None) -> None:
        super().__init__()
        self.tree, self.error = tree, error


class DetailScreen(Screen):
    AUTO_FOCUS = "#param-tree"
    BINDINGS = [
        *GLOBAL_KEYS,
        Binding("escape", "app.pop_screen", "back"),
        Binding("1", "tab('parameters')", "tabs", key_display="1-6"),
        Binding("2", "tab('emotions')", "emotions", show=False),
        Binding("3", "tab('thresholds')", "thresholds", show=False),
        Binding("4", "tab('training')", "training", show=False),
        Binding("5", "tab('speed')", "speed and checks", show=False),
        Binding("6", "tab('about')", "about", show=False),
        Binding("g", "next_strategy", "strategy"),
    ]

    def __init__(self, key: str) -> None:
        super().__init__()
        self.key = key
        self.strategy: str | None = None
        self._view: VariantView | None = None

    @property
    def view(self) -> VariantView:
        """The variant in the current catalogue; the one this screen opened when a reload
        left it out (deleted, or renamed run/variant once a second run is shown)."""
        view = self.app.catalog.get(self.key)
        if view is not None:
            self._view = view
        assert self._view is not None, self.key
        return self._view

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(self._title(), id="detail-title")
        with TabbedContent(initial="parameters"):
            with TabPane("Parameters", id="parameters"):
                yield ParamTree("parameters", id="param-tree")
            with TabPane("Emotions", id="emotions"):
                yield Static("", id="emotion-caption")
                yield EmotionTable(id="emotion-table")
            with TabPane("Thresholds", id="thresholds"):
                yield CellTable(id="strategy-table", better=STRATEGY_BETTER)
                yield Static(self._selected_because(), id="strategy-note")
            with TabPane("Training", id="training"):
                yield Static("", id="history-caption")
                yield CellTable(id="history-table", better={"tune_auc": "high"})
            with TabPane("Speed", id="speed"):
                yield Static(
                    self._unreadable() or speed_caption(self.view.metrics), id="speed-caption"
                )
                yield CellTable(id="speed-table")
                yield Static(self._checks(), id="checks-text")
            with TabPane("About", id="about"), VerticalScroll(id="about-scroll"):
                yield Static(self._about(), id="about-text")
        yield footer()

    def on_mount(self) -> None:
        self.sub_title = self.key
        self.query_one(ParamTree).loading = True
        self.load_tree(self.view.path)
        self.show_emotions()
        metrics = self.view.metrics
        self.query_one("#strategy-table", CellTable).show(STRATEGY_HEADERS, strategy_rows(metrics))
        self.query_one("#speed-table", CellTable).show(SPEED_HEADERS, speed_rows(metrics))
        self.show_history()

    def show_history(self) -> None:
        from emocompress.artifacts.rundir import VariantDir

        caption = self.query_one("#history-caption", Static)
        try:
            history = VariantDir(self.view.path).load_history()
        except UserError as error:
            caption.update(f"no training history: {error}")
            return
        rows = history_rows(history)
        self.query_one("#history-table", CellTable).show(HISTORY_HEADERS, rows)
        if history is None or not rows:
            caption.update("not trained here (no history.json evaluations)")
            return
        seconds = f"{history.seconds:.1f} s" if history.seconds is not None else "n/a"
        caption.update(
            f"one row per evaluation on the tune split; ▶ the checkpoint kept · "
            f"{len(history.steps)} optimiser steps · train time {seconds}"
            " · train loss: mean since the previous row (a distilled variant's is its"
            " distillation objective, not a BCE)"
        )

    def _title(self) -> str:
        view = self.view
        if view.error:
            return f"{view.key}: {view.error}"
        return f"{view.key} · " + " ← ".join(reversed(lineage_chain(view, self.app.catalog)))

    def _checks(self) -> str:
        return "\n".join(checks_lines(self.view))

    def _unreadable(self) -> str | None:
        """The variant's files could not be read: none of its figures are known."""
        if self.view.error:
            return "no figures: the variant's files could not be read (the title says why)"
        return None

    def _selected_because(self) -> str:
        quality = self.view.quality
        if quality is None:
            return (
                self._unreadable() or f"no quality figures ({Metrics.FILE} has no quality section)"
            )
        return (
            f"selected: {quality.selected_strategy} ({quality.selected_because}). "
            f"Thresholds tuned on '{quality.tune_split}' (n={quality.n_tune}), "
            f"figures measured on '{quality.report_split}' (n={quality.n_report})."
        )

    def _about(self) -> Table:
        from emocompress.models.inspect import architecture

        view = self.view
        table = Table(show_header=False, box=None, padding=(0, 2))
        table.add_column(style="bold")
        table.add_column()
        table.add_row("lineage", "\n".join(lineage_chain(view, self.app.catalog)))
        table.add_row("path", shown_path(view.path))
        try:
            facts = architecture(view.path) or {}
        except Exception as error:  # a broken config.json is a notice, not a crash
            facts = {CONFIG_FILE: str(error)}
        for key, value in facts.items():
            if value is not None and key != "labels":
                table.add_row(
                    key.replace("_", " "),
                    ", ".join(map(str, value)) if isinstance(value, list) else str(value),
                )
        settings = view.lineage.settings if view.lineage else None
        if settings:
            table.add_row("settings", "\n".join(settings_lines(settings)))
        return table

    # -- parameter tree (headers only, but a large checkpoint still takes a moment) -----------
    @work(thread=True, exclusive=True, exit_on_error=False)
    def load_tree(self, path) -> None:
        try:
            self.post_message(TreeLoaded(parameter_tree(path)))
        except Exception as error:
            self.post_message(TreeLoaded(None, str(error)))

    def on_tree_loaded(self, message: TreeLoaded) -> None:
        tree = self.query_one(ParamTree)
        tree.loading = False
        if message.tree is not None:
            tree.show(message.tree)
        else:
            tree.root.set_label(f"no parameter breakdown: {message.error}")

    # -- emotions ---------------------------------------------------------------------------
    def show_emotions(self) -> None:
        quality = self.view.quality
        strategy = self.strategy or (quality.selected_strategy if quality else None)
        rows = emotion_rows(self.view.metrics, strategy)
        self.query_one(EmotionTable).show(rows)
        caption = (
            f"strategy: {strategy} (g: next) · green: best F1, red: worst F1 · ←→ column, s: sort"
            if rows
            else "no per-emotion figures"
        )
        self.query_one("#emotion-caption", Static).update(caption)

    def action_next_strategy(self) -> None:
        quality = self.view.quality
        present = [s for s in STRATEGIES if quality is not None and s in quality.strategies]
        if quality is None or not present:
            return
        current = self.strategy or quality.selected_strategy
        index = present.index(current) if current in present else -1
        self.strategy = present[(index + 1) % len(present)]
        self.action_tab("emotions")
        self.show_emotions()

    def action_tab(self, tab: str) -> None:
        self.query_one(TabbedContent).active = tab
        self.query_one(TABS[tab]).focus()

    def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        """A click on a tab: its table takes the focus, as with the number keys."""
        pane = event.pane.id or ""
        if pane in TABS:
            self.query_one(TABS[pane]).focus()

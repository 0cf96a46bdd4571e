"""The main screen: every variant with its figures, sortable and filterable."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Header, Input, Static

from tui.data import DISPLAY_MODES, Catalog
from tui.keys import GLOBAL_KEYS, footer
from tui.widgets.variant_table import VariantTable


class VariantsScreen(Screen):
    AUTO_FOCUS = "#variants"
    BINDINGS = [
        *GLOBAL_KEYS,
        Binding("enter", "detail", "detail", priority=False),
        Binding("t", "tradeoffs", "tradeoffs"),
        Binding("c", "compare", "compare"),
        Binding("f", "forgot", "what it forgot", show=False),
        Binding("x", "set_reference", "reference", show=False),
        Binding("v", "cycle_mode", "values/Δ/%", show=False),
        Binding("slash", "filter", "filter", key_display="/"),
        Binding("i", "inspect", "inspect"),
        Binding("r", "run", "run"),
        Binding("escape", "clear_filter", "clear filter", show=False),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="filter-bar"):
            yield Static("filter:", id="filter-label")
            yield Input(placeholder="part of a variant name", id="filter")
        yield VariantTable(id="variants")
        yield Static("", id="status")
        yield footer()

    def on_mount(self) -> None:
        self.app.still_inputs(self)
        # init=True: the catalogue may have loaded before this screen mounted
        self.watch(self.app, "catalog", self.show_catalog, init=True)
        self.watch(self.app, "reference", self.show_reference, init=False)
        self.watch(self.app, "loading_catalog", self.show_loading, init=True)

    # -- reacting to the app ---------------------------------------------------------------
    def show_catalog(self, catalog: Catalog) -> None:
        table = self.query_one(VariantTable)
        table.show(catalog, self.app.reference)
        self.update_status()
        if self.focused is None:  # it was loading when the screen mounted: no focus yet
            table.focus()

    def show_reference(self, reference: str | None) -> None:
        table = self.query_one(VariantTable)
        table.show(self.app.catalog, reference)
        self.update_status()

    def show_loading(self, loading: bool) -> None:
        self.query_one(VariantTable).loading = loading and not self.app.catalog.variants

    def update_status(self) -> None:
        catalog, table = self.app.catalog, self.query_one(VariantTable)
        parts = [
            f"{table.row_count}/{len(catalog.variants)} variants (⏎ detail)",
            f"reference: {self.app.reference or 'none'} (x: the highlighted one)",
            f"showing: {table.mode} (v: values/Δ/%)",
        ]
        missing = [c.header for c in catalog.missing_columns()]
        if missing:
            parts.append("not measured: " + ", ".join(missing))
        if catalog.errors:
            parts.append(f"{len(catalog.errors)} problem(s)")
        self.query_one("#status", Static).update(" · ".join(parts))

    # -- filtering ------------------------------------------------------------------------
    def on_input_changed(self, event: Input.Changed) -> None:
        table = self.query_one(VariantTable)
        table.filter_text = event.value
        table.rebuild()
        self.update_status()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.query_one(VariantTable).focus()

    def action_filter(self) -> None:
        self.query_one("#filter", Input).focus()

    def action_clear_filter(self) -> None:
        self.query_one("#filter", Input).value = ""
        self.query_one(VariantTable).focus()

    # -- actions on the highlighted variant -----------------------------------------------------
    @property
    def highlighted(self) -> str | None:
        return self.query_one(VariantTable).highlighted_key

    def on_data_table_row_selected(self, event: VariantTable.RowSelected) -> None:
        self.action_detail()

    def action_detail(self) -> None:
        from tui.screens.detail import DetailScreen

        view = self.app.catalog.get(self.highlighted)
        if view is not None:
            self.app.push_screen(DetailScreen(view.key))

    def action_compare(self) -> None:
        from tui.screens.compare import CompareScreen

        reference, other = self.app.reference, self.highlighted
        if reference is None or other is None:
            self.notify("no variant to compare", severity="warning")
            return
        self.app.push_screen(CompareScreen(reference, other))

    def action_forgot(self) -> None:
        from tui.screens.forgot import ForgotScreen

        if self.highlighted is not None:
            self.app.push_screen(ForgotScreen(self.highlighted))

    def action_set_reference(self) -> None:
        if self.highlighted is not None:
            self.app.reference = self.highlighted

    def action_cycle_mode(self) -> None:
        table = self.query_one(VariantTable)
        table.mode = DISPLAY_MODES[(DISPLAY_MODES.index(table.mode) + 1) % len(DISPLAY_MODES)]
        table.rebuild()
        self.update_status()

    def action_tradeoffs(self) -> None:
        self.app.open_screen("tradeoffs")

    def action_inspect(self) -> None:
        from tui.screens.inspect import InspectScreen

        view = self.app.catalog.get(self.highlighted)
        self.app.push_screen(InspectScreen(str(view.path) if view else None))

    def action_run(self) -> None:
        self.app.open_screen("run")

"""The variants table: one row per variant, figures from emocompress.measure.summary.variant_row."""

from __future__ import annotations

from rich.text import Text

from tui.data import (
    COLUMN_BY_KEY,
    Catalog,
    Column,
    VariantView,
    change,
    fmt_figure,
    ordered,
    parent_text,
    shorten,
    visible,
)
from tui.widgets.sortable_table import SortableTable


class VariantTable(SortableTable):
    """Sorted, filtered, in values or in deltas/percent against the reference variant."""

    def __init__(self, **kwargs) -> None:
        # the name stays in view while scrolling right to the figures (80-column terminals)
        super().__init__(fixed_columns=1, **kwargs)
        self.catalog = Catalog()
        self.filter_text = ""
        self.mode = "value"
        self.reference: str | None = None

    def show(self, catalog: Catalog, reference: str | None) -> None:
        self.catalog, self.reference = catalog, reference
        self.rebuild()

    def default_reverse(self, column: str) -> bool:
        spec = COLUMN_BY_KEY.get(column)
        return bool(spec and spec.better == "high")

    def shown_rows(self) -> list[VariantView]:
        rows = visible(self.catalog.variants, self.filter_text)
        if self.sort_column:
            column = self.sort_column
            rows = ordered(rows, lambda view: view.value(column), self.sort_reverse)
        return rows

    def rebuild(self) -> None:
        keep = self.highlighted_key
        columns = self.catalog.shown_columns()
        self.clear(columns=True)
        self._headers = {}
        for column in columns:
            self.add_sort_column(column.key, column.header)
        reference = self.catalog.get(self.reference)
        for view in self.shown_rows():
            self.add_row(*[self._cell(view, c, reference) for c in columns], key=view.key)
        self.keep_cursor_on(keep)

    def _cell(self, view: VariantView, column: Column, reference: VariantView | None) -> Text:
        if column.key == "variant":
            name = view.key + (" (ref)" if view.key == self.reference else "")
            return Text(name, style="bold red" if view.error else "bold")
        if column.key == "parent":  # a long model reference must not eat the width
            return Text(shorten(parent_text(view.value("parent")), column.width or 0))
        mode = "value" if reference is None or view is reference else self.mode
        value = view.value(column.key)
        ref_value = reference.value(column.key) if reference else None
        style = "bold green" if column.key == "pareto" else ""
        if mode != "value" and column.better:
            delta, _ = change(value, ref_value)
            if delta:  # green: better than the reference, red: worse
                style = "green" if (delta > 0) == (column.better == "high") else "red"
        return Text(
            fmt_figure(column, view, reference, mode),
            style=style,
            justify="left" if column.spec == "s" else "right",
        )

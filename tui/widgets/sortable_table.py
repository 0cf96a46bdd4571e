"""A DataTable that sorts by its data, not by the formatted text of its cells.

Subclasses keep their rows as objects and implement :meth:`rebuild`; ``s`` (or a click on
a header) sorts by the column under the cursor, pressing again reverses the order.
"""

from __future__ import annotations

import contextlib

from textual.binding import Binding
from textual.widgets import DataTable
from textual.widgets.data_table import RowDoesNotExist


class SortableTable(DataTable):
    BINDINGS = [Binding("s", "sort_by_cursor", "sort")]

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.sort_column: str | None = None
        self.sort_reverse = False

    def rebuild(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def sort_by(self, column: str) -> None:
        """Sort by ``column``; the same column again reverses the order."""
        if column == self.sort_column:
            self.sort_reverse = not self.sort_reverse
        else:
            self.sort_column, self.sort_reverse = column, self.default_reverse(column)
        self.rebuild()

    def default_reverse(self, column: str) -> bool:
        """First press: best first for figures where higher is better."""
        return False

    def action_sort_by_cursor(self) -> None:
        if self.columns:
            key = list(self.columns)[self.cursor_column].value
            self.sort_by(str(key))

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        self.sort_by(str(event.column_key.value))

    def sort_label(self, column: str, header: str) -> str:
        if column != self.sort_column:
            return header
        return header + (" ▼" if self.sort_reverse else " ▲")

    def keep_cursor_on(self, row_key: str | None) -> None:
        """After a rebuild, put the cursor back on the row it was on."""
        if row_key is None:
            return
        with contextlib.suppress(RowDoesNotExist):  # filtered out: the cursor stays
            self.move_cursor(row=self.get_row_index(row_key))

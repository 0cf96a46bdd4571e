"""Tables that sort by their data, not by the formatted text of their cells, from the keyboard.

A row cursor picks the row (enter, actions on the highlighted variant); a second, column
cursor picks the column to sort by: ``←``/``→`` move it (its header is shown reversed and
scrolled into view, so every column is reachable on an 80-column terminal), ``s`` sorts by
it, ``s`` again reverses. A click on a header does the same. :class:`SortableTable` leaves
the rows to subclasses (:meth:`rebuild`); :class:`CellTable` is the plain one: rows of
:class:`tui.data.Cell` (text and the value sorting uses).
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

from rich.text import Text
from textual.binding import Binding
from textual.geometry import Region
from textual.widgets import DataTable
from textual.widgets.data_table import RowDoesNotExist

from tui.data import Cell, ordered


class SortableTable(DataTable):
    BINDINGS = [
        Binding("s", "sort_by_cursor", "sort"),
        Binding("left", "cursor_left", "column", key_display="←→"),
        Binding("right", "cursor_right", "next column", show=False),
    ]

    def __init__(self, **kwargs) -> None:
        super().__init__(cursor_type="row", zebra_stripes=True, **kwargs)
        self.sort_column: str | None = None
        self.sort_reverse = False
        self.column_cursor: str | None = None  # the key of the column ``s`` sorts by
        self._headers: dict[str, str] = {}

    def rebuild(self) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    # -- columns ----------------------------------------------------------------------------
    def add_sort_column(self, key: str, header: str, *, width: int | None = None) -> None:
        """A column whose header shows the sort order and the column cursor."""
        self._headers[key] = header
        self.add_column(self._header_text(key), key=key, width=width)

    def _header_text(self, key: str) -> Text:
        header = self._headers.get(key, key)
        if key == self.sort_column:
            header += " ▼" if self.sort_reverse else " ▲"
        return Text(header, style="reverse" if key == self._cursor_key() else "")

    def _keys(self) -> list[str]:
        return [str(column.key.value) for column in self.ordered_columns]

    def _cursor_key(self) -> str | None:
        keys = list(self._headers)
        if self.column_cursor in keys:
            return self.column_cursor
        return keys[0] if keys else None

    # -- sorting ----------------------------------------------------------------------------
    def sort_by(self, column: str) -> None:
        """Sort by ``column``; the same column again reverses the order."""
        if column == self.sort_column:
            self.sort_reverse = not self.sort_reverse
        else:
            self.sort_column, self.sort_reverse = column, self.default_reverse(column)
        self.column_cursor = column
        self.rebuild()
        self._show_column_cursor()

    def default_reverse(self, column: str) -> bool:
        """First press: best first for figures where higher is better."""
        return False

    def action_sort_by_cursor(self) -> None:
        key = self._cursor_key()
        if key is not None and self.columns:
            self.sort_by(key)

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        self.sort_by(str(event.column_key.value))

    # -- the column cursor ------------------------------------------------------------------
    def action_cursor_left(self) -> None:
        self._move_column_cursor(-1)

    def action_cursor_right(self) -> None:
        self._move_column_cursor(+1)

    def _move_column_cursor(self, step: int) -> None:
        keys = self._keys()
        if not keys:
            return
        current = self._cursor_key()
        index = keys.index(current) if current in keys else 0
        index = max(0, min(len(keys) - 1, index + step))
        self.column_cursor = keys[index]
        for key, column in self.columns.items():
            column.label = self._header_text(str(key.value))
        self.refresh()
        self._show_column_cursor()

    def _show_column_cursor(self) -> None:
        """Scroll the column cursor's column into view (once the table has its new size)."""
        self.call_after_refresh(self._scroll_column_into_view)

    def _scroll_column_into_view(self) -> None:
        keys = self._keys()
        key = self._cursor_key()
        if key not in keys:
            return
        index = keys.index(key)
        top = self._get_fixed_offset()[0]
        x, _, width, _ = self._get_column_region(index)
        if index < self.fixed_columns:
            return
        region = Region(x, int(self.scroll_y) + top, width, 1)
        self.scroll_to_region(region, spacing=self._get_fixed_offset(), force=True, animate=False)

    def keep_cursor_on(self, row_key: str | None) -> None:
        """After a rebuild, put the cursor back on the row it was on."""
        if row_key is None:
            return
        with contextlib.suppress(RowDoesNotExist):  # filtered out: the cursor stays
            self.move_cursor(row=self.get_row_index(row_key))

    @property
    def highlighted_key(self) -> str | None:
        if not self.row_count:
            return None
        row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        return row_key.value


class CellTable(SortableTable):
    """A table of :class:`Cell` rows: sorted by each cell's value (unmeasured last)."""

    def __init__(self, *, better: dict[str, str] | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.header_keys: list[tuple[str, str]] = []
        self.rows_cells: list[tuple[str, list[Cell]]] = []
        self.better = better or {}  # column key: "high" sorts best first on the first press

    def show(
        self, headers: Sequence[tuple[str, str]], rows: Sequence[tuple[str, list[Cell]]]
    ) -> None:
        """``headers``: (key, header); ``rows``: (row key, one Cell per column)."""
        self.header_keys, self.rows_cells = list(headers), list(rows)
        self.rebuild()

    def default_reverse(self, column: str) -> bool:
        return self.better.get(column) == "high"

    def rebuild(self) -> None:
        keep = self.highlighted_key
        self.clear(columns=True)
        self._headers = {}
        for key, header in self.header_keys:
            self.add_sort_column(key, header)
        rows = self.rows_cells
        if self.sort_column in dict(self.header_keys):
            index = [key for key, _ in self.header_keys].index(self.sort_column)
            rows = ordered(rows, lambda row: row[1][index].value, self.sort_reverse)
        for key, cells in rows:
            self.add_row(*[cell.rendered() for cell in cells], key=key)
        self.keep_cursor_on(keep)

"""Per-emotion figures of one variant: sortable, best and worst F1 highlighted."""

from __future__ import annotations

from rich.text import Text

from emocompress.format import fmt
from tui.data import EMOTION_COLUMNS, EmotionRow, best_and_worst, ordered
from tui.widgets.sortable_table import SortableTable


class EmotionTable(SortableTable):
    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.emotions: list[EmotionRow] = []

    def show(self, rows: list[EmotionRow]) -> None:
        self.emotions = rows
        self.rebuild()

    def default_reverse(self, column: str) -> bool:
        return column != "label"

    def rebuild(self) -> None:
        keep = self.highlighted_key
        self.clear(columns=True)
        self._headers = {}
        for key, header, _ in EMOTION_COLUMNS:
            self.add_sort_column(key, header)
        rows = list(self.emotions)
        if self.sort_column:
            column = self.sort_column
            rows = ordered(rows, lambda row: getattr(row, column), self.sort_reverse)
        best, worst = best_and_worst(self.emotions)
        for row in rows:
            style = "bold green" if row.label in best else "bold red" if row.label in worst else ""
            cells = [
                Text(
                    fmt(getattr(row, key), spec),
                    style=style,
                    justify="left" if spec == "s" else "right",
                )
                for key, _, spec in EMOTION_COLUMNS
            ]
            self.add_row(*cells, key=row.label)
        self.keep_cursor_on(keep)

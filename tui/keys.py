"""Keys every screen shows first in its footer, and the footer itself.

``?`` and ``q`` lead each screen's bindings, so an 80-column footer always shows them; the
rest of a screen's keys follow with short descriptions, and ``?`` lists every key.
"""

from __future__ import annotations

from textual.binding import Binding
from textual.widgets import Footer

GLOBAL_KEYS = [
    Binding("question_mark", "app.help", "help", key_display="?"),
    Binding("q", "app.quit", "quit"),
]


def footer() -> Footer:
    """The compact footer (the command palette, ``ctrl+p``, is listed in the help instead)."""
    return Footer(compact=True, show_command_palette=False)

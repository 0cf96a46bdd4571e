"""Inspect any checkpoint from inside the app: the facts of ``emocompress inspect``."""

from __future__ import annotations

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Header, Input, Static

from tui.data import shown_path
from tui.keys import GLOBAL_KEYS, footer


class Inspected(Message):
    def __init__(self, renderables: list, error: str | None = None) -> None:
        super().__init__()
        self.renderables, self.error = renderables, error


class InspectScreen(Screen):
    BINDINGS = [*GLOBAL_KEYS, Binding("escape", "app.pop_screen", "back")]

    def __init__(self, path: str | None = None) -> None:
        super().__init__()
        self.initial = shown_path(path) if path else ""

    def compose(self) -> ComposeResult:
        yield Header()
        yield Input(
            value=self.initial,
            placeholder="checkpoint directory or file (.safetensors, .bin, .onnx) or pkg:NAME",
            id="inspect-path",
        )
        with VerticalScroll(id="inspect-body"):
            yield Static("type a path and press enter", id="inspect-result")
        yield footer()

    def on_mount(self) -> None:
        self.sub_title = "inspect"
        self.app.still_inputs(self)
        if self.initial:
            self.focus_result = True  # once shown (a loading widget cannot take focus)
            self.inspect(self.initial)
        else:
            self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.inspect(event.value.strip())

    def inspect(self, path: str) -> None:
        self.query_one("#inspect-body").loading = True
        self._inspect(path)

    @work(thread=True, exclusive=True, exit_on_error=False)
    def _inspect(self, ref: str) -> None:
        from emocompress.errors import UserError

        try:
            self.post_message(Inspected(inspect_renderables(ref)))
        except UserError as error:
            self.post_message(Inspected([], str(error)))

    focus_result = False

    def on_inspected(self, message: Inspected) -> None:
        body = self.query_one("#inspect-body")
        body.loading = False
        if self.focus_result:  # the keys (?, q, scrolling) work at once
            self.focus_result = False
            body.focus()
        result = self.query_one("#inspect-result", Static)
        if message.error:
            result.update(f"[b red]cannot inspect:[/] {message.error}")
            self.notify(message.error, title="inspect", severity="error")
            return
        from rich.console import Group

        result.update(Group(*message.renderables))


def inspect_renderables(ref: str) -> list:
    """The tables ``emocompress inspect REF --by component --by layer`` prints."""
    from emocompress.cli.commands import inspect as command
    from emocompress.models.inspect import inspect_checkpoint
    from emocompress.models.reference import resolve_model_path

    if not ref:
        from emocompress.errors import UserError

        raise UserError("no path given", expected="a checkpoint directory or file")
    report = inspect_checkpoint(resolve_model_path(ref, allow_hub=False))
    report.source = shown_path(report.source)
    tables = [command.source_line(report), command.totals_table(report)]
    if report.architecture:
        tables.append(command.architecture_table(report.architecture))
    for by, rows in (("component", report.by_component), ("layer", report.by_layer)):
        tables.append(command.breakdown_table(by, rows, report, None))
    if report.shared:
        tables.append(command.groups_table("Tensors sharing storage", report.shared))
    return tables

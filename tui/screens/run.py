"""Run a recipe from the app: a thread worker runs it, progress and log stream in here.

The worker never touches widgets: the Reporter's listener posts messages, and the screen
updates itself when they arrive. Cancelling sets the Reporter's flag; the runner stops at
its next check (every progress step is one), run.json says "cancelled", and the finished
variants stay in the run directory (resume continues). A step is shown done (✓) only when
it finished; a stopped one is shown stopped (✗). The app keeps one run screen (leaving it
does not stop the run; coming back shows it), and quitting the app cancels a running recipe.
"""

from __future__ import annotations

from pathlib import Path

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Button, Header, Input, Label, ProgressBar, RichLog

from tui.keys import GLOBAL_KEYS, footer
from tui.widgets.memory import MemoryPanel


class RunEvent(Message):
    """One Reporter event: (kind, text, completed, total)."""

    def __init__(self, event: tuple) -> None:
        super().__init__()
        self.kind, self.text, self.completed, self.total = event


class RunStarted(Message):
    def __init__(self, out: Path) -> None:
        super().__init__()
        self.out = out


class RunFinished(Message):
    def __init__(self, status: str) -> None:
        super().__init__()
        self.status = status


class RunScreen(Screen):
    BINDINGS = [
        *GLOBAL_KEYS,
        Binding("escape", "app.pop_screen", "back"),
        Binding("ctrl+s", "start", "run"),
        Binding("ctrl+o", "cancel", "cancel"),
    ]

    def __init__(self, recipe: str | None = None, out: str | None = None) -> None:
        super().__init__()
        self.recipe = recipe or ""
        self.out = out or ""
        self.reporter = None
        self.status = "idle"

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="run-form"):
            yield Input(value=self.recipe, placeholder="recipe YAML", id="recipe-path")
            yield Input(
                value=self.out, placeholder="run directory (default runs/<name>)", id="run-out"
            )
            yield Button("Run", id="start", variant="primary")
            yield Button("Cancel", id="cancel", variant="error", disabled=True)
        yield Label("idle", id="run-task")
        yield ProgressBar(total=100, id="run-progress", show_eta=False)
        yield MemoryPanel(live=self.app.live, id="memory")
        yield RichLog(id="run-log", wrap=True, markup=False)
        yield footer()

    def on_mount(self) -> None:
        self.sub_title = "run a recipe"
        self.app.still_inputs(self)
        self.query_one("#recipe-path", Input).focus()

    # -- starting and stopping -----------------------------------------------------------------
    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.action_start()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        {"start": self.action_start, "cancel": self.action_cancel}[event.button.id]()

    def action_start(self) -> None:
        from emocompress.progress import Reporter

        if self.reporter is not None:
            self.notify("a recipe is already running", severity="warning")
            return
        recipe = self.query_one("#recipe-path", Input).value.strip()
        if not recipe:
            self.notify("type the path of a recipe YAML first", severity="warning")
            return
        self.reporter = Reporter("quiet")
        self.reporter.subscribe(lambda event: self.post_message(RunEvent(event)))
        self._set_running(True, f"starting {recipe}")
        self._run(recipe, self.query_one("#run-out", Input).value.strip(), self.reporter)

    def action_cancel(self) -> None:
        if self.reporter is not None:
            self.reporter.cancel()
            self.query_one("#run-task", Label).update("cancelling: stops at the next check")

    def on_unmount(self) -> None:
        """The app is closing: a running recipe stops (run.json: cancelled)."""
        if self.reporter is not None:
            self.reporter.cancel()

    def _set_running(self, running: bool, status: str) -> None:
        self.status = status
        self.query_one("#start", Button).disabled = running
        self.query_one("#cancel", Button).disabled = not running
        self.query_one("#run-task", Label).update(status)
        self.query_one(RichLog).write(status)

    @work(thread=True, exclusive=True, group="recipe", exit_on_error=False)
    def _run(self, recipe_path: str, out: str, reporter) -> None:
        from emocompress.errors import UserError
        from emocompress.progress import Cancelled
        from emocompress.recipe.loading import load_recipe
        from emocompress.run.runner import run_recipe
        from tui.widgets.memory import mark_torch_ready

        try:
            import torch  # noqa: F401 - imported whole before the memory panel may read it

            mark_torch_ready()
            recipe = load_recipe(recipe_path)
            target = Path(out) if out else Path("runs") / recipe.name
            self.post_message(RunStarted(target))
            result = run_recipe(recipe, target, resume=True, reporter=reporter)
            failed = [g.message for g in result.gate_results if not g.passed]
            status = "finished" + (f", {len(failed)} gate(s) failed" if failed else "")
        except Cancelled:
            status = "cancelled"
        except UserError as error:
            status = f"failed: {error}"
        except Exception as error:  # show it; the app keeps working
            status = f"failed: {type(error).__name__}: {error}"
        self.post_message(RunFinished(status))

    # -- messages from the worker -----------------------------------------------------------
    def on_run_started(self, message: RunStarted) -> None:
        self.app.add_ref(message.out)
        self.query_one(RichLog).write(f"writing {message.out}")

    def on_run_event(self, event: RunEvent) -> None:
        bar = self.query_one(ProgressBar)
        if event.kind == "start":
            bar.update(total=event.total, progress=0)
            self.query_one("#run-task", Label).update(event.text)
            self.query_one(RichLog).write(f"▶ {event.text}")
        elif event.kind == "progress":
            bar.update(total=event.total, progress=event.completed)
        elif event.kind == "end":
            self.query_one(RichLog).write(f"✓ {event.text}")
            self.app.reload()  # a variant may have landed
        elif event.kind == "stopped":
            self.query_one(RichLog).write(f"✗ {event.text} (stopped, not finished)")
        elif event.kind == "log":
            self.query_one(RichLog).write(event.text)

    def on_run_finished(self, message: RunFinished) -> None:
        self.reporter = None
        self._set_running(False, message.status)
        self.app.reload()
        severity = "information" if message.status.startswith("finished") else "warning"
        self.notify(message.status, title="recipe", severity=severity)

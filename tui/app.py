"""The app: holds the catalogue of variants, loads it in a worker, and switches screens.

:func:`create_app` is the one way to build it, shared by ``emocompress tui`` and the tests.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.message import Message
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Input

from tui.data import Catalog, default_paths, load_catalog


class CatalogLoaded(Message):
    """The loader worker read the run directories."""

    def __init__(self, catalog: Catalog) -> None:
        super().__init__()
        self.catalog = catalog


class EmoCompressApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "emocompress"
    BINDINGS = [
        # shown first by every screen (tui.keys.GLOBAL_KEYS); here for the modal help
        Binding("q", "quit", "quit", show=False),
        Binding("question_mark", "help", "help", key_display="?", show=False),
        Binding("d", "toggle_theme", "dark/light", show=False),
        Binding("ctrl+r", "reload", "reload", show=False),
    ]

    catalog: reactive[Catalog] = reactive(Catalog, always_update=True)
    reference: reactive[str | None] = reactive(None)
    loading_catalog: reactive[bool] = reactive(True)

    def __init__(
        self,
        refs: Sequence[str | Path],
        *,
        live: bool = True,
        recipe: str | None = None,
    ) -> None:
        super().__init__()
        self.refs: list[str] = [str(ref) for ref in refs]
        self.live = live  # False: no memory sampling, no blinking cursors
        self.recipe = recipe
        self.sub_title = ", ".join(Path(ref).name or ref for ref in self.refs)
        self.crash: Exception | None = None  # the error that stopped the app, if one did

    # Textual ends the app on an unhandled error and prints its own traceback (with locals)
    # as it exits. The CLI shows a crash the one way instead: one line, the traceback in a
    # crash log (emocompress/cli/__init__.py), so the app only keeps the error for it.
    def _handle_exception(self, error: Exception) -> None:
        if self.crash is None:
            self.crash = error
        super()._handle_exception(error)

    def _print_error_renderables(self) -> None:
        if self.crash is None:
            super()._print_error_renderables()
        else:
            self._exit_renderables.clear()

    def get_default_screen(self) -> Screen:
        from tui.screens.variants import VariantsScreen

        return VariantsScreen()

    def on_mount(self) -> None:
        self.reload()

    # -- loading ------------------------------------------------------------------------
    def reload(self) -> None:
        """Read the run directories again (in a thread: the screen keeps painting)."""
        self.loading_catalog = True
        self._load(list(self.refs))

    def add_ref(self, ref: str | Path) -> None:
        """Show a run directory that a recipe run from the app writes."""
        resolved = Path(ref).resolve()
        shown = {Path(r).resolve() for r in self.refs}  # as itself or inside a folder of runs
        if resolved not in shown and resolved.parent not in shown:
            self.refs.append(str(ref))

    @work(thread=True, exclusive=True, group="catalog", exit_on_error=False)
    def _load(self, refs: list[str]) -> None:
        try:
            catalog = load_catalog(refs)
        except Exception as error:  # a bug in one reader must not take the app down
            catalog = Catalog(errors=[f"could not read {', '.join(refs)}: {error}"])
        self.post_message(CatalogLoaded(catalog))

    def on_catalog_loaded(self, message: CatalogLoaded) -> None:
        catalog = message.catalog
        if catalog.get(self.reference) is None:
            self.reference = catalog.reference
        self.loading_catalog = False  # first: a loading widget cannot take focus
        self.catalog = catalog
        for error in catalog.errors:
            self.notify(error, title="cannot read", severity="warning", timeout=8)

    # -- actions ------------------------------------------------------------------------
    def action_help(self) -> None:
        from tui.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.help_sections()))

    def help_sections(self) -> list[tuple[str, list[Binding]]]:
        """Every screen's keys, for the help screen."""
        from tui.screens.compare import CompareScreen
        from tui.screens.detail import DetailScreen
        from tui.screens.inspect import InspectScreen
        from tui.screens.run import RunScreen
        from tui.screens.tradeoffs import TradeoffScreen
        from tui.screens.variants import VariantsScreen
        from tui.widgets.sortable_table import SortableTable

        return [
            ("Everywhere", list(self.BINDINGS)),
            ("Variants", VariantsScreen.BINDINGS + SortableTable.BINDINGS),
            ("Detail", DetailScreen.BINDINGS + SortableTable.BINDINGS),
            ("Tradeoffs", TradeoffScreen.BINDINGS),
            ("Compare", CompareScreen.BINDINGS),
            ("Inspect", InspectScreen.BINDINGS),
            ("Run a recipe", RunScreen.BINDINGS),
        ]

    def action_toggle_theme(self) -> None:
        self.theme = "textual-light" if self.current_theme.dark else "textual-dark"

    def action_reload(self) -> None:
        self.reload()

    def still_inputs(self, screen: Screen) -> None:
        """Stop the cursors blinking when not live: snapshots must not catch them mid-blink."""
        for field in screen.query(Input):
            field.cursor_blink = self.live

    def open_screen(self, name: str) -> None:
        """Open one of the screens reachable from anywhere (palette, keys)."""
        from tui.screens.inspect import InspectScreen
        from tui.screens.run import RunScreen
        from tui.screens.tradeoffs import TradeoffScreen

        if name == "run":  # one run screen: leaving it does not lose a running recipe
            if self.is_screen_installed("run") and self.screen is self.get_screen("run"):
                return
            if not self.is_screen_installed("run"):
                self.install_screen(RunScreen(*self.recipe_to_run()), name="run")
            self.push_screen("run")
            return
        factories = {"tradeoffs": TradeoffScreen, "inspect": InspectScreen}
        self.push_screen(factories[name]())

    def recipe_to_run(self) -> tuple[str | None, str | None]:
        """What the run screen starts with: ``--recipe``, else the opened run's recipe.yaml
        and that run directory (rerunning it resumes)."""
        if self.recipe:
            return self.recipe, None
        from emocompress.artifacts.rundir import RunDir
        from tui.data import shown_path

        for root in self.catalog.run_dirs[:1]:
            recipe = RunDir(root).recipe_file
            if recipe.is_file():
                return shown_path(recipe), shown_path(root)
        return None, None

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand(
            "Tradeoffs", "AUC against size and latency", lambda: self.open_screen("tradeoffs")
        )
        yield SystemCommand(
            "Inspect a checkpoint",
            "parameters and size of any checkpoint",
            lambda: self.open_screen("inspect"),
        )
        yield SystemCommand(
            "Run a recipe", "run a recipe YAML here", lambda: self.open_screen("run")
        )
        yield SystemCommand("Reload", "read the run directories again", self.reload)
        yield SystemCommand("Help", "keys of every screen", self.action_help)


def create_app(
    paths: Sequence[str | Path] | None = None,
    *,
    live: bool = True,
    recipe: str | None = None,
) -> EmoCompressApp:
    """The app for run directories, folders of runs and checkpoints (default: ./runs).

    ``live=False`` freezes the memory panel and the cursors' blinking (snapshot tests); ``recipe`` prefills
    the recipe screen.
    """
    refs = list(paths) if paths else default_paths()
    return EmoCompressApp(refs, live=live, recipe=recipe)


def run_app(app: EmoCompressApp, *, headless: bool = False) -> None:
    """Run ``app`` until it quits; an error that stopped it is raised here, for the CLI."""
    app.run(headless=headless)
    if app.crash is not None:
        raise app.crash

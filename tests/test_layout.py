"""The architecture holds: no import cycles, the command line starts without heavy imports,
and every test that runs a recipe is marked integration (the quick loop stays quick).

The layering itself is import-linter's (pyproject.toml, `lint-imports` in `make test`); this
walks every import statement, those inside functions included, and fails on any cycle.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(*packages: str) -> dict[str, set[str]]:
    """Module -> the project modules it imports (anywhere in the file)."""
    files = {_module_name(p): p for pkg in packages for p in (ROOT / pkg).rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in files}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*up, base] if base else up)
                targets = [base, *(f"{base}.{alias.name}" for alias in node.names)]
            for target in targets:
                while target and target not in files:
                    target = target.rpartition(".")[0]
                related = name.startswith(target + ".") or target.startswith(name + ".")
                if target and target != name and not related:
                    graph[name].add(target)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle as a path (first module repeated at the end), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                return path[path.index(target) :] + [target]
            if target not in state and (cycle := visit(target)):
                return cycle
        state[node] = 2
        path.pop()
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start)):
            return cycle
    return None


def test_no_import_cycles():
    cycle = find_cycle(import_graph("emocompress", "tui"))
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_cycle_finder_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_help_imports_nothing_heavy():
    code = (
        "import sys\n"
        "from emocompress.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "heavy = [m for m in ('torch', 'transformers', 'onnxruntime', 'textual') if m in sys.modules]\n"
        "print('heavy:' + ','.join(heavy))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "heavy:", done.stdout


def _runs_a_recipe(test: ast.AST) -> bool:
    """Whether a test function runs a whole recipe itself: run_recipe(...), a command line
    ["run", ...] (not --dry-run, not one expected to exit 2) or [op, "--recipe", ...], or the
    TUI's run screen (ctrl+s)."""
    refused = {
        id(node.left)
        for node in ast.walk(test)
        if isinstance(node, ast.Compare)
        and any(isinstance(c, ast.Constant) and c.value == 2 for c in node.comparators)
    }
    for node in ast.walk(test):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
        if name == "run_recipe":
            return True
        if name == "press" and any(
            isinstance(a, ast.Constant) and a.value == "ctrl+s" for a in node.args
        ):
            return True
        argv = node.args[0] if node.args and isinstance(node.args[0], ast.List) else None
        words = [e.value for e in argv.elts if isinstance(e, ast.Constant)] if argv else []
        if id(node) in refused or "--dry-run" in words or not words:
            continue
        if words[0] == "run" or "--recipe" in words:
            return True
    return False


def test_tests_that_run_a_recipe_are_marked_integration():
    """The quick loop (-m "not integration") stays quick: tiny_run users are marked by
    conftest.py, every other test that runs a recipe says @pytest.mark.integration."""
    unmarked = []
    for path in sorted((ROOT / "tests").rglob("test_*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            if not node.name.startswith("test_") or "tiny_run" in {a.arg for a in node.args.args}:
                continue
            marked = any("mark.integration" in ast.unparse(d) for d in node.decorator_list)
            if not marked and _runs_a_recipe(node):
                unmarked.append(f"{path.relative_to(ROOT)}::{node.name}")
    assert not unmarked, "runs a recipe, not marked integration: " + ", ".join(unmarked)

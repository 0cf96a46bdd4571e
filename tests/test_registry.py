"""Every closed registry (commands, operations, merge methods, gates, threshold strategies)
refuses an unknown name with one UserError that lists the names it knows."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import emocompress
from emocompress.cli.commands import COMMANDS
from emocompress.errors import UserError
from emocompress.measure.gates import GATES
from emocompress.measure.metrics import STRATEGIES
from emocompress.ops.merge.registry import METHODS
from emocompress.ops.registry import OPERATIONS
from emocompress.registry import Registry

REGISTRIES = {
    "command": COMMANDS,
    "operation": OPERATIONS,
    "merge method": METHODS,
    "gate": GATES,
    "threshold strategy": STRATEGIES,
}


@pytest.mark.parametrize("kind", sorted(REGISTRIES))
def test_unknown_name_is_one_user_error_listing_the_known(kind: str) -> None:
    registry = REGISTRIES[kind]
    assert registry.kind == kind and len(registry) > 1
    with pytest.raises(UserError) as error:
        registry.lookup("no-such-name")
    message = str(error.value)
    assert message.startswith(f"unknown {kind} 'no-such-name'")
    assert "\n" not in message and message.endswith("(expected one of " + ", ".join(registry) + ")")


@pytest.mark.parametrize("kind", sorted(REGISTRIES))
def test_every_known_name_resolves(kind: str) -> None:
    registry = REGISTRIES[kind]
    assert [name for name, _ in registry.items()] == registry.names()
    assert all(registry.lookup(name) is entry for name, entry in registry.items())


def test_a_name_registered_twice_is_a_programming_error() -> None:
    with pytest.raises(RuntimeError, match="thing 'a' is registered twice"):
        Registry("thing", ["a", "b", "a"], name=str)


# importing by a computed name is how a registry would grow a second lookup path; the only
# dynamic import left loads the optional trackers, by fixed names
DYNAMIC_IMPORT_ALLOWED = {"emocompress/run/tracking/modules.py"}


def _dynamic_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import | ast.ImportFrom):
            module = node.module if isinstance(node, ast.ImportFrom) else None
            names = [alias.name for alias in node.names]
            if "pkgutil" in (module, *names):
                found.append(f"line {node.lineno}: imports pkgutil")
        elif isinstance(node, ast.Attribute) and node.attr in {"import_module", "iter_modules"}:
            found.append(f"line {node.lineno}: {node.attr}")
        elif isinstance(node, ast.Name) and node.id == "__import__":
            found.append(f"line {node.lineno}: __import__")
    return found


def test_no_other_lookup_path_than_the_registries() -> None:
    root = Path(emocompress.__file__).parent
    offenders = {
        relative: found
        for path in sorted(root.rglob("*.py"))
        if (relative := path.relative_to(root.parent).as_posix()) not in DYNAMIC_IMPORT_ALLOWED
        and (found := _dynamic_imports(path))
    }
    assert offenders == {}

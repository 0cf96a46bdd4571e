"""Every closed registry (commands, operations, merge methods, gates, threshold strategies)
refuses an unknown name with one UserError that lists the names it knows."""

from __future__ import annotations

import pytest

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

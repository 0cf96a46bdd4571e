"""The operation registry shared by the recipe runner and the CLI.

An operation turns a parent variant (or a model reference) into a new variant directory.
Each module in this package defines ``OPERATIONS: list[Operation]``; :func:`registry`
collects them. Names resolve only through this registry, never through import paths
written in a recipe. Adding an operation is one new module (or one more entry).

Settings are pydantic models with ``extra="forbid"`` so that a typo in a recipe is an
error before any work starts. Module-level imports must stay light (pydantic only): torch
and friends are imported inside ``run``.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict

from emocompress.errors import UserError

if TYPE_CHECKING:
    from emocompress.context import OpContext


class Settings(BaseModel):
    """Base class for operation settings: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class Operation:
    name: str
    help: str
    settings: type[Settings]
    # run(ctx, settings) writes the new variant into ctx.out_dir and returns extra lineage facts
    run: Callable[[OpContext, Any], dict[str, Any] | None]
    produces: Literal["pytorch", "onnx"] = "pytorch"
    # whether the runner evaluates the result on the data (export/quantize evaluate themselves too)
    evaluate: bool = True
    # plan(parent_config, settings) -> the child's config.json dict, for --dry-run (no weights);
    # None: the child has the parent's architecture
    plan: Callable[[dict[str, Any], Any], dict[str, Any]] | None = None


@cache
def registry() -> dict[str, Operation]:
    import emocompress.ops as package

    found: dict[str, Operation] = {}
    for info in pkgutil.iter_modules(package.__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        for operation in getattr(module, "OPERATIONS", []):
            if operation.name in found:
                raise RuntimeError(f"operation {operation.name!r} is registered twice")
            found[operation.name] = operation
    return found


def get_operation(name: str) -> Operation:
    operations = registry()
    if name not in operations:
        raise UserError(
            f"unknown operation {name!r}", expected="one of " + ", ".join(sorted(operations))
        )
    return operations[name]

"""Merge methods by name: a plain dict, the only way a recipe or the CLI names a method."""

from __future__ import annotations

from emocompress.errors import UserError
from emocompress.ops.merge import greedy, slerp, task_arithmetic, ties, uniform
from emocompress.ops.merge.base import MergeMethod

METHODS: dict[str, MergeMethod] = {
    module.METHOD.name: module.METHOD for module in (uniform, greedy, task_arithmetic, ties, slerp)
}


def get_method(name: str) -> MergeMethod:
    if name not in METHODS:
        raise UserError(f"unknown merge method {name!r}", expected="one of " + ", ".join(METHODS))
    return METHODS[name]

"""Merge methods by name: the only way a recipe or the CLI names a method."""

from __future__ import annotations

from emocompress.ops.merge import greedy, slerp, task_arithmetic, ties, uniform
from emocompress.ops.merge.base import MergeMethod
from emocompress.registry import Registry

METHODS: Registry[MergeMethod] = Registry(
    "merge method",
    [module.METHOD for module in (uniform, greedy, task_arithmetic, ties, slerp)],
    name=lambda method: method.name,
)

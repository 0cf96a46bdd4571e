"""The operation registry shared by the recipe runner and the CLI: closed, one explicit list.

Adding an operation is one subpackage with an ``OPERATIONS`` list, named here. The runner
and the direct commands know operations only through this registry.
"""

from __future__ import annotations

from emocompress.ops.base import Operation
from emocompress.ops.distil.operation import OPERATIONS as DISTIL
from emocompress.ops.finetune.operation import OPERATIONS as FINETUNE
from emocompress.ops.merge.operation import OPERATIONS as MERGE
from emocompress.ops.onnx.operation import OPERATIONS as ONNX
from emocompress.ops.prune.operation import OPERATIONS as PRUNE
from emocompress.registry import Registry

OPERATIONS: Registry[Operation] = Registry(
    "operation", [*FINETUNE, *DISTIL, *PRUNE, *MERGE, *ONNX], name=lambda op: op.name
)


def get_operation(name: str) -> Operation:
    return OPERATIONS.lookup(name)

"""Checks that checkpoints fit together, run before a single output byte is written.

Refused, with the tensor (or label) named: a tensor one checkpoint has and another lacks, a
shape or dtype that differs, a different label set (config.json id2label, in order).
"""

from __future__ import annotations

from collections.abc import Sequence

from emocompress.errors import UserError
from emocompress.models.checkpoint import TensorInfo
from emocompress.ops.merge.inputs import MergeInput

SHOWN = 5  # names listed in a message before "and N more"


def check_compatible(inputs: Sequence[MergeInput]) -> list[TensorInfo]:
    """The output layout (the first input's tensors, in its order) if every input fits it."""
    first = inputs[0]
    check_labels(inputs)
    for other in inputs[1:]:
        _check_names(first, other)
        for name, info in first.tensors.items():
            theirs = other.tensors[name]
            if theirs.shape != info.shape:
                raise UserError(
                    f"tensor {name!r} has shape {list(info.shape)} in {first.name}"
                    f" but {list(theirs.shape)} in {other.name}",
                    expected="checkpoints of one architecture (same tensor shapes)",
                )
            if theirs.dtype != info.dtype:
                raise UserError(
                    f"tensor {name!r} is {info.dtype} in {first.name} but {theirs.dtype} in"
                    f" {other.name}",
                    expected="the same dtype in every checkpoint (convert one first)",
                )
    return list(first.tensors.values())


def check_labels(inputs: Sequence[MergeInput]) -> None:
    first = inputs[0]
    for other in inputs[1:]:
        if other.label_names == first.label_names:
            continue
        mine, theirs = first.label_names or [], other.label_names or []
        only_first = [n for n in mine if n not in theirs]
        only_other = [n for n in theirs if n not in mine]
        if only_first or only_other:
            detail = "; ".join(
                part
                for part in (
                    only_first and f"only in {first.name}: {_names(only_first)}",
                    only_other and f"only in {other.name}: {_names(only_other)}",
                )
                if part
            )
        else:
            at = next(i for i, (a, b) in enumerate(zip(mine, theirs, strict=True)) if a != b)
            detail = (
                f"label {at} is {mine[at]!r} in {first.name} but {theirs[at]!r} in {other.name}"
            )
        raise UserError(
            f"{first.name} and {other.name} have different label sets ({detail})",
            expected="classifiers of the same labels in the same order",
        )


def _check_names(first: MergeInput, other: MergeInput) -> None:
    for owner, lacking in ((first, other), (other, first)):
        missing = [n for n in owner.tensors if n not in lacking.tensors]
        if missing:
            raise UserError(
                f"tensor {missing[0]!r} of {owner.name} is missing from {lacking.name}"
                + (f" (missing: {_names(missing)})" if len(missing) > 1 else ""),
                expected="checkpoints with the same tensors",
            )


def _names(names: Sequence[str]) -> str:
    shown = ", ".join(names[:SHOWN])
    return shown + (f" and {len(names) - SHOWN} more" if len(names) > SHOWN else "")

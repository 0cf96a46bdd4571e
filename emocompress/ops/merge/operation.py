"""merge: combine checkpoints of one architecture tensor by tensor into safetensors.

In a recipe the inputs are the variant's parents (``parent: [a, b, c]``); the settings say
how to combine them, in a form close to mergekit's::

    - name: soup
      op: merge
      parent: [base-model, student-a, student-b]
      settings:
        method: ties            # uniform | greedy | task_arithmetic | ties | slerp
        base: base-model        # task_arithmetic and ties: a parent, not merged itself
        density: 0.5            # ties: default share of each task vector kept
        models:                 # optional; default: every parent but the base, weight 1
          - {model: student-a, weight: 1.0, density: 0.3}
          - {model: student-b, weight: 0.5}
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field, ValidationError, field_validator, model_validator

from emocompress.errors import UserError
from emocompress.ops.base import Operation, Settings

if TYPE_CHECKING:
    from emocompress.ops.context import OpContext
    from emocompress.ops.merge.base import MergeMethod, MethodParams
    from emocompress.ops.merge.inputs import MergeInput

TIES_DEFAULT_DENSITY = 0.2  # the TIES paper keeps the top 20% of each task vector
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?b?)\s*$", re.IGNORECASE)
_UNITS = {"": 1, "b": 1, "k": 10**3, "m": 10**6, "g": 10**9, "t": 10**12}


def parse_size(text: str | int) -> int:
    """Bytes in ``"2GB"``, ``"500MB"``, ``"10kb"`` or a plain integer (decimal units)."""
    if isinstance(text, int):
        value = text
    else:
        match = _SIZE.match(text)
        if match is None:
            raise ValueError(f"cannot read a size from {text!r} (e.g. 2GB, 500MB, 1000000)")
        value = int(float(match.group(1)) * _UNITS[match.group(2).lower().rstrip("b")])
    if value < 1:
        raise ValueError("the shard size must be at least 1 byte")
    return value


class ModelEntry(Settings):
    model: str = Field(description="a parent variant (recipe) or checkpoint path (command line)")
    weight: float = Field(1.0, description="uniform: share; task_arithmetic/ties: lambda")
    density: float | None = Field(None, gt=0, le=1, description="ties: share of entries kept")

    @field_validator("weight")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("weight must be a finite number")
        return value


class MergeSettings(Settings):
    method: str = Field("uniform", description="uniform, greedy, task_arithmetic, ties or slerp")
    models: list[ModelEntry] | None = Field(
        None, description="models with weights/densities; default: every parent but the base"
    )
    base: str | None = Field(None, description="task_arithmetic, ties: the parent to subtract")
    t: float | None = Field(None, description="slerp: 0 gives the first model, 1 the second")
    density: float | None = Field(
        None, gt=0, le=1, description="ties: default density of the models (default 0.2)"
    )
    shard_size: str | int = Field("2GB", description="largest output file before sharding")

    @field_validator("method")
    @classmethod
    def _known_method(cls, value: str) -> str:
        from emocompress.ops.merge.registry import METHODS

        if value not in METHODS:
            raise ValueError(
                f"unknown merge method {value!r} (expected one of {', '.join(METHODS)})"
            )
        return value

    @field_validator("shard_size")
    @classmethod
    def _readable_size(cls, value: str | int) -> str | int:
        parse_size(value)
        return value

    @model_validator(mode="after")
    def _fits_method(self) -> MergeSettings:
        method = self.merge_method
        self.method_params()
        if self.base is not None and not method.needs_base:
            raise ValueError(f"base applies to task_arithmetic and ties, not {self.method}")
        if method.needs_base and self.base is None:
            raise ValueError(f"{self.method} needs a base: the parent whose weights are subtracted")
        if self.models is not None and method.models and len(self.models) != method.models:
            raise ValueError(f"{self.method} merges exactly {method.models} models")
        if method.select is not None and any(m.weight != 1 for m in self.models or []):
            raise ValueError(
                f"{self.method} soup averages the models it keeps; it takes no weights"
            )
        densities = self.density is not None or any(
            m.density is not None for m in self.models or []
        )
        if densities and not method.uses_density:
            raise ValueError(f"density applies to ties, not {self.method}")
        return self

    @property
    def merge_method(self) -> MergeMethod:
        from emocompress.ops.merge.registry import METHODS

        return METHODS.lookup(self.method)

    @property
    def max_shard_bytes(self) -> int:
        return parse_size(self.shard_size)

    def method_params(self) -> MethodParams:
        given = {"t": self.t} if self.t is not None else {}
        try:
            return self.merge_method.params.model_validate(given)
        except ValidationError as error:
            problem = error.errors()[0]
            key = ".".join(str(p) for p in problem["loc"])
            if problem["type"] == "extra_forbidden":
                raise ValueError(f"{key} is not a setting of method {self.method}") from None
            raise ValueError(f"{key}: {problem['msg']}") from None

    def inputs(
        self, available: list[tuple[str, Path]]
    ) -> tuple[list[MergeInput], MergeInput | None]:
        """The models to merge and the base, from the checkpoints on offer (name, path)."""
        from emocompress.ops.merge.inputs import MergeInput

        paths = dict(available)
        known = ", ".join(paths)
        if self.base is not None and self.base not in paths:
            raise UserError(f"base {self.base!r} is not one of the inputs", expected=known)
        entries = self.models or [ModelEntry(model=n) for n, _ in available if n != self.base]
        default_density = self.density or (
            TIES_DEFAULT_DENSITY if self.merge_method.uses_density else 1.0
        )
        models = []
        for entry in entries:
            if entry.model not in paths:
                raise UserError(f"model {entry.model!r} is not one of the inputs", expected=known)
            density = entry.density or default_density
            models.append(MergeInput(entry.model, paths[entry.model], entry.weight, density))
        base = MergeInput(self.base, paths[self.base]) if self.base is not None else None
        return models, base


def run_merge(ctx: OpContext, settings: MergeSettings) -> dict[str, Any]:
    from emocompress.ops.merge.engine import merge_checkpoints
    from emocompress.ops.merge.greedy import Tuning

    available = [(ctx.parent_name or "parent", ctx.parent_path), *ctx.extra_parents]
    models, base = settings.inputs(available)
    # without data (a direct merge), greedy refuses with a message saying what it needs
    tuning = (
        Tuning(ctx.data, ctx.eval_batch_size, ctx.device, ctx.reporter)
        if ctx.data is not None
        else None
    )
    return merge_checkpoints(
        settings.merge_method,
        settings.method_params(),
        models,
        ctx.out_dir,
        base=base,
        max_shard_bytes=settings.max_shard_bytes,
        tuning=tuning,
        reporter=ctx.reporter,
    )


def merge_parent_problems(settings: MergeSettings, parents: Sequence[str]) -> list[str]:
    """What run_merge would refuse about a recipe's parents, from their names alone: a base
    or model that is not a parent, a count the method does not take, a name given twice."""
    from emocompress.ops.merge.engine import check_arguments

    try:
        models, base = settings.inputs([(name, Path(name)) for name in parents])
        check_arguments(settings.merge_method, models, base)
    except UserError as error:
        return [str(error)]
    return []


OPERATIONS = [
    Operation(
        "merge",
        "merge checkpoints of one architecture (uniform/greedy soup, task arithmetic, TIES, SLERP)",
        MergeSettings,
        run_merge,
        metrics_sections=("merge",),
        # streamed tensor by tensor: about one checkpoint's worth, however many are merged
        peak_memory=lambda sizes: sizes.weights,
        several_parents=True,
        parent_problems=merge_parent_problems,
    )
]

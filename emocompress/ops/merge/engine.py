"""A merge from start to end: check the inputs, choose ingredients (greedy soup), stream the
merged tensors into safetensors, copy config and tokenizer from the first model.

Nothing is written before every check has passed.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from emocompress.artifacts.schema import History, Lineage, Metrics
from emocompress.errors import UserError
from emocompress.models.checkpoint import BIN_INDEX, SAFETENSORS_INDEX, TensorInfo
from emocompress.ops.merge.base import MergeMethod, MethodParams, TensorInputs
from emocompress.ops.merge.compat import check_compatible
from emocompress.ops.merge.inputs import MergeInput
from emocompress.ops.merge.streaming import read_tensor, write_checkpoint
from emocompress.progress import Reporter

if TYPE_CHECKING:
    import torch

FLOAT_DTYPES = frozenset({"float16", "bfloat16", "float32", "float64"})
# files of a variant directory that describe the parent, not the merged model
# (a shape plan is copied: the merged tensors have the inputs' shapes)
_NOT_COPIED = frozenset({Lineage.FILE, Metrics.FILE, History.FILE, SAFETENSORS_INDEX, BIN_INDEX})
METADATA_PREFIX = "emocompress.merge."


def merge_checkpoints(
    method: MergeMethod,
    params: MethodParams,
    models: list[MergeInput],
    out_dir: Path,
    *,
    base: MergeInput | None = None,
    max_shard_bytes: int = 2_000_000_000,
    tuning: Any = None,
    reporter: Reporter | None = None,
) -> dict[str, Any]:
    """Merge ``models`` (and ``base``) into ``out_dir``; return the facts for the lineage.

    ``merge`` in the facts (the method, its parameters, the models and the base, and what a
    soup chose) is also the variant's metrics section; the rest (input hashes, files, wall
    time) is the lineage's alone.
    """
    reporter = reporter or Reporter("quiet")
    started = time.perf_counter()
    check_arguments(method, models, base)
    layout = check_compatible([*models, *([base] if base else [])])
    selection = None
    if method.select is not None:
        chosen, selection = method.select(models, tuning)
        models = [models[i] for i in chosen]
    reporter.log(f"merge: hashing {len(models) + bool(base)} input(s)")
    metadata = merge_metadata(method, params, models, base)
    produce = _producer(method, params, models, base)
    written = write_checkpoint(
        out_dir,
        layout,
        produce,
        metadata=metadata,
        max_shard_bytes=max_shard_bytes,
        reporter=reporter,
        description=f"merging {len(models)} models ({method.name})",
    )
    copy_side_files(models[0].path, out_dir)
    merge = json.loads(metadata[METADATA_PREFIX + "params"])
    if selection is not None:
        merge[method.name] = selection
    return {
        "merge": merge,
        "inputs": json.loads(metadata[METADATA_PREFIX + "inputs"]),
        **written,
        "seconds": round(time.perf_counter() - started, 2),
    }


def check_arguments(method: MergeMethod, models: list[MergeInput], base: MergeInput | None) -> None:
    """The counts and roles a method needs (tensor-level checks are in compat)."""
    if method.models is not None and len(models) != method.models:
        raise UserError(
            f"{method.name} merges exactly {method.models} models, got {len(models)}"
            f" ({', '.join(m.name for m in models)})"
        )
    if len(models) < 2:
        raise UserError(f"{method.name} needs at least two models to merge, got {len(models)}")
    if method.needs_base and base is None:
        raise UserError(f"{method.name} needs a base model", expected="base: NAME")
    if base is not None and not method.needs_base:
        raise UserError(
            f"{method.name} takes no base model (got {base.name})",
            expected="base only with task_arithmetic or ties",
        )
    names = [m.name for m in models]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise UserError(f"model(s) listed twice: {', '.join(repeated)}")
    if base is not None and base.name in names:
        raise UserError(f"{base.name} is both the base and a model to merge")
    if method.select is not None and any(m.weight != 1 for m in models):
        raise UserError(
            f"{method.name} soup averages the models it keeps uniformly; weights are not used",
            expected="no weights (or 1)",
        )
    if method.name == "uniform" and sum(m.weight for m in models) <= 0:
        raise UserError("the weights of a uniform soup must add up to more than 0")


def merge_metadata(
    method: MergeMethod, params: MethodParams, models: list[MergeInput], base: MergeInput | None
) -> dict[str, str]:
    """safetensors __metadata__: the method, its parameters and the sha256 of every input."""
    described = {
        "method": method.name,
        "params": params.model_dump(mode="json"),
        "models": [
            {"name": m.name, "weight": m.weight}
            | ({"density": m.density} if method.uses_density else {})
            for m in models
        ],
        "base": base.name if base else None,
    }
    hashed = [{"name": m.name, "sha256": m.sha256} for m in [*models, *([base] if base else [])]]
    return {
        "format": "pt",  # transformers refuses safetensors without it
        METADATA_PREFIX + "method": method.name,
        METADATA_PREFIX + "params": json.dumps(described, sort_keys=True),
        METADATA_PREFIX + "inputs": json.dumps(hashed),
    }


def _producer(
    method: MergeMethod, params: MethodParams, models: list[MergeInput], base: MergeInput | None
):
    def produce(info: TensorInfo) -> torch.Tensor:
        values = [_read(m, info.name) for m in models]
        if info.dtype not in FLOAT_DTYPES:  # integer buffers (position ids): not averaged
            return _read(base, info.name) if base else values[0]
        merged = method.merge(
            TensorInputs(
                tensors=[v.float() for v in values],
                weights=[m.weight for m in models],
                densities=[m.density for m in models],
                base=_read(base, info.name).float() if base else None,
            ),
            params,
        )
        return merged.to(values[0].dtype)

    return produce


def _read(source: MergeInput, name: str) -> torch.Tensor:
    return read_tensor(source.tensors[name].file, name)


def copy_side_files(source: Path, out_dir: Path) -> list[str]:
    """Copy config.json, tokenizer files and remote code: every top-level file that is
    neither a weight file nor a record of the source variant's own run."""
    copied = []
    for file in sorted(Path(source).iterdir()):
        if not file.is_file() or file.name in _NOT_COPIED or file.name.startswith("."):
            continue
        if file.suffix in (".safetensors", ".bin", ".onnx", ".pt", ".pth"):
            continue
        shutil.copy2(file, out_dir / file.name)
        copied.append(file.name)
    return copied

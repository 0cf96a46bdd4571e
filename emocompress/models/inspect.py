"""What a checkpoint holds: parameter counts by prefix, component and layer, size, sparsity.

Definitions (one place for every report and metrics.json):

- **parameters** are the stored tensors of floating-point or 8-bit integer dtype (8-bit
  integers are quantised weights). Integer index tensors of 16 bits or more and bools
  (``embeddings.position_ids``, ``token_type_ids``, ONNX shape constants) are *buffers*:
  listed, never counted. So are the **graph constants** of an ONNX export: tensors named
  after the node that computed them (``/bert/Constant_3_output_0``, DeBERTa's folded
  ``/…/Expand_output_0``, the zero bias ONNX LayerNormalization needs where the model has
  none, shape constants and scalars such as the attention scale); a module's weight is
  named after the module or ``onnx::MatMul_N``. This matches
  ``sum(p.numel() for p in model.parameters())`` (docs/support.md lists the families whose
  export folds weights into constants).
- the **quantisation parameters** of an int8 graph (``*_scale``, ``*_zero_point`` beside a
  ``*_quantized`` weight) are listed apart (``quantization`` in the report), so an int8
  export counts the parameters of the model it came from.
- tensors that **share storage** (same file, storage and byte range: tied weights in a
  ``.bin``) are counted once, under the first name.
- **embeddings** are the tensors under a module whose name contains ``embed``
  (``embeddings.word_embeddings``, ``position_embeddings``, ``token_type_embeddings``, the
  embedding LayerNorm, DeBERTa's ``rel_embeddings``, ELECTRA's ``embeddings_project``);
  ``parameters_without_embeddings`` is the total less that component.
- components are decided by :func:`component_of`, layers by :func:`layer_of`.

Counting reads only headers (safetensors) or the model proto (ONNX); ``sparsity`` and
``duplicates`` read values one tensor at a time.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from emocompress.artifacts.jsonfile import read_json_object
from emocompress.models import checkpoint
from emocompress.models.checkpoint import TensorInfo

COMPONENTS = (
    "embeddings",
    "attention",
    "feed_forward",
    "layer_norm",
    "pooler",
    "classifier",
    "other",
)
BUFFER_DTYPES = frozenset({"bool", "int16", "uint16", "int32", "uint32", "int64", "uint64"})

# task heads on top of the encoder
_HEAD_MODULES = frozenset(
    {
        "classifier",
        "head",  # ModernBERT's prediction head (dense + norm) before the classifier
        "pre_classifier",
        "score",
        "qa_outputs",
        "cls",
        "lm_head",
        "generator_lm_head",
        "discriminator_predictions",
        "generator_predictions",
        "vocab_transform",
        "vocab_layer_norm",
        "vocab_projector",
        "lm_predictions",
        "mask_predictions",
    }
)
_FEED_FORWARD_MODULES = frozenset(
    {
        "intermediate",
        "output",
        "ffn",
        "mlp",
        "feed_forward",
        "feedforward",
        "fc1",
        "fc2",
        "lin1",
        "lin2",
        "ffn_output",  # ALBERT
        "c_fc",
        "wi",
        "wo",
        "dense_h_to_4h",
        "dense_4h_to_h",
        "up_proj",
        "down_proj",
        "gate_proj",
    }
)
_LAYER = re.compile(r"(?:^|\.)(?:layer|layers|h|block|blocks)\.(\d+)(?:\.|$)")


def component_of(name: str) -> str:
    """The component a tensor belongs to, from its dotted name (BERT, RoBERTa, XLM-R,
    DistilBERT, ELECTRA, DeBERTa naming). Checks run from the most specific: an embedding
    LayerNorm is ``embeddings``, a head's LayerNorm is ``classifier``, BERT's
    ``attention.output.LayerNorm`` is ``layer_norm``, ``attention.output.dense`` is
    ``attention`` and the layer's ``output.dense`` is ``feed_forward``."""
    modules = name.lower().split(".")[:-1] or [name.lower()]
    if any("embed" in m for m in modules):
        return "embeddings"
    if any(m in _HEAD_MODULES for m in modules):
        return "classifier"
    if "pooler" in modules:
        return "pooler"
    if any("norm" in m or m.startswith("ln") for m in modules):
        return "layer_norm"
    if any("attention" in m or "attn" in m for m in modules):
        return "attention"
    if any(m in _FEED_FORWARD_MODULES for m in modules):
        return "feed_forward"
    return "other"


def layer_of(name: str) -> int | None:
    """The transformer layer index in a tensor name (``encoder.layer.3.…`` -> 3), else None."""
    match = _LAYER.search(name)
    return int(match.group(1)) if match else None


def prefix_of(name: str) -> str:
    """The top-level name prefix (``bert``, ``classifier``; ``onnx::`` for renamed initializers)."""
    if "::" in name:
        return name.split("::", 1)[0] + "::"
    return name.split(".", 1)[0]


_GRAPH_CONSTANT = re.compile(r"^/.*_output_\d+$")


def is_parameter(info: TensorInfo) -> bool:
    return info.dtype not in BUFFER_DTYPES and not is_graph_constant(info)


QUANTIZATION_SUFFIXES = ("_scale", "_zero_point")


def is_graph_constant(info: TensorInfo) -> bool:
    """An ONNX initializer named after a node's output (``/…/Constant_3_output_0``)."""
    return bool(_GRAPH_CONSTANT.match(info.name))


def is_quantization_parameter(info: TensorInfo, quantized_graph: bool) -> bool:
    """A scale or zero point of an int8 graph (one that holds ``*_quantized`` weights)."""
    return quantized_graph and info.name.endswith(QUANTIZATION_SUFFIXES)


@dataclass
class Row:
    """One line of a breakdown: parameters, percent of the total, bytes."""

    name: str
    tensors: int = 0
    parameters: int = 0
    bytes: int = 0
    percent: float = 0.0
    components: dict[str, int] | None = None  # per-layer rows only


@dataclass
class InspectReport:
    source: str
    format: str
    files: list[str]
    tensors: int
    parameters: int
    parameters_without_embeddings: int
    bytes_on_disk: int
    dtypes: dict[str, int]
    buffers: dict[str, int]
    quantization: dict[str, int]  # int8 scales and zero points: listed apart, not counted
    by_prefix: list[Row]
    by_component: list[Row]
    by_layer: list[Row]
    architecture: dict[str, Any] | None = None
    shared: list[list[str]] = field(default_factory=list)
    duplicates: list[list[str]] | None = None  # None: not checked
    sparsity: dict[str, Any] | None = None  # None: not measured

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# ----------------------------------------------------------------------------- counting


def split_tensors(
    tensors: list[TensorInfo],
) -> tuple[list[TensorInfo], list[TensorInfo], list[list[str]]]:
    """``(parameters, buffers, shared)``: parameter tensors counted once per storage, the
    tensors not counted (buffers, graph constants, quantisation parameters: see
    :func:`quantization_tensors`), and groups of names that share one storage."""
    by_storage: dict[Any, list[TensorInfo]] = defaultdict(list)
    params, buffers = [], []
    quantized_graph = any(info.name.endswith("_quantized") for info in tensors)
    for info in tensors:
        key = info.storage_key
        if key is not None:
            by_storage[key].append(info)
            if len(by_storage[key]) > 1:
                continue
        counted = is_parameter(info) and not is_quantization_parameter(info, quantized_graph)
        (params if counted else buffers).append(info)
    shared = [[info.name for info in group] for group in by_storage.values() if len(group) > 1]
    return params, buffers, shared


def quantization_tensors(tensors: list[TensorInfo]) -> list[TensorInfo]:
    """The scales and zero points of an int8 graph (empty for any other checkpoint)."""
    quantized_graph = any(info.name.endswith("_quantized") for info in tensors)
    return [info for info in tensors if is_quantization_parameter(info, quantized_graph)]


def _tally(params: Iterable[TensorInfo], key: Any) -> dict[Any, Row]:
    rows: dict[Any, Row] = {}
    for info in params:
        name = key(info)
        row = rows.setdefault(name, Row(str(name)))
        row.tensors += 1
        row.parameters += info.numel
        row.bytes += info.nbytes
    return rows


def _with_percent(rows: Iterable[Row], total: int) -> list[Row]:
    rows = list(rows)
    for row in rows:
        row.percent = round(100.0 * row.parameters / total, 3) if total else 0.0
    return rows


def _component_counts(params: Iterable[TensorInfo]) -> dict[str, int]:
    counts = dict.fromkeys(COMPONENTS, 0)
    for info in params:
        counts[component_of(info.qualified_name)] += info.numel
    return counts


def _dtype_counts(params: Iterable[TensorInfo]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for info in params:
        counts[info.dtype] += info.numel
    return dict(sorted(counts.items()))


def size_summary(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The ``size`` section of metrics.json (see docs/run-directory.md) for a checkpoint."""
    tensors = checkpoint.list_tensors(path)
    params, _, _ = split_tensors(tensors)
    components = _component_counts(params)
    total = sum(info.numel for info in params)
    return {
        "parameters": total,
        "parameters_without_embeddings": total - components["embeddings"],
        "bytes_on_disk": checkpoint.bytes_on_disk(path, tensors),
        "dtypes": _dtype_counts(params),
        "components": components,
    }


def inspect_checkpoint(
    path: str | os.PathLike[str], *, sparsity: bool = False, duplicates: bool = False
) -> InspectReport:
    """Every fact ``emocompress inspect`` shows. ``sparsity`` and ``duplicates`` read values."""
    path = Path(path)
    tensors = checkpoint.list_tensors(path)
    params, buffers, shared = split_tensors(tensors)
    quantized = quantization_tensors(tensors)
    quantized_elements = sum(info.numel for info in quantized)
    buffer_elements = sum(info.numel for info in buffers) - quantized_elements
    total = sum(info.numel for info in params)
    components = _tally(params, lambda i: component_of(i.qualified_name))
    report = InspectReport(
        source=str(path),
        format=checkpoint.checkpoint_format(path),
        files=[str(f) for f in checkpoint.weight_files(path)],
        tensors=len(tensors),
        parameters=total,
        parameters_without_embeddings=total - components.get("embeddings", Row("")).parameters,
        bytes_on_disk=checkpoint.bytes_on_disk(path, tensors),
        dtypes=_dtype_counts(params),
        buffers={"tensors": len(buffers) - len(quantized), "elements": buffer_elements},
        quantization={"tensors": len(quantized), "elements": quantized_elements},
        by_prefix=_with_percent(
            _tally(params, lambda i: prefix_of(i.qualified_name)).values(), total
        ),
        by_component=_with_percent([components.get(c, Row(c)) for c in COMPONENTS], total),
        by_layer=_with_percent(_layer_rows(params), total),
        architecture=architecture(path),
        shared=shared,
    )
    if sparsity or duplicates:
        zeros, report.duplicates = _scan_values(
            path, params, sparsity=sparsity, duplicates=duplicates
        )
        if sparsity:
            report.sparsity = _sparsity_section(zeros, params)
    return report


OUTSIDE_LAYERS = "outside"


def _layer_rows(params: list[TensorInfo]) -> list[Row]:
    """One row per layer index, then one for tensors outside any layer (embeddings, pooler,
    head: named ``outside``)."""
    rows = _tally(params, lambda i: layer_of(i.qualified_name))
    for index, row in rows.items():
        row.components = _component_counts(i for i in params if layer_of(i.qualified_name) == index)
        row.name = OUTSIDE_LAYERS if index is None else str(index)
    return [rows[k] for k in sorted(rows, key=lambda k: (k is None, k or 0))]


# ----------------------------------------------------------------------------- reading values


def _scan_values(
    path: Path, params: list[TensorInfo], *, sparsity: bool, duplicates: bool
) -> tuple[dict[str, int], list[list[str]] | None]:
    """One streaming pass: exact zeros per parameter tensor and content hashes of tensors
    whose dtype and shape match another's (only those can be duplicates)."""
    import hashlib

    candidates = _duplicate_candidates(params) if duplicates else set()
    wanted = {info.name for info in params} if sparsity else candidates
    zeros: dict[str, int] = {}
    digests: dict[tuple, list[str]] = defaultdict(list)
    for info, values in checkpoint.iter_tensor_values(path, names=wanted):
        if sparsity:
            zeros[info.name] = info.numel - _count_nonzero(values)
        if info.name in candidates:
            digest = hashlib.blake2b(_raw_bytes(values), digest_size=16).digest()
            digests[(info.dtype, info.shape, digest)].append(info.name)
        del values  # free this tensor before the next one is read: peak memory = one tensor
    found = [names for names in digests.values() if len(names) > 1] if duplicates else None
    return zeros, found


def _duplicate_candidates(params: list[TensorInfo]) -> set[str]:
    groups: dict[tuple, list[str]] = defaultdict(list)
    for info in params:
        if info.numel:
            groups[(info.dtype, info.shape)].append(info.name)
    return {name for names in groups.values() if len(names) > 1 for name in names}


def _count_nonzero(values: Any) -> int:
    import numpy as np

    # count_nonzero allocates nothing; -0.0 counts as zero, NaN as non-zero
    return int(np.count_nonzero(values))


def _raw_bytes(values: Any) -> Any:
    import numpy as np

    return np.ascontiguousarray(values).reshape(-1).view(np.uint8)


def _sparsity_section(zeros: dict[str, int], params: list[TensorInfo]) -> dict[str, Any]:
    by_component: dict[str, list[int]] = {c: [0, 0] for c in COMPONENTS}
    for info in params:
        counts = by_component[component_of(info.qualified_name)]
        counts[0] += zeros.get(info.name, 0)
        counts[1] += info.numel
    total_zeros = sum(c[0] for c in by_component.values())
    total = sum(c[1] for c in by_component.values())
    return {
        "zeros": total_zeros,
        "fraction": _fraction(total_zeros, total),
        "components": {
            c: {"zeros": z, "fraction": _fraction(z, n)} for c, (z, n) in by_component.items()
        },
    }


def _fraction(part: int, whole: int) -> float | None:
    return part / whole if whole else None


# ----------------------------------------------------------------------------- config.json


_ARCHITECTURE_KEYS = {
    "layers": ("num_hidden_layers", "n_layers", "n_layer", "num_layers"),
    "hidden_size": ("hidden_size", "dim", "d_model", "n_embd"),
    "heads": ("num_attention_heads", "n_heads", "n_head"),
    "ffn_size": ("intermediate_size", "hidden_dim", "ffn_dim", "n_inner"),
    "vocab_size": ("vocab_size",),
    "max_positions": ("max_position_embeddings", "n_positions"),
}


def architecture(path: str | os.PathLike[str]) -> dict[str, Any] | None:
    """Architecture facts from the config.json beside the weights, or None when absent."""
    path = Path(path)
    config_file = (path if path.is_dir() else path.parent) / "config.json"
    if not config_file.is_file():
        return None
    config = read_json_object(config_file)
    facts: dict[str, Any] = {
        "model_type": config.get("model_type"),
        "architectures": config.get("architectures"),
    }
    # mean-pooled classifiers keep the encoder's config under "backbone"
    encoder = config.get("backbone") if isinstance(config.get("backbone"), dict) else config
    for fact, keys in _ARCHITECTURE_KEYS.items():
        facts[fact] = next((encoder[k] for k in keys if k in encoder), None)
    if encoder is not config:
        facts["encoder_type"] = encoder.get("model_type")
        facts["pooling"] = config.get("pooling")
    labels = _labels(config.get("id2label"))
    facts["num_labels"] = len(labels) if labels else config.get("num_labels")
    facts["labels"] = labels
    facts["problem_type"] = config.get("problem_type")
    return facts


def _labels(id2label: Any) -> list[str] | None:
    if not isinstance(id2label, dict) or not id2label:
        return None
    try:
        return [str(label) for _, label in sorted(id2label.items(), key=lambda item: int(item[0]))]
    except (TypeError, ValueError):
        return [str(label) for label in id2label.values()]

"""Shape plans: checkpoints whose tensor shapes a standard config cannot express.

BERT-family attention in transformers 5 takes its head size from ``hidden_size /
num_attention_heads`` and has no ``prune_heads``, so a model with fewer heads than its
hidden size implies (or different head or FFN counts per layer) cannot be rebuilt from
config.json alone. Such a variant carries a shape plan (beside its weights, and in its
lineage under ``shape_plan``; :mod:`emocompress.models.shape_plan_file` reads and writes it):

```json
{"modules": {"bert.encoder.layer.0.attention.self.query":
                 {"type": "Linear", "in_features": 384, "out_features": 192, "bias": true}},
 "attention": {"bert.encoder.layer.0.attention.self":
                 {"num_attention_heads": 6, "attention_head_size": 32}}}
```

:func:`load_with_shape_plan` builds the model from its config, replaces the listed modules
with modules of the recorded shapes, sets the attention attributes, then reads the weights
strictly. :func:`shape_plan_of` derives the plan of a live model by comparing it with the
model its config builds (None when the config says it all). Uniform FFN pruning and layer
dropping need no plan.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn
from transformers import PreTrainedModel

from emocompress.errors import UserError
from emocompress.models.shape_plan_file import read_shape_plan, write_shape_plan  # noqa: F401

# DistilBERT's attention names its head count n_heads; the plan says num_attention_heads
_HEAD_COUNT_ALIASES = ("num_attention_heads", "n_heads")


def load_with_shape_plan(path: str | Path) -> PreTrainedModel | None:
    """Load ``path`` through its shape plan, or return None when it has none."""
    plan = read_shape_plan(path)
    if not plan:
        return None
    from emocompress.models.checkpoint import weight_files

    model = build_from_plan(_config_of(path), plan)
    state: dict[str, torch.Tensor] = {}
    for file in weight_files(path):
        if file.suffix != ".safetensors":
            raise UserError(f"{file}: a shape-planned checkpoint must be safetensors")
        from safetensors.torch import load_file

        state.update(load_file(str(file)))
    try:
        missing, unexpected = model.load_state_dict(state, strict=False)
    except RuntimeError as exc:  # a size mismatch
        raise UserError(f"{path}: weights do not match the shape plan ({exc})") from exc
    missing = [k for k in missing if not k.endswith("position_ids")]
    if missing or unexpected:
        raise UserError(
            f"{path}: weights do not match the shape plan "
            f"(missing {missing[:5]}, unexpected {unexpected[:5]})"
        )
    return model


def renumber_layers(plan: dict[str, Any], keep: list[int]) -> dict[str, Any]:
    """The plan of a model that keeps only encoder layers ``keep`` (layer keep[i] -> i)."""
    from emocompress.models.layer_keys import renumber_layer_key

    renamed: dict[str, Any] = {}
    for section in ("modules", "attention"):
        renamed[section] = {}
        for name, spec in plan.get(section, {}).items():
            new_name = renumber_layer_key(name, keep)
            if new_name is not None:
                renamed[section][new_name] = spec
    return renamed


def _config_of(path: str | Path):
    from transformers import AutoConfig

    import emocompress.models.pooled  # noqa: F401  (registers the pooled model type)

    return AutoConfig.from_pretrained(str(path))


def _model_class(config) -> type[PreTrainedModel]:
    from transformers import AutoModelForSequenceClassification

    from emocompress.models.pooled import PooledClassifier, PooledClassifierConfig

    if isinstance(config, PooledClassifierConfig):
        return PooledClassifier
    return AutoModelForSequenceClassification._model_mapping[type(config)]


def build_from_plan(config, plan: dict[str, Any]) -> PreTrainedModel:
    """A randomly initialised model of ``config`` reshaped as ``plan`` says."""
    model = _model_class(config)(config)
    apply_shape_plan(model, plan)
    return model


def apply_shape_plan(model: nn.Module, plan: dict[str, Any]) -> None:
    for name, spec in plan.get("modules", {}).items():
        _set_module(model, name, _new_module(spec, name))
    for name, attributes in plan.get("attention", {}).items():
        module = model.get_submodule(name)
        set_attention_shape(
            module, attributes["num_attention_heads"], attributes["attention_head_size"]
        )


def set_attention_shape(module: nn.Module, heads: int, head_size: int) -> None:
    """Keep a self-attention's bookkeeping consistent with its weights (BERT-style
    ``num_attention_heads`` or DistilBERT's ``n_heads``)."""
    for alias in _HEAD_COUNT_ALIASES[1:]:
        if hasattr(module, alias):
            setattr(module, alias, int(heads))
    module.num_attention_heads = int(heads)
    module.attention_head_size = int(head_size)
    module.all_head_size = int(heads) * int(head_size)
    if hasattr(module, "scaling"):
        module.scaling = int(head_size) ** -0.5


def _new_module(spec: dict[str, Any], name: str) -> nn.Module:
    kind = spec.get("type")
    if kind == "Linear":
        return nn.Linear(spec["in_features"], spec["out_features"], bias=spec["bias"])
    if kind == "LayerNorm":
        return nn.LayerNorm(spec["normalized_shape"], eps=spec["eps"])
    if kind == "Embedding":
        return nn.Embedding(
            spec["num_embeddings"], spec["embedding_dim"], padding_idx=spec.get("padding_idx")
        )
    raise UserError(f"shape plan entry {name!r}: unknown module type {kind!r}")


def _set_module(model: nn.Module, name: str, module: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    if not hasattr(parent, child):
        raise UserError(f"shape plan names module {name!r}, which the model does not have")
    setattr(parent, child, module)


def describe_module(module: nn.Module) -> dict[str, Any] | None:
    if isinstance(module, nn.Linear):
        return {
            "type": "Linear",
            "in_features": module.in_features,
            "out_features": module.out_features,
            "bias": module.bias is not None,
        }
    if isinstance(module, nn.LayerNorm):
        return {
            "type": "LayerNorm",
            "normalized_shape": list(module.normalized_shape),
            "eps": module.eps,
        }
    if isinstance(module, nn.Embedding):
        return {
            "type": "Embedding",
            "num_embeddings": module.num_embeddings,
            "embedding_dim": module.embedding_dim,
            "padding_idx": module.padding_idx,
        }
    return None


def _attention_shape(module: nn.Module) -> dict[str, int] | None:
    """``{"num_attention_heads", "attention_head_size"}`` of a self-attention module, else None."""
    heads = next((a for a in _HEAD_COUNT_ALIASES if hasattr(module, a)), None)
    if heads is None or not hasattr(module, "attention_head_size"):
        return None
    return {
        "num_attention_heads": int(getattr(module, heads)),
        "attention_head_size": int(module.attention_head_size),
    }


def shape_plan_of(model: PreTrainedModel) -> dict[str, Any] | None:
    """The plan that rebuilds ``model`` from its config, or None when the config suffices."""
    with torch.device("meta"):
        reference = _model_class(model.config)(model.config)
    reference_modules = dict(reference.named_modules())
    modules: dict[str, Any] = {}
    attention: dict[str, Any] = {}
    for name, module in model.named_modules():
        spec = describe_module(module)
        other = reference_modules.get(name)
        if spec is not None and (other is None or describe_module(other) != spec):
            modules[name] = spec
        mine = _attention_shape(module)
        if mine is not None and other is not None and mine != _attention_shape(other):
            attention[name] = mine
    if not modules and not attention:
        return None
    return {"modules": modules, "attention": attention}

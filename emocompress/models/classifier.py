"""Loading, creating and saving classifiers: the one place that knows checkpoint layouts.

Every variant on disk is a Hugging Face checkpoint directory (config.json, safetensors,
tokenizer files). Standard architectures load with plain
``AutoModelForSequenceClassification.from_pretrained``; mean-pooled ones use
:mod:`emocompress.models.pooled`, registered on import here.
"""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn
from transformers import (
    AutoModel,
    AutoModelForSequenceClassification,
    AutoTokenizer,
    PretrainedConfig,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from emocompress.data.readers import check_label_set
from emocompress.errors import UserError
from emocompress.models import pooled as pooled_model
from emocompress.models.layer_keys import renumber_layer_key
from emocompress.models.pooled import PooledClassifier, PooledClassifierConfig

REMOTE_CODE_FILE = "modeling_emocompress.py"


def read_config(path: str | Path) -> dict[str, Any]:
    config_file = Path(path) / "config.json"
    if not config_file.is_file():
        raise UserError(f"{path}: no config.json", expected="a Hugging Face checkpoint directory")
    from emocompress.artifacts.jsonfile import read_json_object

    return read_json_object(config_file)


def is_classifier_checkpoint(path: str | Path) -> bool:
    config = read_config(path)
    if config.get("model_type") == pooled_model.MODEL_TYPE:
        return True
    return any(a.endswith("ForSequenceClassification") for a in config.get("architectures") or [])


def load_tokenizer(path: str | Path) -> PreTrainedTokenizerBase:
    try:
        return AutoTokenizer.from_pretrained(str(path))
    except (OSError, ValueError) as exc:
        raise UserError(f"{path}: cannot load a tokenizer ({exc})") from exc


def label_names_of(model: PreTrainedModel) -> list[str]:
    id2label = model.config.id2label
    return [id2label[i] for i in range(len(id2label))]


def multi_label_config(label_names: Sequence[str]) -> dict[str, Any]:
    """The config.json keys of a multi-label classifier for ``label_names``."""
    labels = list(label_names)
    return {
        "num_labels": len(labels),
        "id2label": dict(enumerate(labels)),
        "label2id": {name: i for i, name in enumerate(labels)},
        "problem_type": "multi_label_classification",
    }


def new_classifier(
    path: str | Path,
    label_names: Sequence[str],
    *,
    pooling: str = "cls",
    dropout: float = 0.1,
) -> PreTrainedModel:
    """A multi-label classifier for ``label_names`` on top of the encoder at ``path``.

    A checkpoint that already is a classifier for these labels keeps its head; otherwise a
    new head is initialised.
    """
    label_config = multi_label_config(label_names)
    from emocompress.models.shape_plan import read_shape_plan

    if read_shape_plan(path) is not None:
        # a pruned checkpoint: only the shape plan rebuilds it, so its own head is kept
        model = load_classifier(path)
        check_label_set(list(label_names), label_names_of(model), where=str(path))
        return model
    if pooling == "cls":
        if read_config(path).get("model_type") == pooled_model.MODEL_TYPE:
            raise UserError(f"{path} is mean-pooled; keep pooling: mean for it")
        return AutoModelForSequenceClassification.from_pretrained(
            str(path), ignore_mismatched_sizes=True, **label_config
        )
    backbone = _load_backbone(path)
    config = PooledClassifierConfig(
        backbone=backbone.config.to_dict(),
        pooling=pooling,
        classifier_dropout=dropout,
        **label_config,
    )
    # load the weights after construction: post_init() re-initialises every submodule
    model = PooledClassifier(config)
    model.backbone.load_state_dict(backbone.state_dict(), strict=False)
    return model


def _load_backbone(path: str | Path) -> PreTrainedModel:
    config = read_config(path)
    if config.get("model_type") == pooled_model.MODEL_TYPE:
        return PooledClassifier.from_pretrained(str(path)).backbone
    model = AutoModel.from_pretrained(str(path))
    return model


def load_classifier(path: str | Path, *, device: str = "cpu") -> PreTrainedModel:
    """Load a saved classifier variant in eval mode."""
    if not is_classifier_checkpoint(path):
        raise UserError(
            f"{path} holds an encoder without a classification head",
            expected="a sequence classifier (fine-tune it first: op finetune)",
        )
    from emocompress.models.shape_plan import load_with_shape_plan

    model = load_with_shape_plan(path)
    if model is None:
        model = AutoModelForSequenceClassification.from_pretrained(str(path))
    return model.to(device).eval()


def save_classifier(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase | None, out_dir: str | Path
) -> None:
    """Save as safetensors + config (+ remote code for pooled models) + tokenizer."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    if isinstance(model, PooledClassifier):
        model.config.auto_map = {
            "AutoConfig": f"{REMOTE_CODE_FILE[:-3]}.PooledClassifierConfig",
            "AutoModelForSequenceClassification": f"{REMOTE_CODE_FILE[:-3]}.PooledClassifier",
        }
        shutil.copyfile(pooled_model.__file__, out / REMOTE_CODE_FILE)
    model.save_pretrained(str(out))
    from emocompress.models.shape_plan import shape_plan_of, write_shape_plan

    plan = shape_plan_of(model)  # shapes config.json cannot express travel with the weights
    if plan is not None:
        write_shape_plan(out, plan)
    if tokenizer is not None:
        tokenizer.save_pretrained(str(out))


def copy_model(src: str | Path, dst: str | Path, *, label_names: Sequence[str]) -> None:
    """Load the classifier at ``src``, check its labels, and save it as a variant at ``dst``."""
    model = load_classifier(src)
    check_label_set(label_names, label_names_of(model), where=str(src))
    save_classifier(model, load_tokenizer(src), dst)


def encoder_config(model: PreTrainedModel) -> PretrainedConfig:
    """The config of the encoder inside a classifier (pooled or standard)."""
    if isinstance(model, PooledClassifier):
        return model.backbone.config
    return model.config


def layer_count_key(config: PretrainedConfig) -> str:
    for key in ("num_hidden_layers", "n_layers", "num_layers"):
        if hasattr(config, key):
            return key
    raise UserError(f"cannot tell how many layers a {config.model_type} model has")


def count_layers(model: PreTrainedModel) -> int:
    config = encoder_config(model)
    return int(getattr(config, layer_count_key(config)))


def keep_layers_state_dict(
    state_dict: dict[str, torch.Tensor], keep: Sequence[int]
) -> dict[str, torch.Tensor]:
    """Renumber encoder layers: teacher layer ``keep[i]`` becomes student layer ``i``."""
    renamed = {key: renumber_layer_key(key, keep) for key in state_dict}
    return {new: state_dict[old] for old, new in renamed.items() if new is not None}


def with_layers(model: PreTrainedModel, keep: Sequence[int]) -> PreTrainedModel:
    """A copy of ``model`` that keeps only the encoder layers ``keep`` (DistilBERT-style init)."""
    total = count_layers(model)
    bad = [i for i in keep if i >= total]
    if bad:
        raise UserError(
            f"layers {bad} do not exist: the teacher has {total} layers (0..{total - 1})"
        )
    from emocompress.models.families import family_of_model
    from emocompress.models.shape_plan import apply_shape_plan, renumber_layers, shape_plan_of

    family = family_of_model(model) if not _is_unknown(model) else None
    if family is not None and family.first_layer_fixed and list(keep)[:1] != [0]:
        raise UserError(
            f"a {family.name} model's layer 0 is built differently from the others "
            f"({family.note}): a layer subset must keep layer 0 (got {list(keep)})",
            expected="layers [0, ...] (distil init.layers), or drop_layers without 0",
        )

    overrides: dict[str, Any] = {layer_count_key(encoder_config(model)): len(keep)}
    layer_types = getattr(encoder_config(model), "layer_types", None)
    if isinstance(layer_types, list | tuple) and len(layer_types) == total:
        overrides["layer_types"] = [layer_types[i] for i in keep]  # ModernBERT: one per layer
    config = _config_with(model, overrides)
    student = type(model)(config)
    plan = shape_plan_of(model)  # a pruned teacher's layers keep their pruned shapes
    if plan is not None:
        apply_shape_plan(student, renumber_layers(plan, list(keep)))
    missing, unexpected = student.load_state_dict(
        keep_layers_state_dict(model.state_dict(), keep), strict=False
    )
    if unexpected or [k for k in missing if "position_ids" not in k]:
        raise RuntimeError(f"layer copy mismatch: missing {missing}, unexpected {unexpected}")
    return student


def from_config_overrides(model: PreTrainedModel, overrides: dict[str, Any]) -> PreTrainedModel:
    """A randomly initialised model like ``model`` with encoder config ``overrides``."""
    config = _config_with(model, overrides)
    return type(model)(config)


def _is_unknown(model: PreTrainedModel) -> bool:
    from emocompress.models.families import family_of_type

    return family_of_type(encoder_config(model).model_type) is None


def _config_with(model: PreTrainedModel, overrides: dict[str, Any]) -> PretrainedConfig:
    config = model.config.__class__.from_dict(model.config.to_dict())
    if isinstance(model, PooledClassifier):
        backbone = dict(config.backbone)
        unknown = [k for k in overrides if k not in backbone]
        config.backbone = {**backbone, **overrides}
    else:
        unknown = [k for k in overrides if not hasattr(config, k)]
        overrides = {**_layer_types_for(config, overrides), **overrides}
        for key, value in overrides.items():
            setattr(config, key, value)
    if unknown:
        raise UserError(f"unknown config keys {unknown} for a {config.model_type} model")
    return config


def _layer_types_for(config: PretrainedConfig, overrides: dict[str, Any]) -> dict[str, Any]:
    """A config with one ``layer_types`` entry per layer (ModernBERT) keeps that list in step
    with a new layer count: the first N entries (the same pattern)."""
    layer_types = getattr(config, "layer_types", None)
    key = next((k for k in ("num_hidden_layers", "n_layers") if k in overrides), None)
    if key is None or not isinstance(layer_types, list | tuple):
        return {}
    count = int(overrides[key])
    return {"layer_types": list(layer_types[:count]) if count <= len(layer_types) else None}


def parameter_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def quiet_transformers() -> None:
    """Silence transformers' per-load progress bars and advisory warnings: ours report progress."""
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()


quiet_transformers()

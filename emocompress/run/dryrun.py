"""``emocompress run --dry-run``: validate a recipe and size every variant without weights.

Each variant's architecture is planned from its parent's config (each operation's ``plan``
hook) and built on PyTorch's meta device, so a 355M-parameter teacher costs no memory.
Memory figures are estimates (documented below), not measurements.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from emocompress.errors import UserError
from emocompress.models.reference import config_of_reference

FP32 = 4


def build_on_meta(config: dict[str, Any], num_labels: int):
    """The classifier a config describes, with no memory behind its weights."""
    import torch
    from transformers import AutoConfig, AutoModelForSequenceClassification

    from emocompress.models.pooled import PooledClassifier, PooledClassifierConfig

    settings = {k: v for k, v in config.items() if not k.startswith("emocompress_")}
    pooling = config.get("emocompress_pooling", "cls")
    with torch.device("meta"):
        if settings.get("model_type") == "emocompress-pooled":
            return PooledClassifier(
                PooledClassifierConfig(**{**settings, "num_labels": num_labels})
            )
        for key in (
            "architectures",
            "auto_map",
            "transformers_version",
            "_name_or_path",
            "id2label",
            "label2id",
        ):
            settings.pop(key, None)
        settings["num_labels"] = num_labels
        encoder = AutoConfig.for_model(settings.pop("model_type"), **settings)
        if pooling == "mean":
            return PooledClassifier(
                PooledClassifierConfig(
                    backbone=encoder.to_dict(), pooling="mean", num_labels=num_labels
                )
            )
        return AutoModelForSequenceClassification.from_config(encoder)


@dataclass(frozen=True)
class Estimate:
    """Sizes and memory estimates of one planned variant (no weights behind them)."""

    parameters: int
    without_embeddings: int
    layers: int
    hidden: int
    heads: int
    ffn: int
    bytes_fp32: int
    inference_memory_bytes: int
    training_memory_bytes: int


@dataclass(frozen=True)
class PlannedVariant:
    variant: str
    op: str
    parent: str
    batch: int
    estimate: Estimate


def estimate(model, config: dict[str, Any], *, batch: int, seq: int) -> Estimate:
    """Parameter counts and memory estimates for one variant.

    inference: weights + the largest layer's activations at (batch, seq):
      batch * seq * (4 * hidden + ffn) floats + batch * heads * seq^2 attention scores;
    training (AdamW, fp32): 4x weights (weights, gradients, two moments) + activations of every
      layer kept for the backward pass.
    """
    from emocompress.models.inspect import component_of

    total = sum(p.numel() for p in model.parameters())
    embeddings = sum(
        p.numel() for n, p in model.named_parameters() if component_of(n) == "embeddings"
    )
    encoder = model.backbone.config if hasattr(model, "backbone") else model.config
    hidden = getattr(encoder, "hidden_size", None) or getattr(encoder, "dim", 0)
    ffn = getattr(encoder, "intermediate_size", None) or getattr(encoder, "hidden_dim", 4 * hidden)
    heads = getattr(encoder, "num_attention_heads", None) or getattr(encoder, "n_heads", 1)
    layers = getattr(encoder, "num_hidden_layers", None) or getattr(encoder, "n_layers", 1)
    per_layer = (batch * seq * (4 * hidden + ffn) + batch * heads * seq * seq) * FP32
    weights = total * FP32
    return Estimate(
        parameters=total,
        without_embeddings=total - embeddings,
        layers=layers,
        hidden=hidden,
        heads=heads,
        ffn=ffn,
        bytes_fp32=weights,
        inference_memory_bytes=weights + per_layer,
        training_memory_bytes=4 * weights + layers * per_layer,
    )


def plan_recipe(recipe: Any) -> list[PlannedVariant]:
    from emocompress.ops.registry import get_operation

    configs: dict[str, dict[str, Any]] = {}
    label_count = None
    rows = []
    batch = max(getattr(recipe.evaluation, "batch_size", 32), 1)
    for step in recipe.steps():
        operation = get_operation(step.op)
        parents = list(getattr(step, "parents", None) or ([step.parent] if step.parent else []))
        parent_config = configs[parents[0]] if parents else config_of_reference(step.source)
        config = (
            operation.plan(parent_config, step.settings) if operation.plan else dict(parent_config)
        )
        configs[step.name] = config
        label_count = label_count or _label_count(recipe, config)
        model = build_on_meta(config, label_count)
        train_batch = getattr(step.settings, "batch_size", batch)
        rows.append(
            PlannedVariant(
                variant=step.name,
                op=step.op,
                parent=str(parents[0] if parents else step.source),
                batch=train_batch,
                estimate=estimate(model, config, batch=train_batch, seq=recipe.data.max_length),
            )
        )
    return rows


def _label_count(recipe: Any, config: dict[str, Any]) -> int:
    """Label count from the data when it can be read cheaply, else from the model config."""
    from emocompress.data.labels import NUM_GOEMOTIONS_LABELS

    try:
        from emocompress.run.runner import data_context

        return len(data_context(recipe).label_names)
    except UserError:
        return int(
            config.get("num_labels") or len(config.get("id2label") or {}) or NUM_GOEMOTIONS_LABELS
        )


def dry_run(recipe_path: str, overrides: Sequence[str] = ()) -> int:
    from rich.console import Console
    from rich.table import Table

    from emocompress.recipe.loading import load_recipe

    recipe = load_recipe(recipe_path, overrides=overrides)
    rows = plan_recipe(recipe)
    table = Table(
        title=f"{recipe.name}: dry run (no weights loaded, nothing trained)", title_justify="left"
    )
    for header in (
        "variant",
        "op",
        "from",
        "layers",
        "hidden",
        "params",
        "params w/o emb",
        "MB fp32",
        "infer MB (est.)",
        "train MB (est.)",
    ):
        table.add_column(header, justify="left" if header in {"variant", "op", "from"} else "right")
    for row in rows:
        sizes = row.estimate
        table.add_row(
            row.variant,
            row.op,
            row.parent,
            str(sizes.layers),
            str(sizes.hidden),
            f"{sizes.parameters:,}",
            f"{sizes.without_embeddings:,}",
            f"{sizes.bytes_fp32 / 1e6:,.0f}",
            f"{sizes.inference_memory_bytes / 1e6:,.0f}",
            f"{sizes.training_memory_bytes / 1e6:,.0f}",
        )
    console = Console(width=max(Console().width, 130))
    console.print(table)
    console.print(
        f"memory estimates: batch {rows[0].batch if rows else '-'} x {recipe.data.max_length} tokens, fp32;"
        " training assumes AdamW. The recipe is valid."
    )
    return 0

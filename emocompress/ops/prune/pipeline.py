"""The prune operation end to end: load the parent, drop layers, prune the vocabulary, prune
heads/FFN/hidden channels, mask small weights, recover, save (with a shape plan when the
config cannot describe the shapes) and report what changed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from emocompress.errors import UserError
from emocompress.ops.context import OpContext

PLAIN_LOAD = "AutoModelForSequenceClassification.from_pretrained"
PLAN_LOAD = "emocompress.models.classifier.load_classifier (shape plan in emocompress.json)"


def parameter_counts(model: torch.nn.Module) -> dict[str, int]:
    from emocompress.models.inspect import component_of

    total = sum(p.numel() for p in model.parameters())
    embeddings = sum(
        p.numel() for n, p in model.named_parameters() if component_of(n) == "embeddings"
    )
    return {"parameters": total, "parameters_without_embeddings": total - embeddings}


def calibration_batches(
    tokenizer: PreTrainedTokenizerBase,
    texts: Sequence[str],
    labels: np.ndarray | None,
    *,
    batches: int,
    batch_size: int,
    max_length: int,
) -> list[dict[str, torch.Tensor]]:
    """The first ``batches * batch_size`` texts as padded batches (with labels when given)."""
    from emocompress.data.batching import collate, encode

    count = min(len(texts), batches * batch_size)
    if count == 0:
        raise UserError("pruning needs calibration texts, and the tune split is empty")
    encoded = encode(tokenizer, texts[:count], max_length)
    result = []
    for start in range(0, count, batch_size):
        indices = list(range(start, min(start + batch_size, count)))
        batch = collate(encoded, indices)
        if labels is not None:
            batch["labels"] = torch.from_numpy(labels[indices].astype(np.float32))
        result.append(batch)
    return result


def check_supported(model: PreTrainedModel, settings: Any) -> None:
    """Refuse, before any work, the pruning modes the support matrix refuses for this family."""
    from emocompress.models.support import require, row_of_model

    modes = {
        "prune-heads": settings.heads,
        "prune-ffn": settings.ffn,
        "prune-hidden": settings.hidden,
        "prune-layers": settings.drop_layers,
        "prune-sparsity": settings.sparsity,
        "prune-vocab": settings.vocab is not None,
    }
    require(row_of_model(model), *(mode for mode, wanted in modes.items() if wanted))


def prune_model(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    settings: Any,
    *,
    calibration: list[dict[str, torch.Tensor]],
    corpus: Sequence[str] | None = None,
    reporter: Any = None,
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase, dict[str, Any]]:
    """Every pruning step of ``settings`` (PruneSettings) except recovery; masks stay on when
    ``settings.sparsity`` is set (call :func:`finish` after recovery)."""
    from emocompress.ops.prune.layers import drop_layers
    from emocompress.ops.prune.structured import StructuredSpec, prune_structured
    from emocompress.ops.prune.unstructured import apply_sparsity

    log = reporter.log if reporter is not None else (lambda _text: None)
    check_supported(model, settings)
    facts: dict[str, Any] = {"before": parameter_counts(model)}
    if settings.drop_layers:
        model, kept = drop_layers(model, settings.drop_layers)
        model.eval()
        facts["layers_kept"] = kept
        log(f"dropped layers {sorted(settings.drop_layers)}, kept {kept}")
    spec = StructuredSpec(
        heads=settings.heads,
        ffn=settings.ffn,
        hidden=settings.hidden,
        scope=settings.scope,
        importance=settings.importance,
    )
    if spec.active:
        if settings.importance == "taylor" and "labels" not in calibration[0]:
            raise UserError("Taylor importance needs labelled calibration data (give --data)")
        if settings.importance != "taylor":
            calibration = [{k: v for k, v in b.items() if k != "labels"} for b in calibration]
        facts["structured"] = {
            "scope": settings.scope,
            "importance": settings.importance,
            **prune_structured(model, spec, calibration),
        }
        log(f"structured pruning: {facts['structured']}")
    # after structured pruning: the calibration batches hold the old token ids
    if settings.vocab is not None:
        from emocompress.ops.prune.vocabulary import prune_vocabulary

        result = prune_vocabulary(model, tokenizer, corpus or [])
        tokenizer = result.tokenizer
        facts["vocab"] = {"corpus": list(settings.vocab.corpus), **result.facts()}
        log(f"vocabulary: kept {result.rows_kept} of {result.rows_before} rows")
    if settings.sparsity:
        apply_sparsity(model, settings.sparsity, settings.scope)
    return model, tokenizer, facts


def finish(model: PreTrainedModel, settings: Any, facts: dict[str, Any]) -> dict[str, Any]:
    """Fold sparsity masks, count parameters, say how the result loads (its shape plan is
    saved beside the weights by save_classifier)."""
    from emocompress.models.shape_plan import shape_plan_of
    from emocompress.ops.prune.unstructured import make_permanent

    if settings.sparsity:
        facts["sparsity"] = make_permanent(model)
    facts["after"] = parameter_counts(model)
    plan = shape_plan_of(model)
    facts["loads_with"] = PLAIN_LOAD if plan is None else PLAN_LOAD
    return facts


def prune_variant(ctx: OpContext, settings: Any) -> dict[str, Any]:
    """The ``prune`` operation (see emocompress.ops.prune.operation)."""
    from emocompress.data.readers import check_label_set
    from emocompress.models.classifier import (
        label_names_of,
        load_classifier,
        load_tokenizer,
        save_classifier,
    )
    from emocompress.models.shape_plan import read_shape_plan
    from emocompress.ops.prune.recovery import recover
    from emocompress.ops.train.loop import configure_threads, seed_everything

    configure_threads(ctx.threads)
    seed_everything(ctx.seed)
    if settings.drop_layers and read_shape_plan(ctx.parent_path):
        raise UserError(
            f"{ctx.parent_path} has a shape plan: drop layers before pruning heads or channels",
            expected="drop_layers in the same or an earlier prune step",
        )
    model = load_classifier(ctx.parent_path)
    check_label_set(ctx.label_names, label_names_of(model), where=str(ctx.parent_path))
    tokenizer = load_tokenizer(ctx.parent_path)
    tune = ctx.dataset.split("tune")
    corpus = None
    if settings.vocab is not None:
        corpus = [t for role in settings.vocab.corpus for t in ctx.dataset.split(role).texts]
    calibration = calibration_batches(
        tokenizer,
        tune.texts,
        tune.labels,
        batches=settings.calibration_batches,
        batch_size=settings.calibration_batch_size,
        max_length=ctx.max_length,
    )
    model, tokenizer, facts = prune_model(
        model, tokenizer, settings, calibration=calibration, corpus=corpus, reporter=ctx.reporter
    )
    training = recover(model, tokenizer, ctx, settings.recovery)
    facts = finish(model, settings, facts)
    save_classifier(model.cpu(), tokenizer, ctx.out_dir)
    if training is not None:
        facts["training"] = training
    return facts


# texts for tracing the model's graph when no data is given (magnitude importance only)
TRACE_TEXTS = ("a short text to trace the model", "another one, a little longer than the first")


def prune_checkpoint(
    model_path: Any, settings: Any, out_dir: Any, *, reporter: Any = None
) -> dict[str, Any]:
    """Prune a checkpoint without data (no recovery, no vocabulary, magnitude importance)."""
    from emocompress.models.classifier import load_classifier, load_tokenizer, save_classifier

    needs_data = [
        what
        for what, needed in (
            ("recovery", settings.recovery.mode != "none"),
            ("vocabulary pruning", settings.vocab is not None),
            ("Taylor importance", settings.importance == "taylor"),
        )
        if needed
    ]
    if needs_data:
        raise UserError(f"{', '.join(needs_data)} need data", expected="--data SOURCE")
    model = load_classifier(model_path)
    tokenizer = load_tokenizer(model_path)
    calibration = calibration_batches(
        tokenizer, list(TRACE_TEXTS), None, batches=1, batch_size=2, max_length=32
    )
    model, tokenizer, facts = prune_model(
        model, tokenizer, settings, calibration=calibration, reporter=reporter
    )
    facts = finish(model, settings, facts)
    save_classifier(model.cpu(), tokenizer, out_dir)
    return facts

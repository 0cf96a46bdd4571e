"""Structured pruning of attention heads, FFN neurons and hidden channels.

torch-pruning's dependency graph finds every tensor coupled to a pruned channel (a head's
query/key/value rows and the attention output's columns; an FFN neuron's two projections;
a hidden channel's embeddings, LayerNorms, residual projections and classifier input), and
its importance estimators score them (L2 magnitude, or first-order Taylor |w * grad| from
calibration batches). Which channels go is decided here: ``uniform`` removes the same
share in every layer (so the standard config can describe the result), ``global`` ranks
units of all layers together. Every layer keeps at least one head and one FFN neuron.

All scores are computed on the unpruned model first, then the groups are pruned, so the
order of heads, FFN and hidden pruning does not change which units are removed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from transformers import PreTrainedModel

from emocompress.errors import UserError
from emocompress.models.shape_plan import set_attention_shape
from emocompress.ops.prune.blocks import (
    Block,
    blocks_of,
    update_encoder_config,
    word_embeddings_of,
)


@dataclass(frozen=True)
class StructuredSpec:
    heads: float = 0.0  # share of attention heads removed
    ffn: float = 0.0  # share of FFN neurons removed
    hidden: float = 0.0  # share of hidden channels removed
    scope: str = "uniform"  # uniform | global
    importance: str = "magnitude"  # magnitude | taylor

    @property
    def active(self) -> bool:
        return self.heads > 0 or self.ffn > 0 or self.hidden > 0


def prune_structured(
    model: PreTrainedModel,
    spec: StructuredSpec,
    calibration: Sequence[dict[str, torch.Tensor]],
) -> dict[str, object]:
    """Prune ``model`` in place; return what was kept (per layer heads and FFN, hidden)."""
    import torch_pruning as tp

    if not calibration:
        raise ValueError("structured pruning needs at least one calibration batch")
    blocks = blocks_of(model)
    implementation = model.config._attn_implementation
    model.set_attn_implementation("eager")  # a plain graph for the dependency tracer
    model.eval()
    if spec.importance == "taylor":
        _accumulate_gradients(model, calibration)
        scorer = tp.importance.GroupTaylorImportance()
    else:
        scorer = tp.importance.GroupMagnitudeImportance(p=2)
    graph = tp.DependencyGraph().build_dependency(
        model,
        example_inputs=dict(calibration[0]),
        output_transform=lambda out: out.logits.sum(),
    )

    def scores(module, pruning_fn, size: int) -> torch.Tensor:
        group = graph.get_pruning_group(module, pruning_fn, list(range(size)))
        with torch.no_grad():
            return scorer(group).detach().float().cpu()

    removals: list[tuple[torch.nn.Module, object, list[int]]] = []
    heads_removed: dict[int, list[int]] = {}
    if spec.heads > 0:
        head_scores = [
            scores(b.query, tp.prune_linear_out_channels, b.query.out_features)
            .view(b.heads, b.head_size)
            .mean(1)
            for b in blocks
        ]
        heads_removed = _choose(head_scores, spec.heads, spec.scope, "heads")
        for block in blocks:
            gone = heads_removed[block.index]
            idxs = [h * block.head_size + i for h in gone for i in range(block.head_size)]
            removals.append((block.query, tp.prune_linear_out_channels, idxs))
    if spec.ffn > 0:
        ffn_scores = [
            scores(b.intermediate, tp.prune_linear_out_channels, b.ffn_size) for b in blocks
        ]
        ffn_removed = _choose(ffn_scores, spec.ffn, spec.scope, "FFN neurons")
        for block in blocks:
            removals.append(
                (block.intermediate, tp.prune_linear_out_channels, ffn_removed[block.index])
            )
    if spec.hidden > 0:
        embeddings = word_embeddings_of(model)
        _check_hidden_prunable(model, embeddings)
        hidden_scores = scores(
            embeddings, tp.prune_embedding_out_channels, embeddings.embedding_dim
        )
        multiple = _heads_after(blocks, heads_removed)
        hidden_removed = _hidden_removed(hidden_scores, spec.hidden, multiple)
        removals.append((embeddings, tp.prune_embedding_out_channels, hidden_removed))
        # a pooler / RoBERTa head projection (hidden -> hidden) shrinks alike, so that
        # config.json's hidden_size describes it too
        for projection in _square_head_projections(model, embeddings.embedding_dim):
            own = scores(projection, tp.prune_linear_out_channels, projection.out_features)
            gone = sorted(torch.argsort(own)[: len(hidden_removed)].tolist())
            removals.append((projection, tp.prune_linear_out_channels, gone))
    for module, pruning_fn, idxs in removals:
        if idxs:
            graph.get_pruning_group(module, pruning_fn, idxs).prune()
    for block in blocks:
        set_attention_shape(
            block.attention, block.heads - len(heads_removed.get(block.index, [])), block.head_size
        )
    model.zero_grad(set_to_none=True)
    model.set_attn_implementation(implementation)
    return _update_config(model, blocks, hidden_pruned=spec.hidden > 0)


def _accumulate_gradients(
    model: PreTrainedModel, calibration: Sequence[dict[str, torch.Tensor]]
) -> None:
    """Gradients of the BCE loss over the calibration batches (for Taylor importance)."""
    model.zero_grad(set_to_none=True)
    for batch in calibration:
        inputs = {k: v for k, v in batch.items() if k != "labels"}
        logits = model(**inputs).logits
        loss = torch.nn.functional.binary_cross_entropy_with_logits(
            logits, batch["labels"].to(logits.dtype)
        )
        (loss / len(calibration)).backward()


def _choose(
    scores: list[torch.Tensor], share: float, scope: str, what: str
) -> dict[int, list[int]]:
    """Indices to remove per layer: the lowest-scoring ``share`` of units."""
    if scope == "uniform":
        removed = {}
        for layer, layer_scores in enumerate(scores):
            count = _count_removed(len(layer_scores), share, what)
            removed[layer] = sorted(torch.argsort(layer_scores)[:count].tolist())
        return removed
    # global: normalise per layer so layers of different scale compete fairly
    flat = [
        (float(s / (layer_scores.mean() + 1e-12)), layer, i)
        for layer, layer_scores in enumerate(scores)
        for i, s in enumerate(layer_scores)
    ]
    total = len(flat)
    target = _count_removed(total, share, what)
    kept_per_layer = {layer: len(s) for layer, s in enumerate(scores)}
    removed = {layer: [] for layer in range(len(scores))}
    for _, layer, i in sorted(flat):
        if target == 0:
            break
        if kept_per_layer[layer] > 1:
            removed[layer].append(i)
            kept_per_layer[layer] -= 1
            target -= 1
    return {layer: sorted(ids) for layer, ids in removed.items()}


def _count_removed(units: int, share: float, what: str) -> int:
    count = int(round(units * share))
    if count >= units:
        raise UserError(
            f"pruning {share:.0%} of {units} {what} would leave none", expected="a smaller share"
        )
    return count


def _square_head_projections(model: PreTrainedModel, hidden: int) -> list[torch.nn.Linear]:
    return [
        module
        for name, module in model.named_modules()
        if name.endswith(("pooler.dense", "classifier.dense", "pre_classifier"))
        and isinstance(module, torch.nn.Linear)
        and module.out_features == hidden
    ]


def _check_hidden_prunable(model: PreTrainedModel, embeddings: torch.nn.Embedding) -> None:
    """Hidden channels are traced from the word embeddings: they must be hidden-sized."""
    from emocompress.models.classifier import encoder_config
    from emocompress.models.families import family_of_model

    family = family_of_model(model)
    hidden = getattr(encoder_config(model), family.hidden_key)
    if embeddings.embedding_dim != hidden:
        raise UserError(
            f"hidden-channel pruning of this {family.name} model is not supported: its "
            f"embeddings ({embeddings.embedding_dim} wide) are projected to the hidden size "
            f"({hidden})",
            expected="heads, ffn, drop_layers, sparsity or vocab pruning",
        )


def _heads_after(blocks: list[Block], removed: dict[int, list[int]]) -> int:
    """The head count config.json will name: the kept hidden size must be a multiple of it."""
    kept = {b.heads - len(removed.get(b.index, [])) for b in blocks}
    return kept.pop() if len(kept) == 1 else blocks[0].heads


def _hidden_removed(scores: torch.Tensor, share: float, multiple: int) -> list[int]:
    size = len(scores)
    keep = size - _count_removed(size, share, "hidden channels")
    keep = max(multiple, (keep // multiple) * multiple)  # the config needs hidden % heads == 0
    return sorted(torch.argsort(scores)[: size - keep].tolist())


def _update_config(
    model: PreTrainedModel, blocks: list[Block], *, hidden_pruned: bool
) -> dict[str, object]:
    """Write the sizes the tensors now have into the config where it can express them."""
    from emocompress.models.classifier import encoder_config

    family = blocks[0].family
    hidden = int(getattr(encoder_config(model), family.hidden_key))
    values: dict[str, int] = {}
    if hidden_pruned:  # embeddings as wide as the hidden states (checked before pruning)
        hidden = int(word_embeddings_of(model).embedding_dim)
        values["hidden_size"] = hidden
        if family.embedding_key:
            values[family.embedding_key] = hidden
    heads = [b.heads for b in blocks]
    ffn = [b.ffn_size for b in blocks]
    if len(set(heads)) == 1 and hidden % heads[0] == 0:
        values["num_attention_heads"] = heads[0]
    if len(set(ffn)) == 1:
        values["intermediate_size"] = ffn[0]
    update_encoder_config(model, **values)
    return {
        "hidden_size": hidden,
        "heads_per_layer": heads,
        "head_size": blocks[0].head_size if blocks else None,
        "ffn_per_layer": ffn,
        "uniform": len(set(heads)) == 1 and len(set(ffn)) == 1,
    }

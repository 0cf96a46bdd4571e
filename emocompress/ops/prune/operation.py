"""prune: structured (heads, FFN neurons, hidden channels, whole layers), vocabulary and
unstructured (magnitude) pruning, with a short recovery step afterwards.

See docs/pruning.md for what each mode does to the checkpoint and how it reloads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, model_validator

from emocompress.ops.base import MemoryInputs, Operation, Settings
from emocompress.ops.train.settings import TrainSettings

if TYPE_CHECKING:
    from emocompress.ops.context import OpContext

Role = Literal["train", "tune", "report"]


class RecoverySettings(TrainSettings):
    """A short training run after pruning: fine-tune on the labels, or distil from the parent."""

    mode: Literal["finetune", "distil", "none"] = Field(
        "finetune",
        description="finetune (labels; BCE or `loss`), distil (parent as teacher) or none",
    )
    epochs: float = Field(1, gt=0, le=1000, description="passes over the training split")
    temperature: float = Field(2.0, gt=0, description="distil: softens teacher and student logits")
    alpha: float = Field(
        0.5, ge=0, le=1, description="distil: weight of the hard-label BCE; 1 - alpha: soft targets"
    )

    # DistilLoss reads these; recovery distils logits only
    @property
    def hidden_weight(self) -> float:
        return 0.0

    @property
    def attention_weight(self) -> float:
        return 0.0


class VocabSettings(Settings):
    corpus: list[Role] = Field(
        default_factory=lambda: ["train"],
        min_length=1,
        description="data roles whose texts decide which tokens are kept",
    )


class PruneSettings(Settings):
    heads: float = Field(0.0, ge=0, lt=1, description="share of attention heads removed")
    ffn: float = Field(0.0, ge=0, lt=1, description="share of FFN neurons removed")
    hidden: float = Field(0.0, ge=0, lt=1, description="share of hidden channels removed")
    drop_layers: list[int] = Field(default_factory=list, description="encoder layers removed")
    scope: Literal["uniform", "global"] = Field(
        "uniform", description="same share in every layer, or ranked across layers"
    )
    importance: Literal["magnitude", "taylor"] = Field(
        "magnitude", description="L2 magnitude, or Taylor |w * grad| on tune-split batches"
    )
    calibration_batches: int = Field(8, ge=1, description="tune-split batches for Taylor scores")
    calibration_batch_size: int = Field(16, ge=1)
    sparsity: float = Field(
        0.0, ge=0, lt=1, description="unstructured: share of encoder Linear weights set to zero"
    )
    vocab: VocabSettings | None = Field(
        None, description="keep only the tokens the corpus uses (null: keep the vocabulary)"
    )
    recovery: RecoverySettings = Field(default_factory=RecoverySettings)

    @model_validator(mode="after")
    def _something_to_do(self) -> PruneSettings:
        if not (
            self.heads or self.ffn or self.hidden or self.drop_layers or self.sparsity or self.vocab
        ):
            raise ValueError(
                "nothing to prune: set at least one of heads, ffn, hidden, drop_layers, "
                "sparsity, vocab"
            )
        if any(i < 0 for i in self.drop_layers) or len(set(self.drop_layers)) != len(
            self.drop_layers
        ):
            raise ValueError("drop_layers must be distinct layer indices >= 0")
        return self


def run_prune(ctx: OpContext, settings: PruneSettings) -> dict[str, Any]:
    """With data: the whole pipeline; without (a direct command): magnitude pruning only."""
    from emocompress.ops.prune.pipeline import prune_checkpoint, prune_variant

    if ctx.data is None:
        return prune_checkpoint(ctx.parent_path, settings, ctx.out_dir, reporter=ctx.reporter)
    return prune_variant(ctx, settings)


def plan_prune(parent: dict[str, Any], settings: PruneSettings) -> dict[str, Any]:
    """The child's config.json for --dry-run. Vocabulary pruning depends on the corpus, so the
    planned vocabulary stays the parent's (an upper bound)."""
    from emocompress.ops.prune.planning import planned_config

    return planned_config(parent, settings)


def prune_peak(sizes: MemoryInputs) -> int:
    """Structured pruning holds the parent twice (torch-pruning's dependency graph traces a
    copy) and the result; dropping layers, sparsity and vocabulary work on the one copy.
    Recovery training adds the pruned model's training (and the parent, for distillation)."""
    settings = sizes.settings
    structured = settings.heads > 0 or settings.ffn > 0 or settings.hidden > 0
    peak = 2 * sizes.parent_weights + sizes.weights if structured else sizes.parent_weights
    recovery = settings.recovery
    if recovery.mode != "none":
        teacher = sizes.parent_weights if recovery.mode == "distil" else 0
        peak = max(peak, teacher + sizes.training)
    return peak


OPERATIONS = [
    Operation(
        "prune",
        "remove heads, FFN neurons, hidden channels, layers or unused vocabulary; then recover",
        PruneSettings,
        run_prune,
        plan=plan_prune,
        metrics_sections=("training",),
        peak_memory=prune_peak,
    )
]

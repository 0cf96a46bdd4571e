"""Knowledge distillation: a student learns from the teacher's outputs (and optionally its
hidden states and attention maps).

Loss = alpha * L(student, gold labels)      the settings' loss (BCE by default; losses.py)
     + (1 - alpha) * T^2 * BCE(sigmoid(student / T), sigmoid(teacher / T))
     + hidden_weight * MSE(proj(student hidden_i), teacher hidden_j)    for each layer pair
     + attention_weight * KL(teacher attention_j || student attention_i) for each layer pair

Teacher logits on the training split are computed once and cached in the run directory, so
several students share one teacher pass. Hidden-state and attention losses need the teacher
in the loop and are only used when asked for.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from emocompress.artifacts.atomic import atomic_path
from emocompress.data.batching import Encoded, encode
from emocompress.errors import UserError
from emocompress.measure.inference import predict_logits
from emocompress.models.pooled import PooledClassifier
from emocompress.ops.context import OpContext
from emocompress.ops.distil.settings import DistilSettings
from emocompress.ops.train import distributed
from emocompress.ops.train.loop import (
    configure_threads,
    effective_seed,
    history_summary,
    seed_everything,
    train,
    write_history,
)
from emocompress.ops.train.losses import label_loss


def _file_digest(path: Path, chunk: int = 1 << 22) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def teacher_logits(
    teacher: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    ctx: OpContext,
    path: Path | None = None,
) -> np.ndarray:
    """The teacher's logits on the train split, cached by (weights, texts, max length).

    ``path``: where the teacher's weights are (default: the first parent's).
    """
    texts = ctx.dataset.split("train").texts
    key = hashlib.sha256()
    for weights in sorted((path or ctx.parent_path).glob("*.safetensors")):
        key.update(_file_digest(weights).encode())
    key.update(str(ctx.max_length).encode())
    key.update("\n".join(texts).encode())
    cache = ctx.run.cache_dir / f"teacher-logits-{key.hexdigest()[:20]}.npy"
    if cache.is_file():
        ctx.reporter.log(f"{ctx.variant}: teacher logits from cache {cache.name}")
        return np.load(cache, allow_pickle=False)
    logits = distributed.sharded_rows(
        lambda rows: predict_logits(
            teacher,
            tokenizer,
            [texts[i] for i in rows],
            batch_size=ctx.eval_batch_size,
            max_length=ctx.max_length,
            reporter=ctx.reporter,
            description="teacher pass (cached for all students)",
        ),
        len(texts),
    )
    if distributed.is_main_process():  # the others wait at the step's barrier
        with atomic_path(cache) as tmp, open(tmp, "wb") as handle:
            np.save(handle, logits, allow_pickle=False)
    return logits


def make_student(teacher: PreTrainedModel, ctx: OpContext, settings: DistilSettings):
    """Initialise the student as the settings say; returns (student, its tokenizer, layer map)."""
    from emocompress.models.classifier import (
        from_config_overrides,
        load_tokenizer,
        new_classifier,
        with_layers,
    )
    from emocompress.models.reference import resolve_model_path

    init = settings.init
    if init.layers is not None:
        return with_layers(teacher, init.layers), load_tokenizer(ctx.parent_path), list(init.layers)
    if init.config is not None:
        return from_config_overrides(teacher, init.config), load_tokenizer(ctx.parent_path), None
    path = resolve_model_path(init.model)
    pooling = settings.pooling or (
        teacher.config.pooling if isinstance(teacher, PooledClassifier) else "cls"
    )
    return new_classifier(path, ctx.label_names, pooling=pooling), load_tokenizer(path), None


def check_supported(
    teacher: PreTrainedModel, student: PreTrainedModel, settings: DistilSettings
) -> None:
    """Refuse the cells the support matrix refuses, before the teacher pass."""
    from emocompress.models.support import require, row_of_model

    init = settings.init
    teacher_row, student_row = row_of_model(teacher), row_of_model(student)
    if init.layers is not None:
        require(teacher_row, "distil-layers")
    elif init.config is not None:
        require(teacher_row, "distil-config")
    else:
        require(student_row, "distil-model")
    if settings.hidden_weight > 0 or settings.attention_weight > 0:
        require(teacher_row, "distil-states")
        require(student_row, "distil-states")


def paired_layers(
    settings: DistilSettings, student_layers: int, teacher_layers: int, kept: list[int] | None
) -> list[tuple[int, int]]:
    """The (student, teacher) layers the hidden and attention losses compare: the settings'
    ``layer_pairs``; else, for a student of the teacher's ``kept`` layers, each layer with the
    one it was copied from; else the student's layers spread evenly, its last on the teacher's
    last (docs/recipes.md)."""
    if settings.layer_pairs:
        pairs = [(p.student, p.teacher) for p in settings.layer_pairs]
    elif kept is not None:
        pairs = list(enumerate(kept))
    else:  # spread the student's layers evenly over the teacher's
        pairs = [
            (i, round((i + 1) * teacher_layers / student_layers) - 1) for i in range(student_layers)
        ]
    for s, t in pairs:
        if s >= student_layers or t >= teacher_layers:
            raise UserError(
                f"layer pair (student {s}, teacher {t}) is out of range",
                expected=f"student < {student_layers}, teacher < {teacher_layers}",
            )
    return pairs


def _hidden_size(model: PreTrainedModel) -> int:
    config = model.backbone.config if isinstance(model, PooledClassifier) else model.config
    return int(getattr(config, "hidden_size", None) or config.dim)


class DistilLoss:
    """Callable loss for :func:`emocompress.ops.train.loop.train`."""

    def __init__(
        self,
        settings: DistilSettings,
        labels: torch.Tensor,
        soft: torch.Tensor,
        teacher: PreTrainedModel | None,
        pairs: list[tuple[int, int]],
        projection: nn.Module | None,
    ) -> None:
        self.s = settings
        self.labels = labels
        # the soft term stays BCE: the teacher's probabilities are already the targets
        self.hard_loss = label_loss(settings, labels)
        self.soft = soft
        self.teacher = teacher
        self.pairs = pairs
        self.projection = projection

    def __call__(self, model: nn.Module, batch: dict[str, torch.Tensor], indices: np.ndarray):
        s = self.s
        needs_states = s.hidden_weight > 0 or s.attention_weight > 0
        out = model(
            **batch,
            output_hidden_states=s.hidden_weight > 0 or None,
            output_attentions=s.attention_weight > 0 or None,
        )
        logits = out.logits
        hard = self.hard_loss(logits, self.labels[indices])
        t = s.temperature
        soft_targets = torch.sigmoid(self.soft[indices] / t)
        soft = nn.functional.binary_cross_entropy_with_logits(logits / t, soft_targets) * t * t
        loss = s.alpha * hard + (1 - s.alpha) * soft
        parts = {"hard": float(hard.detach()), "soft": float(soft.detach())}
        if needs_states:
            with torch.no_grad():
                teacher_out = self.teacher(
                    **batch,
                    output_hidden_states=s.hidden_weight > 0 or None,
                    output_attentions=s.attention_weight > 0 or None,
                )
            mask = batch["attention_mask"].unsqueeze(-1).float()
            if s.hidden_weight > 0:
                # hidden_states[0] is the embedding output, so layer i is index i + 1
                mse = sum(
                    (
                        (
                            (
                                self.projection(out.hidden_states[si + 1])
                                - teacher_out.hidden_states[ti + 1]
                            )
                            ** 2
                        )
                        * mask
                    ).sum()
                    / (mask.sum() * teacher_out.hidden_states[ti + 1].shape[-1])
                    for si, ti in self.pairs
                ) / len(self.pairs)
                loss = loss + s.hidden_weight * mse
                parts["hidden"] = float(mse.detach())
            if s.attention_weight > 0:
                kl = sum(
                    _attention_kl(
                        out.attentions[si], teacher_out.attentions[ti], batch["attention_mask"]
                    )
                    for si, ti in self.pairs
                ) / len(self.pairs)
                loss = loss + s.attention_weight * kl
                parts["attention"] = float(kl.detach())
        return loss, parts


def _attention_kl(student: torch.Tensor, teacher: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """KL(teacher || student) of attention rows, averaged over heads when head counts differ."""
    if student.shape[1] != teacher.shape[1]:
        student, teacher = student.mean(1, keepdim=True), teacher.mean(1, keepdim=True)
    eps = 1e-8
    kl = (teacher * (torch.log(teacher + eps) - torch.log(student + eps))).sum(-1)  # (b, h, q)
    rows = mask[:, None, :].float()
    return (kl * rows).sum() / (rows.sum() * kl.shape[1])


def ensemble_logits(
    teacher: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    ctx: OpContext,
    settings: DistilSettings,
) -> np.ndarray:
    """The soft targets: the first parent's logits, or with several parents (``parent: [a, b]``)
    the mean of every teacher's logits, each cached on its own.

    The mean of logits (not of probabilities) keeps the soft targets in logit space, where the
    temperature acts, and is the geometric mean of the teachers' odds per label.
    """
    from emocompress.models.classifier import load_classifier, load_tokenizer

    first = teacher_logits(teacher, tokenizer, ctx)
    if not ctx.extra_parents:
        return first
    if settings.hidden_weight > 0 or settings.attention_weight > 0:
        raise UserError(
            f"{ctx.variant}: hidden-state and attention losses follow one teacher, "
            f"not an ensemble of {1 + len(ctx.extra_parents)}",
            expected="hidden_weight: 0 and attention_weight: 0, or a single parent",
        )
    total = first.astype(np.float64)
    for name, path in ctx.extra_parents:
        other = load_classifier(path, device=ctx.device)
        if other.config.num_labels != teacher.config.num_labels:
            raise UserError(
                f"{ctx.variant}: teacher {name} has {other.config.num_labels} labels, "
                f"{ctx.parent_name} has {teacher.config.num_labels}",
                expected="teachers of one label set in an ensemble",
            )
        total += teacher_logits(other, load_tokenizer(path), ctx, path)
        del other
    return (total / (1 + len(ctx.extra_parents))).astype(np.float32)


def distil(ctx: OpContext, settings: DistilSettings) -> dict[str, Any]:
    """The ``distil`` operation."""
    from emocompress.models.classifier import (
        count_layers,
        load_classifier,
        load_tokenizer,
        save_classifier,
    )

    seed_everything(effective_seed(ctx, settings))
    configure_threads(ctx.threads)
    needs_teacher = settings.hidden_weight > 0 or settings.attention_weight > 0
    teacher = load_classifier(ctx.parent_path, device=ctx.device)
    if settings.attention_weight > 0:
        teacher.set_attn_implementation("eager")
    teacher_tokenizer = load_tokenizer(ctx.parent_path)
    student, tokenizer, kept = make_student(teacher, ctx, settings)
    check_supported(teacher, student, settings)
    if needs_teacher and tokenizer.get_vocab() != teacher_tokenizer.get_vocab():
        raise UserError(
            "hidden-state and attention losses need the student to share the teacher's tokenizer",
            expected="hidden_weight: 0 and attention_weight: 0 for a student with its own tokenizer",
        )
    # the teacher reads the texts with its own tokenizer, the student with its own
    soft = torch.from_numpy(ensemble_logits(teacher, teacher_tokenizer, ctx, settings)).to(
        ctx.device
    )
    student.to(ctx.device)
    if settings.attention_weight > 0:
        student.set_attn_implementation("eager")
    pairs: list[tuple[int, int]] = []
    projection = None
    if needs_teacher:
        pairs = paired_layers(settings, count_layers(student), count_layers(teacher), kept)
        if settings.hidden_weight > 0:
            s_dim, t_dim = _hidden_size(student), _hidden_size(teacher)
            projection = (nn.Identity() if s_dim == t_dim else nn.Linear(s_dim, t_dim)).to(
                ctx.device
            )
    else:
        teacher = None  # free the teacher's memory: soft targets come from the cache
    train_split = ctx.dataset.split("train")
    labels = torch.from_numpy(train_split.labels.astype(np.float32)).to(ctx.device)
    encoded: Encoded = encode(tokenizer, train_split.texts, ctx.max_length)
    loss = DistilLoss(settings, labels, soft, teacher, pairs, projection)
    extra = list(projection.parameters()) if projection is not None else None
    history = train(
        student, tokenizer, ctx, settings, loss, encoded=encoded, extra_parameters=extra or None
    )
    save_classifier(student.cpu(), tokenizer, ctx.out_dir)
    write_history(ctx, history, settings)
    return {
        "training": history_summary(history),
        "student_layers": count_layers(student),
        "layer_pairs": pairs or None,
        "teachers": [ctx.parent_name, *(name for name, _ in ctx.extra_parents)],
    }

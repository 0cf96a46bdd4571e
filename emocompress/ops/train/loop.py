"""The training loop shared by fine-tuning, distillation and recovery after pruning.

Plain PyTorch, no trainer framework: AdamW with linear warm-up and decay, gradient
accumulation, length-bucketed dynamic batches, evaluation on the tune split (macro AUC)
with early stopping and best-checkpoint selection. Seeded: the same seed, data and thread
count give the same weights on a CPU.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from emocompress.artifacts import schema
from emocompress.artifacts.rundir import VariantDir, machine
from emocompress.data.batching import Encoded, collate, encode, training_batches
from emocompress.measure.inference import predict_logits, sigmoid
from emocompress.measure.metrics import auc_scores
from emocompress.ops.context import OpContext
from emocompress.ops.train import distributed
from emocompress.ops.train.losses import label_loss
from emocompress.ops.train.settings import FinetuneSettings, TrainSettings

# loss_fn(model, batch, example_indices) -> (total loss, {component: value})
LossFn = Callable[
    [nn.Module, dict[str, torch.Tensor], np.ndarray], tuple[torch.Tensor, dict[str, float]]
]


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def effective_seed(ctx: OpContext, settings: TrainSettings) -> int:
    return settings.seed if settings.seed is not None else ctx.seed


def configure_threads(threads: int | None) -> None:
    if threads:
        torch.set_num_threads(int(threads))


@dataclass
class History:
    steps: list[dict[str, float]] = field(default_factory=list)
    evaluations: list[schema.Evaluation] = field(default_factory=list)
    best: schema.Evaluation | None = None
    seconds: float = 0.0
    stopped_early: bool = False


def label_loss_fn(labels: torch.Tensor, settings: TrainSettings) -> LossFn:
    """The gold-label loss the settings choose (BCE by default; rows indexed by example)."""
    hard = label_loss(settings, labels)

    def loss_fn(model: nn.Module, batch: dict[str, torch.Tensor], indices: np.ndarray):
        logits = model(**batch).logits
        loss = hard(logits, labels[indices].to(logits.device))
        return loss, {settings.loss or "bce": float(loss.detach())}

    return loss_fn


def _layer_depths(model: nn.Module) -> tuple[int, dict[int, int]]:
    """For layer-wise lr decay: the encoder's layer count L, and each encoder parameter's
    depth below the top (``id(param)`` -> 0 for the top layer ... L - 1 for the first layer,
    L for the embeddings). Parameters not listed (the head, a pooler, final norms, position
    biases shared by every layer) count as the top. Where each family keeps its layers and
    embeddings: :mod:`emocompress.models.families`."""
    from emocompress.models.classifier import count_layers
    from emocompress.models.families import attribute, family_of_model

    family = family_of_model(model)
    encoder = model.base_model
    # ALBERT (no layer list): its one shared layer is the top layer as well as every other
    layers = list(attribute(encoder, family.layers)) if family.layers else []
    total = len(layers) or count_layers(model)
    depths: dict[int, int] = {}
    for index, layer in enumerate(layers):
        for param in layer.parameters():
            depths[id(param)] = total - 1 - index
    embeddings_path = family.word_embeddings.rpartition(".")[0]
    embeddings = attribute(encoder, embeddings_path) if embeddings_path else encoder
    for param in embeddings.parameters():
        depths[id(param)] = total
    return total, depths


def _optimizer(model: nn.Module, settings: TrainSettings) -> torch.optim.Optimizer:
    head_names = ("classifier.",)
    if settings.layer_decay is not None:
        return _decayed_optimizer(model, settings, head_names)
    decay, no_decay, head = [], [], []
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        if settings.head_lr and name.startswith(head_names):
            head.append(param)
        elif _no_weight_decay(name, param):
            no_decay.append(param)
        else:
            decay.append(param)
    groups = [
        {"params": decay, "weight_decay": settings.weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
    if head:
        groups.append(
            {"params": head, "weight_decay": settings.weight_decay, "lr": settings.head_lr}
        )
    return torch.optim.AdamW(groups, lr=settings.lr)


def _no_weight_decay(name: str, param: nn.Parameter) -> bool:
    return param.ndim < 2 or "LayerNorm" in name or "layer_norm" in name


def _decayed_optimizer(
    model: nn.Module, settings: TrainSettings, head_names: tuple[str, ...]
) -> torch.optim.Optimizer:
    """AdamW with layer-wise lr decay: depth d below the top trains at ``lr * decay^d``
    (the head and the top layer at lr, the embeddings at ``lr * decay^L``); ``head_lr``
    still sets the head's. The first group is the top's, whose lr history.json records."""
    assert settings.layer_decay is not None
    total, depths = _layer_depths(model)
    groups: dict[tuple[str, int], dict[str, Any]] = {}
    for name, param in model.named_parameters():
        if not param.requires_grad:
            continue
        if settings.head_lr and name.startswith(head_names):
            key, lr = ("head", 0), settings.head_lr
        else:
            depth = depths.get(id(param), 0)
            kind = "no_decay" if _no_weight_decay(name, param) else "decay"
            key, lr = (kind, depth), settings.lr * settings.layer_decay**depth
        group = groups.setdefault(
            key,
            {
                "params": [],
                "weight_decay": 0.0 if key[0] == "no_decay" else settings.weight_decay,
                "lr": lr,
            },
        )
        group["params"].append(param)
    order = [(kind, depth) for depth in range(total + 1) for kind in ("decay", "no_decay")]
    ordered = [groups[key] for key in [*order, ("head", 0)] if key in groups]
    return torch.optim.AdamW(ordered, lr=settings.lr)


def _linear_schedule(optimizer: torch.optim.Optimizer, total: int, warmup: int):
    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / max(1, warmup)
        return max(0.0, (total - step) / max(1, total - warmup))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def tune_scores(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, ctx: OpContext
) -> tuple[float, float]:
    """Macro AUC and mean BCE on the tune split, from one prediction pass."""
    tune = ctx.dataset.split("tune")
    logits = distributed.sharded_rows(
        lambda rows: predict_logits(
            model,
            tokenizer,
            [tune.texts[i] for i in rows],
            batch_size=ctx.eval_batch_size,
            max_length=ctx.max_length,
        ),
        len(tune.texts),
    )
    macro = auc_scores(sigmoid(logits), tune.labels, tune.label_names)["macro"]
    x, y = logits.astype(np.float64), tune.labels.astype(np.float64)
    bce = float(np.mean(np.maximum(x, 0) - x * y + np.log1p(np.exp(-np.abs(x)))))
    return (float(macro) if macro is not None else float("nan")), bce


def train(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    ctx: OpContext,
    settings: TrainSettings,
    loss_fn: LossFn,
    *,
    encoded: Encoded | None = None,
    extra_parameters: list[nn.Parameter] | None = None,
) -> History:
    """Train ``model`` in place on the train split; leaves it holding the best checkpoint."""
    train_split = ctx.dataset.split("train")
    encoded = encoded or encode(tokenizer, train_split.texts, ctx.max_length)
    lengths = encoded.lengths
    rng = np.random.default_rng(effective_seed(ctx, settings))
    acc = distributed.accelerator()
    # every process sees every batch and trains on its share of it: the same steps as one process
    batches_per_epoch = max(1, math.ceil(len(encoded) / settings.batch_size))
    total_batches = math.ceil(batches_per_epoch * settings.epochs)
    total_steps = math.ceil(total_batches / settings.grad_accum)
    if settings.max_steps:
        total_steps = min(total_steps, settings.max_steps)
        total_batches = min(total_batches, total_steps * settings.grad_accum)
    eval_every = max(1, round(batches_per_epoch * settings.eval_every))

    optimizer = _optimizer(model, settings)
    if extra_parameters:
        optimizer.add_param_group({"params": extra_parameters, "weight_decay": 0.0})
    scheduler = _linear_schedule(optimizer, total_steps, int(settings.warmup * total_steps))
    trained = model  # what the loss sees: DDP-wrapped under several processes
    if acc is not None:
        trained, optimizer = acc.prepare(model, optimizer)
    history = History()
    best_state: dict[str, torch.Tensor] | None = None
    best_auc = -math.inf
    evaluations_without_gain = 0
    started = time.perf_counter()
    model.train()
    reporter = ctx.reporter
    step = 0
    batch_number = 0
    running: list[float] = []

    def evaluate(epoch: float) -> bool:
        """Evaluate on tune; return True when training should stop early."""
        nonlocal best_state, best_auc, evaluations_without_gain
        auc, tune_loss = tune_scores(model, tokenizer, ctx)
        record = schema.Evaluation(
            epoch=round(epoch, 4),
            step=step,
            tune_macro_auc=auc,
            tune_loss=tune_loss,
            train_loss=float(np.mean(running)) if running else float("nan"),
        )
        history.evaluations.append(record)
        reporter.log(
            f"{ctx.variant}: epoch {epoch:.2f} tune macro-AUC {auc:.4f} loss {record.train_loss:.4f}"
        )
        if auc > best_auc:
            best_auc = auc
            best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            history.best = record
            evaluations_without_gain = 0
        else:
            evaluations_without_gain += 1
        model.train()
        return bool(settings.patience and evaluations_without_gain >= settings.patience)

    with reporter.task(f"training {ctx.variant}", total=total_batches) as task:
        stop = False
        while batch_number < total_batches and not stop:
            for whole in training_batches(lengths, settings.batch_size, rng):
                reporter.check_cancelled()
                if len(whole) < distributed.process_count():
                    continue  # a tail batch smaller than the process count: no share for some
                indices = distributed.local_share(whole)
                batch = {k: v.to(ctx.device) for k, v in collate(encoded, indices).items()}
                loss, parts = loss_fn(trained, batch, indices)
                weight = distributed.loss_weight(len(indices), len(whole))
                if acc is not None:
                    acc.backward(loss * weight / settings.grad_accum)
                else:
                    (loss / settings.grad_accum).backward()
                running.append(distributed.all_mean(float(loss.detach()) * weight))
                batch_number += 1
                if batch_number % settings.grad_accum == 0 or batch_number == total_batches:
                    distributed.average_gradients(extra_parameters or [])
                    params = [p for g in optimizer.param_groups for p in g["params"]]
                    torch.nn.utils.clip_grad_norm_(params, settings.max_grad_norm)
                    optimizer.step()
                    scheduler.step()
                    optimizer.zero_grad(set_to_none=True)
                    step += 1
                    history.steps.append(
                        {
                            "step": step,
                            "loss": round(running[-1], 6),
                            "lr": scheduler.get_last_lr()[0],
                            **{k: round(v, 6) for k, v in parts.items()},
                        }
                    )
                task.advance(1, info=f"loss {np.mean(running[-20:]):.4f}")
                if batch_number % eval_every == 0 or batch_number == total_batches:
                    stop = evaluate(batch_number / batches_per_epoch)
                    running = []
                if stop or batch_number >= total_batches:
                    break
    history.stopped_early = stop
    history.seconds = time.perf_counter() - started
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return history


def write_history(ctx: OpContext, history: History, settings: TrainSettings) -> None:
    """history.json of the variant being made: every step, every tune evaluation, wall time."""
    VariantDir(ctx.out_dir).write_history(
        schema.History(
            variant=ctx.variant,
            settings=settings.model_dump(mode="json"),
            machine=schema.Environment(**machine()),
            threads=torch.get_num_threads(),
            steps=[schema.HistoryStep(**step) for step in history.steps],
            evaluations=history.evaluations,
            best=history.best,
            seconds=round(history.seconds, 3),
            stopped_early=history.stopped_early,
        )
    )


def history_summary(history: History, mode: str | None = None) -> schema.TrainingSummary:
    """The training facts for metrics.json: no wall times, so equal seeds give equal files
    (durations live in history.json and run.json)."""
    best = history.best
    return schema.TrainingSummary(
        best_epoch=best.epoch if best else None,
        best_tune_macro_auc=best.tune_macro_auc if best else None,
        steps=len(history.steps),
        stopped_early=history.stopped_early,
        mode=mode,
    )


def finetune(
    ctx: OpContext, settings: FinetuneSettings, start: Path | None = None
) -> dict[str, Any]:
    """The ``finetune`` operation: a classifier head on the parent encoder (or on ``start``),
    trained on the gold labels with the settings' loss (BCE by default)."""
    from emocompress.models.classifier import load_tokenizer, new_classifier, save_classifier

    seed_everything(effective_seed(ctx, settings))
    configure_threads(ctx.threads)
    start = start or ctx.parent_path
    tokenizer = load_tokenizer(start)
    model = new_classifier(
        start, ctx.label_names, pooling=settings.pooling, dropout=settings.dropout
    )
    model.to(ctx.device)
    labels = torch.from_numpy(ctx.dataset.split("train").labels.astype(np.float32))
    history = train(model, tokenizer, ctx, settings, label_loss_fn(labels, settings))
    save_classifier(model.cpu(), tokenizer, ctx.out_dir)
    write_history(ctx, history, settings)
    return {"training": history_summary(history)}

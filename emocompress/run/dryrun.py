"""``emocompress run --dry-run``: validate a recipe and size every variant without weights.

Each variant's architecture is planned from its parent's config (each operation's ``plan``
hook) and built on PyTorch's meta device, so a 355M-parameter teacher costs no memory.
Memory figures are estimates (documented below), not measurements: each step's peak is its
operation's ``peak_memory`` model (fitted to measured peaks, bench/scale-roberta-large.md)
plus the process's own baseline, and training time is the step count times an estimate of
one batch from its FLOPs and this machine's measured matrix-multiply rate. A batch's tokens
come from the training texts themselves where the teacher's tokenizer is on this machine
(training batches are length-bucketed, so they are far shorter than ``max_length``); without
it the estimate is the upper bound ``batch_size x max_length``. A step that would not fit
this machine's memory, or would train for more than an hour, is said up front.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from emocompress.errors import UserError
from emocompress.models.reference import config_of_reference

FP32 = 4
RUNTIME_BYTES = 400_000_000  # Python, torch and transformers loaded, before any model
# a training step reaches about half the machine's plain matmul rate (fitted on RoBERTa-Large)
TRAINING_EFFICIENCY = 0.5
LONG_TRAINING_SECONDS = 3600
LENGTH_SAMPLE = 2000  # training texts tokenised to size a batch


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
    peak_memory_bytes: int = 0
    train_steps: int | None = None
    train_seconds: float | None = None


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


def plan_recipe(recipe: Any, batch_tokens: BatchTokens | None = None) -> list[PlannedVariant]:
    """Every step of ``recipe`` sized on the meta device, with its peak and training time."""
    from emocompress.ops.base import MemoryInputs
    from emocompress.ops.registry import get_operation

    configs: dict[str, dict[str, Any]] = {}
    estimates: dict[str, Estimate] = {}
    label_count = None
    rows = []
    batch = max(getattr(recipe.evaluation, "batch_size", 32), 1)
    train_examples = _train_examples(recipe)
    batch_tokens = batch_tokens or BatchTokens.of(recipe)
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
        sizes = estimate(model, config, batch=train_batch, seq=recipe.data.max_length)
        estimates[step.name] = sizes
        parent_weights = estimates[parents[0]].bytes_fp32 if parents else sizes.bytes_fp32
        peak = operation.peak_memory(
            MemoryInputs(
                parent_weights=parent_weights,
                weights=sizes.bytes_fp32,
                training=sizes.training_memory_bytes,
                inference=sizes.inference_memory_bytes,
                settings=step.settings,
            )
        )
        steps = _training_steps(step.settings, train_examples, operation.name)
        rows.append(
            PlannedVariant(
                variant=step.name,
                op=step.op,
                parent=step.origin,
                batch=train_batch,
                estimate=sizes,
                peak_memory_bytes=RUNTIME_BYTES + peak,
                train_steps=steps,
                train_seconds=None
                if steps is None
                else steps
                * _grad_accum(step.settings, operation.name)
                * batch_seconds(sizes, batch_tokens.per_batch(train_batch), recipe.threads),
            )
        )
    return rows


@dataclass(frozen=True)
class BatchTokens:
    """Tokens in one length-bucketed training batch: measured on the training texts with the
    teacher's tokenizer when both are on this machine, else the ``max_length`` bound."""

    max_length: int
    lengths: tuple[int, ...] = ()  # token counts of a sample of training texts (truncated)

    @classmethod
    def of(cls, recipe: Any) -> BatchTokens:
        return cls(recipe.data.max_length, tuple(_sample_lengths(recipe)))

    @property
    def measured(self) -> bool:
        return bool(self.lengths)

    def per_batch(self, batch_size: int) -> float:
        """Mean tokens computed per batch (each batch padded to its longest text)."""
        if not self.lengths:
            return float(batch_size * self.max_length)
        import numpy as np

        from emocompress.data.batching import training_batches

        lengths = np.asarray(self.lengths)
        batches = training_batches(lengths, batch_size, np.random.default_rng(0))
        computed = sum(int(lengths[b].max()) * len(b) for b in batches)
        # the sample's last batches may be short: scale to full batches
        return computed / len(lengths) * batch_size

    def describe(self, batch_size: int) -> str:
        if not self.lengths:
            return (
                f"at most {batch_size} x {self.max_length} tokens (the training texts or the"
                " teacher's tokenizer are not on this machine)"
            )
        mean = self.per_batch(batch_size) / batch_size
        return (
            f"{batch_size} texts of {mean:.1f} tokens as computed, measured on"
            f" {len(self.lengths):,} training texts with the teacher's tokenizer"
        )


def _sample_lengths(recipe: Any) -> list[int]:
    """Token counts of up to LENGTH_SAMPLE training texts; [] when the data or the teacher's
    tokenizer cannot be read without a download."""
    import random

    try:
        from emocompress.run.runner import data_context

        texts = data_context(recipe).split("train").texts
        tokenizer = _offline_tokenizer(recipe.teacher.model)
    except UserError:
        return []
    if tokenizer is None or not texts:
        return []
    sample = random.Random(0).sample(list(texts), min(LENGTH_SAMPLE, len(texts)))
    encoded = tokenizer(sample, truncation=True, max_length=recipe.data.max_length)
    return [len(ids) for ids in encoded["input_ids"]]


def _offline_tokenizer(ref: str):
    """The tokenizer of a model reference from this machine only (local, pkg:, HF cache)."""
    from emocompress.models.reference import is_local, resolve_model_path

    try:
        from transformers import AutoTokenizer

        if ref.startswith("pkg:") or is_local(ref):
            return AutoTokenizer.from_pretrained(str(resolve_model_path(ref, allow_hub=False)))
        return AutoTokenizer.from_pretrained(ref, local_files_only=True)
    except (OSError, ValueError, UserError):  # not on this machine, or not a tokenizer
        return None


def _train_examples(recipe: Any) -> int | None:
    """Examples in the training split, when the data can be read here; else None."""
    try:
        from emocompress.run.runner import data_context

        return len(data_context(recipe).split("train").texts)
    except UserError:
        return None


def _training_steps(settings: Any, examples: int | None, op: str) -> int | None:
    """Optimiser steps the step will take (None: it does not train, or the data is unknown)."""
    import math

    trains = op in ("finetune", "distil") or (
        op == "prune" and getattr(getattr(settings, "recovery", None), "mode", "none") != "none"
    )
    if not trains or examples is None:
        return None
    schedule = settings.recovery if op == "prune" else settings
    batches = math.ceil(math.ceil(examples / schedule.batch_size) * schedule.epochs)
    steps = math.ceil(batches / max(1, getattr(schedule, "grad_accum", 1)))
    max_steps = getattr(schedule, "max_steps", None)
    return min(steps, max_steps) if max_steps else steps


def _grad_accum(settings: Any, op: str) -> int:
    schedule = settings.recovery if op == "prune" else settings
    return max(1, getattr(schedule, "grad_accum", 1) or 1)


def batch_seconds(sizes: Estimate, tokens: float, threads: int | None) -> float:
    """One training batch of ``tokens`` tokens (padding included): forward and backward,
    6 FLOPs per parameter (embeddings left out: a look-up) and token."""
    flops = 6 * sizes.without_embeddings * tokens
    return flops / (TRAINING_EFFICIENCY * matmul_flops_per_second(threads))


@cache
def matmul_flops_per_second(threads: int | None) -> float:
    """This machine's fp32 matrix-multiply rate at ``threads``, measured for 0.1 s."""
    import time

    import torch

    previous = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        a, b = torch.randn(512, 512), torch.randn(512, 512)
        a @ b
        count, started = 0, time.perf_counter()
        while time.perf_counter() - started < 0.1:
            a @ b
            count += 1
        return 2 * 512**3 * count / (time.perf_counter() - started)
    finally:
        torch.set_num_threads(previous)


def machine_memory_bytes() -> int:
    import psutil

    return int(psutil.virtual_memory().total)


def warnings_for(rows: list[PlannedVariant], memory: int) -> list[str]:
    """What will not fit, or take long, on this machine: said before any work."""
    lines = []
    for row in rows:
        if row.peak_memory_bytes > memory:
            lines.append(
                f"warning: {row.variant} needs about {row.peak_memory_bytes / 1e9:.1f} GB at its "
                f"peak, more than this machine's {memory / 1e9:.1f} GB: it would run out of memory"
            )
        if row.train_seconds is not None and row.train_seconds > LONG_TRAINING_SECONDS:
            lines.append(
                f"note: {row.variant} trains for about {row.train_seconds / 3600:.1f} h on this "
                f"machine ({row.train_steps:,} steps of about {row.train_seconds / row.train_steps:.1f} s)"
            )
    return lines


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
    _check_data(recipe, recipe_path)
    batch_tokens = BatchTokens.of(recipe)
    rows = plan_recipe(recipe, batch_tokens)
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
        "peak MB (est.)",
        "train (est.)",
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
            f"{row.peak_memory_bytes / 1e6:,.0f}",
            _duration(row.train_seconds),
        )
    console = Console(width=max(Console().width, 160))
    console.print(table)
    batch = rows[0].batch if rows else 32
    console.print(
        f"estimates: memory at batch {batch} x {recipe.data.max_length} tokens, fp32;"
        " peak: the step's process (AdamW for training), measured models in docs/recipes.md;"
        f" train: batches x 6 FLOPs per weight and token ({batch_tokens.describe(batch)})"
        f" at half of {matmul_flops_per_second(recipe.threads) / 1e9:,.0f} GFLOP/s, this"
        f" machine's fp32 matmul rate measured now{_load_note()}."
    )
    for line in warnings_for(rows, machine_memory_bytes()):
        console.print(line, markup=False, highlight=False)
    console.print("The recipe is valid.")
    return 0


def _check_data(recipe: Any, recipe_path: str) -> None:
    """The data's splits, read as the runner reads them, when they are on this machine (a
    hub: source is fetched when it is used): a missing split or an unreadable source is
    refused here rather than on the run's first step."""
    if str(recipe.data.source).startswith("hub:"):
        return
    from emocompress.run.runner import data_context

    try:
        data_context(recipe).split("train")
    except UserError as error:
        raise UserError(f"data: {error}", where=recipe_path) from None


def _load_note() -> str:
    """The 1-minute load average when other work shares the CPU (it slows the probe)."""
    import os

    try:
        load = os.getloadavg()[0]
    except OSError:
        return ""
    cores = os.cpu_count() or 1
    if load < 0.5:
        return ""
    return f" (load {load:.1f} on {cores} cores: busy cores read slower, estimates run long)"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 7200 else f"{seconds / 3600:.1f} h"

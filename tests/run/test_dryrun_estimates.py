"""The dry run's peak-memory and training-time estimates, on RoBERTa-Large planned offline."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import tiny_recipe_head

from emocompress.data.batching import training_batches
from emocompress.recipe.loading import load_recipe
from emocompress.run.dryrun import (
    RUNTIME_BYTES,
    BatchTokens,
    batch_seconds,
    plan_recipe,
    warnings_for,
)

RECIPE = Path(__file__).parents[2] / "recipes" / "goemotions-roberta-large.yaml"


@pytest.fixture(scope="module")
def planned():
    """Every variant planned offline (known configs); demo data for the training steps."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("HF_HUB_OFFLINE", "1")
        recipe = load_recipe(RECIPE, overrides=["data.source=demo"])
        return {row.variant: row for row in plan_recipe(recipe)}


def test_each_operation_has_its_own_peak(planned):
    teacher = planned["teacher"]
    weights = teacher.estimate.bytes_fp32
    assert 1.40e9 < weights < 1.43e9  # 355M parameters in fp32
    # AdamW: weights, gradients, two moments, plus activations
    assert teacher.peak_memory_bytes >= RUNTIME_BYTES + 4 * weights
    student = planned["student-4l"]
    # the teacher is held while the student is built from it, and (hidden loss) in training
    assert (
        student.peak_memory_bytes
        >= RUNTIME_BYTES + weights + student.estimate.training_memory_bytes
    )


def test_training_time_is_steps_times_one_step(planned):
    """RoBERTa-Large's tokenizer is not on this machine: each batch is sized at its bound."""
    teacher = planned["teacher"]
    assert teacher.train_steps is not None and teacher.train_steps > 0
    one = batch_seconds(teacher.estimate, teacher.batch * 128, None)
    assert teacher.train_seconds == pytest.approx(teacher.train_steps * one)
    # a 4-layer student's step is cheaper than the 24-layer teacher's
    student = planned["student-4l"]
    assert student.train_seconds / student.train_steps < one


def test_what_does_not_fit_or_takes_hours_is_said_up_front(planned):
    rows = list(planned.values())
    lines = warnings_for(rows, memory=2_000_000_000)
    assert any(line.startswith("warning: teacher needs about") for line in lines)
    assert all("student-small" not in line or "note:" in line for line in lines)
    roomy = warnings_for(rows, memory=10**15)
    assert not any(line.startswith("warning:") for line in roomy)


def test_a_local_tokenizer_sizes_batches_from_the_training_texts(tmp_path, tiny_classifier):
    """Training batches are length-bucketed: with the teacher's tokenizer on this machine a
    batch is sized from real token counts, far below ``batch_size x max_length``."""
    recipe_file = tmp_path / "r.yaml"
    recipe_file.write_text(
        tiny_recipe_head("r", tiny_classifier, max_examples="{train: 400}")
        + "  finetune: {epochs: 1, batch_size: 8, grad_accum: 2}\n",
        encoding="utf-8",
    )
    recipe = load_recipe(recipe_file, env={})
    tokens = BatchTokens.of(recipe)
    assert tokens.measured and 0 < len(tokens.lengths) <= 400
    assert max(tokens.lengths) <= 32  # truncated at max_length
    per_batch = tokens.per_batch(8)
    # padding to each batch's longest: at least the texts themselves, below the bound
    mean = sum(tokens.lengths) / len(tokens.lengths)
    assert 8 * mean <= per_batch < 8 * 32
    lengths = np.asarray(tokens.lengths)
    batches = training_batches(lengths, 8, np.random.default_rng(0))
    assert per_batch == pytest.approx(
        sum(lengths[b].max() * len(b) for b in batches) / len(lengths) * 8
    )
    assert "training texts with the teacher's tokenizer" in tokens.describe(8)
    teacher = plan_recipe(recipe, tokens)[0]
    # grad_accum 2: each optimiser step is two batches
    assert teacher.train_seconds == pytest.approx(
        teacher.train_steps * 2 * batch_seconds(teacher.estimate, per_batch, recipe.threads)
    )


def test_without_a_tokenizer_a_batch_is_sized_at_its_bound():
    tokens = BatchTokens(max_length=64)
    assert not tokens.measured
    assert tokens.per_batch(32) == 32 * 64
    assert "at most 32 x 64 tokens" in tokens.describe(32)


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("data.report=test", "data: data source 'demo' has no split 'test'"),
        ("data.tune=nosuch", "data: data source 'demo' has no split 'nosuch'"),
        ("data.source={tmp}", "no split files found"),
    ],
)
def test_the_dry_run_refuses_data_the_runner_cannot_read(
    tmp_path, tiny_classifier, capsys, override, expected
):
    """The dry run read the data, swallowed the error and said "The recipe is valid." (and
    "no tokenizer offline"); the run then failed on its first step."""
    from emocompress.cli import main

    recipe_file = tmp_path / "r.yaml"
    recipe_file.write_text(
        tiny_recipe_head("r", tiny_classifier) + "  finetune: {epochs: 1}\n", encoding="utf-8"
    )
    override = override.format(tmp=tmp_path)
    assert main(["run", str(recipe_file), "--dry-run", "--set", override]) == 2
    captured = capsys.readouterr()
    assert "The recipe is valid" not in captured.out
    assert captured.err.startswith(f"error: {recipe_file}: ") and expected in captured.err

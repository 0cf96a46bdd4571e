"""The dry run's peak-memory and training-time estimates, on RoBERTa-Large planned offline."""

from __future__ import annotations

from pathlib import Path

import pytest

from emocompress.recipe.loading import load_recipe
from emocompress.run.dryrun import RUNTIME_BYTES, plan_recipe, step_seconds, warnings_for

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
    teacher = planned["teacher"]
    assert teacher.train_steps is not None and teacher.train_steps > 0
    one = step_seconds(teacher.estimate, teacher.batch, 128, None)
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

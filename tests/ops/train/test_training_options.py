"""The training options (loss, class weights, label smoothing, layer-wise lr decay) through the
real loop: the defaults train bit for bit as plain BCE did, the options run end to end in a
recipe (finetune, distil's hard-label term, recovery after pruning) to finite metrics, and
early stopping on tune macro AUC still stops."""

from __future__ import annotations

import math
import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import tiny_recipe_head
from torch import nn

from emocompress.artifacts.rundir import RunDir
from emocompress.data.batching import collate, encode
from emocompress.data.context import DataContext
from emocompress.models.classifier import load_classifier, load_tokenizer
from emocompress.ops.context import OpContext
from emocompress.ops.distil.distillation import DistilLoss
from emocompress.ops.distil.settings import DistilSettings
from emocompress.ops.train.loop import label_loss_fn, seed_everything, train
from emocompress.ops.train.settings import TrainSettings
from emocompress.progress import Reporter


def _data() -> DataContext:
    return DataContext(
        source="demo",
        tune={"carve_from": "train", "fraction": 0.2},
        max_length=32,
        max_examples={"train": 64, "report": 16},
    )


def _context(tmp_path: Path, model: Path) -> OpContext:
    return OpContext(
        run=RunDir(tmp_path / "run"),
        variant="v",
        out_dir=tmp_path / "out",
        data=_data(),
        parent_name=None,
        parent_path=model,
        reporter=Reporter("quiet"),
    )


def _old_bce_loss_fn(labels: torch.Tensor):
    """The loss finetune trained with before the options existed (the reference)."""

    def loss_fn(model, batch, indices):
        logits = model(**batch).logits
        loss = nn.functional.binary_cross_entropy_with_logits(
            logits, labels[indices].to(logits.device)
        )
        return loss, {"bce": float(loss.detach())}

    return loss_fn


def _train(tmp_path: Path, model_path: Path, settings: TrainSettings, make_loss):
    ctx = _context(tmp_path, model_path)
    seed_everything(13)
    model = load_classifier(model_path)
    labels = torch.from_numpy(ctx.dataset.split("train").labels.astype(np.float32))
    history = train(model, load_tokenizer(model_path), ctx, settings, make_loss(labels))
    return history, model.state_dict()


def test_default_settings_train_bit_for_bit_as_plain_bce(tmp_path, tiny_classifier):
    settings = TrainSettings(epochs=1, batch_size=8, lr=1e-3, max_steps=4)
    old, old_state = _train(tmp_path / "a", tiny_classifier, settings, _old_bce_loss_fn)
    new, new_state = _train(
        tmp_path / "b", tiny_classifier, settings, lambda y: label_loss_fn(y, settings)
    )
    assert len(new.steps) == 4
    assert [s["loss"] for s in new.steps] == [s["loss"] for s in old.steps]
    assert [s["bce"] for s in new.steps] == [s["bce"] for s in old.steps]
    assert all(torch.equal(old_state[k], new_state[k]) for k in old_state)


def test_default_distil_loss_is_the_old_formula(tmp_path, tiny_classifier):
    """alpha * BCE(gold) + (1 - alpha) * T^2 * BCE(soft): the same bits on a fixed batch."""
    ctx = _context(tmp_path, tiny_classifier)
    model, tokenizer = load_classifier(tiny_classifier), load_tokenizer(tiny_classifier)
    split = ctx.dataset.split("train")
    labels = torch.from_numpy(split.labels.astype(np.float32))
    soft = torch.randn(labels.shape, generator=torch.Generator().manual_seed(1)) * 2
    indices = np.arange(8)
    batch = collate(encode(tokenizer, split.texts, ctx.max_length), indices)
    settings = DistilSettings(init={"layers": [0]})
    with torch.no_grad():
        loss, parts = DistilLoss(settings, labels, soft, None, [], None)(model, batch, indices)
        logits = model(**batch).logits
    bce = nn.functional.binary_cross_entropy_with_logits
    t = settings.temperature
    hard = bce(logits, labels[indices])
    soft_term = bce(logits / t, torch.sigmoid(soft[indices] / t)) * t * t
    assert torch.equal(loss, settings.alpha * hard + (1 - settings.alpha) * soft_term)
    assert parts == {"hard": float(hard), "soft": float(soft_term)}
    # with another loss only the hard term changes
    focal = DistilSettings(init={"layers": [0]}, loss="focal")
    with torch.no_grad():
        _, focal_parts = DistilLoss(focal, labels, soft, None, [], None)(model, batch, indices)
    assert focal_parts["soft"] == parts["soft"] and focal_parts["hard"] < parts["hard"]


def test_early_stopping_stops_with_asl(tmp_path, tiny_classifier):
    # an lr far below float32 resolution of the weights: tune AUC never gains, so it stops
    settings = TrainSettings(
        epochs=6, batch_size=16, lr=1e-30, patience=2, loss="asl", layer_decay=0.8
    )
    history, _ = _train(tmp_path, tiny_classifier, settings, lambda y: label_loss_fn(y, settings))
    assert history.stopped_early
    assert len(history.evaluations) == 3  # the first sets the best, two more without gain
    assert history.best is history.evaluations[0]
    assert all(math.isfinite(s["asl"]) for s in history.steps)


@pytest.mark.integration
def test_recipe_with_the_options_trains_to_finite_metrics(tmp_path, tiny_classifier):
    from emocompress.recipe.loading import load_recipe
    from emocompress.run.runner import run_recipe

    options = "loss: asl, layer_decay: 0.8, class_weights: balanced, label_smoothing: 0.1"
    recipe = tmp_path / "options.yaml"
    recipe.write_text(
        tiny_recipe_head("options", tiny_classifier)
        + f"  finetune: {{epochs: 1, batch_size: 16, lr: 1.0e-3, {options}}}\n"
        + textwrap.dedent(
            """\
            variants:
              - name: student-1l
                op: distil
                parent: teacher
                settings:
                  init: {layers: [0]}
                  epochs: 1
                  batch_size: 16
                  lr: 1.0e-3
                  loss: focal
                  focal_gamma: 2.0
                  focal_alpha: 0.25
                  layer_decay: 0.9
              - name: pruned
                op: prune
                parent: teacher
                settings:
                  heads: 0.5
                  recovery: {mode: finetune, batch_size: 16, max_steps: 3, loss: focal}
            """
        ),
        encoding="utf-8",
    )
    out = tmp_path / "runs" / "options"
    run_recipe(load_recipe(recipe), out, reporter=Reporter("quiet"))
    run = RunDir(out)
    for variant, term in (("teacher", "asl"), ("student-1l", "hard"), ("pruned", "focal")):
        metrics = run.variant(variant).load_metrics()
        assert math.isfinite(metrics.quality.auc.macro), variant
        history = run.variant(variant).load_history()
        assert history.steps and all(
            math.isfinite(s.loss) and math.isfinite(getattr(s, term)) for s in history.steps
        )
    teacher = run.variant("teacher").load_history()
    assert teacher.settings["loss"] == "asl" and teacher.settings["layer_decay"] == 0.8


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        (
            "focal_gamma: -1",
            "teacher.finetune.focal_gamma: input should be greater than or equal to 0",
        ),
        (
            "asl_gamma_neg: -0.5",
            "teacher.finetune.asl_gamma_neg: input should be greater than or equal to 0",
        ),
        ("label_smoothing: 1", "teacher.finetune.label_smoothing: input should be less than 1"),
        ("layer_decay: 0", "teacher.finetune.layer_decay: input should be greater than 0"),
        (
            "layer_decay: 1.5",
            "teacher.finetune.layer_decay: input should be less than or equal to 1",
        ),
        ("loss: fcoal", "teacher.finetune.loss: expected one of 'bce', 'focal' or 'asl'"),
        ("class_weights: inverse", "teacher.finetune.class_weights: expected one of"),
        ("cb_beta: 1", "teacher.finetune.cb_beta: input should be less than 1"),
    ],
)
def test_bad_option_values_are_one_line_errors_at_recipe_load(
    tmp_path, tiny_classifier, setting, expected
):
    from emocompress.errors import UserError
    from emocompress.recipe.loading import load_recipe

    recipe = tmp_path / "bad.yaml"
    recipe.write_text(
        tiny_recipe_head("bad", tiny_classifier) + f"  finetune: {{epochs: 1, {setting}}}\n",
        encoding="utf-8",
    )
    with pytest.raises(UserError) as caught:
        load_recipe(recipe, env={})
    message = str(caught.value)
    assert expected in message and "\n" not in message.strip()


def test_dry_run_takes_the_options(tmp_path, tiny_classifier, capsys):
    from emocompress.cli import main

    recipe = tmp_path / "dry.yaml"
    recipe.write_text(
        tiny_recipe_head("dry", tiny_classifier)
        + "  finetune: {epochs: 1, loss: focal, class_weights: balanced, layer_decay: 0.9}\n"
        + "variants:\n"
        + "  - {name: s, op: distil, parent: teacher,"
        + " settings: {init: {layers: [0]}, loss: asl, label_smoothing: 0.1}}\n",
        encoding="utf-8",
    )
    assert main(["run", str(recipe), "--dry-run", "--out", str(tmp_path / "out")]) == 0
    assert "The recipe is valid." in capsys.readouterr().out
    assert not (tmp_path / "out").exists()


def test_unset_options_leave_step_hashes_alone():
    """The runner hashes settings without their None values (emocompress.run.runner): with
    every option unset, a run made before the options existed resumes without retraining."""
    options = {
        "loss", "focal_gamma", "focal_alpha", "asl_gamma_pos", "asl_gamma_neg", "asl_clip",
        "class_weights", "cb_beta", "label_smoothing", "layer_decay",
    }  # fmt: skip
    assert options <= set(TrainSettings.model_fields)
    for settings in (TrainSettings(), DistilSettings(init={"layers": [0]})):
        assert not options & set(settings.model_dump(mode="json", exclude_none=True))

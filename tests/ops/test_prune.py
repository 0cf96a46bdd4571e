"""Pruning on tiny real models: each mode's shapes, finite logits, parameter counts, and how
the result reloads (plain from_pretrained, or through the shape plan); the recipe operation
and the command line; bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForSequenceClassification

from emocompress.cli import main
from emocompress.data.readers import load_splits
from emocompress.errors import UserError
from emocompress.models.classifier import load_classifier, load_tokenizer, save_classifier
from emocompress.models.shape_plan_file import read_shape_plan, write_shape_plan
from emocompress.ops.prune.blocks import blocks_of
from emocompress.ops.prune.operation import PruneSettings
from emocompress.ops.prune.pipeline import calibration_batches, finish, prune_model
from emocompress.ops.prune.planning import planned_config

TRAIN = load_splits("demo")["train"]
NO_RECOVERY = {"recovery": {"mode": "none"}}


def _prune(path: Path, out: Path, **settings) -> tuple[dict, torch.nn.Module]:
    """Prune the classifier at ``path`` into ``out`` as the operation would (no recovery)."""
    settings = PruneSettings(**settings, **NO_RECOVERY)
    model, tokenizer = load_classifier(path), load_tokenizer(path)
    calibration = calibration_batches(
        tokenizer, TRAIN.texts, TRAIN.labels, batches=2, batch_size=8, max_length=32
    )
    model, tokenizer, facts = prune_model(
        model, tokenizer, settings, calibration=calibration, corpus=TRAIN.texts
    )
    facts = finish(model, settings, facts)
    save_classifier(model, tokenizer, out)  # writes the shape plan beside the weights
    return {**facts, "shape_plan": read_shape_plan(out)}, model


def _logits(model, path: Path) -> torch.Tensor:
    batch = load_tokenizer(path)(TRAIN.texts[:6], padding=True, return_tensors="pt")
    with torch.no_grad():
        return model.eval()(**batch).logits


def _plain_load_works(path: Path) -> bool:
    try:
        AutoModelForSequenceClassification.from_pretrained(str(path))
    except (RuntimeError, ValueError):
        return False
    return True


# mode -> (settings, plain from_pretrained loads it)
MODES = {
    "ffn": ({"ffn": 0.5}, True),
    "heads": ({"heads": 0.5}, False),
    "hidden": ({"hidden": 0.5}, False),
    "heads+hidden+ffn": ({"heads": 0.5, "hidden": 0.5, "ffn": 0.5}, True),
    "layers": ({"drop_layers": [1]}, True),
    "global-taylor": (
        {"heads": 0.5, "ffn": 0.5, "scope": "global", "importance": "taylor"},
        False,
    ),
    "sparsity": ({"sparsity": 0.5}, True),
}


@pytest.mark.parametrize("pooled", [False, True], ids=["cls", "pooled"])
@pytest.mark.parametrize("mode", list(MODES))
def test_each_mode_shrinks_and_reloads(
    mode, pooled, tiny_classifier, tiny_pooled_classifier, tmp_path
):
    source = tiny_pooled_classifier if pooled else tiny_classifier
    settings, plain = MODES[mode]
    facts, model = _prune(source, tmp_path / "out", **settings)
    before, after = facts["before"], facts["after"]

    reloaded = load_classifier(tmp_path / "out")
    expected = _logits(model, tmp_path / "out")
    got = _logits(reloaded, tmp_path / "out")
    assert torch.isfinite(got).all()
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-6)
    assert (facts["shape_plan"] is None) == plain
    assert _plain_load_works(tmp_path / "out") == plain

    if mode == "sparsity":
        assert after == before
        assert facts["sparsity"]["sparsity_of_pruned_weights"] == pytest.approx(0.5, abs=0.01)
        return
    assert after["parameters_without_embeddings"] < before["parameters_without_embeddings"]
    assert sum(p.numel() for p in reloaded.parameters()) == after["parameters"]
    blocks = blocks_of(reloaded)
    if "heads" in settings:  # 2 heads of size 16 -> 1 head per layer
        assert [b.query.out_features for b in blocks] == [16, 16]
        assert [b.attention_output.in_features for b in blocks] == [16, 16]
    if mode == "ffn":
        assert [b.ffn_size for b in blocks] == [32, 32]
    if "hidden" in settings:
        assert reloaded.base_model.embeddings.word_embeddings.embedding_dim == 16
    if mode == "layers":
        assert len(blocks) == 1 and facts["layers_kept"] == [0]


def test_planned_config_matches_the_pruned_config(tiny_classifier, tmp_path):
    settings = {"heads": 0.5, "hidden": 0.5, "ffn": 0.5, "drop_layers": [1]}
    _prune(tiny_classifier, tmp_path / "out", **settings)
    parent = json.loads((tiny_classifier / "config.json").read_text())
    child = json.loads((tmp_path / "out" / "config.json").read_text())
    planned = planned_config(parent, PruneSettings(**settings))
    for key in ("hidden_size", "num_attention_heads", "intermediate_size", "num_hidden_layers"):
        assert planned[key] == child[key], key


def test_a_shape_plan_that_does_not_fit_the_weights_is_a_user_error(tiny_classifier, tmp_path):
    facts, _ = _prune(tiny_classifier, tmp_path / "out", heads=0.5)
    plan = facts["shape_plan"]
    name = next(iter(plan["modules"]))
    plan["modules"][name]["out_features"] += 1
    write_shape_plan(tmp_path / "out", plan)
    with pytest.raises(UserError, match="do not match the shape plan"):
        load_classifier(tmp_path / "out")


def test_recipe_prune_with_recovery(tiny_run, tmp_path):
    import yaml

    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    recipe = yaml.safe_load((run / "recipe.yaml").read_text())
    recipe["variants"].append(
        {
            "name": "pruned",
            "op": "prune",
            "parent": "teacher",
            "settings": {
                "heads": 0.5,
                "ffn": 0.5,
                "recovery": {"mode": "distil", "epochs": 1, "batch_size": 16, "max_steps": 3},
            },
        }
    )
    recipe_file = tmp_path / "recipe.yaml"
    recipe_file.write_text(yaml.safe_dump(recipe))
    code = main(["prune", "--recipe", str(recipe_file), "--out", str(run), "--quiet"])
    assert code == 0
    variant = run / "variants" / "pruned"
    lineage = json.loads((variant / "emocompress.json").read_text())
    metrics = json.loads((variant / "metrics.json").read_text())
    assert lineage["operation"] == "prune" and lineage["shape_plan"] is not None
    assert lineage["facts"]["training"]["mode"] == "distil"
    teacher = json.loads((run / "variants" / "teacher" / "metrics.json").read_text())
    assert metrics["size"]["parameters"] < teacher["size"]["parameters"]
    assert metrics["quality"]["auc"]["macro"] is not None
    assert (variant / "history.json").is_file()


def test_direct_command_without_data(tiny_classifier, tmp_path, capsys):
    out = tmp_path / "ffn"
    assert main(["prune", str(tiny_classifier), "--ffn", "0.5", "--out", str(out), "--quiet"]) == 0
    assert "from_pretrained" in capsys.readouterr().out
    lineage = json.loads((out / "emocompress.json").read_text())
    assert lineage["source"] == str(tiny_classifier) and lineage["shape_plan"] is None
    assert (
        AutoModelForSequenceClassification.from_pretrained(str(out)).config.intermediate_size == 32
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--ffn", "0.5"], "either MODEL or --recipe"),
        (["MODEL", "--ffn", "0.5"], "needs --out"),
        (["MODEL", "--out", "OUT"], "nothing to prune"),
        (["MODEL", "--heads", "1.0", "--out", "OUT"], "heads"),
        (
            ["MODEL", "--drop-layers", "x", "--out", "OUT"],
            "--drop-layers x: Input should be a valid integer",
        ),
        (["MODEL", "--drop-layers", "0,1", "--out", "OUT"], "leave no layer"),
        (["MODEL", "--drop-layers", "7", "--out", "OUT"], "cannot drop layers"),
        (["MODEL", "--vocab", "--out", "OUT"], "need data"),
        (["MODEL", "--ffn", "0.5", "--importance", "taylor", "--out", "OUT"], "need data"),
        (["MODEL", "--ffn", "0.99", "--out", "OUT"], None),  # 64 * 0.99 rounds to 63: allowed
    ],
)
def test_bad_input_is_one_clear_message(argv, message, tiny_classifier, tmp_path, capsys):
    argv = [
        str(tiny_classifier) if a == "MODEL" else str(tmp_path / "o") if a == "OUT" else a
        for a in argv
    ]
    code = main(["prune", *argv, "--quiet"])
    if message is None:
        assert code == 0
        return
    assert code == 2
    assert message in capsys.readouterr().err


def test_pruning_every_unit_is_refused(tiny_classifier, tmp_path):
    with pytest.raises(UserError, match="would leave none"):
        _prune(tiny_classifier, tmp_path / "out", heads=0.9)


def test_direct_command_with_data_makes_a_measured_variant(tiny_classifier, tmp_path, capsys):
    """The same variant the runner makes: lineage, recovery history, metrics with training."""
    from emocompress.artifacts.rundir import VariantDir

    out = tmp_path / "heads"
    argv = ["prune", str(tiny_classifier), "--heads", "0.5", "--data", "demo", "--out", str(out)]
    flags = ["--max-examples", "40", "--recovery-max-steps", "2", "--recovery-batch-size", "8"]
    assert main([*argv, *flags, "--quiet"]) == 0
    assert "recovery (finetune)" in capsys.readouterr().out
    variant = VariantDir(out)
    lineage, metrics = variant.load_lineage(), variant.load_metrics()
    assert lineage.source == str(tiny_classifier) and lineage.parent is None
    assert lineage.settings["recovery"]["max_steps"] == 2 and lineage.shape_plan is not None
    assert metrics.training is not None and metrics.training.mode == "finetune"
    assert metrics.training.steps == 2 and metrics.quality is not None
    assert variant.train_seconds() is not None and variant.prediction_files()

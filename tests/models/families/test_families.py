"""Around the support matrix: its page, recipe validation against it, the DistilBERT prune
of the motivating comparison, and a RoBERTa teacher distilled into a BERT-tokenizer student
in one recipe."""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pytest
import torch

from emocompress.cli import main
from emocompress.data.readers import load_splits
from emocompress.errors import UserError
from emocompress.models.classifier import load_classifier, load_tokenizer, with_layers
from emocompress.models.support import markdown, refusal
from emocompress.recipe.loading import load_recipe

DOC = Path(__file__).parents[3] / "docs" / "support.md"
TRAIN = load_splits("demo")["train"]


def test_docs_support_md_is_generated_from_the_table():
    assert DOC.read_text(encoding="utf-8") == markdown(), (
        "docs/support.md is stale: python -m emocompress.models.support docs/support.md"
    )


def _recipe(folder: Path, teacher: Path, variants: str, *, finetune: bool = False) -> Path:
    from conftest import tiny_recipe_head

    tune = "  finetune: {epochs: 1, batch_size: 16, lr: 1.0e-3}\n" if finetune else ""
    text = tiny_recipe_head("families", teacher, max_examples="{train: 64, report: 48}")
    recipe = folder / "families.yaml"
    recipe.write_text(
        text + tune + "variants:\n" + textwrap.indent(variants, "  "), encoding="utf-8"
    )
    return recipe


@pytest.mark.parametrize(
    ("family", "settings", "cell"),
    [
        ("albert", "{heads: 0.5}", "prune-heads"),
        ("mpnet", "{heads: 0.5, ffn: 0.5}", "prune-heads"),
        ("modernbert", "{ffn: 0.5}", "prune-ffn"),
    ],
)
def test_a_refused_cell_fails_when_the_recipe_is_loaded(
    family, settings, cell, family_models, tmp_path, capsys
):
    variants = f"- {{name: pruned, op: prune, parent: teacher, settings: {settings}}}\n"
    recipe = _recipe(tmp_path, family_models.model(family), variants, finetune=True)
    with pytest.raises(UserError) as error:
        load_recipe(recipe)
    assert "variants[0].op" in str(error.value)
    assert str(refusal(family, cell)).split(" (expected")[0] in str(error.value)
    # the command line: one message, exit 2, before anything is trained
    assert main(["run", str(recipe), "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and f"not supported for {family}" in err
    assert not (tmp_path / "run").exists()


def test_hidden_losses_with_a_student_of_another_tokenizer_fail_at_validation(
    family_models, tmp_path
):
    variants = (
        f"- name: student\n  op: distil\n  parent: teacher\n"
        f"  settings: {{init: {{model: {family_models.model('distilbert')}}}, hidden_weight: 1.0}}\n"
    )
    with pytest.raises(UserError, match="share the teacher's tokenizer"):
        load_recipe(_recipe(tmp_path, family_models.model("roberta"), variants))


def test_a_modernbert_layer_subset_must_keep_layer_0(family_models):
    model = load_classifier(family_models.model("modernbert"))
    with pytest.raises(UserError, match="must keep layer 0"):
        with_layers(model, [1])
    assert len(with_layers(model, [0]).model.layers) == 1


def test_distilbert_heads_and_ffn_halved_reload_shrink_and_export_with_parity(
    family_models, tmp_path, capsys
):
    """The second model of the motivating comparison, pruned (heads 50%, FFN 50%)."""
    from emocompress.models.inspect import inspect_checkpoint
    from emocompress.models.ort import OrtClassifier
    from emocompress.ops.onnx.export import export_classifier

    source = family_models.model("distilbert")
    out = tmp_path / "pruned"
    code = main(["prune", str(source), "--heads", "0.5", "--ffn", "0.5", "--out", str(out)])
    assert code == 0
    before, after = inspect_checkpoint(source), inspect_checkpoint(out)
    assert after.parameters < before.parameters
    model, tokenizer = load_classifier(out), load_tokenizer(out)
    assert [layer.ffn.lin1.out_features for layer in model.distilbert.transformer.layer] == [32, 32]
    assert [layer.attention.n_heads for layer in model.distilbert.transformer.layer] == [1, 1]
    texts = list(TRAIN.texts[:16])
    batch = tokenizer(texts, padding=True, truncation=True, max_length=32, return_tensors="pt")
    with torch.no_grad():
        logits = model(**batch).logits.numpy()
    assert np.isfinite(logits).all()
    facts = export_classifier(out, tmp_path / "onnx", max_length=32)
    onnx_logits = OrtClassifier(tmp_path / "onnx").logits(texts, max_length=32)
    worst = float(np.abs(onnx_logits - logits).max())
    assert worst < 1e-3
    print(
        f"distilbert heads 0.5 + ffn 0.5: parameters {before.parameters:,} -> "
        f"{after.parameters:,}; ONNX max |diff| {worst:.2e}; export facts {sorted(facts)}"
    )


@pytest.mark.integration
def test_roberta_teacher_distilled_into_a_bert_tokenizer_student_in_one_recipe(
    family_models, tmp_path
):
    from emocompress.artifacts.rundir import RunDir
    from emocompress.progress import Reporter
    from emocompress.run.runner import run_recipe

    teacher, student = family_models.model("roberta"), family_models.model("bert")
    variants = (
        "- name: bert-student\n  op: distil\n  parent: teacher\n"
        f"  settings: {{init: {{model: {student}}}, epochs: 1, batch_size: 16, lr: 1.0e-3}}\n"
    )
    recipe = load_recipe(_recipe(tmp_path, teacher, variants, finetune=True))
    result = run_recipe(recipe, tmp_path / "run", reporter=Reporter("quiet"))
    assert result.exit_code == 0
    variant = RunDir(tmp_path / "run").variant("bert-student")
    made = load_tokenizer(variant.path)
    assert made.get_vocab() == load_tokenizer(student).get_vocab()
    assert made.get_vocab() != load_tokenizer(teacher).get_vocab()
    assert load_classifier(variant.path).config.model_type == "bert"
    metrics = variant.load_metrics()
    assert metrics is not None
    rows = {row["variant"]: row for row in result.rows}
    assert set(rows) == {"teacher", "bert-student"}


def test_hidden_pruning_of_projected_embeddings_is_refused(family_models, tmp_path, capsys):
    """ELECTRA-small style: 16-wide embeddings projected to the 32-wide hidden states."""
    from transformers import AutoConfig, AutoModelForSequenceClassification

    from emocompress.models.classifier import save_classifier

    source = family_models.model("electra")
    config = AutoConfig.from_pretrained(str(source))
    config.embedding_size = 16
    save_classifier(
        AutoModelForSequenceClassification.from_config(config),
        load_tokenizer(source),
        tmp_path / "small",
    )
    out = tmp_path / "pruned"
    assert main(["prune", str(tmp_path / "small"), "--hidden", "0.5", "--out", str(out)]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "embeddings (16 wide) are projected to the hidden size (32)" in err
    assert not out.exists()
    # heads and FFN still work on it, and keep the projection
    assert main(["prune", str(tmp_path / "small"), "--heads", "0.5", "--out", str(out)]) == 0
    assert load_classifier(out).electra.embeddings_project.in_features == 16


def test_flops_follow_a_pruned_deberta_and_mpnet(family_models, tmp_path):
    from emocompress.measure.flops import EncoderShape
    from emocompress.models.classifier import read_config
    from emocompress.models.shape_plan_file import read_shape_plan

    for family, flags in (("deberta-v2", ["--heads", "0.5"]), ("mpnet", ["--ffn", "0.25"])):
        out = tmp_path / family
        assert main(["prune", str(family_models.model(family)), *flags, "--out", str(out)]) == 0
        shape = EncoderShape.from_config(read_config(out)).with_plan(read_shape_plan(out))
        if family == "deberta-v2":
            assert shape.attention_widths == (16, 16)
        else:  # uniform FFN pruning: the config says it, no plan needed
            assert shape.intermediate == 48


@pytest.mark.parametrize("family", ["distilbert", "deberta-v2", "electra", "mpnet"])
def test_the_dry_run_plans_the_config_the_prune_writes(family, family_models, tmp_path):
    import json

    from emocompress.models.families import family_of_type
    from emocompress.ops.prune.operation import PruneSettings
    from emocompress.ops.prune.planning import planned_config

    source = family_models.model(family)
    settings = {"ffn": 0.5, "hidden": 0.5, "drop_layers": [1]}
    if family != "mpnet":
        settings["heads"] = 0.5
    flags = [f"--{key.replace('_', '-')}" for key in settings]
    values = ["0.5" if key != "drop_layers" else "1" for key in settings]
    argv = [part for pair in zip(flags, values, strict=True) for part in pair]
    assert main(["prune", str(source), *argv, "--out", str(tmp_path / "out")]) == 0
    parent = json.loads((source / "config.json").read_text(encoding="utf-8"))
    child = json.loads((tmp_path / "out" / "config.json").read_text(encoding="utf-8"))
    planned = planned_config(parent, PruneSettings(**settings))
    spec = family_of_type(family)
    for key in (spec.hidden_key, spec.heads_key, spec.ffn_key, spec.layers_key):
        assert planned[key] == child[key], key


@pytest.mark.parametrize("family", ["distilbert", "deberta-v2", "albert", "mpnet", "modernbert"])
def test_the_dry_run_sizes_every_step_of_a_family_recipe(family, family_models, tmp_path, capsys):
    variants = textwrap.dedent(
        """\
        - {name: one-layer, op: distil, parent: teacher, settings: {init: {layers: [0]}}}
        - {name: pruned, op: prune, parent: teacher, settings: {drop_layers: [1], sparsity: 0.5}}
        - {name: onnx, op: export, parent: one-layer}
        """
    )
    recipe = _recipe(tmp_path, family_models.model(family), variants, finetune=True)
    assert main(["run", str(recipe), "--dry-run"]) == 0
    out = capsys.readouterr().out
    for name in ("teacher", "one-layer", "pruned", "onnx"):
        assert f"│ {name} " in out
    assert "The recipe is valid" in out

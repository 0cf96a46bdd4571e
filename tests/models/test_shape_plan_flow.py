"""A head-pruned checkpoint (shape plan) stays loadable through every later operation."""

from __future__ import annotations

import json

import pytest
from conftest import write_tiny_recipe

from emocompress.cli import main
from emocompress.models.classifier import load_classifier
from emocompress.models.shape_plan import read_shape_plan


def _heads(model) -> list[int]:
    return [m.num_attention_heads for n, m in model.named_modules() if n.endswith("attention.self")]


@pytest.mark.integration
def test_distil_and_finetune_from_a_head_pruned_model_keep_its_shapes(tmp_path, tiny_classifier):
    pruned = tmp_path / "pruned"
    assert main(["prune", str(tiny_classifier), "--heads", "0.5", "--out", str(pruned)]) == 0
    assert read_shape_plan(pruned) is not None
    assert _heads(load_classifier(pruned)) == [1, 1]

    recipe = write_tiny_recipe(tmp_path, pruned, name="from-pruned")
    out = tmp_path / "run"
    assert main(["run", str(recipe), "--out", str(out), "--quiet"]) == 0
    for variant, heads in (("teacher", [1, 1]), ("student-1l", [1])):
        folder = out / "variants" / variant
        lineage = json.loads((folder / "emocompress.json").read_text())
        assert lineage["shape_plan"] is not None, variant
        model = load_classifier(folder)
        assert _heads(model) == heads, variant
        assert (folder / "shape_plan.json").is_file()

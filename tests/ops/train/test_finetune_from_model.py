"""A finetune variant's ``settings.model``: the variant starts from that model, not from its
parent (a second teacher seed from the pretrained encoder); the path is checked at load, and
the teacher's own finetune block refuses it (the teacher starts from teacher.model)."""

from __future__ import annotations

import textwrap

import pytest
import torch
from conftest import tiny_recipe_head

from emocompress.artifacts.rundir import RunDir
from emocompress.errors import UserError
from emocompress.models.classifier import load_classifier
from emocompress.progress import Reporter


def _embedding(path) -> torch.Tensor:
    model = load_classifier(path)
    return model.get_input_embeddings().weight.detach().clone()


@pytest.mark.integration
def test_a_finetune_variant_starts_from_settings_model_not_from_its_parent(
    tmp_path, tiny_classifier
):
    from emocompress.recipe.loading import load_recipe
    from emocompress.run.runner import run_recipe

    recipe = tmp_path / "seeds.yaml"
    recipe.write_text(
        tiny_recipe_head("seeds", tiny_classifier)
        # a large learning rate moves the teacher's encoder far from where it started
        + "  finetune: {epochs: 1, batch_size: 16, lr: 5.0e-2}\n"
        + textwrap.dedent(
            f"""\
            variants:
              - name: second
                op: finetune
                settings: {{model: {tiny_classifier}, max_steps: 1, lr: 1.0e-9, seed: 14}}
            """
        ),
        encoding="utf-8",
    )
    out = tmp_path / "runs" / "seeds"
    run_recipe(load_recipe(recipe), out, reporter=Reporter("quiet"))
    run = RunDir(out)
    start = _embedding(tiny_classifier)
    teacher = _embedding(run.variant("teacher").path)
    second = _embedding(run.variant("second").path)
    assert (teacher - start).abs().max() > 1e-2  # the parent moved away from the start
    assert (second - start).abs().max() < 1e-5  # one step at lr 1e-9: still the start
    assert run.variant("second").load_history().settings["model"] == str(tiny_classifier)


def test_a_missing_finetune_model_is_one_line_at_load(tmp_path, tiny_classifier):
    from emocompress.recipe.loading import load_recipe

    recipe = tmp_path / "missing.yaml"
    recipe.write_text(
        tiny_recipe_head("missing", tiny_classifier)
        + "variants:\n  - {name: s, op: finetune, settings: {model: ./no/such/model}}\n",
        encoding="utf-8",
    )
    with pytest.raises(UserError) as caught:
        load_recipe(recipe, env={})
    message = str(caught.value)
    assert "variants[0].settings.model: no such file or directory" in message
    assert "\n" not in message.strip()


def test_the_teachers_finetune_refuses_a_model(tmp_path, tiny_classifier):
    from emocompress.recipe.loading import load_recipe

    recipe = tmp_path / "teacher.yaml"
    recipe.write_text(
        tiny_recipe_head("teacher", tiny_classifier)
        + f"  finetune: {{epochs: 1, model: {tiny_classifier}}}\n",
        encoding="utf-8",
    )
    with pytest.raises(UserError) as caught:
        load_recipe(recipe, env={})
    assert "teacher.finetune.model: the teacher starts from teacher.model" in str(caught.value)

"""Validation that matches execution: what the runner would refuse, load_recipe refuses."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from emocompress.errors import UserError
from emocompress.recipe.execution import POOLED_MODEL_TYPE, layer_count
from emocompress.recipe.loading import load_recipe
from emocompress.run.dryrun import plan_recipe


def _recipe(tmp_path: Path, model: Path, variants: str, teacher_extra: str = "") -> Path:
    path = tmp_path / "r.yaml"
    path.write_text(
        f"name: r\nteacher:\n  model: {model}\n{teacher_extra}variants:\n{variants}",
        encoding="utf-8",
    )
    return path


def _problems(path: Path, overrides: tuple[str, ...] = ()) -> str:
    with pytest.raises(UserError) as caught:
        load_recipe(path, overrides, env={})
    return str(caught.value)


def test_layer_indices_are_checked_against_the_parents_layer_count(tmp_path, tiny_classifier):
    path = _recipe(
        tmp_path,
        tiny_classifier,
        "  - {name: s, op: distil, settings: {init: {layers: [0, 99]}}}\n"
        "  - {name: p, op: prune, settings: {drop_layers: [5]}}\n"
        "  - {name: all, op: prune, settings: {drop_layers: [0, 1]}}\n",
    )
    message = _problems(path)
    assert (
        "variants[0].settings.init.layers: layer 99 does not exist: 'teacher' has 2 layers"
        in message
    )
    assert "variants[1].settings.drop_layers: layer 5 does not exist" in message
    assert "variants[2].settings.drop_layers: drops every layer" in message


def test_a_planned_parents_layer_count_is_used(tmp_path, tiny_classifier):
    # the 1-layer student has layer 0 only: distilling its layer 1 is refused
    path = _recipe(
        tmp_path,
        tiny_classifier,
        "  - {name: s, op: distil, settings: {init: {layers: [1]}}}\n"
        "  - {name: s2, op: distil, parent: s, settings: {init: {layers: [1]}}}\n",
    )
    assert (
        "variants[1].settings.init.layers: layer 1 does not exist: 's' has 1 layers"
        in _problems(path)
    )


def test_parent_formats_are_checked_against_the_operation(tmp_path, tiny_classifier):
    path = _recipe(
        tmp_path,
        tiny_classifier,
        "  - {name: q, op: quantize, parent: teacher}\n"
        "  - {name: o, op: export}\n"
        "  - {name: p, op: prune, parent: o, settings: {ffn: 0.5}}\n",
    )
    message = _problems(path)
    assert "variants[0].parent: quantize cannot start from 'teacher', a PyTorch variant" in message
    assert "variants[2].parent: prune cannot start from 'o', an ONNX variant" in message


def test_an_onnx_teacher_is_refused(tmp_path, tiny_classifier):
    onnx_dir = tmp_path / "onnx"
    shutil.copytree(tiny_classifier, onnx_dir)
    (onnx_dir / "model.onnx").write_bytes(b"graph")
    path = _recipe(tmp_path, onnx_dir, "  []\n")
    assert "is an ONNX model; the teacher is measured and trained with PyTorch" in _problems(path)


def test_several_parents_are_refused_where_the_operation_takes_one(tmp_path, tiny_classifier):
    # the runner used only the first parent of a prune or export, silently
    path = _recipe(
        tmp_path,
        tiny_classifier,
        "  - {name: a, op: distil, settings: {init: {layers: [0]}}}\n"
        "  - {name: p, op: prune, parent: [teacher, a], settings: {ffn: 0.5}}\n"
        "  - {name: o, op: export, parent: [a, teacher]}\n"
        "  - {name: e, op: distil, parent: [teacher, teacher], settings: {init: {layers: [0]}}}\n"
        "  - {name: m, op: merge, parent: [teacher, a]}\n",
    )
    message = _problems(path)
    assert "variants[1].parent: prune takes one parent, got 2 (teacher, a)" in message
    assert "variants[2].parent: export takes one parent, got 2 (a, teacher)" in message
    assert "variants[3]" not in message and "variants[4]" not in message  # ensemble, merge


@pytest.mark.parametrize(
    ("parent", "settings", "expected"),
    [
        ("[teacher, a]", "{method: ties, base: ghost}", "base 'ghost' is not one of the inputs"),
        ("[teacher, a]", "{models: [{model: ghost}]}", "model 'ghost' is not one of the inputs"),
        ("teacher", "{method: slerp}", "slerp merges exactly 2 models, got 1"),
        ("[teacher, a, b]", "{method: slerp}", "slerp merges exactly 2 models, got 3"),
        ("teacher", "{}", "uniform needs at least two models to merge, got 1"),
        ("[a, a]", "{}", "model(s) listed twice: a"),
        (
            "[teacher, a, b]",
            "{method: ties, base: a, models: [{model: a}, {model: b}]}",
            "a is both the base and a model to merge",
        ),
    ],
)
def test_a_merges_parents_are_checked_when_the_recipe_is_loaded(
    tmp_path, tiny_classifier, parent, settings, expected
):
    # these were refused by the runner only after every parent had been made
    path = _recipe(
        tmp_path,
        tiny_classifier,
        "  - {name: a, op: distil, settings: {init: {layers: [0]}}}\n"
        "  - {name: b, op: distil, settings: {init: {layers: [1]}}}\n"
        f"  - {{name: m, op: merge, parent: {parent}, settings: {settings}}}\n",
    )
    assert f"variants[2].parent: {expected}" in _problems(path)


def test_a_valid_merge_of_parents_loads(tmp_path, tiny_classifier):
    path = _recipe(
        tmp_path,
        tiny_classifier,
        "  - {name: a, op: distil, settings: {init: {layers: [0, 1]}}}\n"
        "  - {name: b, op: distil, settings: {init: {layers: [0, 1]}}}\n"
        "  - {name: m, op: merge, parent: [teacher, a, b], settings: {method: ties, base: teacher}}\n"
        "  - {name: s, op: merge, parent: [a, b], settings: {method: slerp, t: 0.3}}\n",
    )
    assert [s.name for s in load_recipe(path, env={}).steps()][-2:] == ["m", "s"]


def test_an_ensemble_with_hidden_state_losses_is_refused_when_loaded(tmp_path, tiny_classifier):
    path = _recipe(
        tmp_path,
        tiny_classifier,
        "  - {name: t2, op: finetune, settings: {epochs: 1}}\n"
        "  - {name: s, op: distil, parent: [teacher, t2],"
        " settings: {init: {layers: [0]}, hidden_weight: 1.0}}\n",
    )
    assert "variants[1].parent: hidden-state and attention losses follow one teacher" in (
        _problems(path)
    )


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("variants.s.settings.epochs=1e12", "less than or equal to 1000"),
        ("variants.s.settings.lr=.inf", "finite number"),
        ("variants.s.settings.lr=.nan", "finite number"),
        ("data.max_length=1000000", "less than or equal to 65536"),
        ("seed=-1", "greater than or equal to 0"),  # numpy refuses negative seeds at run time
        ("variants.s.settings.seed=4294967296", "less than or equal to 4294967295"),
    ],
)
def test_numbers_have_sane_bounds(tmp_path, tiny_classifier, override, expected):
    path = _recipe(
        tmp_path, tiny_classifier, "  - {name: s, op: distil, settings: {init: {layers: [0]}}}\n"
    )
    assert expected in _problems(path, (override,))


def test_set_errors_come_with_the_recipes_other_problems(tmp_path, tiny_classifier):
    path = _recipe(
        tmp_path, tiny_classifier, "  - {name: s, op: distil, settings: {init: {layers: [7]}}}\n"
    )
    message = _problems(path, ("variants.ghost.settings.epochs=1",))
    assert "2 problems" in message
    assert "no item named 'ghost'" in message and "layer 7 does not exist" in message


def test_an_unset_variable_is_one_problem_not_an_echo(tmp_path, tiny_classifier):
    path = _recipe(
        tmp_path,
        tiny_classifier,
        "  - {name: s, op: distil, settings: {epochs: '${EPOCHS}', init: {layers: [0]}}}\n",
    )
    message = _problems(path)
    assert "environment variable EPOCHS is not set" in message and "problems" not in message


def test_the_dry_run_sizes_a_student_of_a_pooled_local_variant(tmp_path, tiny_pooled_classifier):
    config = json.loads((tiny_pooled_classifier / "config.json").read_text())
    assert config["model_type"] == POOLED_MODEL_TYPE and layer_count(config) == 2
    path = _recipe(
        tmp_path,
        tiny_pooled_classifier,
        "  - {name: s, op: distil, settings: {init: {layers: [0]}}}\n",
    )
    rows = {row.variant: row.estimate.layers for row in plan_recipe(load_recipe(path, env={}))}
    assert rows == {"teacher": 2, "s": 1}


def test_the_pooled_model_type_is_the_models_own():
    from emocompress.models.pooled import MODEL_TYPE

    assert POOLED_MODEL_TYPE == MODEL_TYPE

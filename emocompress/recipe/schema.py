"""The recipe schema: a teacher model and variants, each made from a parent by one operation.

Operations come from the registry (:mod:`emocompress.ops.registry`);
:func:`emocompress.recipe.loading.load_recipe` validates everything before any work starts.
The runner then walks :meth:`Recipe.steps`: the teacher first (op ``finetune`` or
``evaluate``), then every variant after its parents. Operation settings are stored with
every default filled in, so :func:`recipe_to_yaml` writes a file that loads back into an
equal :class:`Recipe`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from emocompress.artifacts.schema import BootstrapSpec
from emocompress.errors import UserError
from emocompress.measure.bench.settings import BenchSettings
from emocompress.measure.gates import Gates
from emocompress.measure.metrics import STRATEGIES
from emocompress.ops.base import Settings
from emocompress.ops.registry import get_operation

TEACHER = "teacher"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


def _check_name(value: str) -> str:
    if not _NAME.match(value):
        raise ValueError(
            f"{value!r} is not a usable name: letters, digits, '-' and '_' only, "
            "starting with a letter or digit (names become folder names)"
        )
    return value


Name = Annotated[str, AfterValidator(_check_name)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


# ---------------------------------------------------------------------------- the schema


class CarveSpec(_Strict):
    """A tune split carved out of another split (seeded, stratified by the runner)."""

    carve_from: str = Field("train", description="split the tune examples are taken from")
    fraction: float = Field(0.1, gt=0, lt=1, description="share of that split set aside")


class MaxExamples(_Strict):
    """Caps on examples per split (seeded subsample), for quick runs; null: all."""

    train: int | None = Field(None, ge=1)
    tune: int | None = Field(None, ge=1)
    report: int | None = Field(None, ge=1)


class DataSpec(_Strict):
    source: str = Field("demo", description="demo | hub:go_emotions | a local directory or file")
    train: str = Field("train", description="split used for training")
    tune: str | CarveSpec = Field(
        default_factory=CarveSpec, description="split thresholds are chosen on, or a carve-out"
    )
    report: str = Field("dev", description="split every figure is reported on")
    max_length: int = Field(
        128, ge=8, le=65536, description="tokens per text (longer texts are cut)"
    )
    max_examples: MaxExamples = Field(default_factory=MaxExamples)

    @property
    def tune_source(self) -> str:
        """The split the tune examples come from."""
        return self.tune if isinstance(self.tune, str) else self.tune.carve_from

    @model_validator(mode="after")
    def _report_split_kept_apart(self) -> DataSpec:
        # figures measured on data the model was trained or tuned on would flatter it
        if self.report == self.train:
            raise ValueError(
                f"report and train are both {self.report!r}; report on a held-out split"
            )
        if self.report == self.tune_source:
            raise ValueError(
                f"thresholds would be tuned on {self.report!r}, the split figures are reported on;"
                " tune on another split or carve from train"
            )
        return self


class TeacherSpec(_Strict):
    model: str = Field(description="model reference: local path, pkg:NAME or hub id")
    finetune: dict[str, Any] | None = Field(
        None, description="settings of op finetune; null: the teacher is measured as it is"
    )
    gates: Gates = Field(default_factory=Gates)

    @property
    def op(self) -> str:
        return "finetune" if self.finetune is not None else "evaluate"


class VariantSpec(_Strict):
    name: Name
    op: str = Field(description="operation name from the registry")
    parent: str | list[str] = Field(
        TEACHER, description="variant this one is made from; a list for ops that combine several"
    )
    settings: dict[str, Any] = Field(default_factory=dict, description="the operation's settings")
    gates: Gates = Field(default_factory=Gates)

    @property
    def parents(self) -> tuple[str, ...]:
        return (self.parent,) if isinstance(self.parent, str) else tuple(self.parent)


class EvaluationSpec(_Strict):
    batch_size: int = Field(64, ge=1, le=65536)
    strategies: list[
        Literal["fixed", "global", "per_label", "top_k", "per_label_shrunk", "per_label_cv"]
    ] = Field(
        default_factory=lambda: list(STRATEGIES), min_length=1, description="threshold strategies"
    )
    bootstrap: BootstrapSpec = Field(
        default_factory=BootstrapSpec,
        description="intervals: resamples, seed (null: the recipe's), confidence (docs/metrics.md)",
    )


class MlflowSpec(_Strict):
    tracking_uri: str = "sqlite:///runs/mlflow.db"
    experiment: str = "emocompress"


class WandbSpec(_Strict):
    project: str = "emocompress"
    entity: str | None = None
    mode: Literal["online", "offline"] | None = Field(
        None, description="null: W&B's own choice (WANDB_MODE, else online)"
    )
    dir: str | None = Field(None, description="where W&B writes its files (null: WANDB_DIR or .)")


class TrackingSpec(_Strict):
    mlflow: MlflowSpec | None = None
    wandb: WandbSpec | None = None


class Recipe(_Strict):
    name: Name = Field(description="run name; the run directory is runs/<name> by default")
    description: str | None = None
    seed: int = Field(13, ge=0, le=2**32 - 1, description="seed of every random choice")
    threads: int | None = Field(
        None, ge=1, le=4096, description="torch CPU threads; null: library default"
    )
    device: Literal["auto", "cpu", "cuda"] = "auto"
    data: DataSpec = Field(default_factory=DataSpec)
    teacher: TeacherSpec
    variants: list[VariantSpec] = Field(default_factory=list)
    evaluation: EvaluationSpec = Field(default_factory=EvaluationSpec)
    reference: str = Field(TEACHER, description="variant that deltas and max_auc_drop compare with")
    tracking: TrackingSpec | None = None
    bench: BenchSettings | None = Field(
        None, description="measure speed and memory after the last step (see docs/bench.md)"
    )

    def steps(self) -> list[Step]:
        """Every step the runner makes, in an order where parents come first; teacher first."""
        teacher = Step(
            name=TEACHER,
            op=self.teacher.op,
            parents=(),
            source=self.teacher.model,
            settings=_validate_settings(self.teacher.op, self.teacher.finetune or {}),
            gates=self.teacher.gates,
        )
        variants = [
            Step(v.name, v.op, v.parents, None, step_settings(v), v.gates)
            for v in topological_order(self)
        ]
        return [teacher, *variants]

    def step(self, name: str) -> Step:
        """One step by name (UserError listing the names when there is none)."""
        steps = {step.name: step for step in self.steps()}
        if name not in steps:
            raise UserError(
                f"recipe {self.name!r} has no variant {name!r}", expected=", ".join(steps)
            )
        return steps[name]


@dataclass(frozen=True)
class Step:
    """One unit of work for the runner: make variant ``name`` with operation ``op``."""

    name: str
    op: str
    parents: tuple[str, ...]  # () for the teacher, which is made from ``source``
    source: str | None  # the model reference, for the teacher only
    settings: Settings  # the operation's settings, validated, defaults filled in
    gates: Gates

    @property
    def parent(self) -> str | None:
        """The single parent; None for the teacher and for steps with several parents."""
        return self.parents[0] if len(self.parents) == 1 else None

    @property
    def origin(self) -> str:
        """What the step starts from, as logs and the dry run name it: ``settings.model``
        where an evaluate or finetune variant names one, else its parents, else the model."""
        model = getattr(self.settings, "model", None)
        if model:
            return str(model)
        return ", ".join(self.parents) if self.parents else str(self.source)


def step_settings(variant: VariantSpec) -> Settings:
    """The variant's settings as its operation's validated Settings instance."""
    return _validate_settings(variant.op, variant.settings)


def _validate_settings(op: str, settings: Mapping[str, Any]) -> Settings:
    return get_operation(op).settings.model_validate(dict(settings))


def topological_order(recipe: Recipe) -> list[VariantSpec]:
    """The recipe's variants, each after its parents; otherwise in recipe order."""
    by_name = {v.name: v for v in recipe.variants}
    order, stuck = order_by_parents({v.name: list(v.parents) for v in recipe.variants})
    if stuck:  # load_recipe reports this; a Recipe built in code may still hold one
        raise UserError(f"recipe {recipe.name!r}: parents form a cycle among {', '.join(stuck)}")
    return [by_name[name] for name in order]


def order_by_parents(parents: Mapping[str, Sequence[str]]) -> tuple[list[str], list[str]]:
    """Names ordered parents first, keeping the given order where free; and those left in cycles.

    Parents that are not keys (the teacher, unknown names) count as already made. The
    earliest ready name in the given order goes next (a heap of positions: linear in the
    names and parents, however long a chain).
    """
    import heapq

    names = list(parents)
    position = {name: i for i, name in enumerate(names)}
    waiting_on = {name: {p for p in parents[name] if p in position} for name in names}
    children: dict[str, list[str]] = {name: [] for name in names}
    for name, needed in waiting_on.items():
        for parent in needed:
            children[parent].append(name)
    ready = [position[name] for name in names if not waiting_on[name]]
    heapq.heapify(ready)
    done: list[str] = []
    while ready:
        name = names[heapq.heappop(ready)]
        done.append(name)
        for child in children[name]:
            waiting_on[child].discard(name)
            if not waiting_on[child]:
                heapq.heappush(ready, position[child])
    made = set(done)
    return done, [name for name in names if name not in made]


# ---------------------------------------------------------------------------- resolved YAML


def recipe_to_yaml(recipe: Recipe) -> str:
    """The resolved recipe (every default filled in), loadable again by :func:`load_recipe`."""
    body = yaml.safe_dump(recipe.model_dump(mode="json"), sort_keys=False, allow_unicode=True)
    return "# resolved by emocompress: every default filled in\n" + body


# ---------------------------------------------------------------------------- loading

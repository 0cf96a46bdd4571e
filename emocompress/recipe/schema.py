"""Recipes: the YAML schema, loading (env substitution, ``--set`` overrides), validation.

A recipe names a teacher model and variants, each made from a parent by one operation of
the registry (:mod:`emocompress.ops.registry`). :func:`load_recipe` validates everything before any
work starts and reports every problem at once, as one :class:`UserError` naming the file and
each key path. The runner then walks :meth:`Recipe.steps`: the teacher first (op
``finetune`` or ``evaluate``), then every variant after its parents.

Loading order: YAML -> ``--set`` overrides -> ``${VAR}`` substitution -> schema (pydantic)
-> operations' settings -> parents graph -> local paths. Operation settings are stored in
the resolved recipe with every default filled in, so ``recipe_to_yaml`` writes a file that
loads back into an equal :class:`Recipe`.
"""

from __future__ import annotations

import difflib
import os
import re
import types
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from emocompress.errors import UserError
from emocompress.measure.bench.settings import BenchSettings
from emocompress.measure.gates import Gates
from emocompress.models.reference import is_local, resolve_model_path
from emocompress.ops.base import Settings
from emocompress.ops.registry import get_operation

TEACHER = "teacher"
STRATEGIES = ("fixed", "global", "per_label", "top_k")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")

Path_ = tuple[str | int, ...]  # a key path into the recipe, e.g. ("variants", 1, "settings")


def _check_name(value: str) -> str:
    if not _NAME.match(value):
        raise ValueError(
            f"{value!r} is not a usable name: letters, digits, '-' and '_' only, "
            "starting with a letter or digit (names become folder names)"
        )
    return value


Name = Annotated[str, AfterValidator(_check_name)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


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
    max_length: int = Field(128, ge=8, description="tokens per text (longer texts are cut)")
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
    batch_size: int = Field(64, ge=1)
    strategies: list[Literal["fixed", "global", "per_label", "top_k"]] = Field(
        default_factory=lambda: list(STRATEGIES), min_length=1, description="threshold strategies"
    )


class MlflowSpec(_Strict):
    tracking_uri: str = "sqlite:///runs/mlflow.db"
    experiment: str = "emocompress"


class WandbSpec(_Strict):
    project: str = "emocompress"
    entity: str | None = None


class TrackingSpec(_Strict):
    mlflow: MlflowSpec | None = None
    wandb: WandbSpec | None = None


class Recipe(_Strict):
    name: Name = Field(description="run name; the run directory is runs/<name> by default")
    description: str | None = None
    seed: int = 13
    threads: int | None = Field(None, ge=1, description="torch CPU threads; null: library default")
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


def step_settings(variant: VariantSpec) -> Settings:
    """The variant's settings as its operation's validated Settings instance."""
    return _validate_settings(variant.op, variant.settings)


def _validate_settings(op: str, settings: Mapping[str, Any]) -> Settings:
    return get_operation(op).settings.model_validate(dict(settings))


def topological_order(recipe: Recipe) -> list[VariantSpec]:
    """The recipe's variants, each after its parents; otherwise in recipe order."""
    by_name = {v.name: v for v in recipe.variants}
    order, stuck = _order({v.name: list(v.parents) for v in recipe.variants})
    if stuck:  # load_recipe reports this; a Recipe built in code may still hold one
        raise UserError(f"recipe {recipe.name!r}: parents form a cycle among {', '.join(stuck)}")
    return [by_name[name] for name in order]


def _order(parents: Mapping[str, Sequence[str]]) -> tuple[list[str], list[str]]:
    """Names ordered parents first, keeping the given order where free; and those left in cycles.

    Parents that are not keys (the teacher, unknown names) count as already made.
    """
    done: list[str] = []
    waiting = list(parents)
    progress = True
    while waiting and progress:
        progress = False
        for name in list(waiting):
            if all(p not in parents or p in done for p in parents[name]):
                done.append(name)
                waiting.remove(name)
                progress = True
                break  # restart so that the earliest ready name in recipe order goes next
    return done, waiting


# ---------------------------------------------------------------------------- resolved YAML


def recipe_to_yaml(recipe: Recipe) -> str:
    """The resolved recipe (every default filled in), loadable again by :func:`load_recipe`."""
    body = yaml.safe_dump(recipe.model_dump(mode="json"), sort_keys=False, allow_unicode=True)
    return "# resolved by emocompress: every default filled in\n" + body


# ---------------------------------------------------------------------------- loading


@dataclass(frozen=True)
class Problem:
    path: Path_
    message: str
    hint: str = ""  # e.g. which --set override put the value there

    def __str__(self) -> str:
        where = format_path(self.path)
        text = f"{where}: {self.message}" if where else self.message
        return f"{text} {self.hint}" if self.hint else text


def format_path(path: Iterable[str | int]) -> str:
    """("variants", 1, "settings", "epochs") -> 'variants[1].settings.epochs'."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def load_recipe(
    path: str | os.PathLike[str],
    overrides: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
) -> Recipe:
    """Read, override, substitute and validate a recipe; UserError lists every problem."""
    path = Path(path)
    data = _read_yaml(path)
    problems: list[Problem] = []
    set_paths = _apply_overrides(data, overrides, problems)
    data = _substitute_env(data, os.environ if env is None else env, (), problems)
    data.setdefault("name", path.stem)
    if not problems:  # a failed override or variable would only cause echo errors below
        problems += _schema_problems(Recipe, data, ())
        problems += _operation_problems(data)
        problems += _graph_problems(data)
        problems += _path_problems(data, path.parent)
    if problems:
        problems.sort(key=lambda problem: _position(data, problem.path))
        raise UserError(_report(_annotate(problems, set_paths)), where=str(path))
    return Recipe.model_validate(data)


def _position(data: Any, path: Path_) -> list[int]:
    """Where ``path`` sits in the document, so that problems are listed top to bottom."""
    position, node = [], data
    for part in path:
        if isinstance(node, dict) and part in node:
            position.append(list(node).index(part))
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            position.append(part)
        else:
            position.append(len(node) if isinstance(node, dict | list) else 0)
            break
        node = node[part]
    return position


def _report(problems: list[Problem]) -> str:
    lines = list(dict.fromkeys(str(p) for p in problems))
    if len(lines) == 1:
        return lines[0]
    return f"{len(lines)} problems in the recipe:\n" + "\n".join(f"  - {line}" for line in lines)


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys (PyYAML would silently keep the last)."""


def _construct_mapping(loader: _Loader, node: yaml.MappingNode, deep: bool = False) -> dict:
    # duplicates are looked for among the keys written here, before YAML merge keys
    # (`<<: *anchor`) bring in defaults that written keys may override
    seen: dict[Any, int] = {}
    for key_node, _ in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=True)
        if isinstance(key, str) and key in seen:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"duplicate key {key!r} (first at line {seen[key] + 1})",
                key_node.start_mark,
            )
        if isinstance(key, str):
            seen[key] = key_node.start_mark.line
    loader.flatten_mapping(node)
    return loader.construct_mapping(node, deep=deep)


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError("no such recipe file", where=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read the recipe ({exc})", where=str(path)) from None
    try:
        data = yaml.load(text, Loader=_Loader)  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        if mark is None:
            raise UserError(f"YAML syntax error: {problem}", where=str(path)) from None
        line, column = mark.line + 1, mark.column + 1
        raise UserError(
            f"YAML syntax error at line {line}, column {column}: {problem}", where=f"{path}:{line}"
        ) from None
    if data is None:
        raise UserError(
            "the recipe is empty", where=str(path), expected="a mapping with teacher, variants, ..."
        )
    if not isinstance(data, dict):
        raise UserError(
            f"the recipe is a {type(data).__name__}",
            where=str(path),
            expected="a mapping (key: value) at the top",
        )
    return data


# ---------------------------------------------------------------------------- --set overrides


def _apply_overrides(
    data: dict[str, Any], overrides: Sequence[str], problems: list[Problem]
) -> list[tuple[Path_, str]]:
    """Apply ``key.path=value`` overrides in place; return (path created or set, override) pairs."""
    applied = []
    for text in overrides:
        try:
            applied.append((_apply_override(data, text), text))
        except ValueError as exc:
            problems.append(Problem((), f"--set {text!r}: {exc}"))
    return applied


def _apply_override(data: dict[str, Any], text: str) -> Path_:
    key, sep, raw = text.partition("=")
    parts = [p.strip() for p in key.split(".")]
    if not sep or not all(parts):
        raise ValueError("expected KEY.PATH=VALUE, e.g. variants.student.settings.epochs=1")
    try:
        value = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError as exc:
        raise ValueError(f"the value is not valid YAML ({exc})") from None
    node: Any = data
    walked: list[str | int] = []
    created: Path_ | None = None  # the first mapping the override had to create
    for part in parts[:-1]:
        step = _child_key(node, part, walked)
        walked.append(step)
        if isinstance(node, dict) and node.get(step) is None:
            node[step] = {}
            created = created or tuple(walked)
        node = node[step]
    last = _child_key(node, parts[-1], walked, last=True)
    node[last] = value
    return created or (*walked, last)


def _child_key(node: Any, part: str, walked: list[str | int], last: bool = False) -> str | int:
    """The dict key or list index that ``part`` addresses in ``node``."""
    if isinstance(node, dict):
        return part
    if not isinstance(node, list):
        raise ValueError(f"{format_path(walked)} is not a mapping or a list, so it has no {part!r}")
    if re.fullmatch(r"-?\d+", part):
        index = int(part)
        if not -len(node) <= index < len(node):
            raise ValueError(
                f"{format_path(walked)} has {len(node)} items; there is no item {index}"
            )
        return index % len(node)
    names = [item.get("name") for item in node if isinstance(item, dict)]
    if part not in names:
        known = ", ".join(str(n) for n in names if n is not None) or "none"
        raise ValueError(f"{format_path(walked)} has no item named {part!r} (names: {known})")
    return names.index(part)


def _annotate(problems: list[Problem], set_paths: list[tuple[Path_, str]]) -> list[Problem]:
    """Say which --set override put a bad value (or an unknown key) there."""
    out = []
    for problem in problems:
        culprit = next((t for p, t in set_paths if problem.path[: len(p)] == p and p), None)
        out.append(
            Problem(problem.path, problem.message, f"(set by --set {culprit!r})")
            if culprit
            else problem
        )
    return out


# ---------------------------------------------------------------------------- ${VAR} substitution


def _substitute_env(node: Any, env: Mapping[str, str], path: Path_, problems: list[Problem]) -> Any:
    if isinstance(node, dict):
        return {k: _substitute_env(v, env, (*path, k), problems) for k, v in node.items()}
    if isinstance(node, list):
        return [_substitute_env(v, env, (*path, i), problems) for i, v in enumerate(node)]
    if not isinstance(node, str) or "${" not in node:
        return node

    def replace(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if env.get(name):
            return env[name]
        if default is not None:  # like the shell's ${VAR:-default}: unset or empty
            return default
        problems.append(
            Problem(
                path,
                f"environment variable {name} is not set",
                f"(give it a value or write ${{{name}:-default}})",
            )
        )
        return match.group(0)

    text = _ENV_REF.sub(replace, node)
    if _ENV_REF.fullmatch(node):  # a whole value from the environment reads like a --set value
        try:
            return yaml.safe_load(text) if text.strip() else None
        except yaml.YAMLError:
            return text
    return text


# ---------------------------------------------------------------------------- schema problems


_EXPECTED = {
    "string_type": "a string",
    "float_type": "a number",
    "float_parsing": "a number",
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "a whole number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "list_type": "a list",
    "dict_type": "a mapping (key: value)",
    "model_type": "a mapping (key: value)",
    "model_attributes_type": "a mapping (key: value)",
    "none_required": "null",
}


def _schema_problems(model: type[BaseModel], data: Any, prefix: Path_) -> list[Problem]:
    """Validate ``data`` against ``model``; every error as a Problem with a clean key path."""
    try:
        model.model_validate(data)
    except ValidationError as exc:
        return _problems_from(exc, model, data, prefix)
    return []


def _problems_from(
    exc: ValidationError, model: type[BaseModel], data: Any, prefix: Path_
) -> list[Problem]:
    errors = []  # (path, from a union branch, error)
    for error in exc.errors():
        path, tagged = _data_path(error["loc"], data, error["type"])
        errors.append((path, tagged, error))
    deeper = {path[:i] for path, _, _ in errors for i in range(len(path))}
    by_path: dict[Path_, list[dict]] = {}
    for path, tagged, error in errors:
        # a union branch that failed on the type is noise when another branch got further in
        if tagged and path in deeper and error["type"] in _EXPECTED:
            continue
        by_path.setdefault(path, []).append(error)
    return [
        Problem((*prefix, *path), _describe(errors_here, model, path))
        for path, errors_here in by_path.items()
    ]


def _data_path(loc: tuple, data: Any, kind: str) -> tuple[Path_, bool]:
    """Drop pydantic's union tags ('str', 'CarveSpec', ...) from ``loc`` by walking the data."""
    path: list[str | int] = []
    node, tagged = data, False
    for i, part in enumerate(loc):
        is_last = i == len(loc) - 1
        if (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int)
        ):
            path.append(part)
            node = node[part] if isinstance(node, dict) or -len(node) <= part < len(node) else None
        elif is_last and kind == "missing":
            path.append(part)
        else:
            tagged = True
    return tuple(path), tagged


def _describe(errors: list[dict], model: type[BaseModel], path: Path_) -> str:
    expected = [_expected_phrase(e) for e in errors]
    if all(expected):
        got = errors[0].get("input")
        return f"expected {' or '.join(dict.fromkeys(expected))}, got {_show(got)}"
    return "; ".join(_message(e, model, path) for e in errors)


def _expected_phrase(error: dict) -> str | None:
    if error["type"] == "literal_error":
        return "one of " + error.get("ctx", {}).get("expected", "?")
    return _EXPECTED.get(error["type"])


def _message(error: dict, model: type[BaseModel], path: Path_) -> str:
    kind = error["type"]
    if kind == "missing":
        return "required key is missing"
    if kind == "extra_forbidden":
        return _unknown_key_message(model, path)
    message = error["msg"].removeprefix("Value error, ")
    message = message[:1].lower() + message[1:]
    got = error.get("input")
    if kind.startswith(("greater", "less", "too_", "string_too", "multiple")):
        message += f", got {_show(got)}"
    return message


def _unknown_key_message(model: type[BaseModel], path: Path_) -> str:
    known = _keys_at(model, path[:-1])
    key = str(path[-1])
    kind = "gate" if _type_at(model, path[:-1]) is Gates else "key"
    message = f"unknown {kind} {key!r}"
    if known:
        close = difflib.get_close_matches(key, known, n=1)
        message += f" (expected one of: {', '.join(known)}"
        message += f"; did you mean {close[0]!r}?)" if close else ")"
    return message


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _members(annotation: Any) -> list[Any]:
    """The alternatives of a (possibly Optional/Annotated) annotation."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _members(get_args(annotation)[0])
    if origin is Union or origin is types.UnionType:
        return [m for arg in get_args(annotation) for m in _members(arg)]
    return [annotation]


def _type_at(model: type[BaseModel], path: Path_) -> type[BaseModel] | None:
    """The pydantic model found at ``path`` inside ``model`` (None where there is none)."""
    current: list[Any] = [model]
    for part in path:
        following = []
        for candidate in (m for c in current for m in _members(c)):
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                field = candidate.model_fields.get(str(part))
                following += [field.annotation] if field else []
            elif get_origin(candidate) in (list, dict):
                following.append(get_args(candidate)[-1])
        current = following
    models = [
        m for c in current for m in _members(c) if isinstance(m, type) and issubclass(m, BaseModel)
    ]
    return models[0] if models else None


def _keys_at(model: type[BaseModel], path: Path_) -> list[str]:
    found = _type_at(model, path)
    return list(found.model_fields) if found else []


# ---------------------------------------------------------------------------- operations


def _variant_items(data: Mapping[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    variants = data.get("variants")
    if not isinstance(variants, list):
        return []
    return [(i, v) for i, v in enumerate(variants) if isinstance(v, dict)]


def _operation_problems(data: dict[str, Any]) -> list[Problem]:
    """Check each op name and its settings; fill the settings' defaults in place."""
    problems: list[Problem] = []
    teacher = data.get("teacher")
    if isinstance(teacher, dict) and isinstance(teacher.get("finetune"), dict):
        problems += _resolve_settings(teacher, "finetune", "finetune", ("teacher", "finetune"))
    for i, variant in _variant_items(data):
        op = variant.get("op")
        if not isinstance(op, str):
            continue  # reported by the schema
        if isinstance(variant.setdefault("settings", {}), dict):
            problems += _resolve_settings(
                variant, "settings", op, ("variants", i, "settings"), op_path=("variants", i, "op")
            )
    return problems


def _resolve_settings(
    owner: dict[str, Any], key: str, op: str, path: Path_, op_path: Path_ = ()
) -> list[Problem]:
    try:
        settings_type = get_operation(op).settings
    except UserError as exc:
        return [Problem(op_path, str(exc))]
    problems = _schema_problems(settings_type, owner[key], path)
    if not problems:  # validate the dump once more so the stored dict is canonical
        resolved = settings_type.model_validate(owner[key]).model_dump(mode="json")
        owner[key] = settings_type.model_validate(resolved).model_dump(mode="json")
    return problems


# ---------------------------------------------------------------------------- parents graph


def _parents_of(variant: Mapping[str, Any]) -> list[str]:
    parent = variant.get("parent", TEACHER)
    if isinstance(parent, str):
        return [parent]
    return [p for p in parent if isinstance(p, str)] if isinstance(parent, list) else []


def _graph_problems(data: Mapping[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    first_seen: dict[str, Path_] = {TEACHER: ("teacher",)}
    named: list[tuple[int, str, list[str]]] = []
    for i, variant in _variant_items(data):
        name = variant.get("name")
        if not isinstance(name, str):
            continue
        if name in first_seen:
            taken = "the teacher" if name == TEACHER else format_path(first_seen[name])
            problems.append(
                Problem(("variants", i, "name"), f"duplicate variant name {name!r} (also {taken})")
            )
        else:
            first_seen[name] = ("variants", i)
            named.append((i, name, _parents_of(variant)))
    known = ", ".join(first_seen)
    for i, variant in _variant_items(data):
        for parent in _parents_of(variant):
            if parent not in first_seen:
                problems.append(
                    Problem(
                        ("variants", i, "parent"), f"no variant named {parent!r} (known: {known})"
                    )
                )
    problems += _cycle_problems(named)
    reference = data.get("reference", TEACHER)
    if isinstance(reference, str) and reference not in first_seen:
        problems.append(Problem(("reference",), f"no variant named {reference!r} (known: {known})"))
    bench = data.get("bench")
    if isinstance(bench, dict):
        named_in_bench = [(("bench", "baseline"), bench.get("baseline"))]
        variants = bench.get("variants")
        if isinstance(variants, list):
            named_in_bench += [(("bench", "variants", i), v) for i, v in enumerate(variants)]
        for path, name in named_in_bench:
            if isinstance(name, str) and name not in first_seen:
                problems.append(Problem(path, f"no variant named {name!r} (known: {known})"))
    return problems


def _cycle_problems(named: list[tuple[int, str, list[str]]]) -> list[Problem]:
    parents = {name: ps for _, name, ps in named}
    index = {name: i for i, name, _ in named}
    _, stuck = _order(parents)
    problems, reported = [], set()
    for start in stuck:
        cycle = _find_cycle(start, parents, set(stuck))
        if cycle and not reported.intersection(cycle):
            reported.update(cycle)
            chain = " -> ".join([*cycle, cycle[0]])
            problems.append(
                Problem(
                    ("variants", index[cycle[0]], "parent"),
                    f"parents form a cycle: {chain} (each is made from the next)",
                )
            )
    return problems


def _find_cycle(start: str, parents: Mapping[str, list[str]], stuck: set[str]) -> list[str]:
    """Follow stuck parents from ``start`` until a name repeats; return the loop."""
    trail = [start]
    while True:
        following = next((p for p in parents[trail[-1]] if p in stuck), None)
        if following is None:
            return []
        if following in trail:
            return trail[trail.index(following) :]
        trail.append(following)


# ---------------------------------------------------------------------------- local paths


def _locate(ref: str, recipe_dir: Path) -> str | None:
    """``ref`` as it is when it exists from here; else absolute when it exists beside the recipe."""
    if Path(ref).expanduser().exists():
        return ref
    beside = recipe_dir / ref
    if not Path(ref).expanduser().is_absolute() and beside.exists():
        return str(beside.resolve())
    return None


def _looks_like_path(ref: str) -> bool:
    # a hub id is "name" or "owner/name": never starting with . / ~, never two slashes
    return (
        ref.startswith((".", "/", "~"))
        or ref.count("/") > 1
        or "\\" in ref
        or ref.endswith((".safetensors", ".onnx", ".bin", ".pt", ".json"))
    )


def _path_problems(data: dict[str, Any], recipe_dir: Path) -> list[Problem]:
    """Check local data and model paths; rewrite ones found beside the recipe to absolute."""
    problems: list[Problem] = []
    section = data.get("data")
    source = section.get("source") if isinstance(section, dict) else None
    if isinstance(source, str) and source != "demo" and not source.startswith("hub:"):
        found = _locate(source, recipe_dir)
        if found is None:
            problems.append(
                Problem(
                    ("data", "source"),
                    f"no such file or directory: {source}",
                    "(expected demo, hub:NAME or an existing local path)",
                )
            )
        else:
            section["source"] = found
    teacher = data.get("teacher")
    model = teacher.get("model") if isinstance(teacher, dict) else None
    if isinstance(model, str):
        problem = _model_ref_problem(model, recipe_dir)
        if problem:
            problems.append(Problem(("teacher", "model"), problem))
        elif not model.startswith("pkg:") and (found := _locate(model, recipe_dir)):
            teacher["model"] = found
    return problems


def _model_ref_problem(ref: str, recipe_dir: Path) -> str | None:
    if ref.startswith("pkg:"):
        try:
            resolve_model_path(ref, allow_hub=False)
        except UserError as exc:
            return str(exc)
        return None
    if is_local(ref) or _locate(ref, recipe_dir) or not _looks_like_path(ref):
        return None  # local and present, or a hub id (checked when it is fetched)
    return f"no such file or directory: {ref} (expected a local checkpoint, pkg:NAME or a hub id)"

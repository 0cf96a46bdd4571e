"""Checks a schema cannot express: operations' settings, the parents graph, local paths."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from emocompress.errors import UserError
from emocompress.models.reference import (
    is_local,
    offline_config_of_reference,
    resolve_model_path,
)
from emocompress.ops.registry import get_operation
from emocompress.recipe.problems import Path_, Problem, format_path, schema_problems
from emocompress.recipe.schema import TEACHER, order_by_parents


def _variant_items(data: Mapping[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    variants = data.get("variants")
    if not isinstance(variants, list):
        return []
    return [(i, v) for i, v in enumerate(variants) if isinstance(v, dict)]


def operation_problems(data: dict[str, Any]) -> list[Problem]:
    """Check each op name and its settings; fill the settings' defaults in place."""
    problems: list[Problem] = []
    teacher = data.get("teacher")
    if isinstance(teacher, dict) and isinstance(teacher.get("finetune"), dict):
        problems += _resolve_settings(teacher, "finetune", "finetune", ("teacher", "finetune"))
        if teacher["finetune"].get("model") is not None:
            problems.append(
                Problem(
                    ("teacher", "finetune", "model"),
                    "the teacher starts from teacher.model",
                    "(settings.model belongs to finetune variants, e.g. a second teacher seed)",
                )
            )
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
    problems = schema_problems(settings_type, owner[key], path)
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


def graph_problems(data: Mapping[str, Any]) -> list[Problem]:
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
        if variant.get("parent") == []:
            problems.append(
                Problem(
                    ("variants", i, "parent"),
                    "an empty list of parents",
                    "(expected a variant name, e.g. teacher, or a list of one or more names)",
                )
            )
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
    _, stuck = order_by_parents(parents)
    stuck_names, explored = set(stuck), set()
    problems = []
    for start in stuck:
        if start in explored:
            continue  # its walk joins one already taken: that cycle is reported, or none
        cycle = _find_cycle(start, parents, stuck_names, explored)
        if cycle:
            chain = " -> ".join([*cycle, cycle[0]])
            problems.append(
                Problem(
                    ("variants", index[cycle[0]], "parent"),
                    f"parents form a cycle: {chain} (each is made from the next)",
                )
            )
    return problems


def _find_cycle(
    start: str, parents: Mapping[str, list[str]], stuck: set[str], explored: set[str]
) -> list[str]:
    """Follow stuck parents from ``start`` until a name repeats; return the loop ([] when the
    walk reaches a name an earlier walk took). Every name walked is added to ``explored``."""
    trail, seen = [start], {start: 0}
    try:
        while True:
            following = next((p for p in parents[trail[-1]] if p in stuck), None)
            if following is None or following in explored:
                return []
            if following in seen:
                return trail[seen[following] :]
            seen[following] = len(trail)
            trail.append(following)
    finally:
        explored.update(trail)


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


# the operations whose settings.model names a model to start from instead of the parent
_MODEL_SETTING_OPS = ("evaluate", "finetune")


def path_problems(data: dict[str, Any], recipe_dir: Path) -> list[Problem]:
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
    for index, variant in enumerate(data.get("variants") or []):
        if not isinstance(variant, dict) or variant.get("op") not in _MODEL_SETTING_OPS:
            continue
        settings = variant.get("settings")
        model = settings.get("model") if isinstance(settings, dict) else None
        if not isinstance(model, str):
            continue
        problem = _model_ref_problem(model, recipe_dir)
        if problem:
            problems.append(Problem(("variants", index, "settings", "model"), problem))
        elif not model.startswith("pkg:") and (found := _locate(model, recipe_dir)):
            settings["model"] = found
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


# ---------------------------------------------------------------------------- support matrix

_PRUNE_CELLS = {
    "heads": "prune-heads",
    "ffn": "prune-ffn",
    "hidden": "prune-hidden",
    "drop_layers": "prune-layers",
    "sparsity": "prune-sparsity",
    "vocab": "prune-vocab",
}


def support_problems(data: Mapping[str, Any]) -> list[Problem]:
    """Every step whose (family, operation) cell the support matrix refuses, found from the
    configs alone (docs/support.md), so that it fails before the teacher is trained.
    Models whose config.json cannot be read offline are checked when they are loaded."""
    from emocompress.models.support import refusal, row_of_config

    teacher = data.get("teacher")
    if not isinstance(teacher, dict) or not isinstance(teacher.get("model"), str):
        return []
    config = offline_config_of_reference(teacher["model"])
    finetune = teacher.get("finetune")
    pooling = finetune.get("pooling") if isinstance(finetune, dict) else None
    configs: dict[str, dict[str, Any] | None] = {TEACHER: _pooled(config, pooling)}
    problems: list[Problem] = []
    cells: list[tuple[Path_, str, list[str]]] = []
    if isinstance(finetune, dict):
        cells.append((("teacher", "finetune"), TEACHER, ["finetune"]))
    for i, variant in _variant_items(data):
        parents = _parents_of(variant)
        settings = variant.get("settings") if isinstance(variant.get("settings"), dict) else {}
        config = configs.get(parents[0]) if parents else None
        operations, child = _cells_of(variant.get("op"), settings, config)
        configs[str(variant.get("name"))] = child
        cells.append((("variants", i, "op"), str(variant.get("name")), operations))
        if "distil-states" in operations:
            cells.append((("variants", i, "op"), parents[0], ["distil-states"]))  # the teacher
            if config and child and _vocabulary(config) != _vocabulary(child):
                problems.append(Problem(("variants", i, "settings"), _OWN_TOKENIZER))
    for path, name, operations in cells:
        row = row_of_config(configs[name]) if configs.get(name) else None
        for operation in operations:
            error = refusal(row, operation) if row else None
            if error is not None:
                problems.append(Problem(path, str(error)))
    return problems


_OWN_TOKENIZER = (
    "hidden_weight and attention_weight need the student to share the teacher's tokenizer, "
    "and this student has its own (expected 0 for both: logits-only distillation works across "
    "tokenizers)"
)


def _vocabulary(config: Mapping[str, Any]) -> tuple[Any, Any]:
    encoder = config.get("backbone") if isinstance(config.get("backbone"), dict) else config
    return encoder.get("model_type"), encoder.get("vocab_size")


def _pooled(config: dict[str, Any] | None, pooling: Any) -> dict[str, Any] | None:
    if config is None or not isinstance(pooling, str):
        return config
    return {**config, "emocompress_pooling": pooling}


def _cells_of(
    op: Any, settings: Mapping[str, Any], parent: dict[str, Any] | None
) -> tuple[list[str], dict[str, Any] | None]:
    """The matrix operations one variant step uses, and its config (None: not known)."""
    if op == "prune":
        return [cell for key, cell in _PRUNE_CELLS.items() if settings.get(key)], parent
    if op != "distil":
        return ([op] if op in ("merge", "export", "quantize") else []), parent
    init = settings.get("init") if isinstance(settings.get("init"), dict) else {}
    states = bool(settings.get("hidden_weight") or settings.get("attention_weight"))
    if init.get("model"):
        student = offline_config_of_reference(str(init["model"]))
        pooling = settings.get("pooling") or (parent or {}).get("emocompress_pooling")
        return (["distil-model"] + (["distil-states"] if states else [])), _pooled(student, pooling)
    operation = "distil-layers" if init.get("layers") is not None else "distil-config"
    return [operation] + (["distil-states"] if states else []), parent

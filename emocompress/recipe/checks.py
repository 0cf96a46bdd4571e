"""Checks a schema cannot express: operations' settings, the parents graph, local paths."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from emocompress.errors import UserError
from emocompress.models.reference import is_local, resolve_model_path
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

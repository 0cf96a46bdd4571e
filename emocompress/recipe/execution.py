"""Checks that make validation match execution: what the runner would refuse minutes (or
hours) in is refused at load time and by ``--dry-run``.

Walking the variants in order from the teacher's config.json (read, never downloaded):

- the parent's format against the operation (quantize needs an exported ONNX parent;
  distil, prune, merge and export need a PyTorch one);
- layer indices against the parent's layer count (distil ``init.layers``, prune
  ``drop_layers``), the parent's count planned through each operation as the dry run plans it;
- a teacher without a classification head and without ``finetune``.

A variant whose settings are already reported as wrong is skipped. These checks are kept
apart from the family x operation support check (``checks.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from emocompress.artifacts.rundir import a_format, model_format
from emocompress.errors import UserError
from emocompress.ops.base import Operation
from emocompress.ops.registry import get_operation
from emocompress.recipe.checks import _parents_of
from emocompress.recipe.problems import Problem
from emocompress.recipe.schema import TEACHER

# config keys that hold the encoder's layer count, by family
LAYER_KEYS = ("num_hidden_layers", "n_layers", "num_layers")
# emocompress.models.pooled.MODEL_TYPE (importing that module imports torch; a test ties them)
POOLED_MODEL_TYPE = "emocompress-pooled"


def layer_count(config: Mapping[str, Any]) -> int | None:
    """The encoder's layer count in a config.json (emocompress's pooled models keep it in
    ``backbone``); None when it does not say."""
    backbone = config.get("backbone")
    for candidate in (backbone, config) if isinstance(backbone, dict) else (config,):
        for key in LAYER_KEYS:
            value = candidate.get(key)
            if isinstance(value, int) and not isinstance(value, bool):
                return value
    return None


def execution_problems(data: Mapping[str, Any], recipe_dir: Path) -> list[Problem]:
    problems: list[Problem] = []
    teacher = data.get("teacher")
    if not isinstance(teacher, dict) or not isinstance(teacher.get("model"), str):
        return problems
    reference = teacher["model"]
    teacher_path = _local_model(reference, recipe_dir)
    teacher_format = model_format(teacher_path) if teacher_path else "pytorch"
    config = _config_of(teacher_path) if teacher_path else None
    finetune = teacher.get("finetune")
    if teacher_format == "onnx":
        problems.append(
            Problem(
                ("teacher", "model"),
                f"{reference} is an ONNX model; the teacher is measured and trained with PyTorch",
                "(expected a PyTorch classifier or encoder)",
            )
        )
    elif teacher_path and config is not None and finetune is None and not _has_head(config):
        problems.append(
            Problem(
                ("teacher",),
                f"{reference} is an encoder without a classification head, and the teacher has "
                "no finetune to train one",
                "(expected teacher.finetune, e.g. {epochs: 1}, or a sequence classifier)",
            )
        )
    if isinstance(finetune, dict) and config is not None:
        config = _planned("finetune", finetune, config)
    formats: dict[str, str] = {TEACHER: teacher_format}
    configs: dict[str, dict[str, Any] | None] = {TEACHER: config}
    variants = data.get("variants")
    for i, variant in enumerate(variants if isinstance(variants, list) else []):
        if not isinstance(variant, dict) or not isinstance(variant.get("name"), str):
            continue
        name, op = variant["name"], variant.get("op")
        parents = _parents_of(variant)
        try:
            operation = get_operation(op) if isinstance(op, str) else None
        except UserError:
            operation = None  # reported by operation_problems
        if operation is None:
            continue
        formats[name] = operation.produces
        for parent in parents:
            found = formats.get(parent)
            if found is not None and found not in operation.accepts:
                problems.append(
                    Problem(
                        ("variants", i, "parent"),
                        f"{operation.name} cannot start from {parent!r}, {a_format(found)} variant",
                        f"(expected {' or '.join(map(a_format, operation.accepts))} parent)",
                    )
                )
        settings = variant.get("settings")
        problems += _parents_problems(operation, settings, variant.get("parent"), parents, i)
        parent_config = configs.get(parents[0]) if parents else None
        problems += _layer_problems(operation.name, settings, parent_config, parents, i)
        configs[name] = _planned(operation.name, settings, parent_config) if parent_config else None
    return problems


def _parents_problems(
    operation: Operation, settings: Any, given: Any, parents: list[str], i: int
) -> list[Problem]:
    """Several parents for an operation that takes one (the others would be ignored), and
    what the operation would refuse about its parents once they are made (a merge's base)."""
    where = ("variants", i, "parent")
    if isinstance(given, list) and len(given) > 1 and not operation.several_parents:
        return [
            Problem(
                where,
                f"{operation.name} takes one parent, got {len(given)} ({', '.join(map(str, given))})",
                "(expected one name; several parents are for merge and an ensemble distil)",
            )
        ]
    if operation.parent_problems is None or not parents:
        return []
    if isinstance(given, list) and len(parents) != len(given):
        return []  # a parent that is not a name: reported by the schema
    try:
        checked = operation.settings.model_validate(settings)
    except ValueError:
        return []  # invalid settings are reported by operation_problems
    return [Problem(where, message) for message in operation.parent_problems(checked, parents)]


def _layer_problems(
    op: str, settings: Any, config: dict[str, Any] | None, parents: list[str], i: int
) -> list[Problem]:
    count = layer_count(config) if config else None
    if count is None or not isinstance(settings, dict) or not parents:
        return []
    where = f"{parents[0]!r} has {count} layers (0..{count - 1})"
    problems = []
    if op == "distil":
        init = settings.get("init")
        layers = init.get("layers") if isinstance(init, dict) else None
        if isinstance(layers, list):
            bad = [n for n in layers if isinstance(n, int) and n >= count]
            if bad:
                problems.append(
                    Problem(
                        ("variants", i, "settings", "init", "layers"),
                        f"layer {', '.join(map(str, bad))} does not exist: {where}",
                    )
                )
    if op == "prune":
        dropped = settings.get("drop_layers")
        if isinstance(dropped, list):
            bad = [n for n in dropped if isinstance(n, int) and n >= count]
            if bad:
                problems.append(
                    Problem(
                        ("variants", i, "settings", "drop_layers"),
                        f"layer {', '.join(map(str, bad))} does not exist: {where}",
                    )
                )
            elif len(set(dropped)) >= count:
                problems.append(
                    Problem(
                        ("variants", i, "settings", "drop_layers"),
                        f"drops every layer: {where}",
                        "(expected at least one layer kept)",
                    )
                )
    return problems


def _planned(op: str, settings: Any, config: dict[str, Any]) -> dict[str, Any] | None:
    """The child's config as the dry run plans it; None where it cannot be planned."""
    operation = get_operation(op)
    if operation.plan is None:
        return config
    try:
        return operation.plan(config, operation.settings.model_validate(settings))
    except Exception:  # noqa: BLE001 - invalid settings are reported elsewhere; no plan here
        return None


def _local_model(reference: str, recipe_dir: Path) -> Path | None:
    """The model's folder when it is local (a path or pkg:NAME); None for a hub id."""
    from emocompress.models.reference import resolve_model_path

    if reference.startswith("pkg:") or Path(reference).expanduser().exists():
        try:
            return Path(resolve_model_path(reference, allow_hub=False))
        except UserError:
            return None  # reported by path_problems
    beside = recipe_dir / reference
    return beside if beside.exists() else None


def _config_of(path: Path) -> dict[str, Any] | None:
    from emocompress.artifacts.jsonfile import read_json_object
    from emocompress.artifacts.schema import CONFIG_FILE

    if not (path / CONFIG_FILE).is_file():
        return None
    try:
        return read_json_object(path / CONFIG_FILE)
    except UserError:
        return None  # the runner names the file when it loads it


def _has_head(config: Mapping[str, Any]) -> bool:
    architectures = config.get("architectures") or []
    return config.get("model_type") == POOLED_MODEL_TYPE or any(
        isinstance(a, str) and a.endswith("ForSequenceClassification") for a in architectures
    )

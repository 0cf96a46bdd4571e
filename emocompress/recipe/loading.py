"""Loading a recipe: YAML with limits, ``--set`` overrides, ``${VAR}`` substitution, then validation.

Loading order: YAML -> ``--set`` overrides -> ``${VAR}`` substitution -> schema (pydantic)
-> operations' settings -> parents graph -> local paths. Every problem is reported at once,
as one :class:`UserError` naming the file and each key path.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from emocompress.artifacts.yamlfile import MAX_BYTES, BoundedLoader, YamlLimit, load_yaml
from emocompress.errors import UserError
from emocompress.recipe.checks import (
    graph_problems,
    operation_problems,
    path_problems,
    support_problems,
)
from emocompress.recipe.execution import execution_problems
from emocompress.recipe.problems import Path_, Problem, format_path, report, schema_problems
from emocompress.recipe.schema import Recipe

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


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
    # every problem at once: failed overrides and variables with the recipe's own problems,
    # less the echoes of an unset variable (its "${VAR}" text is no integer either)
    unset = [problem.path for problem in problems]
    checked = schema_problems(Recipe, data, ())
    checked += operation_problems(data)
    checked += graph_problems(data)
    checked += path_problems(data, path.parent)
    checked += execution_problems(data, path.parent)
    problems += [p for p in checked if not any(p.path[: len(u)] == u and u for u in unset)]
    if not problems:  # needs resolved paths and canonical settings
        problems += support_problems(data)
    if problems:
        problems.sort(key=lambda problem: _position(data, problem.path))
        raise UserError(report(_annotate(problems, set_paths)), where=str(path))
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


class _Loader(BoundedLoader):
    """The bounded SafeLoader (aliases counted and sized before expansion) that also refuses
    duplicate keys (PyYAML would silently keep the last)."""


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
        if path.stat().st_size > MAX_BYTES:
            raise UserError(
                f"{path.stat().st_size:,} bytes is too large for a recipe",
                where=str(path),
                expected=f"at most {MAX_BYTES:,} bytes",
            )
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError("no such recipe file", where=str(path)) from None
    except IsADirectoryError:
        raise UserError("is a directory", where=str(path), expected="a recipe YAML file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read the recipe ({exc})", where=str(path)) from None
    try:
        data = load_yaml(text, _Loader)  # bounded before anything is expanded
    except YamlLimit as exc:
        raise UserError(f"YAML refused: {exc}", where=str(path)) from None
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
        value = load_yaml(raw) if raw.strip() else None
    except YamlLimit as exc:
        raise ValueError(f"the value is refused: {exc}") from None
    except yaml.YAMLError as exc:
        raise ValueError(f"the value is not valid YAML ({_one_line(exc)})") from None
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


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


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
            return load_yaml(text) if text.strip() else None
        except YamlLimit as exc:
            problems.append(Problem(path, f"the value from the environment is refused: {exc}"))
            return text
        except yaml.YAMLError:
            return text
    return text


# ---------------------------------------------------------------------------- schema problems

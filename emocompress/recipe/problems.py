"""Readable recipe errors: a key path, what was wrong, what was expected."""

from __future__ import annotations

import difflib
import types
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from emocompress.measure.gates import Gates

Path_ = tuple[str | int, ...]  # a key path into the recipe, e.g. ("variants", 1, "settings")


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


def report(problems: list[Problem]) -> str:
    lines = list(dict.fromkeys(str(p) for p in problems))
    if len(lines) == 1:
        return lines[0]
    return f"{len(lines)} problems in the recipe:\n" + "\n".join(f"  - {line}" for line in lines)


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


def schema_problems(model: type[BaseModel], data: Any, prefix: Path_) -> list[Problem]:
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

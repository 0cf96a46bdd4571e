"""Command-line flags made from an operation's pydantic settings, and the settings made back.

:func:`add_settings_flags` gives every field of a settings model a flag: ``epochs`` ->
``--epochs``, a nested settings model's fields prefixed by its name (``recovery.epochs`` ->
``--recovery-epochs``), an optional nested model also a flag of its own name that sets it
with its defaults (``--vocab``). Booleans are ``--x`` / ``--no-x``, ``Literal`` fields list
their choices, ``list[int]`` is a comma list ``I,J``. The field's description is the help,
with its default. :func:`settings_from_flags` builds the model back: only flags the user
gave override the defaults, and a value the model refuses is one :class:`UserError` naming
the flag.

Values reach the model as the text the user typed and pydantic converts them, so a bad
number and a bad choice are the same kind of error as a bad range.
"""

from __future__ import annotations

import argparse
import types
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from emocompress.errors import UserError

_DEST = "settings:"  # argparse dests of settings flags: settings:<prefix><dotted path>


@dataclass(frozen=True)
class _Flag:
    path: str  # dotted field path inside the model, e.g. recovery.epochs
    names: tuple[str, ...]  # --recovery-epochs (first: the one errors name)
    kind: Literal["value", "list", "bool", "section"]
    help: str
    metavar: str | None = None

    def dest(self, prefix: str) -> str:
        return f"{_DEST}{prefix}{self.path}"


def add_settings_flags(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    model: type[BaseModel],
    *,
    prefix: str = "",
    exclude: Collection[str] = (),
    rename: Mapping[str, str] = {},
) -> None:
    """A flag for every field of ``model`` (``exclude``: dotted paths left out).

    ``prefix`` goes before every flag name (``quantize-`` -> ``--quantize-precision``);
    ``rename`` maps a dotted path to another flag name (without ``--``); the generated name
    stays as an alias.
    """
    for flag in _flags(model, prefix, exclude, rename):
        options: dict[str, Any] = {"dest": flag.dest(prefix), "help": flag.help}
        if flag.kind == "bool":
            options["action"] = argparse.BooleanOptionalAction
        elif flag.kind == "section":
            options["action"] = "store_true"
        else:
            options["metavar"] = flag.metavar
        parser.add_argument(*flag.names, default=argparse.SUPPRESS, **options)


def settings_from_flags(
    args: argparse.Namespace,
    model: type[BaseModel],
    *,
    prefix: str = "",
    exclude: Collection[str] = (),
    rename: Mapping[str, str] = {},
    defaults: Mapping[str, Any] | None = None,
) -> Any:
    """The settings the flags describe: ``defaults`` (a partial settings dict) under the
    flags the user gave, over the model's own defaults."""
    flags = list(_flags(model, prefix, exclude, rename))
    given = vars(args)
    values: dict[str, Any] = _deep_copy(defaults or {})
    for flag in flags:
        if flag.dest(prefix) not in given:
            continue
        value = given[flag.dest(prefix)]
        if flag.kind == "list":
            # the items are converted (and refused, naming the flag) by the model
            value = [part.strip() for part in value.split(",") if part.strip()]
        _put(values, flag.path, value, section=flag.kind == "section")
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise UserError(_problem(exc, flags)) from None


def given_flags(
    args: argparse.Namespace,
    model: type[BaseModel],
    *,
    prefix: str = "",
    exclude: Collection[str] = (),
    rename: Mapping[str, str] = {},
) -> list[str]:
    """The flags of ``model`` that the command line gave (each by its first name)."""
    given = vars(args)
    return [
        flag.names[0]
        for flag in _flags(model, prefix, exclude, rename)
        if flag.dest(prefix) in given
    ]


def flag_names(
    model: type[BaseModel],
    *,
    prefix: str = "",
    exclude: Collection[str] = (),
    rename: Mapping[str, str] = {},
) -> dict[str, str]:
    """Dotted field path -> the flag that sets it (for tests and help texts)."""
    return {flag.path: flag.names[0] for flag in _flags(model, prefix, exclude, rename)}


# ------------------------------------------------------------------------------ the walk


def _flags(
    model: type[BaseModel],
    prefix: str,
    exclude: Collection[str],
    rename: Mapping[str, str],
    path: str = "",
) -> Iterator[_Flag]:
    for name, field in model.model_fields.items():
        dotted = f"{path}{name}"
        if dotted in exclude:
            continue
        annotation, optional = _unwrap_optional(field.annotation)
        generated = "--" + prefix + dotted.replace(".", "-").replace("_", "-")
        names = (f"--{rename[dotted]}", generated) if dotted in rename else (generated,)
        if _is_model(annotation):
            if optional:
                yield _Flag(dotted, names, "section", _help(field, section=True))
            yield from _flags(annotation, prefix, exclude, rename, f"{dotted}.")
            continue
        kind, metavar = _value_kind(annotation, dotted)
        yield _Flag(dotted, names, kind, _help(field), metavar)


def _value_kind(
    annotation: Any, dotted: str
) -> tuple[Literal["value", "list", "bool"], str | None]:
    if annotation is bool:
        return "bool", None
    if get_origin(annotation) is Literal:
        return "value", "{" + ",".join(str(choice) for choice in get_args(annotation)) + "}"
    if annotation in (int, float, str) or _is_scalar_union(annotation):
        return "value", {int: "N", float: "X"}.get(annotation, "TEXT")
    if get_origin(annotation) is list:
        (item,) = get_args(annotation)
        if item is int:
            return "list", "I,J"
        if item is str or get_origin(item) is Literal:
            choices = get_args(item) if get_origin(item) is Literal else ()
            return "list", ",".join(map(str, choices[:2])) or "A,B"
    raise TypeError(f"no command-line form for setting {dotted!r} ({annotation}); exclude it")


def _unwrap_optional(annotation: Any) -> tuple[Any, bool]:
    if get_origin(annotation) in (Union, types.UnionType):
        members = [a for a in get_args(annotation) if a is not type(None)]
        optional = len(members) < len(get_args(annotation))
        if len(members) == 1:
            return members[0], optional
        return Union[tuple(members)], optional  # noqa: UP007 (built from a tuple)
    return annotation, False


def _is_scalar_union(annotation: Any) -> bool:
    """``str | int`` and the like: typed as text, converted by the model."""
    if get_origin(annotation) not in (Union, types.UnionType):
        return False
    return all(member in (int, float, str) for member in get_args(annotation))


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _help(field: FieldInfo, *, section: bool = False) -> str:
    text = (field.description or "").replace("%", "%%")  # argparse formats help with %
    if section:
        return (text + "; " if text else "") + "give it to set it (with its defaults)"
    default = field.get_default(call_default_factory=True)
    if default is PydanticUndefined:
        return text or "required"
    return f"{text} (default: {_shown(default)})" if text else f"default: {_shown(default)}"


def _shown(default: Any) -> str:
    if default is None:
        return "unset"
    if isinstance(default, list):
        return ",".join(map(str, default)) or "none"
    return str(default)


# ------------------------------------------------------------------------------ building back


def _put(values: dict[str, Any], path: str, value: Any, *, section: bool) -> None:
    """Set a dotted path; a section flag sets its section to {} unless it is already set."""
    *parents, last = path.split(".")
    target = values
    for part in parents:
        if not isinstance(target.get(part), dict):
            target[part] = {}
        target = target[part]
    if section:
        if not isinstance(target.get(last), dict):
            target[last] = {}
    else:
        target[last] = value


def _deep_copy(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _deep_copy(v) if isinstance(v, Mapping) else v for k, v in values.items()}


def _problem(exc: ValidationError, flags: list[_Flag]) -> str:
    """The first problem, named by its flag (or by the settings when it is not one field's)."""
    by_path = {flag.path: flag.names[0] for flag in flags}
    error = exc.errors()[0]
    loc = [str(part) for part in error["loc"]]
    message = str(error["msg"]).removeprefix("Value error, ")
    # the longest dotted prefix of the location that is a flag (list items: the list's flag)
    for end in range(len(loc), 0, -1):
        flag = by_path.get(".".join(loc[:end]))
        if flag is not None:
            value = error.get("input")
            shown = f" {value}" if isinstance(value, str | int | float) else ""
            return f"{flag}{shown}: {message}"
    where = ".".join(loc)
    return f"{where}: {message}" if where else message


def model_from_flags(model: type[BaseModel], values: Mapping[str, Any]) -> Any:
    """``model`` from plain flag values (``{"resamples": 5}`` for ``--resamples 5``); a value
    it refuses is one :class:`UserError` naming the flag, not a traceback."""
    try:
        return model.model_validate(dict(values))
    except ValidationError as exc:
        error = exc.errors()[0]
        name = str(error["loc"][0]) if error["loc"] else ""
        message = str(error["msg"]).removeprefix("Value error, ")
        if name not in values:
            raise UserError(message) from exc
        flag = "--" + name.replace("_", "-")
        raise UserError(f"{flag} {values[name]}: {message}") from exc

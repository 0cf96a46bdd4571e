"""The field tables of docs/run-directory.md, rendered from the models in :mod:`.schema`.

``python -m emocompress.artifacts.schema_doc docs/run-directory.md`` rewrites the part of the
document between the markers; a test renders it again and fails when the two differ, so the
documentation cannot drift from the contract.
"""

from __future__ import annotations

import inspect
import sys
import types
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from emocompress.artifacts.schema import ARTIFACT_FILES, SCHEMA_VERSION, ArtifactFile

BEGIN = "<!-- BEGIN GENERATED: python -m emocompress.artifacts.schema_doc -->"
END = "<!-- END GENERATED -->"


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        return " \\| ".join(_type_name(a) for a in args)
    if origin is typing.Literal:
        return " \\| ".join(f'"{a}"' for a in args)
    if origin in (list, tuple):
        return f"list[{_type_name(args[0])}]" if args else "list"
    if origin is dict:
        return f"{{{_type_name(args[0])}: {_type_name(args[1])}}}"
    if annotation is type(None):
        return "null"
    if isinstance(annotation, type):
        return {"str": "string", "int": "integer", "float": "number", "bool": "boolean"}.get(
            annotation.__name__, annotation.__name__
        )
    return str(annotation).replace("typing.", "")


def _nested_models(annotation: Any) -> list[tuple[str, type[BaseModel]]]:
    """Models reachable from a field's type, with the key suffix that reaches them."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [("", annotation)]
    origin = typing.get_origin(annotation)
    found: list[tuple[str, type[BaseModel]]] = []
    for arg in typing.get_args(annotation):
        suffix = ".*" if origin is dict else "[]" if origin is list else ""
        if origin is dict and arg is typing.get_args(annotation)[0]:
            continue
        found.extend((suffix + s, m) for s, m in _nested_models(arg))
    return found


def _rows(model: type[BaseModel], prefix: str, expanded: dict[type[BaseModel], str]) -> list[str]:
    """One row per field; a model met again in the same file refers to its first place."""
    rows = []
    for name, field in model.model_fields.items():
        key = f"{prefix}{name}"
        note = (field.description or "").replace("|", "\\|")
        required = "yes" if field.is_required() else ""
        nested = [(s, m) for s, m in _nested_models(field.annotation) if m is not model]
        for _, sub in nested:
            if sub in expanded:
                note = (note + " " if note else "") + f"fields as `{expanded[sub]}`"
        rows.append(f"| `{key}` | {_type_name(field.annotation)} | {required} | {note} |")
        for suffix, sub in nested:
            if sub not in expanded:
                expanded[sub] = f"{key}{suffix}"
                rows.extend(_rows(sub, f"{key}{suffix}.", expanded))
    return rows


def _section(model: type[ArtifactFile]) -> str:
    doc = inspect.cleandoc(model.__doc__ or "").split("\n\n")[0].replace("\n", " ")
    lines = [
        f"### {model.FILE}",
        "",
        f"`{model.__module__}.{model.__name__}`: {doc}",
        "",
        "| key | type | required | meaning |",
        "| --- | --- | --- | --- |",
        *_rows(model, "", {}),
    ]
    if model.OPTIONAL_SECTIONS:
        sections = ", ".join(f"`{s}`" for s in model.OPTIONAL_SECTIONS)
        lines += ["", f"Left out of the file when not measured: {sections}."]
    if model.LEGACY_SCHEMA:
        lines += [
            "",
            f'Version 1 files carried `"schema": "{model.LEGACY_SCHEMA}"`; they are read '
            "as version 1 and upgraded in memory.",
        ]
    return "\n".join(lines)


def render() -> str:
    """The generated part of docs/run-directory.md, markers included."""
    intro = (
        f"Every file below carries `schema_version` (now {SCHEMA_VERSION}). Generated from "
        "`emocompress/artifacts/schema.py`; `tests/artifacts/test_schema.py` fails when "
        "this part and the models differ."
    )
    body = "\n\n".join(_section(model) for model in ARTIFACT_FILES)
    return f"{BEGIN}\n\n{intro}\n\n{body}\n\n{END}"


def replace_generated(document: str) -> str:
    """``document`` with its generated part rendered anew (appended when it has none)."""
    if BEGIN in document and END in document:
        head, rest = document.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        return head + render() + tail
    return document.rstrip("\n") + "\n\n" + render() + "\n"


def main(argv: list[str]) -> int:
    path = Path(argv[0]) if argv else Path("docs/run-directory.md")
    path.write_text(replace_generated(path.read_text(encoding="utf-8")), encoding="utf-8")
    print(f"written: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

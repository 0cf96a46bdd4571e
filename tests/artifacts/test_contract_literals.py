"""Only the schema module and rundir.py name run-directory files or dig into them by key.

Everything else reads attributes of the typed models (emocompress/artifacts/schema.py), so
a renamed field is a type error in one place, not a silent None in five.
"""

from __future__ import annotations

import ast
from pathlib import Path

from pydantic import BaseModel

from emocompress.artifacts import schema

ROOT = Path(__file__).resolve().parents[2]
OWNERS = {
    "emocompress/artifacts/schema.py",
    "emocompress/artifacts/rundir.py",
    "emocompress/artifacts/schema_doc.py",
}
# "variants" is also a recipe key and a widget id: the folder is not checked by name
FILE_NAMES = {model.FILE for model in schema.ARTIFACT_FILES} | {
    schema.RECIPE_FILE,
    schema.GATES_XML_FILE,
    schema.PREDICTIONS_DIR,
}
# field names that are also ordinary words of other files (tokenizer and model configs,
# data descriptions) or a threshold strategy's name
GENERIC_KEYS = {"per_label", "max_length", "description", "parameters", "components"}


def _model_keys() -> set[str]:
    """Field names of the metrics and lineage models that mean nothing elsewhere."""
    keys: set[str] = set()
    stack: list[type[BaseModel]] = [schema.Metrics, schema.Lineage, schema.BenchFile]
    seen: set[type[BaseModel]] = set()
    while stack:
        model = stack.pop()
        if model in seen:
            continue
        seen.add(model)
        keys.update(name for name in model.model_fields if "_" in name or len(name) > 9)
        for field in model.model_fields.values():
            stack.extend(
                t
                for t in _types(field.annotation)
                if isinstance(t, type) and issubclass(t, BaseModel)
            )
    return keys - GENERIC_KEYS - {"schema_version"}


def _types(annotation):
    yield annotation
    for arg in getattr(annotation, "__args__", ()) or ():
        yield from _types(arg)


def _python_files() -> list[Path]:
    return [p for folder in ("emocompress", "tui") for p in sorted((ROOT / folder).rglob("*.py"))]


def _offences(path: Path, keys: set[str]) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and node.value in FILE_NAMES:
            found.append(f"line {node.lineno}: file name {node.value!r}")
        key = None
        if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
            key = node.slice.value
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get"
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            key = node.args[0].value
        if isinstance(key, str) and key in keys:
            found.append(f"line {node.lineno}: key {key!r}")
    return found


def test_no_run_directory_names_or_keys_outside_the_schema():
    keys = _model_keys()
    offences = {
        rel: found
        for path in _python_files()
        if (rel := path.relative_to(ROOT).as_posix()) not in OWNERS
        and (found := _offences(path, keys))
    }
    assert not offences, "\n".join(f"{rel}: {', '.join(f)}" for rel, f in offences.items())


def test_the_check_sees_a_literal_when_there_is_one(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text('x = m["quality"]["auc"]\ny = open("metrics.json")\nz = m.get("speed")\n')
    found = _offences(sample, _model_keys() | {"quality", "speed"})
    assert any("metrics.json" in f for f in found)
    assert any("'quality'" in f for f in found) and any("'speed'" in f for f in found)

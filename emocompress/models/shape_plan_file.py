"""Reading and writing a shape plan on disk, without torch (bench and FLOP counts use it too).

A plan is a plain dict ``{"modules": {name: spec}, "attention": {name: attributes}}``
(described in :mod:`emocompress.models.shape_plan`). On disk it is
:class:`~emocompress.artifacts.schema.ShapePlanFile` beside the weights, and the same plan
under ``shape_plan`` in the variant's lineage; both are read through the typed models, and a
plan written before ``schema_version`` (a ``"schema": "emocompress.shape_plan/1"`` key) is
read the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from emocompress.artifacts.rundir import VariantDir
from emocompress.artifacts.schema import ShapePlanFile, describe_validation_error
from emocompress.errors import UserError


def read_shape_plan(path: str | Path) -> dict[str, Any] | None:
    """The plan recorded in the variant's lineage, else the shape plan file that
    :func:`emocompress.models.classifier.save_classifier` writes beside the weights."""
    variant = VariantDir(Path(path))
    lineage = variant.load_lineage_or_none()
    if lineage is not None and lineage.shape_plan:
        return plan_of(lineage.shape_plan, where=variant.lineage_file)
    if variant.shape_plan_file.is_file():
        return _as_plan(ShapePlanFile.read(variant.shape_plan_file))
    return None


def write_shape_plan(path: str | Path, plan: Mapping[str, Any]) -> None:
    """The shape plan file beside the weights in folder ``path``."""
    plan_file(plan, where=path).write(VariantDir(Path(path)).shape_plan_file)


def plan_file(plan: Mapping[str, Any], *, where: str | Path) -> ShapePlanFile:
    """A plan (also one with a version-1 ``schema`` key) as the typed model."""
    data = dict(plan)
    legacy = data.pop("schema", None)
    data.pop("schema_version", None)
    if legacy not in (None, ShapePlanFile.LEGACY_SCHEMA):
        raise UserError(f"{where}: unknown shape plan schema", expected=ShapePlanFile.LEGACY_SCHEMA)
    try:
        return ShapePlanFile.model_validate(data)
    except ValidationError as exc:
        raise UserError(f"{where}: shape plan {describe_validation_error(exc)}") from None


def plan_of(plan: Mapping[str, Any], *, where: str | Path) -> dict[str, Any]:
    """A plan as recorded anywhere, checked, in the plain form."""
    return _as_plan(plan_file(plan, where=where))


def _as_plan(file: ShapePlanFile) -> dict[str, Any]:
    return {"modules": file.modules, "attention": file.attention}

"""Reading a shape plan from disk, without torch (bench and FLOP counts use it too).

The plan itself is described in :mod:`emocompress.models.shape_plan`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from emocompress.errors import UserError

PLAN_FILE = "shape_plan.json"
SCHEMA = "emocompress.shape_plan/1"
LINEAGE_FILE = "emocompress.json"


def read_shape_plan(path: str | Path) -> dict[str, Any] | None:
    """The plan recorded in emocompress.json, else the shape_plan.json that
    :func:`emocompress.models.classifier.save_classifier` writes beside the weights."""
    lineage, sidecar = Path(path) / LINEAGE_FILE, Path(path) / PLAN_FILE
    for file, read in ((lineage, lambda d: d.get("shape_plan")), (sidecar, lambda d: d)):
        if not file.is_file():
            continue
        try:
            plan = read(json.loads(file.read_text(encoding="utf-8")))
        except json.JSONDecodeError as exc:
            raise UserError(f"{file}: not valid JSON ({exc})") from exc
        if plan and plan.get("schema") != SCHEMA:
            raise UserError(f"{file}: unknown shape plan schema", expected=SCHEMA)
        if plan:
            return plan
    return None

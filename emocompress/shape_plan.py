"""Shape plans: checkpoints whose tensor shapes a standard config cannot express.

A non-uniformly pruned model (different head or FFN counts per layer) records per-module
shapes in ``emocompress.json`` under ``shape_plan``; loading rebuilds those modules at the
right size before the weights are read. Uniform pruning needs no plan.
"""

from __future__ import annotations

from pathlib import Path

from transformers import PreTrainedModel


def load_with_shape_plan(path: str | Path) -> PreTrainedModel | None:
    """Load ``path`` through its shape plan, or return None when it has none."""
    import json

    lineage = Path(path) / "emocompress.json"
    if not lineage.is_file():
        return None
    plan = json.loads(lineage.read_text(encoding="utf-8")).get("shape_plan")
    if not plan:
        return None
    raise NotImplementedError("shape plans are loaded by emocompress.prune (not yet available)")

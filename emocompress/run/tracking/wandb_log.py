"""Weights & Biases: one W&B run per variant (grouped by the emocompress run), with config
(settings and lineage), summary (the figures of metrics.json), curves (history.json), the
per-emotion table, and the variant's files (and bundle) as a versioned ``model`` artifact.

Lineage between artifacts (teacher -> student -> int8): online, each run declares its
parents' artifacts with ``use_artifact``, so W&B draws the graph; offline W&B cannot do that
(``use_artifact`` needs the server), so the parents are also in every artifact's metadata.
"""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from emocompress.artifacts.rundir import RunDir
from emocompress.run.tracking.content import PER_EMOTION_COLUMNS, TrackedVariant
from emocompress.run.tracking.files import artifact_folders
from emocompress.run.tracking.modules import require

ARTIFACT_TYPE = "model"
PER_EMOTION_KEY = "per_emotion"


def wandb_module() -> Any:
    return require("wandb", "tracking.wandb", "pip install 'emocompress[wandb]'")


def artifact_name(run_name: str, variant: str) -> str:
    """W&B artifact names allow letters, digits, ``-``, ``_`` and ``.``."""
    return re.sub(r"[^A-Za-z0-9_.-]", "-", f"{run_name}-{variant}")


def steps_in_order(points: list[tuple[str, float, int]]) -> list[tuple[int, dict[str, float]]]:
    """Curve points grouped by step, ascending: W&B drops a step logged after a later one."""
    by_step: dict[int, dict[str, float]] = defaultdict(dict)
    for name, value, step in points:
        by_step[step][name] = value
    return sorted(by_step.items())


def log_variants(spec: Any, run_dir: RunDir, variants: list[TrackedVariant]) -> dict[str, str]:
    """Log each variant as a W&B run; ``{variant: W&B run id}``."""
    wandb = wandb_module()
    run_ids: dict[str, str] = {}
    for variant in variants:
        run = wandb.init(
            project=spec.project,
            entity=spec.entity,
            mode=spec.mode,
            dir=spec.dir,
            name=variant.name,
            group=variant.run_name,
            job_type=variant.operation,
            config={**variant.params, "parents": variant.parents},
            reinit="create_new",
        )
        try:
            for step, values in steps_in_order(variant.curves):
                run.log(values, step=step)
            run.summary.update(variant.figures)
            table = wandb.Table(
                columns=list(PER_EMOTION_COLUMNS),
                data=[[row[c] for c in PER_EMOTION_COLUMNS] for row in variant.per_emotion],
            )
            run.log({PER_EMOTION_KEY: table})
            _log_files(wandb, run, variant, offline=run.offline)
            run_ids[variant.variant.name] = run.id
        finally:
            run.finish()
    return run_ids


def _log_files(wandb: Any, run: Any, variant: TrackedVariant, *, offline: bool) -> None:
    artifact = wandb.Artifact(
        artifact_name(variant.run_name, variant.variant.name),
        type=ARTIFACT_TYPE,
        metadata={
            "run": variant.run_name,
            "variant": variant.variant.name,
            "operation": variant.operation,
            "parents": variant.parents,
            "parent_artifacts": [artifact_name(variant.run_name, p) for p in variant.parents],
            "format": "onnx" if variant.is_onnx else "pytorch",
        },
    )
    with artifact_folders(variant) as folders:
        for name, folder in folders.items():
            artifact.add_dir(str(folder), name=name)
        if not offline:
            for parent in variant.parents:
                run.use_artifact(f"{artifact_name(variant.run_name, parent)}:latest")
        run.log_artifact(artifact)

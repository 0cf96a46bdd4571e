"""Experiment tracking: the run directory stays the record; MLflow and Weights & Biases get
a copy of the same figures, curves, tables and files when a recipe names them.

- :mod:`.content`: what is tracked for a variant, all read from the run directory;
- :mod:`.mlflow_log` and :mod:`.wandb_log`: one tracker each;
- :mod:`.wandb_offline`: reads an offline W&B run back (tests, and ``pull`` without network);
- :mod:`.pull`: a logged variant back into a run directory.

Tracking never changes a result and never fails a run: a tracker's failure is a warning
naming the tracker (docs/tracking.md).
"""

from __future__ import annotations

from typing import Any

from emocompress.artifacts.rundir import RunDir
from emocompress.errors import UserError
from emocompress.progress import Reporter
from emocompress.run.tracking.content import tracked_variants


def log_run(tracking: Any, run_dir: RunDir, reporter: Reporter, reference: str = "teacher") -> dict:
    """Log every finished variant to the trackers ``tracking`` names.

    Returns ``{tracker: {variant: tracker run id}}`` for the trackers that succeeded.
    """
    from emocompress.run.tracking import mlflow_log, wandb_log

    variants = tracked_variants(run_dir, reference)
    trackers = []
    if tracking.mlflow is not None:
        trackers.append(("MLflow", tracking.mlflow, mlflow_log.log_variants))
    if tracking.wandb is not None:
        trackers.append(("W&B", tracking.wandb, wandb_log.log_variants))
    logged: dict[str, dict[str, str]] = {}
    for label, spec, log in trackers:
        try:
            ids = log(spec, run_dir, variants)
        except (UserError, Exception) as exc:  # noqa: BLE001 - tracking must not fail the run
            reporter.log(
                f"warning: tracking to {label} failed ({type(exc).__name__}: {exc}); "
                "the run directory holds every result, nothing was changed"
            )
            continue
        logged[label] = ids
        where = getattr(spec, "tracking_uri", None) or f"project {getattr(spec, 'project', '')}"
        reporter.log(f"tracking: {len(ids)} variants logged to {label} ({where})")
    return logged

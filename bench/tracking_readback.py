"""Read a run's figures back from MLflow and from offline W&B and compare with metrics.json.

    python bench/tracking_readback.py RUN_DIR --mlflow sqlite:///PATH/mlflow.db --wandb-dir DIR

Prints, per variant and tracker, how many metrics.json figures were found and the largest
difference; exits 1 on any missing or different figure. (The suite checks the same on the
tiny run: tests/run/tracking.)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from emocompress.artifacts.rundir import RunDir
from emocompress.run.tracking.content import metric_figures
from emocompress.run.tracking.wandb_offline import read_offline_run


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("run_dir")
    parser.add_argument("--mlflow", required=True)
    parser.add_argument("--wandb-dir", required=True)
    args = parser.parse_args()
    run_dir = RunDir(args.run_dir)
    run_name = run_dir.load_state().name
    expected = {v.name: metric_figures(v.load_metrics()) for v in run_dir.variants()}

    import mlflow

    client = mlflow.tracking.MlflowClient(tracking_uri=args.mlflow)
    logged = {}
    for experiment in client.search_experiments():
        for run in client.search_runs([experiment.experiment_id]):
            logged.setdefault(("MLflow", run.info.run_name), (run.info.run_id, run.data.metrics))
    for run_file in sorted(Path(args.wandb_dir).glob("wandb/offline-run-*/run-*.wandb")):
        run = read_offline_run(run_file)
        logged[("W&B", run.name)] = (run.run_id, run.summary)

    failed = False
    for name, figures in expected.items():
        for tracker in ("MLflow", "W&B"):
            run_id, values = logged.get((tracker, f"{run_name}/{name}"), (None, {}))
            missing = [k for k in figures if k not in values]
            worst = max((abs(values[k] - v) for k, v in figures.items() if k in values), default=0)
            failed |= bool(missing) or worst != 0 or run_id is None
            print(
                f"{name:14} {tracker:6} run {run_id}: {len(figures) - len(missing)}/{len(figures)}"
                f" figures, max |diff| {worst:g}"
            )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

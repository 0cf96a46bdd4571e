"""Greedy soup against the best single student and the uniform soup, from a finished run.

Reads a run of recipes/goemotions-soup.yaml (or any run with distilled students and merge
variants) and prints one Markdown row per student and soup: tune macro-AUC (recomputed from
``predictions/<tune split>.npz``), report macro-AUC and macro F1 (from ``metrics.json``).
The "best single" student is the one with the highest *tune* macro-AUC: picking it by its
report figure would be choosing on the split the figures are reported on.

  emocompress run recipes/goemotions-soup.yaml
  python bench/merge_soup.py runs/goemotions-soup [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def rows(run_root: Path) -> list[dict[str, Any]]:
    from emocompress.artifacts.predictions import load_predictions
    from emocompress.artifacts.rundir import RunDir
    from emocompress.measure.metrics import auc_scores
    from emocompress.measure.summary import selected_f1

    run = RunDir(run_root)
    state = run.load_state()
    found = []
    for variant in run.variants():
        lineage = variant.load_lineage()
        if lineage.operation not in ("distil", "merge"):
            continue
        metrics = variant.load_metrics()
        quality = metrics.quality
        tune = load_predictions(variant.predictions_file(quality.tune_split))
        step = state.steps.get(variant.name)
        found.append(
            {
                "variant": variant.name,
                "operation": lineage.operation,
                "method": lineage.settings.get("method"),
                "kept": (lineage.facts.get("merge") or {}).get("greedy", {}).get("chosen"),
                "tune_split": quality.tune_split,
                "report_split": quality.report_split,
                "tune_macro_auc": auc_scores(tune.probs, tune.labels, tune.label_names)["macro"],
                "report_macro_auc": quality.auc.macro,
                "report_macro_f1": selected_f1(metrics),
                "seconds": step.seconds if step else None,
            }
        )
    students = [r for r in found if r["operation"] == "distil"]
    if students:
        best = max(students, key=lambda r: r["tune_macro_auc"])
        best["best_single"] = True
    return found


def markdown(found: list[dict[str, Any]]) -> str:
    tune, report = found[0]["tune_split"], found[0]["report_split"]
    lines = [
        f"| variant | what | {tune} macro-AUC | {report} macro-AUC | {report} macro F1 | seconds |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for row in found:
        if row["operation"] == "distil":
            what = "student" + (", best single (by tune AUC)" if row.get("best_single") else "")
        else:
            what = f"{row['method']} soup" + (
                f" of {', '.join(row['kept'])}" if row["kept"] is not None else ""
            )
        lines.append(
            f"| {row['variant']} | {what} | {row['tune_macro_auc']:.4f} |"
            f" {row['report_macro_auc']:.4f} | {row['report_macro_f1']:.4f} |"
            f" {row['seconds'] if row['seconds'] is not None else 'n/a'} |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", nargs="?", default="runs/goemotions-soup", help="run directory")
    parser.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    args = parser.parse_args()
    found = rows(Path(args.run))
    if not found:
        print(f"{args.run}: no distil or merge variants", file=sys.stderr)
        return 2
    print(markdown(found))
    if args.json:
        Path(args.json).write_text(json.dumps(found, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The ablation table of a finished run: each variant's change against a baseline variant.

Reads a run of bench/recipes/goemotions-ablation.yaml (or any run whose variants differ from
one baseline variant by a few settings) and prints one Markdown row per variant:

- what differs from the baseline's settings (read from each variant's emocompress.json, so
  the row names what was really run, never a label typed by hand);
- dev macro F1 and macro AUC with their bootstrap intervals (metrics.json ``intervals``);
- the paired difference against the baseline with its interval, from comparison.json when
  the run's reference is the baseline (``emocompress compare RUN`` writes it);
- training wall time on this machine (history.json).

  emocompress run bench/recipes/goemotions-ablation.yaml --out runs/goemotions-ablation
  emocompress compare runs/goemotions-ablation
  python bench/ablation_goemotions.py runs/goemotions-ablation --baseline bce [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def _flat(settings: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in settings.items():
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{key}."))
        else:
            flat[prefix + key] = value
    return flat


def settings_diff(settings: dict[str, Any], baseline: dict[str, Any]) -> str:
    settings, baseline = _flat(settings), _flat(baseline)
    keys = sorted(set(settings) | set(baseline))
    changed = [f"{k}={settings.get(k)}" for k in keys if settings.get(k) != baseline.get(k)]
    return ", ".join(changed) or "(baseline)"


def _change(lineage: Any, base: Any, base_settings: dict[str, Any]) -> str:
    if lineage.operation != base.operation:
        return f"op {lineage.operation}"
    changed = settings_diff(lineage.settings, base_settings)
    if lineage.parent != base.parent:
        parents = f"parents={lineage.parent}"
        return parents if changed == "(baseline)" else f"{parents}, {changed}"
    return changed


def _interval(record: Any, name: str) -> tuple[float | None, float | None, float | None]:
    if record is None:
        return None, None, None
    figure = record.auc_macro if name == "macro_auc" else record.macro.f1
    return figure.point, figure.low, figure.high


def rows(run_root: Path, baseline: str) -> list[dict[str, Any]]:
    from emocompress.artifacts.rundir import RunDir
    from emocompress.measure.summary import selected_f1

    run = RunDir(run_root)
    variants = {v.name: v for v in run.variants() if v.has_metrics()}
    if baseline not in variants:
        raise SystemExit(f"{run_root}: no measured variant {baseline!r} to compare with")
    base_settings = variants[baseline].load_lineage().settings
    comparison = run.load_comparison()
    paired = {}
    if comparison is not None:
        paired = {c.variant: c for c in comparison.comparisons if c.against == baseline}
    found = []
    for name, variant in variants.items():
        lineage = variant.load_lineage()
        metrics = variant.load_metrics()
        parents = (
            [lineage.parent] if isinstance(lineage.parent, str) else list(lineage.parent or [])
        )
        f1, f1_low, f1_high = _interval(metrics.intervals, "macro_f1")
        auc, auc_low, auc_high = _interval(metrics.intervals, "macro_auc")
        pair = paired.get(name)
        found.append(
            {
                "variant": name,
                "operation": lineage.operation,
                "parents": parents,
                "change": _change(lineage, variants[baseline].load_lineage(), base_settings),
                "macro_f1": f1 if f1 is not None else selected_f1(metrics),
                "macro_f1_interval": [f1_low, f1_high],
                "macro_auc": auc if auc is not None else metrics.quality.auc.macro,
                "macro_auc_interval": [auc_low, auc_high],
                "paired_macro_f1": _paired(pair, "macro_f1"),
                "paired_macro_auc": _paired(pair, "macro_auc"),
                "train_seconds": variant.train_seconds(),
            }
        )
    return found


def ensemble_row(run_root: Path, members: list[str]) -> dict[str, Any]:
    """The mean of ``members``' probabilities, measured like a variant (from stored predictions:
    thresholds chosen on the tune split, figures on the report split)."""
    import numpy as np

    from emocompress.artifacts.predictions import load_predictions
    from emocompress.artifacts.rundir import RunDir
    from emocompress.measure.metrics import compute_quality

    run = RunDir(run_root)
    variants = [run.variant(name) for name in members]
    quality = variants[0].load_metrics().quality
    splits = {}
    for split in (quality.tune_split, quality.report_split):
        loaded = [load_predictions(v.predictions_file(split)) for v in variants]
        splits[split] = (np.mean([p.probs for p in loaded], axis=0), loaded[0].labels)
    tune_probs, tune_labels = splits[quality.tune_split]
    report_probs, report_labels = splits[quality.report_split]
    label_names = load_predictions(variants[0].predictions_file(quality.tune_split)).label_names
    result = compute_quality(
        tune_probs,
        tune_labels,
        report_probs,
        report_labels,
        label_names,
        tune_split=quality.tune_split,
        report_split=quality.report_split,
        strategies=list(quality.strategies),  # the strategies the members were measured with
    )
    selected = result["selected_strategy"]
    return {
        "variant": "+".join(members),
        "operation": "ensemble",
        "parents": members,
        "change": "mean probability of " + ", ".join(members),
        "macro_f1": result["strategies"][selected]["macro"]["f1"],
        "macro_f1_interval": [None, None],
        "macro_auc": result["auc"]["macro"],
        "macro_auc_interval": [None, None],
        "paired_macro_f1": None,
        "paired_macro_auc": None,
        "train_seconds": None,
    }


def _paired(pair: Any, figure: str) -> dict[str, Any] | None:
    if pair is None:
        return None
    value = getattr(pair.figures, figure)
    return {
        "point": value.point,
        "low": value.low,
        "high": value.high,
        "significant": value.significant,
    }


def _fmt(value: float | None, spec: str = ".4f") -> str:
    return "–" if value is None else format(value, spec)


def _with_interval(point: float | None, interval: list[float | None]) -> str:
    low, high = interval
    if low is None or high is None:
        return _fmt(point)
    return f"{_fmt(point)} [{_fmt(low, '.3f')}, {_fmt(high, '.3f')}]"


def _delta(pair: dict[str, Any] | None) -> str:
    if pair is None:
        return "–"
    mark = " *" if pair["significant"] else ""
    return f"{pair['point']:+.4f} [{pair['low']:+.3f}, {pair['high']:+.3f}]{mark}"


def markdown(found: list[dict[str, Any]]) -> str:
    lines = [
        "| variant | change against the baseline | dev macro F1 [95% CI] | Δ F1 paired | "
        "dev macro AUC [95% CI] | Δ AUC paired | train s |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in found:
        lines.append(
            f"| {row['variant']} | {row['change']} | "
            f"{_with_interval(row['macro_f1'], row['macro_f1_interval'])} | "
            f"{_delta(row['paired_macro_f1'])} | "
            f"{_with_interval(row['macro_auc'], row['macro_auc_interval'])} | "
            f"{_delta(row['paired_macro_auc'])} | {_fmt(row['train_seconds'], '.0f')} |"
        )
    lines.append("")
    lines.append("\\* the paired 95% interval excludes 0 (emocompress compare, paired bootstrap).")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path, help="a finished run directory")
    parser.add_argument("--baseline", required=True, help="the variant every row differs from")
    parser.add_argument(
        "--ensemble",
        action="append",
        default=[],
        help="also a row for the mean probability of these variants (comma-separated; repeatable)",
    )
    parser.add_argument("--json", type=Path, help="also write the rows as JSON here")
    args = parser.parse_args(argv)
    found = rows(args.run, args.baseline)
    found += [ensemble_row(args.run, group.split(",")) for group in args.ensemble]
    print(markdown(found))
    if args.json:
        args.json.write_text(json.dumps(found, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

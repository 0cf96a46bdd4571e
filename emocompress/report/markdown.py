"""The report document (Markdown), section by section, from a gathered run directory.

Each section names the files its figures come from. Numbers are printed as recorded
(4 decimals for quality figures); "n/a" marks a figure that was not measured.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from emocompress.artifacts.schema import Environment, MachineLimit
from emocompress.measure.summary import dig
from emocompress.report.data import (
    ReportData,
    VariantData,
    artifacts,
    correlation,
    tune_bce,
)
from emocompress.report.figures import SPECS
from emocompress.report.tables import NA, comparison_rows, fmt, md_table

TOP_N = 5


def render(
    data: ReportData,
    figures: Mapping[str, list[Path]] | None,
    *,
    figure_prefix: str = "figures",
    csv_name: str | None = "per_emotion.csv",
) -> str:
    """The whole document. ``figures`` maps figure stems to the files written (None: the
    report was made with --no-figures); links are ``figure_prefix/<file name>``."""
    sections = [
        _title(data),
        _overview(data),
        _comparison(data),
        _efficiency(data),
        *(_variant_section(data, v) for v in data.variants),
        _per_emotion(data, csv_name),
        _thresholds(data),
        _figures(figures, figure_prefix),
        _artifacts(data),
    ]
    return "\n".join(s.rstrip("\n") + "\n" for s in sections if s)


# ------------------------------------------------------------------------- overview


def _title(data: ReportData) -> str:
    state = data.state
    name = state.get("name") or data.run.root.name
    lines = [f"# emocompress report: {name}", ""]
    description = _recipe(data).get("description")
    if description:
        lines += [str(description), ""]
    lines += [
        f"Run directory `{data.run.root}`; status **{state.get('status', NA)}** "
        f"(started {state.get('started', NA)}, finished {state.get('finished') or NA}); "
        f"seed {state.get('seed', NA)}. Baseline for every comparison: **{data.baseline}**.",
        "",
        "Every number below is read from a file of the run directory (named in each "
        "section) or counted from the saved predictions; nothing is estimated.",
    ]
    return "\n".join(lines)


def _recipe(data: ReportData) -> dict[str, Any]:
    if not data.run.recipe_file.is_file():
        return {}
    import yaml

    try:
        return yaml.safe_load(data.run.recipe_file.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError:
        return {}


def _overview(data: ReportData) -> str:
    rows = [
        [
            v.name,
            v.lineage.get("operation") or NA,
            _made_from(v.lineage),
            v.lineage.get("format") or NA,
            fmt(v.step.get("seconds"), ".1f"),
        ]
        for v in data.variants
    ]
    out = [
        "## Overview",
        "",
        "### Variants",
        "",
        md_table(["variant", "operation", "made from", "format", "step time (s)"], rows, "lllll"),
        "Lineage (variants/*/emocompress.json; step times from run.json):",
        "",
        "```",
        *_lineage_lines(data),
        "```",
    ]
    if data.not_evaluated:
        out += [
            "",
            "Left out of the quality sections, tables and figures: "
            + "; ".join(f"{v.name} ({v.not_evaluated})" for v in data.not_evaluated)
            + ".",
        ]
    if data.skipped:
        out += [
            "",
            f"Not reported (no metrics.json or emocompress.json): {', '.join(data.skipped)}.",
        ]
    out += ["", "### Data and splits", "", *_data_lines(data), "", "### Hardware and versions", ""]
    env = data.state.get("environment") or {}
    out.append(md_table(["item", "value"], [[k, fmt(v)] for k, v in env.items()], "ll"))
    out.append("From run.json `environment`.")
    return "\n".join(out)


def _made_from(lineage: Mapping[str, Any]) -> str:
    """The parent variant(s), or the model reference of a variant made from one."""
    parent = lineage.get("parent")
    if isinstance(parent, list):
        return ", ".join(parent)
    return parent or f"`{lineage.get('source')}`"


def _lineage_lines(data: ReportData) -> list[str]:
    children: dict[str | None, list[VariantData]] = {}
    names = {v.name for v in data.variants}
    for v in data.variants:
        parents = v.lineage.get("parent")
        parent = parents[0] if isinstance(parents, list) else parents
        children.setdefault(parent if parent in names else None, []).append(v)
    lines: list[str] = []

    def walk(v: VariantData, depth: int) -> None:
        parents = v.lineage.get("parent")
        if not depth:
            source = f" <- {_made_from(v.lineage).strip('`')}"
        elif isinstance(parents, list) and len(parents) > 1:
            source = f" (also from {', '.join(parents[1:])})"
        else:
            source = ""
        lines.append(
            f"{'    ' * depth}{'└── ' if depth else ''}{v.name} "
            f"[{v.lineage.get('operation')}]{source}"
        )
        for child in children.get(v.name, []):
            walk(child, depth + 1)

    for root in children.get(None, []):
        walk(root, 0)
    return lines


def _data_lines(data: ReportData) -> list[str]:
    base = data.base
    splits = base.metrics.get("data") or {}
    rows = [
        [role, s.get("split", NA), fmt(s.get("examples"), "d"), s.get("description", NA)]
        for role, s in splits.items()
    ]
    q = base.quality
    lines = [
        md_table(["role", "split", "examples", "description"], rows, "llrl") if rows else "",
        f"Thresholds were chosen on the **{q.get('tune_split')}** split "
        f"({fmt(q.get('n_tune'), 'd')} examples); every quality figure is measured on the "
        f"**{q.get('report_split')}** split ({fmt(q.get('n_report'), 'd')} examples). "
        f"From {data.baseline}/metrics.json `data` and `quality`.",
    ]
    differing = [
        v.name
        for v in data.evaluated
        if (v.quality.get("tune_split"), v.quality.get("report_split"), v.quality.get("n_report"))
        != (q.get("tune_split"), q.get("report_split"), q.get("n_report"))
    ]
    if differing:
        lines.append(
            f"**Warning:** measured on other splits than the baseline: {', '.join(differing)}."
        )
    return lines


# ---------------------------------------------------------------------- comparison


def _comparison(data: ReportData) -> str:
    out = [
        "## Comparison with the baseline",
        "",
        f"Each variant against **{data.baseline}**: delta = variant - baseline, percent = "
        "delta / |baseline|. Quality on the report split under each variant's own selected "
        "strategy (metrics.json); size from metrics.json `size`; latency, throughput and "
        "memory from metrics.json `speed` (first runtime); train time from `training`.",
    ]
    others = [v for v in data.variants if v.name != data.baseline]
    if not others:
        out += ["", "The run holds only the baseline."]
    for v in others:
        out += [
            "",
            f"### {v.name} vs {data.baseline}",
            "",
            md_table(
                ["metric", data.baseline, v.name, "delta", "percent"],
                comparison_rows(data.base.row, v.row),
            ),
        ]
    return "\n".join(out)


def _device_of(runtime: str) -> str:
    return "cuda" if runtime.endswith("_cuda") else "cpu"


def _rss_ratio(data: ReportData, v: VariantData, runtime: str) -> float | None:
    """Peak RSS over the bench baseline's, on the same device and from the same bench call
    (same baseline and limit figure recorded), as speed.py computes its speedups."""
    speed = v.typed.speed
    if speed is None or speed.baseline not in {x.name for x in data.variants}:
        return None
    other = data.variant(speed.baseline).typed.speed
    if other is None or other.baseline != speed.baseline or other.limit != speed.limit:
        return None
    same_device = [r for k, r in other.runtimes.items() if _device_of(k) == _device_of(runtime)]
    mine = speed.runtimes[runtime].peak_rss_mb
    theirs = same_device[0].peak_rss_mb if same_device else None
    return mine / theirs if mine is not None and theirs else None


def _efficiency(data: ReportData) -> str:
    out = ["## Efficiency", ""]
    rows = []
    for v in data.variants:
        speed = v.typed.speed
        for runtime, r in (speed.runtimes if speed else {}).items():
            largest = max(r.batches, default=1)
            rows.append(
                [
                    v.name,
                    runtime,
                    fmt(speed.baseline),
                    ", ".join(f"b{b} {fmt(r.speedup.get(b), '.2f')}" for b in sorted(r.batches))
                    or NA,
                    fmt(_rss_ratio(data, v, runtime), ".2f"),
                    f"{fmt(r.batch(largest).texts_per_s, '.1f')} (b{largest})",
                    fmt(r.achieved_gflops, ".2f"),
                    fmt(r.share_of_limit, ".1%"),
                ]
            )
    if not rows:
        out.append(
            "Not measured: no variant has a `speed` section in metrics.json (run "
            "`emocompress bench` on this run directory to add one)."
        )
        return "\n".join(out)
    limit = (
        (data.bench.limit if data.bench else None)
        or next((v.typed.speed.limit for v in data.variants if v.typed.speed), None)
        or MachineLimit()
    )
    out += [
        "Speedups (throughput over the bench baseline's, same batch size and device) and peak "
        "RSS ratios come from one bench call: metrics.json `speed`, whose `baseline` names the "
        "variant they are relative to; a ratio is n/a when that variant was not measured in "
        "the same call. Achieved GFLOP/s counts the matrix products of a text (emocompress."
        "flops) at the largest batch; the share is of the machine's limit figure: a measured "
        f"{fmt(limit.size)}x{fmt(limit.size)} matrix product at "
        f"{fmt(limit.fp32_gflops, '.1f')} GFLOP/s fp32 and "
        f"{fmt(limit.int8_gops, '.1f')} GOP/s int8 on {fmt(limit.threads)} "
        f"threads ({'bench.json' if data.bench else 'metrics.json'} `limit`).",
        "",
        md_table(
            [
                "variant",
                "runtime",
                "bench baseline",
                "speedup",
                "RSS ratio",
                "texts/s",
                "GFLOP/s",
                "share of limit",
            ],
            rows,
            "lllrrrrr",
        ),
    ]
    return "\n".join(out)


# ---------------------------------------------------------------------- per variant


def _variant_section(data: ReportData, v: VariantData) -> str:
    import yaml

    lineage = v.lineage
    out = [
        f"## Variant {v.name}",
        "",
        f"Files: `variants/{v.name}/` (metrics.json, emocompress.json"
        f"{', history.json' if v.history else ''}, predictions/).",
        "",
        "### Configuration",
        "",
        f"Operation **{lineage.get('operation')}** from {_made_from(lineage)}, "
        f"format {lineage.get('format', NA)}. Settings (defaults filled in):",
        "",
        "```yaml",
        yaml.safe_dump(lineage.get("settings") or {}, sort_keys=False).rstrip() or "{}",
        "```",
        *_facts_lines(lineage),
        "",
        "### Quality",
        "",
        *_quality_lines(v),
        "",
        "### Training",
        "",
        *_training_lines(v),
        "",
        "### Size",
        "",
        *_size_lines(v),
        "",
        "### Speed and memory",
        "",
        *_speed_lines(v),
    ]
    parity = v.metrics.get("parity")
    if parity:
        out += [
            "",
            f"Parity with {parity.get('reference') or 'the PyTorch parent'}: max |logit "
            f"difference| {fmt(parity.get('max_abs_logit_diff'), '.2e')}"
            f" over {fmt(parity.get('texts'))} texts (tolerance {fmt(parity.get('tolerance'), '.0e')}).",
        ]
    return "\n".join(out)


def _facts_lines(lineage: Mapping[str, Any]) -> list[str]:
    """What the operation recorded about its result (emocompress.json "facts"); training
    facts are shown under Training."""
    import yaml

    facts = {k: v for k, v in (lineage.get("facts") or {}).items() if k != "training"}
    if not facts:
        return []
    dumped = yaml.safe_dump(facts, sort_keys=False, default_flow_style=None, width=100)
    return ["", "Facts recorded by the operation:", "", "```yaml", dumped.rstrip(), "```"]


def _quality_lines(v: VariantData) -> list[str]:
    if v.not_evaluated:
        return [f"Not reported: {v.not_evaluated}."]
    q, entry = v.quality, v.selected_entry
    rows = [
        [
            average,
            fmt(q["auc"].get(average)),
            fmt(entry[average]["f1"]),
            fmt(entry[average]["precision"]),
            fmt(entry[average]["recall"]),
        ]
        for average in ("micro", "macro")
    ]
    lines = [
        f"On the {q.get('report_split')} split ({fmt(q.get('n_report'), 'd')} examples), "
        f"selected strategy **{v.selected}** ({q.get('selected_because')}):",
        "",
        md_table(["average", "AUC", "F1", "precision", "recall"], rows),
    ]
    missing = q["auc"].get("labels_without_positives") or []
    if missing:
        lines.append(f"No positive example (no AUC, left out of macro AUC): {', '.join(missing)}.")
    if v.checks:
        lines += ["**Recomputation from predictions disagrees with metrics.json:**", ""]
        lines += [f"- {problem}" for problem in v.checks[:20]]
    else:
        lines.append(
            "Recomputed from predictions/*.npz (emocompress.measure.metrics.quality_from_files): "
            "every figure of the quality section matches metrics.json."
        )
    return lines


def _training_lines(v: VariantData) -> list[str]:
    training = v.metrics.get("training")
    if not training and not v.trained:
        return ["Not trained by this run (no `training` section, no history.json)."]
    training = training or {}
    lines = [
        md_table(
            ["item", "value"],
            [
                ["train time (s)", fmt(v.train_seconds, ".1f")],
                ["optimiser steps", fmt(training.get("steps"))],
                ["best epoch (checkpoint kept)", fmt(training.get("best_epoch"), "g")],
                ["best tune macro AUC", fmt(training.get("best_tune_macro_auc"))],
                ["stopped early", fmt(training.get("stopped_early"))],
                ["tune BCE of the kept checkpoint", fmt(tune_bce(v))],
            ],
            "lr",
        ),
        "From metrics.json `training`; the tune BCE is recomputed from predictions/"
        f"{v.quality.get('tune_split')}.npz.",
    ]
    evals = (v.history or {}).get("evaluations") or []
    if evals:
        # tune_loss: recorded per evaluation only by runs whose training loop writes it
        keys = ["train_loss", "tune_macro_auc"] + (
            ["tune_loss"] if any("tune_loss" in e for e in evals) else []
        )
        names = {
            "train_loss": "mean train loss",
            "tune_macro_auc": "tune macro AUC",
            "tune_loss": "tune BCE",
        }
        lines += [
            "",
            md_table(
                ["epoch", "step", *(names[k] for k in keys)],
                [
                    [fmt(e.get("epoch"), "g"), fmt(e.get("step")), *(fmt(e.get(k)) for k in keys)]
                    for e in evals
                ],
            ),
            "Per evaluation, from history.json `evaluations` (curves: figures loss and tune_auc).",
        ]
    return lines


def _size_lines(v: VariantData) -> list[str]:
    size = v.metrics.get("size")
    if not size:
        return ["Not measured (no `size` section)."]
    total = size.get("parameters") or 0
    comps = size.get("components") or {}
    lines = [
        f"{fmt(size.get('parameters'), ',d')} parameters "
        f"({fmt(size.get('parameters_without_embeddings'), ',d')} without embeddings), "
        f"{fmt(size.get('bytes_on_disk'), ',d')} bytes of weights on disk; dtypes "
        + ", ".join(f"{k} {n:,d}" for k, n in (size.get("dtypes") or {}).items())
        + ". From metrics.json `size`.",
    ]
    if comps:
        lines += [
            "",
            md_table(
                ["component", "parameters", "percent"],
                [
                    [k, fmt(n, ",d"), fmt(100 * n / total if total else None, ".1f")]
                    for k, n in comps.items()
                ],
            ),
        ]
    return lines


def _speed_lines(v: VariantData) -> list[str]:
    speed = v.typed.speed
    if speed is None:
        return ["Not measured (no `speed` section in metrics.json: bench has not run)."]
    rows = [
        [
            runtime,
            str(size),
            *(fmt(b, ".2f") for b in (batch.p50_ms, batch.p95_ms, batch.p99_ms)),
            fmt(batch.texts_per_s, ".1f"),
            fmt(r.peak_rss_mb, ".1f"),
            fmt(r.gpu_peak_mb, ".1f"),
        ]
        for runtime, r in speed.runtimes.items()
        for size, batch in sorted(r.batches.items())
    ]
    machine = speed.machine or Environment()
    return [
        md_table(
            [
                "runtime",
                "batch",
                "p50 ms",
                "p95 ms",
                "p99 ms",
                "texts/s",
                "peak RSS MB",
                "GPU peak MB",
            ],
            rows,
            "llrrrrrr",
        ),
        f"Measured on {fmt(machine.cpu)}, {fmt(machine.threads)} threads, GPU "
        f"{machine.gpu or 'none'}; FLOPs per text {fmt(speed.flops_per_text, ',.0f')}. "
        "From metrics.json `speed`.",
    ]


# ---------------------------------------------------------------------- per emotion


def per_emotion_rows(v: VariantData) -> list[dict[str, Any]]:
    """One dict per label: counts from predictions, ratios and threshold from metrics.json."""
    per_label = v.selected_entry.get("per_label", {})
    auc = v.quality["auc"].get("per_label", {})
    rows = []
    for label in v.counts.label_names:
        entry = per_label.get(label, {})
        rows.append(
            {
                "variant": v.name,
                "label": label,
                "strategy": v.selected,
                "threshold": entry.get("threshold"),
                **v.counts.row(label),
                "support": entry.get("support"),
                "precision": entry.get("precision"),
                "recall": entry.get("recall"),
                "f1": entry.get("f1"),
                "auc": auc.get(label),
            }
        )
    return rows


def _per_emotion(data: ReportData, csv_name: str | None) -> str:
    out = [
        "## Per emotion",
        "",
        "Under each variant's selected strategy on the report split: F1, precision, recall "
        "and support from metrics.json; TP, FP, FN counted from the report predictions at "
        "the selected thresholds (they match metrics.json, checked above)."
        + (
            f" The full table, every label and variant: [{csv_name}]({csv_name})."
            if csv_name
            else ""
        ),
    ]
    for v in data.evaluated:
        rows = sorted(per_emotion_rows(v), key=lambda r: (-r["f1"], r["label"]))
        n = min(TOP_N, len(rows) // 2) or len(rows)
        groups = [("top", rows[:n]), ("bottom", rows[-n:])] if len(rows) > n else [("all", rows)]
        table_rows = [
            [
                group,
                r["label"],
                fmt(r["f1"]),
                fmt(r["precision"]),
                fmt(r["recall"]),
                fmt(r["support"]),
                fmt(r["tp"]),
                fmt(r["fp"]),
                fmt(r["fn"]),
                fmt(r["auc"]),
            ]
            for group, chunk in groups
            for r in chunk
        ]
        corr = correlation([r["f1"] for r in rows], [r["support"] for r in rows])
        out += [
            "",
            f"### {v.name} ({v.selected})",
            "",
            md_table(
                ["", "emotion", "F1", "precision", "recall", "support", "TP", "FP", "FN", "AUC"],
                table_rows,
                "llrrrrrrrr",
            ),
            f"Correlation between per-emotion F1 and support over {corr['n']} emotions: "
            f"Pearson {fmt(corr['pearson'], '.3f')}, Spearman {fmt(corr['spearman'], '.3f')}.",
        ]
    return "\n".join(out)


def per_emotion_csv(data: ReportData) -> str:
    import csv
    import io

    buffer = io.StringIO()
    rows = [r for v in data.evaluated for r in per_emotion_rows(v)]
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: "" if x is None else x for k, x in r.items()} for r in rows)
    return buffer.getvalue()


# ---------------------------------------------------------------------- thresholds


def _describe(params: Mapping[str, Any]) -> str:
    if "thresholds" in params:
        values = list(params["thresholds"].values())
        return f"per label, {min(values):.2f} to {max(values):.2f}" if values else "per label"
    if "threshold" in params:
        return f"threshold {params['threshold']:g}"
    if "k" in params:
        return f"k = {params['k']}"
    return NA


def _thresholds(data: ReportData) -> str:
    out = [
        "## Thresholds",
        "",
        "Each strategy's parameters were chosen on the tune split; its figures are measured "
        "on the report split. The selected strategy has the highest macro F1 on the tune "
        "split (docs/metrics.md). From metrics.json `quality.strategies`.",
    ]
    for v in data.evaluated:
        rows = [
            [
                name + (" (selected)" if name == v.selected else ""),
                _describe(entry.get("params", {})),
                fmt(entry.get("tune_macro_f1")),
                *(
                    fmt(entry[a][m])
                    for a in ("micro", "macro")
                    for m in ("f1", "precision", "recall")
                ),
            ]
            for name, entry in v.quality.get("strategies", {}).items()
        ]
        out += [
            "",
            f"### {v.name}",
            "",
            md_table(
                [
                    "strategy",
                    "parameters",
                    "tune macro F1",
                    "micro F1",
                    "micro P",
                    "micro R",
                    "macro F1",
                    "macro P",
                    "macro R",
                ],
                rows,
                "llrrrrrrr",
            ),
            f"Selected: **{v.selected}**, because: {v.quality.get('selected_because', NA)}.",
        ]
    with_per_label = [
        v for v in data.evaluated if dig(v.quality, "strategies", "per_label", "params")
    ]
    if with_per_label:
        rows = [
            [
                label,
                *(
                    fmt(
                        dig(v.quality, "strategies", "per_label", "params", "thresholds", label),
                        ".2f",
                    )
                    for v in with_per_label
                ),
            ]
            for label in data.label_names
        ]
        out += [
            "",
            "### Per-label thresholds (strategy per_label)",
            "",
            md_table(["emotion", *(v.name for v in with_per_label)], rows),
        ]
    return "\n".join(out)


# ------------------------------------------------------------------------- figures


def _figures(figures: Mapping[str, list[Path]] | None, prefix: str) -> str:
    out = ["## Figures", ""]
    if figures is None:
        return "\n".join(out + ["Not drawn (--no-figures)."])
    for spec in SPECS:
        files = figures.get(spec.stem)
        if not files:
            out += [f"- {spec.stem}: not drawn (needs {spec.needs or 'data'}).", ""]
            continue
        png = next((f for f in files if f.suffix == ".png"), files[0])
        others = ", ".join(
            f"[{f.suffix[1:].upper()}]({prefix}/{f.name})" for f in files if f != png
        )
        out += [
            f"![{spec.stem}]({prefix}/{png.name})",
            "",
            f"*{spec.caption}.* {others}".rstrip(),
            "",
        ]
    return "\n".join(out)


# ----------------------------------------------------------------------- artifacts


def _artifacts(data: ReportData) -> str:
    out = ["## Artifacts", "", "Every file of each variant directory, with its size and sha256."]
    for v in data.variants:
        rows = [[f"`{a.path}`", f"{a.bytes:,d}", f"`{a.sha256}`"] for a in artifacts(v)]
        out += ["", f"### {v.name}", "", md_table(["file", "bytes", "sha256"], rows, "lrl")]
    return "\n".join(out)

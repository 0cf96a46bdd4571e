"""The report document (Markdown), section by section, from a gathered run directory.

Each section names the files its figures come from. Numbers are printed as recorded
(4 decimals for quality figures); "n/a" marks a figure that was not measured.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from emocompress.artifacts.schema import (
    BenchFile,
    Environment,
    History,
    Lineage,
    MachineLimit,
    Metrics,
    RunFile,
    Scores,
    Size,
)
from emocompress.format import NA, fmt
from emocompress.report import CSV_FILE
from emocompress.report.data import (
    AVERAGES,
    MIN_TUNE_SUPPORT,
    ReportData,
    VariantData,
    artifacts,
    auc_of,
    by_gold_count,
    correlation,
    scores_of,
    strategy_upset,
    thin_labels,
    tune_bce,
)
from emocompress.report.figures import SPECS
from emocompress.report.forgot import forgot_section
from emocompress.report.tables import comparison_rows, md_table

# the files each section names as its source
METRICS, LINEAGE, HISTORY, RUN, BENCH = (
    Metrics.FILE,
    Lineage.FILE,
    History.FILE,
    RunFile.FILE,
    BenchFile.FILE,
)
# the threshold strategy whose parameters are one threshold per label
PER_LABEL = "per_label"

TOP_N = 5


def render(
    data: ReportData,
    figures: Mapping[str, list[Path]] | None,
    *,
    figure_prefix: str = "figures",
    csv_name: str | None = CSV_FILE,
) -> str:
    """The whole document. ``figures`` maps figure stems to the files written (None: the
    report was made with --no-figures); links are ``figure_prefix/<file name>``."""
    sections = [
        _title(data),
        _warnings(data),
        _overview(data),
        _comparison(data),
        _efficiency(data),
        *(_variant_section(data, v) for v in data.variants),
        _per_emotion(data, csv_name),
        _complexity(data),
        forgot_section(data.comparison),
        _thresholds(data),
        _figures(data, figures, figure_prefix),
        _artifacts(data),
    ]
    return "\n".join(s.rstrip("\n") + "\n" for s in sections if s)


# ------------------------------------------------------------------------- overview


def _title(data: ReportData) -> str:
    state = data.state
    lines = [f"# emocompress report: {state.name or data.run.root.name}", ""]
    description = data.recipe.description if data.recipe else None
    if description:
        lines += [str(description), ""]
    lines += [
        f"Run directory `{data.run.root}`; status **{state.status}** "
        f"(started {fmt(state.started)}, finished {fmt(state.finished)}); "
        f"seed {fmt(state.seed)}. Baseline for every comparison: **{data.baseline}**.",
        "",
        "Every number below is read from a file of the run directory (named in each "
        "section) or counted from the saved predictions; nothing is estimated.",
    ]
    return "\n".join(lines)


def warning_lines(data: ReportData) -> list[str]:
    """What a reader must know before trusting the figures: a threshold strategy selected on
    the tune split that loses on the report split, and thresholds that rest on few tune
    positives. The report command prints these too."""
    lines = []
    for v in data.evaluated:
        upset = strategy_upset(v)
        if upset is not None:
            lines.append(
                f"{v.name}: **{upset.selected}** was selected on the tune split (tune macro F1 "
                f"{fmt(upset.tune_f1)}) but **{upset.winner}** scores higher on the report "
                f"split: macro F1 {fmt(upset.winner_f1)} against {fmt(upset.selected_f1)} "
                f"(tune {fmt(upset.winner_tune_f1)}). The tune split may be too small or too "
                "unlike the report split to choose thresholds; see Thresholds."
            )
    # variants with per-label thresholds, grouped by their tune split's label counts
    groups: dict[tuple, list[str]] = {}
    for v in data.evaluated:
        thin = thin_labels(v)
        if thin and v.selected_strategy == PER_LABEL:
            groups.setdefault(
                (tuple(sorted(thin.items(), key=lambda i: (i[1], i[0]))), len(v.tune_support)), []
            ).append(v.name)
    for (thin, total), names in groups.items():
        counts = ", ".join(f"{k} ({n})" for k, n in thin)
        lines.append(
            f"Per-label thresholds ({', '.join(names)}): {len(thin)} of {total} labels have "
            f"fewer than {MIN_TUNE_SUPPORT} positive examples in the tune split, so their "
            f"thresholds (and F1) rest on a handful of texts: {counts}."
        )
    return lines


def _warnings(data: ReportData) -> str:
    lines = warning_lines(data)
    if not lines:
        return ""
    return "\n".join(
        [
            "## Read this first",
            "",
            *[f"- {line}" for line in lines],
            "",
            f"(From each variant's {METRICS} `quality.strategies` and predictions/<tune>.npz.)",
        ]
    )


def _complexity(data: ReportData) -> str:
    """F1 by the number of gold labels per text (multi-label complexity)."""
    out = [
        "## Multi-label complexity",
        "",
        "Micro F1 and the share of texts whose predicted label set is exactly the gold one, by "
        "the number of gold labels a text carries, on the report split at each variant's "
        "selected thresholds (counted from predictions/<report>.npz).",
        "",
    ]
    groups: dict[str, dict[str, str]] = {}
    texts: dict[str, int] = {}
    for v in data.evaluated:
        for row in by_gold_count(v):
            texts[row.gold] = row.texts
            groups.setdefault(row.gold, {})[v.name] = (
                f"{fmt(row.micro_f1)} / {fmt(row.exact, '.3f')}"
            )
    names = [v.name for v in data.evaluated]
    rows = [
        [gold, fmt(texts[gold], ",d"), *[cells.get(n, NA) for n in names]]
        for gold, cells in groups.items()
    ]
    out.append(md_table(["gold labels", "texts", *[f"{n} (F1 / exact)" for n in names]], rows))
    return "\n".join(out)


def _overview(data: ReportData) -> str:
    rows = [
        [
            v.name,
            v.lineage.operation,
            _made_from(v.lineage),
            v.lineage.format,
            fmt(v.step.seconds if v.step else None, ".1f"),
        ]
        for v in data.variants
    ]
    out = [
        "## Overview",
        "",
        "### Variants",
        "",
        md_table(["variant", "operation", "made from", "format", "step time (s)"], rows, "lllll"),
        f"Lineage (variants/*/{LINEAGE}; step times from {RUN}):",
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
            f"Not reported (no {METRICS} or {LINEAGE}): {', '.join(data.skipped)}.",
        ]
    if data.unreadable:
        out += ["", "Not reported (a file could not be read):", ""]
        out += [f"- {problem}" for problem in data.unreadable]
    out += ["", "### Data and splits", "", *_data_lines(data), "", "### Hardware and versions", ""]
    # what run.json holds: figures it does not record are left out, not shown as n/a
    env = data.state.environment.model_dump(mode="json", exclude_unset=True)
    out.append(
        md_table(
            ["item", "value"],
            [[k, fmt(" ".join(v) if isinstance(v, list) else v)] for k, v in env.items()],
            "ll",
        )
    )
    out.append(f"From {RUN} `environment`.")
    return "\n".join(out)


def _made_from(lineage: Lineage) -> str:
    """The parent variant(s), or the model reference of a variant made from one."""
    return ", ".join(lineage.parents) or f"`{lineage.source}`"


def _lineage_lines(data: ReportData) -> list[str]:
    children: dict[str | None, list[VariantData]] = {}
    names = {v.name for v in data.variants}
    for v in data.variants:
        parent = next(iter(v.lineage.parents), None)
        children.setdefault(parent if parent in names else None, []).append(v)
    lines: list[str] = []

    def walk(v: VariantData, depth: int) -> None:
        parents = v.lineage.parents
        if not depth:
            source = f" <- {_made_from(v.lineage).strip('`')}"
        elif len(parents) > 1:
            source = f" (also from {', '.join(parents[1:])})"
        else:
            source = ""
        lines.append(
            f"{'    ' * depth}{'└── ' if depth else ''}{v.name} [{v.lineage.operation}]{source}"
        )
        for child in children.get(v.name, []):
            walk(child, depth + 1)

    for root in children.get(None, []):
        walk(root, 0)
    return lines


def _data_lines(data: ReportData) -> list[str]:
    info = data.base.metrics.data
    splits = [("train", info.train), ("tune", info.tune), ("report", info.report)] if info else []
    rows = [
        [role, s.split, fmt(s.examples, "d"), s.description] for role, s in splits if s is not None
    ]
    q = data.base.evaluated_quality
    lines = [
        md_table(["role", "split", "examples", "description"], rows, "llrl") if rows else "",
        f"Thresholds were chosen on the **{q.tune_split}** split "
        f"({fmt(q.n_tune, 'd')} examples); every quality figure is measured on the "
        f"**{q.report_split}** split ({fmt(q.n_report, 'd')} examples). "
        f"From {data.baseline}/{METRICS} `data` and `quality`.",
    ]
    if data.recipe is not None:
        positions = data.base.row.get("max_positions")
        lines.append(
            f"Texts are cut at **{data.recipe.data.max_length}** tokens (recipe `data.max_length`); "
            f"the baseline's configuration allows {fmt(positions, 'd')} positions "
            "(each variant's in the comparison, `max sequence length (config)`)."
        )

    def splits_of(v: VariantData) -> tuple[str, str, int]:
        other = v.evaluated_quality
        return other.tune_split, other.report_split, other.n_report

    differing = [v.name for v in data.evaluated if splits_of(v) != splits_of(data.base)]
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
        f"strategy ({METRICS}); size from {METRICS} `size`; latency, throughput and "
        f"memory from {METRICS} `speed` (first runtime); train time from {HISTORY} "
        "`seconds` (the training loop's wall time, as in each variant's Training section).",
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
    speed = v.metrics.speed
    if speed is None or speed.baseline not in {x.name for x in data.variants}:
        return None
    other = data.variant(speed.baseline).metrics.speed
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
        speed = v.metrics.speed
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
            f"Not measured: no variant has a `speed` section in {METRICS} (run "
            "`emocompress bench` on this run directory to add one)."
        )
        return "\n".join(out)
    limit = (
        (data.bench.limit if data.bench else None)
        or next((v.metrics.speed.limit for v in data.variants if v.metrics.speed), None)
        or MachineLimit()
    )
    out += [
        "Speedups (throughput over the bench baseline's, same batch size and device) and peak "
        f"RSS ratios come from one bench call: {METRICS} `speed`, whose `baseline` names the "
        "variant they are relative to; a ratio is n/a when that variant was not measured in "
        "the same call. Achieved GFLOP/s counts the matrix products of a text (emocompress."
        "flops) at the largest batch; the share is of the machine's limit figure: a measured "
        f"{fmt(limit.size)}x{fmt(limit.size)} matrix product at "
        f"{fmt(limit.fp32_gflops, '.1f')} GFLOP/s fp32 and "
        f"{fmt(limit.int8_gops, '.1f')} GOP/s int8 on {fmt(limit.threads)} "
        f"threads ({BENCH if data.bench else METRICS} `limit`).",
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
        f"Files: `variants/{v.name}/` ({METRICS}, {LINEAGE}"
        f"{', ' + HISTORY if v.history else ''}, {v.dir.predictions_dir.name}/).",
        "",
        "### Configuration",
        "",
        f"Operation **{lineage.operation}** from {_made_from(lineage)}, "
        f"format {lineage.format}. Settings (defaults filled in):",
        "",
        "```yaml",
        yaml.safe_dump(lineage.settings, sort_keys=False).rstrip() or "{}",
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
    parity = v.metrics.parity
    if parity:
        out += [
            "",
            f"Parity with {parity.reference or 'the PyTorch parent'}: max |logit "
            f"difference| {fmt(parity.max_abs_logit_diff, '.2e')}"
            f" over {fmt(parity.texts)} texts (tolerance {fmt(parity.tolerance, '.0e')}).",
        ]
    return "\n".join(out)


def _facts_lines(lineage: Lineage) -> list[str]:
    """What the operation recorded about its result (emocompress.json "facts"); training
    facts are shown under Training."""
    import yaml

    facts = {k: v for k, v in lineage.facts.items() if k != "training"}
    if not facts:
        return []
    dumped = yaml.safe_dump(facts, sort_keys=False, default_flow_style=None, width=100)
    return ["", "Facts recorded by the operation:", "", "```yaml", dumped.rstrip(), "```"]


def _quality_lines(v: VariantData) -> list[str]:
    if v.not_evaluated:
        return [f"Not reported: {v.not_evaluated}."]
    q = v.evaluated_quality
    rows = [
        [average, fmt(auc_of(q, average)), *_scores_cells(scores_of(q.selected, average))]
        for average in AVERAGES
    ]
    lines = [
        f"On the {q.report_split} split ({fmt(q.n_report, 'd')} examples), "
        f"selected strategy **{q.selected_strategy}** ({q.selected_because}):",
        "",
        md_table(["average", "AUC", "F1", "precision", "recall"], rows),
    ]
    missing = q.auc.labels_without_positives
    if missing:
        lines.append(f"No positive example (no AUC, left out of macro AUC): {', '.join(missing)}.")
    if v.checks:
        lines += [f"**Recomputation from predictions disagrees with {METRICS}:**", ""]
        lines += [f"- {problem}" for problem in v.checks[:20]]
    else:
        lines.append(
            f"Recomputed from {v.dir.predictions_dir.name}/*.npz (emocompress.measure.metrics."
            f"quality_from_files): every figure of the quality section matches {METRICS}."
        )
    return lines


def _training_lines(v: VariantData) -> list[str]:
    training = v.metrics.training
    if training is None and not v.trained:
        return [f"Not trained by this run (no `training` section, no {HISTORY})."]
    lines = [
        md_table(
            ["item", "value"],
            [
                [TRAIN_TIME, fmt(v.train_seconds, ".1f")],
                ["optimiser steps", fmt(training.steps if training else None)],
                [
                    "best epoch (checkpoint kept)",
                    fmt(training.best_epoch if training else None, "g"),
                ],
                ["best tune macro AUC", fmt(training.best_tune_macro_auc if training else None)],
                ["stopped early", fmt(training.stopped_early if training else None)],
                ["tune BCE of the kept checkpoint", fmt(tune_bce(v))],
            ],
            "lr",
        ),
        f"Train time from {HISTORY} `seconds`; the rest from {METRICS} `training`"
        + (
            f"; the tune BCE is recomputed from {v.tune_file.relative_to(v.dir.path)}."
            if not v.not_evaluated
            else "."
        ),
    ]
    return lines + _evaluations_lines(v.history)


# the Training row of the one train time (tests find it by this label)
TRAIN_TIME = "train time (s)"


def _evaluations_lines(history: History | None) -> list[str]:
    """The per-evaluation table of history.json (empty without evaluations)."""
    evals = history.evaluations if history else []
    if not evals:
        return []
    # a tune loss is recorded per evaluation only by runs whose training loop writes it
    with_tune_loss = any(e.tune_loss is not None for e in evals)
    headers = ["epoch", "step", "mean train loss", "tune macro AUC"]
    rows = [
        [fmt(e.epoch, "g"), fmt(e.step), fmt(e.train_loss), fmt(e.tune_macro_auc)]
        + ([fmt(e.tune_loss)] if with_tune_loss else [])
        for e in evals
    ]
    return [
        "",
        md_table(headers + (["tune BCE"] if with_tune_loss else []), rows),
        f"Per evaluation, from {HISTORY} `evaluations` (curves: figures loss and tune_auc).",
    ]


def _size_lines(v: VariantData) -> list[str]:
    size: Size | None = v.metrics.size
    if size is None:
        return ["Not measured (no `size` section)."]
    total = size.parameters
    comps = size.components
    lines = [
        f"{fmt(size.parameters, ',d')} parameters "
        f"({fmt(size.parameters_without_embeddings, ',d')} without embeddings), "
        f"{fmt(size.bytes_on_disk, ',d')} bytes of weights on disk; dtypes "
        + ", ".join(f"{k} {n:,d}" for k, n in size.dtypes.items())
        + f". From {METRICS} `size`.",
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
    speed = v.metrics.speed
    if speed is None:
        return [f"Not measured (no `speed` section in {METRICS}: bench has not run)."]
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
        f"From {METRICS} `speed`.",
    ]


# ---------------------------------------------------------------------- per emotion


def per_emotion_rows(v: VariantData) -> list[dict[str, Any]]:
    """One dict per label: counts from predictions, ratios and threshold from metrics.json."""
    q = v.evaluated_quality
    rows = []
    for label in v.counts.label_names:
        entry = q.selected.per_label.get(label)
        rows.append(
            {
                "variant": v.name,
                "label": label,
                "strategy": q.selected_strategy,
                "threshold": entry.threshold if entry else None,
                **v.counts.row(label),
                "support": entry.support if entry else None,
                "precision": entry.precision if entry else None,
                "recall": entry.recall if entry else None,
                "f1": entry.f1 if entry else None,
                "auc": q.auc.per_label.get(label),
            }
        )
    return rows


def _per_emotion(data: ReportData, csv_name: str | None) -> str:
    out = [
        "## Per emotion",
        "",
        "Under each variant's selected strategy on the report split: F1, precision, recall "
        f"and support from {METRICS}; TP, FP, FN counted from the report predictions at "
        f"the selected thresholds (they match {METRICS}, checked above)."
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
            f"### {v.name} ({v.selected_strategy})",
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


def _scores_cells(scores: Scores) -> list[str]:
    """F1, precision and recall, formatted."""
    return [fmt(scores.f1), fmt(scores.precision), fmt(scores.recall)]


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
        f"split (docs/metrics.md). From {METRICS} `quality.strategies`.",
    ]
    for v in data.evaluated:
        q = v.evaluated_quality
        rows = [
            [
                name + (" (selected)" if name == q.selected_strategy else ""),
                _describe(entry.params),
                fmt(entry.tune_macro_f1),
                *(cell for a in AVERAGES for cell in _scores_cells(scores_of(entry, a))),
            ]
            for name, entry in q.strategies.items()
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
            f"Selected: **{q.selected_strategy}**, because: {q.selected_because}.",
        ]
    per_label = {
        v.name: strategy.params.get("thresholds") or {}
        for v in data.evaluated
        if (strategy := v.evaluated_quality.strategies.get(PER_LABEL)) is not None
    }
    if per_label:
        # one tune split for the whole run: its positives are the same for every variant
        support = next(
            (v.metrics.threshold_support for v in data.evaluated if v.metrics.threshold_support),
            None,
        )
        rows = [
            [label, *(fmt(thresholds.get(label), ".2f") for thresholds in per_label.values())]
            + ([fmt(support.positives.get(label))] if support else [])
            for label in data.label_names
        ]
        out += [
            "",
            "### Per-label thresholds (strategy per_label)",
            "",
            md_table(["emotion", *per_label, *(["tune positives"] if support else [])], rows),
        ]
        if support is not None:
            out += ["", *(f"Warning: {warning}." for warning in support.warnings)]
    return "\n".join(out)


# ------------------------------------------------------------------------- figures


def _figures(data: ReportData, figures: Mapping[str, list[Path]] | None, prefix: str) -> str:
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
            f"*{spec.caption(data)}.* {others}".rstrip(),
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

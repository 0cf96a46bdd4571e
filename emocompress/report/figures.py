"""The report's figures (matplotlib, Agg backend), each written as PNG and vector PDF.

Every figure is drawn from files in the run directory: loss and tuning-AUC curves from
history.json, ROC curves and confusion counts from predictions/<report split>.npz at the
thresholds metrics.json recorded, bars and trade-offs from metrics.json. Each ``_draw_*``
function draws onto one axes, so the combined 2x2 figure reuses them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from emocompress.artifacts.schema import History, LabelScores
from emocompress.format import fmt
from emocompress.report.data import (
    AVERAGES,
    BCE,
    DISTILLATION,
    GOLD_LOSS,
    Average,
    ReportData,
    VariantData,
    auc_of,
    loss_kind,
    scores_of,
    tune_bce,
)
from emocompress.report.labels import PointLabel, overlapping_texts, place_point_labels

FORMATS = ("png", "pdf")
DPI = 150


@dataclass(frozen=True)
class FigureSpec:
    stem: str  # file name without extension
    caption_text: str | Callable[[ReportData], str]  # what is drawn (for this run)
    make: Callable[[ReportData], Any]  # -> matplotlib Figure, or None when nothing to draw
    needs: str = ""  # why it may be missing, said in the report

    def caption(self, data: ReportData) -> str:
        text = self.caption_text
        return text if isinstance(text, str) else text(data)


def write_figures(
    data: ReportData, folder: Path, formats: Sequence[str] = FORMATS, reporter=None
) -> dict[str, list[Path]]:
    """Draw every figure into ``folder``; returns stem -> files written (absent: not drawn)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    written: dict[str, list[Path]] = {}
    folder.mkdir(parents=True, exist_ok=True)
    with _task(reporter, "figures", len(SPECS)) as task:
        for spec in SPECS:
            if reporter is not None:
                reporter.check_cancelled()
            with plt.rc_context(_STYLE):
                fig = spec.make(data)
            if fig is not None:
                overlaps = overlapping_texts(fig)  # a self-check on every figure drawn
                if overlaps and reporter is not None:
                    pairs = "; ".join(f"{a!r} / {b!r}" for a, b in overlaps[:3])
                    reporter.log(f"warning: {spec.stem}: overlapping labels: {pairs}")
                written[spec.stem] = []
                for ext in formats:
                    path = folder / f"{spec.stem}.{ext}"
                    # no timestamps in the files: the same run gives the same figures
                    with plt.rc_context({"svg.hashsalt": "emocompress"}):  # stable SVG ids
                        fig.savefig(path, format=ext, dpi=DPI, metadata=_NO_STAMPS[ext])
                    written[spec.stem].append(path)
                plt.close(fig)
            if task is not None:
                task.advance(1)
    return written


# each writer's own key for what would differ between two drawings of the same figure
_NO_STAMPS: dict[str, dict[str, None]] = {
    "png": {"Software": None},
    "pdf": {"CreationDate": None},
    "svg": {"Date": None},
}


def _task(reporter, description: str, total: int):
    import contextlib

    return reporter.task(description, total) if reporter is not None else contextlib.nullcontext()


_STYLE = {
    "font.size": 8,
    "axes.titlesize": 9,
    "axes.labelsize": 8,
    "legend.fontsize": 7,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "axes.grid": True,
    "grid.alpha": 0.3,
}


def _colors(data: ReportData) -> dict[str, Any]:
    import matplotlib

    cmap = matplotlib.colormaps["tab10"]
    return {v.name: cmap(i % 10) for i, v in enumerate(data.variants)}


def _figure(width: float, height: float, ncols: int = 1, nrows: int = 1, **kw):
    import matplotlib.pyplot as plt

    return plt.subplots(nrows, ncols, figsize=(width, height), layout="constrained", **kw)


def _empty(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])


# ------------------------------------------------------------------ training curves


def _epochs_per_step(history: History) -> float | None:
    for record in history.evaluations:
        if record.step and record.epoch:
            return record.epoch / record.step
    return None


def _star(ax, x: float, y: float, color: Any, label: str | None = None) -> None:
    """Marks the checkpoint training kept (history.json "best")."""
    ax.plot([x], [y], "*", color=color, ms=9, mec="black", mew=0.5, label=label)


LOSS_PANELS = {
    BCE: ("binary cross-entropy", "Fine-tuning: train and tune BCE"),
    GOLD_LOSS: ("training loss", "Fine-tuning with focal, ASL or weighted loss"),
    DISTILLATION: ("distillation objective", "Distillation: the students' training objective"),
}


def _draw_loss_panel(ax, data: ReportData, kind: str) -> bool:
    """One loss panel: BCE (the fine-tuned variants' training loss, and every trained
    variant's tune BCE) or the distillation objective (distilled variants' training loss),
    each on its own axis; a second legend says what each line style is."""
    from matplotlib.lines import Line2D

    colors = _colors(data)
    trained = [v for v in data.variants if v.trained]
    drawn = False
    styles: dict[str, Line2D] = {}
    for v in trained:
        history = v.history
        assert history is not None  # trained: it has one
        epochs = [e.epoch for e in history.evaluations]
        if loss_kind(v) == kind:
            scale = _epochs_per_step(history) or 1.0
            x = np.array([s.step for s in history.steps]) * scale
            ax.plot(x, [s.loss for s in history.steps], color=colors[v.name], alpha=0.3, lw=0.7)
            train = [e.train_loss for e in history.evaluations]
            if any(value is not None for value in train):
                ax.plot(epochs, train, "o-", color=colors[v.name], ms=3, label=v.name)
            styles["per step"] = Line2D([], [], color="grey", alpha=0.3, lw=0.7)
            styles["train, mean per epoch"] = Line2D([], [], color="grey", marker="o", ms=3)
            drawn = True
        if kind != BCE:
            continue
        tune = [e.tune_loss for e in history.evaluations]
        if any(value is not None for value in tune):
            ax.plot(epochs, tune, "s--", color=colors[v.name], ms=3, label=f"{v.name} (tune)")
            styles["tune BCE per epoch"] = Line2D([], [], color="grey", ls="--", marker="s", ms=3)
            drawn = True
        else:
            best = history.best.epoch if history.best else None
            bce = tune_bce(v)
            if best is not None and bce is not None:
                _star(ax, best, bce, colors[v.name], f"{v.name} (tune)")
                styles["tune BCE, kept checkpoint"] = Line2D(
                    [], [], color="grey", marker="*", ls="", ms=8, mec="black", mew=0.5
                )
                drawn = True
    ylabel, title = LOSS_PANELS[kind]
    if not _finish(ax, drawn, "no variant trained with this loss", ylabel, title):
        return False
    # one legend: the variants (colour), then what each line style is
    handles, labels = ax.get_legend_handles_labels()
    ax.legend(
        handles + list(styles.values()),
        labels + list(styles),
        loc="upper right",
        fontsize=6,
        ncol=2,
    )
    ax.set_ylim(bottom=0)
    return True


def make_loss(data: ReportData):
    """BCE and, when a variant was distilled, the distillation objective beside it."""
    kinds = [
        kind
        for kind in LOSS_PANELS
        if any(v.trained and loss_kind(v) == kind for v in data.variants)
    ]
    if not kinds:
        return None
    if BCE not in kinds:  # tune BCE is shown for every trained variant
        kinds.insert(0, BCE)
    fig, axes = _figure(4.8 * len(kinds), 3.8, ncols=len(kinds), squeeze=False)
    for ax, kind in zip(axes[0], kinds, strict=True):
        _draw_loss_panel(ax, data, kind)
    return fig


def _finish(ax, drawn: bool, empty_text: str, ylabel: str, title: str) -> bool:
    """Label an epoch-axis panel, or say why it is empty; returns ``drawn``."""
    if not drawn:
        _empty(ax, empty_text)
        return False
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend()
    return True


def _single(draw: Callable[[Any, ReportData], bool], data: ReportData):
    """A one-panel figure of ``draw``, or None when it had nothing to draw."""
    fig, ax = _figure(6, 3.5)
    if draw(ax, data):
        return fig
    import matplotlib.pyplot as plt

    plt.close(fig)
    return None


def _draw_tune_auc(ax, data: ReportData) -> bool:
    colors = _colors(data)
    histories = [(v, v.history) for v in data.variants if v.trained and v.history]
    trained = [(v, h) for v, h in histories if h.evaluations]
    for v, history in trained:
        ax.plot(
            [e.epoch for e in history.evaluations],
            [e.tune_macro_auc for e in history.evaluations],
            "o-",
            color=colors[v.name],
            ms=3,
            label=v.name,
        )
        best = history.best
        if best is not None and best.tune_macro_auc is not None:
            _star(ax, best.epoch, best.tune_macro_auc, colors[v.name])
    labels = ("macro AUC on the tune split", "Tuning AUC per epoch (star: checkpoint kept)")
    return _finish(ax, bool(trained), "no tuning evaluations recorded", *labels)


def make_tune_auc(data: ReportData):
    return _single(_draw_tune_auc, data)


# ------------------------------------------------------------------------- ROC


def roc_curve(variant: VariantData, average: Average) -> tuple[np.ndarray, np.ndarray]:
    """(fpr, tpr) on the report split: micro pools every (example, label) score; macro
    averages the per-label curves (labels with both classes) on the union of their FPRs,
    so its area is the mean per-label AUC that metrics.json reports."""
    from sklearn.metrics import roc_curve as sk_roc

    preds = variant.report_predictions
    if average == "micro":
        fpr, tpr, _ = sk_roc(preds.labels.ravel(), preds.probs.ravel(), drop_intermediate=True)
        return fpr, tpr
    curves = []
    for j in range(preds.probs.shape[1]):
        column = preds.labels[:, j]
        if 0 < column.sum() < len(column):
            fpr, tpr, _ = sk_roc(column, preds.probs[:, j], drop_intermediate=False)
            curves.append((fpr, tpr))
    grid = np.unique(np.concatenate([fpr for fpr, _ in curves]))
    return grid, np.mean([np.interp(grid, fpr, tpr) for fpr, tpr in curves], axis=0)


def _draw_roc(ax, data: ReportData, average: Average, legend: bool = True) -> None:
    """Curves, the chance diagonal, the region FPR <= 0.05 enlarged in an inset (lower right,
    below the curves), and the AUC legend under the panel where it covers nothing."""
    colors = _colors(data)
    zoom = ax.inset_axes([0.45, 0.1, 0.52, 0.5])
    for v in data.evaluated:
        fpr, tpr = roc_curve(v, average)
        auc = fmt(auc_of(v.evaluated_quality, average))
        ax.plot(fpr, tpr, color=colors[v.name], lw=1, label=f"{v.name} (AUC {auc})")
        zoom.plot(fpr, tpr, color=colors[v.name], lw=1)
    ax.plot([0, 1], [0, 1], ":", color="grey", lw=0.8)
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    split = data.base.evaluated_quality.report_split
    ax.set_title(f"ROC, {average} ({split} split)")
    if legend:
        ax.legend(
            loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, fontsize=6, frameon=False
        )
    zoom.set_xlim(0, 0.05)
    zoom.set_ylim(0, 1)
    zoom.set_title("FPR <= 0.05", fontsize=6)
    zoom.tick_params(labelsize=5)
    zoom.set_xticks([0, 0.05], ["0", "0.05"])
    zoom.get_xticklabels()[-1].set_horizontalalignment("right")  # inside the inset's frame


def make_roc(data: ReportData):
    fig, axes = _figure(9, 4.6, ncols=2)
    for ax, average in zip(axes, AVERAGES, strict=True):
        _draw_roc(ax, data, average)
    return fig


# ------------------------------------------------------------------------- bars


def _draw_prf(ax, data: ReportData, average: Average = "macro") -> None:
    colors = _colors(data)
    width = 0.8 / len(data.evaluated)
    for i, v in enumerate(data.evaluated):
        scores = scores_of(v.selected, average)
        values = [scores.precision, scores.recall, scores.f1]
        x = np.arange(len(values)) + (i - (len(data.evaluated) - 1) / 2) * width
        label = f"{v.name} ({v.selected_strategy})"
        ax.bar(
            x,
            [np.nan if y is None else y for y in values],
            width,
            color=colors[v.name],
            label=label,
        )
    ax.set_xticks(np.arange(3), ["precision", "recall", "F1"])
    ax.set_ylim(0, 1.3)  # room for the legend above the bars
    ax.set_yticks(np.linspace(0, 1, 6))
    ax.set_title(f"{average.capitalize()} precision / recall / F1 (selected strategy)")
    ax.legend(loc="upper center", ncol=min(3, len(data.evaluated)), fontsize=6)


def make_prf(data: ReportData):
    fig, axes = _figure(9, 3.4, ncols=2)
    for ax, average in zip(axes, AVERAGES, strict=True):
        _draw_prf(ax, data, average)
    return fig


def _label_order(data: ReportData) -> list[str]:
    """Labels sorted by the baseline's F1 (best at the top of a horizontal bar chart)."""
    per_label = data.base.selected.per_label
    return sorted(data.label_names, key=lambda name: (_f1(per_label.get(name)), name))


def _f1(scores: LabelScores | None) -> float:
    """A label's F1 as a bar length (0 when it is not defined: nothing is drawn)."""
    return scores.f1 if scores is not None and scores.f1 is not None else 0.0


def make_per_emotion_f1(data: ReportData):
    colors = _colors(data)
    labels = _label_order(data)
    fig, ax = _figure(7, max(4.0, 0.22 * len(labels) * max(1, len(data.evaluated)) ** 0.5))
    height = 0.8 / len(data.evaluated)
    y = np.arange(len(labels))
    for i, v in enumerate(data.evaluated):
        per_label = v.selected.per_label
        offset = (i - (len(data.evaluated) - 1) / 2) * height
        ax.barh(
            y + offset,
            [_f1(per_label.get(n)) for n in labels],
            height,
            color=colors[v.name],
            label=v.name,
            xerr=f1_error_bars(data, v.name, labels),
            error_kw={"elinewidth": 0.6, "capsize": 1.5, "ecolor": "0.3"},
        )
    ax.set_yticks(y, labels)
    ax.set_xlim(0, 1)
    ax.set_xlabel(
        "F1 on the report split (selected strategy)"
        + (" with bootstrap intervals" if data.comparison is not None else "")
    )
    ax.set_title(f"Per-emotion F1 (sorted by {data.baseline})")
    ax.legend(loc="lower right")
    return fig


def f1_error_bars(data: ReportData, name: str, labels: list[str]) -> np.ndarray | None:
    """(2, L) distances below and above each label's F1 (comparison.json), or None."""
    section = data.comparison.variants.get(name) if data.comparison is not None else None
    if section is None:
        return None
    bars = np.zeros((2, len(labels)))
    for j, label in enumerate(labels):
        interval = section.per_label.get(label)
        if interval is None or None in (interval.f1.point, interval.f1.low, interval.f1.high):
            continue
        point = float(interval.f1.point)
        bars[:, j] = (point - float(interval.f1.low), float(interval.f1.high) - point)
    return np.clip(bars, 0, None)


def make_confusion(data: ReportData):
    """Per label and variant: TP and FN as shares of the label's positives (together 1, the
    green part is the recall) and FP in the same unit after them, so a frequent label does
    not squash the rare ones; n (positives) and TN written on the right. Counted from the
    report predictions at the selected thresholds (the counts are in per_emotion.csv)."""
    from matplotlib.transforms import blended_transform_factory

    labels = _label_order(data)
    n = len(data.evaluated)
    fig, axes = _figure(
        3.4 * n + 1.2, max(4.0, 0.22 * len(labels) + 1), ncols=n, sharey=True, squeeze=False
    )
    y = np.arange(len(labels))
    for ax, v in zip(axes[0], data.evaluated, strict=True):
        counts = v.counts
        idx = [counts.label_names.index(name) for name in labels]
        tp, fn, fp, tn = (
            np.asarray(c[idx], dtype=float) for c in (counts.tp, counts.fn, counts.fp, counts.tn)
        )
        positives = tp + fn
        unit = np.where(positives > 0, positives, 1.0)
        ax.barh(y, tp / unit, color="tab:green", label="TP")
        ax.barh(y, fn / unit, left=tp / unit, color="tab:orange", label="FN")
        ax.barh(y, fp / unit, left=(tp + fn) / unit, color="tab:red", label="FP")
        ax.axvline(1.0, color="black", lw=0.5)
        top = float(np.max((tp + fn + fp) / unit)) if len(labels) else 1.0
        ax.set_xlim(0, max(1.05, min(top, 4.0) * 1.05))
        side = blended_transform_factory(ax.transAxes, ax.transData)
        for row, (count, negatives) in enumerate(zip(positives, tn, strict=True)):
            ax.text(
                1.02,
                row,
                f"n {count:,.0f} · TN {negatives:,.0f}",
                transform=side,
                fontsize=5,
                va="center",
                ha="left",
                clip_on=False,
            )
        ax.set_title(f"{v.name} ({v.selected_strategy})")
        ax.set_xlabel("share of the label's positives (n)")
    axes[0][0].set_yticks(y, labels)
    axes[0][0].legend(loc="upper center", bbox_to_anchor=(0.5, -0.08), ncol=3, frameon=False)
    return fig


# ------------------------------------------------------------------ trade-offs


TRADEOFFS = {
    # row key: (axis label, title word)
    "mb": ("size on disk (MB)", "size"),
    "latency_ms": ("p50 latency at the largest batch benched (ms)", "latency"),
}
ZOOMED_SPAN = 0.02  # an AUC axis narrower than this says so on the axis


def _draw_tradeoff(ax, data: ReportData, cost_key: str) -> list[PointLabel]:
    """Points, the Pareto frontier as steps, and axis labels; returns the point labels to
    place once the figure's layout is settled (:func:`place_point_labels`)."""
    from emocompress.measure.pareto import frontier

    colors = _colors(data)
    points = [(v.row["macro_auc"], v.row.get(cost_key)) for v in data.evaluated]
    measured = [(v, p) for v, p in zip(data.evaluated, points, strict=True) if None not in p]
    if not measured:
        _empty(
            ax,
            f"{TRADEOFFS[cost_key][1]} not measured" + (" (run bench)" if cost_key != "mb" else ""),
        )
        return []
    front = frontier(points)
    if front:
        quality, cost = zip(*front, strict=True)
        ax.step(cost, quality, where="post", color="black", lw=0.8, ls="--", zorder=1)
        ax.plot(cost, quality, "o", mfc="none", mec="black", ms=11, zorder=2)
    for v, (quality, cost) in measured:
        ax.plot(cost, quality, "o", color=colors[v.name], ms=6, zorder=3)
    ax.margins(x=0.15, y=0.2)  # room for the labels inside the axes
    ax.set_xlabel(TRADEOFFS[cost_key][0])
    qualities = [q for _, (q, _) in measured]
    span = max(qualities) - min(qualities)
    zoom = f"; axis spans only {span:.4f}" if 0 < span < ZOOMED_SPAN else ""
    ax.set_ylabel(f"macro AUC (report split{zoom})")
    ax.set_title(f"Macro AUC against {TRADEOFFS[cost_key][1]} (circled: Pareto frontier)")
    return [PointLabel(cost, quality, v.name) for v, (quality, cost) in measured]


def make_tradeoffs(data: ReportData):
    fig, axes = _figure(9, 3.8, ncols=2)
    pending = [(ax, _draw_tradeoff(ax, data, key)) for ax, key in zip(axes, TRADEOFFS, strict=True)]
    for ax, labels in pending:
        place_point_labels(ax, labels)
    return fig


def make_summary(data: ReportData):
    """Four panels in 7 x 5.6 inches (a two-column paper's full width), one shared legend
    of the variants' colours (with their micro AUC) below them."""
    from matplotlib.patches import Patch

    fig, axes = _figure(7.0, 5.8, ncols=2, nrows=2)
    trained = any(v.trained for v in data.variants)
    if trained:
        _draw_loss_panel(axes[0][0], data, BCE)
    else:
        _draw_prf(axes[0][0], data, "micro")
    _draw_roc(axes[0][1], data, "micro", legend=False)
    _draw_prf(axes[1][0], data, "macro")
    labels = _draw_tradeoff(axes[1][1], data, "mb")
    for ax, letter in zip(axes.ravel(), "abcd", strict=True):
        title = ax.get_title()
        ax.set_title("")
        ax.set_title(f"({letter}) {title}", fontsize=8, loc="left")
        if ax is not axes[0][0] and ax.get_legend() is not None:
            ax.get_legend().remove()
    colors = _colors(data)
    aucs = {v.name: auc_of(v.evaluated_quality, "micro") for v in data.evaluated}
    handles = [
        Patch(color=colors[v.name], label=f"{v.name} (µAUC {fmt(aucs.get(v.name))})")
        for v in data.variants
    ]
    fig.legend(handles=handles, loc="outside lower center", ncol=min(3, len(handles)))
    place_point_labels(axes[1][1], labels)
    return fig


def _loss_caption(data: ReportData) -> str:
    """What the loss figure draws, as drawn for this run."""
    per_epoch = any(
        e.tune_loss is not None
        for v in data.variants
        if v.trained and v.history
        for e in v.history.evaluations
    )
    tune = (
        "the tune-split BCE after each epoch (dashed, history.json)"
        if per_epoch
        else "the tune-split BCE of the checkpoint kept (star), recomputed from "
        "predictions/<tune>.npz (history.json records no per-epoch tune loss)"
    )
    gold = [v.name for v in data.variants if v.trained and loss_kind(v) == GOLD_LOSS]
    distilled = [v.name for v in data.variants if v.trained and loss_kind(v) == DISTILLATION]
    middle = (
        f"; next: the training loss of {', '.join(gold)} (focal, ASL, class-balanced weights or "
        "label smoothing: not on BCE's scale, so on its own axis)"
        if gold
        else ""
    )
    right = (
        f"; right: the distillation objective of {', '.join(distilled)} (a mix of soft and hard "
        "terms, on its own axis: compare its shape, not its level)"
        if distilled
        else ""
    )
    return (
        "Left: binary cross-entropy, the training loss of the fine-tuned variants per optimiser "
        f"step (faint) and its mean per epoch (solid), and {tune}{middle}{right}"
    )


def _summary_caption(data: ReportData) -> str:
    first = (
        "(a) binary cross-entropy during training: train loss of the fine-tuned variants "
        "(solid: mean per epoch, faint: per step) and tune BCE (dashed per epoch, or star: "
        "the kept checkpoint); distillation objectives are in the loss figure"
        if any(v.trained for v in data.variants)
        else "(a) micro precision / recall / F1 (no variant was trained)"
    )
    return (
        f"Combined figure for a two-column paper (7 x 5.8 in): {first}; (b) micro ROC with "
        "FPR <= 0.05 enlarged (AUCs in the legend below); (c) macro precision / recall / F1 "
        "under each variant's selected strategy; (d) macro AUC against size with the Pareto "
        "frontier (circled, dashed steps)"
    )


SPECS: tuple[FigureSpec, ...] = (
    FigureSpec("loss", _loss_caption, make_loss, "a trained variant"),
    FigureSpec(
        "tune_auc",
        "Macro AUC on the tune split after each epoch (history.json)",
        make_tune_auc,
        "a trained variant",
    ),
    FigureSpec(
        "roc",
        "ROC curves on the report split, micro and macro, with the region FPR <= 0.05 "
        "enlarged (inset); AUCs in the legends below the panels",
        make_roc,
    ),
    FigureSpec("prf", "Precision, recall and F1 under each variant's selected strategy", make_prf),
    FigureSpec(
        "per_emotion_f1",
        "F1 per emotion under each variant's selected strategy",
        make_per_emotion_f1,
    ),
    FigureSpec(
        "confusion",
        "Per-label TP and FN as shares of the label's positives (they sum to 1: the bar's "
        "green part is the recall) and FP in the same unit, so rare labels are as readable as "
        "frequent ones; n (positives) and TN per label on the right; counted from the report "
        "predictions at the selected thresholds",
        make_confusion,
    ),
    FigureSpec(
        "tradeoffs",
        "Macro AUC against size and against latency, with the Pareto frontier (circled, "
        "dashed steps: the best AUC reachable at each cost); the AUC axis says when it is "
        "zoomed to a narrow span",
        make_tradeoffs,
    ),
    FigureSpec("summary", _summary_caption, make_summary),
)

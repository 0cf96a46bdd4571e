"""What compression forgot: per-emotion deltas with intervals, and the examples that changed.

Hooker et al., "What Do Compressed Deep Neural Networks Forget?" (2019): a compressed model
can keep its headline figure while losing specific classes and a small set of examples.
For a variant against another (its parent, the reference) this module lists

- per emotion: the F1 and AUC difference (variant minus other) with its paired interval and
  the emotion's support in the report split, significant F1 drops first;
- per example: the report texts on which the two disagree most: decisions that flip at
  each one's selected thresholds, then the largest probability change, with gold labels.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from emocompress.artifacts.schema import Delta, ExampleChange, LabelDelta, PairComparison
from emocompress.format import fmt, fmt_delta
from emocompress.measure.bootstrap import Resampled, delta

EXAMPLES_KEPT = 20


def label_deltas(mine: Resampled, theirs: Resampled, confidence: float) -> list[LabelDelta]:
    """Per emotion, ``mine - theirs`` in F1 and AUC; significant F1 drops first.

    Within each group the largest F1 drop comes first; equal drops by name.
    """
    rows = [
        LabelDelta(
            label=name,
            support=int(mine.support[j]),
            f1=delta(mine.f1[:, j], theirs.f1[:, j], confidence),
            auc=delta(mine.auc[:, j], theirs.auc[:, j], confidence),
            f1_variant=float(mine.f1[0, j]),
            f1_against=float(theirs.f1[0, j]),
        )
        for j, name in enumerate(mine.label_names)
    ]
    return sorted(
        rows, key=lambda row: (not is_significant_drop(row), row.f1.point or 0.0, row.label)
    )


def is_significant_drop(row: LabelDelta) -> bool:
    """The emotion's F1 fell and the interval of the fall excludes 0."""
    return row.f1.significant and row.f1.high is not None and row.f1.high < 0


def example_changes(
    probs_after: np.ndarray,
    predicted_after: np.ndarray,
    probs_before: np.ndarray,
    predicted_before: np.ndarray,
    labels: np.ndarray,
    label_names: Sequence[str],
    texts: Sequence[str] | None = None,
    *,
    keep: int = EXAMPLES_KEPT,
) -> tuple[int, int, list[ExampleChange]]:
    """Flipped decisions, examples with a flip, and the ``keep`` examples that changed most.

    "before" is the other variant (parent or reference), "after" the variant. Examples are
    ordered by flipped decisions, then by the largest probability change, then by row.
    """
    after = np.asarray(predicted_after).astype(bool)
    before = np.asarray(predicted_before).astype(bool)
    gold = np.asarray(labels).astype(bool)
    p_after = np.asarray(probs_after, dtype=np.float64)
    p_before = np.asarray(probs_before, dtype=np.float64)
    flips = after != before
    flips_per_example = flips.sum(axis=1)
    change = np.abs(p_after - p_before)
    largest_label = change.argmax(axis=1)
    largest = change[np.arange(len(change)), largest_label]
    order = np.lexsort((np.arange(len(change)), -largest, -flips_per_example))[:keep]
    names = [str(name) for name in label_names]
    use_texts = texts is not None and len(texts) == len(change)
    chosen = []
    for i in order:
        j = int(largest_label[i])
        chosen.append(
            ExampleChange(
                index=int(i),
                text=str(texts[i]) if use_texts and texts is not None else None,
                gold=[names[k] for k in np.flatnonzero(gold[i])],
                gained=[names[k] for k in np.flatnonzero(after[i] & ~before[i])],
                lost=[names[k] for k in np.flatnonzero(before[i] & ~after[i])],
                largest_change=float(largest[i]),
                changed_label=names[j],
                probability_before=float(p_before[i, j]),
                probability_after=float(p_after[i, j]),
            )
        )
    return int(flips.sum()), int((flips_per_example > 0).sum()), chosen


# ----------------------------------------------------------------------- table cells
# the one text form of a comparison's rows: the CLI, the report and the TUI show these


DELTA_HEADERS = ("variant", "against", "Δ macro AUC", "Δ macro F1", "Δ micro F1", "F1 drops")
EMOTION_HEADERS = ("emotion", "support", "F1 before", "F1 after", "Δ F1", "Δ AUC")
EXAMPLE_HEADERS = ("#", "text", "gold", "lost", "gained", "largest change")


def fmt_paired(delta: Delta, spec: str = ".4f") -> str:
    """``-0.0123 [-0.0180, -0.0066] *``: * the interval excludes 0, ~ it contains 0."""
    return fmt_delta(delta.point, delta.low, delta.high, spec, significant=delta.significant)


def delta_cells(pair: PairComparison) -> list[str]:
    """One row of :data:`DELTA_HEADERS`."""
    return [
        pair.variant,
        f"{pair.against} ({', '.join(pair.roles)})",
        fmt_paired(pair.figures.macro_auc),
        fmt_paired(pair.figures.macro_f1),
        fmt_paired(pair.figures.micro_f1),
        ", ".join(pair.significant_f1_drops) or "none",
    ]


def emotion_cells(row: LabelDelta) -> list[str]:
    """One row of :data:`EMOTION_HEADERS`."""
    return [
        row.label,
        str(row.support),
        fmt(row.f1_against, ".3f"),
        fmt(row.f1_variant, ".3f"),
        fmt_paired(row.f1, ".3f"),
        fmt_paired(row.auc, ".3f"),
    ]


def example_cells(example: ExampleChange, text: str) -> list[str]:
    """One row of :data:`EXAMPLE_HEADERS`; ``text`` as the caller shows it."""
    return [
        str(example.index),
        text,
        ", ".join(example.gold) or "-",
        ", ".join(example.lost) or "-",
        ", ".join(example.gained) or "-",
        f"{example.changed_label} {example.probability_before:.2f} → "
        f"{example.probability_after:.2f}",
    ]

"""A deployable bundle: everything ``emocompress predict`` (or any ONNX Runtime user) needs.

```
BUNDLE/
  model.onnx (+ model.onnx.data)   the graph
  tokenizer.json                   truncation set to the max_length the model was measured at
  config.json                      the model's config (id2label)
  labels.json                      output columns, in order
  thresholds.json                  the strategy selected on the tune split and its parameters
  metrics.json, emocompress.json   the measured figures and lineage, as in the run directory
  MODEL_CARD.md                    lineage, figures, how to call it
```

Made from a finished ONNX variant (it must have metrics.json: the thresholds come from it).
Reading a bundle needs numpy, onnxruntime and tokenizers only. ``emocompress predict`` also
takes an ONNX variant directory of a run as it is: its thresholds are the strategy selected
in its own metrics.json, exactly what its bundle's thresholds.json would hold.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from emocompress.artifacts.atomic import atomic_dir, write_json, write_text
from emocompress.artifacts.jsonfile import read_json_object
from emocompress.artifacts.rundir import VariantDir
from emocompress.artifacts.schema import CONFIG_FILE, Lineage, Metrics
from emocompress.errors import UserError
from emocompress.format import fmt
from emocompress.models.ort import LABELS_FILE, MODEL_FILE, TOKENIZER_FILE, read_label_names

THRESHOLDS_FILE = "thresholds.json"
CARD_FILE = "MODEL_CARD.md"
COPIED = (
    MODEL_FILE,
    MODEL_FILE + ".data",
    TOKENIZER_FILE,
    CONFIG_FILE,
    Metrics.FILE,
    Lineage.FILE,
)


def selected_thresholds(metrics: Metrics) -> dict[str, Any]:
    """``{"strategy": name, "params": {...}, "tune_split": ...}`` from the variant's metrics."""
    quality = metrics.quality
    if quality is None or quality.selected_strategy not in quality.strategies:
        raise UserError(
            f"{Metrics.FILE} has no selected threshold strategy",
            expected="a variant measured by emocompress (run or eval)",
        )
    return {
        "strategy": quality.selected_strategy,
        "params": quality.selected.params,
        "tune_split": quality.tune_split,
    }


def lineage_chain(variant: Path) -> list[Lineage]:
    """The variant's lineage, then its parent's, ... while they are in the same run folder."""
    chain: list[Lineage] = []
    current: VariantDir | None = VariantDir(variant)
    while current is not None and current.has_lineage():
        lineage = current.load_lineage()
        chain.append(lineage)
        parent = lineage.parent
        current = VariantDir(current.path.parent / parent) if isinstance(parent, str) else None
        if len(chain) > 50:  # a cycle in hand-edited files
            break
    return chain


def write_bundle(variant: str | Path, out: str | Path) -> Path:
    """Write the bundle of the finished ONNX variant ``variant`` to ``out`` (atomically)."""
    variant, out = Path(variant), Path(out)
    source = VariantDir(variant)
    if not (variant / MODEL_FILE).is_file():
        raise UserError(f"{variant}: no {MODEL_FILE}", expected="an exported ONNX variant")
    if not source.has_metrics():
        raise UserError(
            f"{variant}: no {Metrics.FILE}",
            expected="a measured variant (thresholds come from it)",
        )
    if out.resolve() == variant.resolve():
        raise UserError(f"{out}: the bundle cannot be written over its own variant")
    metrics = source.load_metrics()
    thresholds = selected_thresholds(metrics)
    labels = read_label_names(variant)
    with atomic_dir(out) as tmp:
        for name in COPIED:
            if (variant / name).is_file():
                shutil.copyfile(variant / name, tmp / name)
        write_json(tmp / LABELS_FILE, labels)
        write_json(tmp / THRESHOLDS_FILE, thresholds)
        write_text(tmp / CARD_FILE, model_card(variant, metrics, thresholds, labels))
    return out


def model_card(
    variant: Path, metrics: Metrics, thresholds: dict[str, Any], labels: list[str]
) -> str:
    from emocompress.measure.summary import selected_f1

    chain = lineage_chain(variant)
    facts = chain[0].facts if chain else {}
    steps = [
        f"- `{c.name}`: {c.operation} from {c.parent or c.source}"
        + (f" ({c.facts.get('precision')})" if c.format == "onnx" else "")
        for c in chain
    ]
    quality, parity, size = metrics.quality, metrics.parity, metrics.size
    rows = [
        ("macro AUC", fmt(metrics.macro_auc, ".4f")),
        ("micro AUC", fmt(quality.auc.micro if quality else None, ".4f")),
        (f"macro F1 ({thresholds['strategy']} thresholds)", fmt(selected_f1(metrics), ".4f")),
        ("micro F1", fmt(selected_f1(metrics, "micro"), ".4f")),
        ("size on disk", fmt(size.megabytes if size else None, ".1f", " MB")),
        ("precision", fmt(facts.get("precision"))),
        (
            "parity (max abs logit diff)",
            f"{fmt(parity.max_abs_logit_diff if parity else None, '.2g')} against "
            f"{fmt(parity.reference if parity else None)} on "
            f"{fmt(parity.texts if parity else None)} texts",
        ),
    ]
    table = "\n".join(f"| {name} | {value} |" for name, value in rows)
    return f"""# {metrics.variant or variant.name}

Multi-label emotion classifier ({len(labels)} labels), ONNX, made by emocompress.

## Lineage

{chr(10).join(steps) or "- (no lineage recorded)"}

## Figures

Measured on the `{fmt(quality and quality.report_split)}` split \
({fmt(quality and quality.n_report)} texts); thresholds chosen on \
`{fmt(quality and quality.tune_split)}` ({fmt(quality and quality.n_tune)} texts).

| figure | value |
| --- | --- |
{table}

## How to call it

```sh
emocompress predict BUNDLE "I can't believe how kind you are"
emocompress predict BUNDLE --file texts.txt --json
```

```python
from emocompress.models.ort import OrtClassifier   # numpy, onnxruntime, tokenizers only
model = OrtClassifier("BUNDLE")
probs = model.probs(["I can't believe how kind you are"])   # (n, {len(labels)}) sigmoid
```

Labels are the columns of `labels.json`; a label is predicted when its probability reaches
the threshold in `thresholds.json` (strategy `{thresholds["strategy"]}`). Texts are cut at
{json.dumps(_read_tokenizer_length(variant))} tokens.
"""


def _read_tokenizer_length(variant: Path) -> int | None:
    try:
        data = read_json_object(variant / TOKENIZER_FILE)
    except UserError:
        return None
    return (data.get("truncation") or {}).get("max_length")


def thresholds_of(path: Path) -> dict[str, Any]:
    """The thresholds to predict with: a bundle's thresholds.json, else the strategy selected
    on the tune split in an ONNX variant's own metrics.json (the same figures export copies)."""
    if (path / THRESHOLDS_FILE).is_file():
        return read_json_object(path / THRESHOLDS_FILE)
    variant = VariantDir(path)
    if variant.has_metrics():
        return selected_thresholds(variant.load_metrics())
    raise UserError(
        f"{path}: no {THRESHOLDS_FILE} and no {Metrics.FILE}",
        expected="a bundle (emocompress export) or a measured ONNX variant directory",
    )


def predict_texts(bundle: str | Path, texts: list[str], *, batch_size: int = 64) -> list[dict]:
    """For each text: the predicted labels (under the thresholds of :func:`thresholds_of`)
    and every label's probability, most probable first. ``bundle`` is a bundle or an ONNX
    variant directory of a run."""
    from emocompress.measure.metrics import apply_thresholds
    from emocompress.models.ort import OrtClassifier

    bundle = Path(bundle)
    if not bundle.is_dir():
        raise UserError(f"{bundle}: no such directory", expected="a bundle or an ONNX variant")
    if not (bundle / MODEL_FILE).is_file():
        raise UserError(
            f"{bundle}: no {MODEL_FILE} (predict runs ONNX models with onnxruntime only)",
            expected=f"a bundle or an ONNX variant; make one: emocompress export {bundle} "
            "--out bundles/NAME",
        )
    thresholds = thresholds_of(bundle)
    model = OrtClassifier(bundle)
    probs = model.probs(texts, batch_size=batch_size)
    chosen = apply_thresholds(probs, thresholds, model.label_names)
    results = []
    for text, row, picked in zip(texts, probs, chosen, strict=True):
        order = sorted(range(len(row)), key=lambda j: -row[j])
        results.append(
            {
                "text": text,
                "labels": [model.label_names[j] for j in order if picked[j]],
                "probs": {model.label_names[j]: round(float(row[j]), 6) for j in order},
            }
        )
    return results

"""A deployable bundle: everything ``emocompress predict`` (or any ONNX Runtime user) needs.

```
BUNDLE/
  model.onnx (+ model.onnx.data)   the graph
  tokenizer.json                   truncation set to the max_length the model was measured at
  config.json                      the model's config (id2label)
  labels.json                      output columns, in order
  thresholds.json                  the strategy selected on the tune split and its parameters
  metrics.json, emocompress.json   the measured figures and lineage, as in the run directory
  README.md                        the model card (Hub front matter with model-index; lineage,
                                   figures, limits, how to load it: emocompress.deploy.model_card)
```

Made from a finished ONNX variant (it must have metrics.json: the thresholds come from it).
Reading a bundle needs numpy, onnxruntime and tokenizers only.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from emocompress.artifacts.atomic import atomic_dir, write_json, write_text
from emocompress.artifacts.jsonfile import read_json_object
from emocompress.artifacts.rundir import VariantDir
from emocompress.artifacts.schema import CONFIG_FILE, Lineage, Metrics
from emocompress.deploy.model_card import CARD_FILE, model_card
from emocompress.errors import UserError
from emocompress.models.ort import LABELS_FILE, MODEL_FILE, TOKENIZER_FILE, read_label_names

THRESHOLDS_FILE = "thresholds.json"
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
        write_text(tmp / CARD_FILE, model_card(variant, bundle=True, labels=labels))
    return out


def predict_texts(bundle: str | Path, texts: list[str], *, batch_size: int = 64) -> list[dict]:
    """For each text: the predicted labels (under the bundle's thresholds) and every
    label's probability, most probable first."""
    from emocompress.measure.metrics import apply_thresholds
    from emocompress.models.ort import OrtClassifier

    bundle = Path(bundle)
    if not (bundle / THRESHOLDS_FILE).is_file():
        raise UserError(f"{bundle}: no {THRESHOLDS_FILE}", expected="a bundle (emocompress export)")
    model = OrtClassifier(bundle)
    probs = model.probs(texts, batch_size=batch_size)
    chosen = apply_thresholds(probs, read_json_object(bundle / THRESHOLDS_FILE), model.label_names)
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

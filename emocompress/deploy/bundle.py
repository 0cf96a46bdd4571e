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
Reading a bundle needs numpy, onnxruntime and tokenizers only.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from emocompress.artifacts.atomic import atomic_dir, write_json, write_text
from emocompress.errors import UserError
from emocompress.models.ort import LABELS_FILE, MODEL_FILE, TOKENIZER_FILE, read_label_names

THRESHOLDS_FILE = "thresholds.json"
CARD_FILE = "MODEL_CARD.md"
COPIED = (
    MODEL_FILE,
    MODEL_FILE + ".data",
    TOKENIZER_FILE,
    "config.json",
    "metrics.json",
    "emocompress.json",
)


def _read(path: Path) -> dict[str, Any]:
    from emocompress.artifacts.rundir import read_json

    return read_json(path)


def selected_thresholds(metrics: dict[str, Any]) -> dict[str, Any]:
    """``{"strategy": name, "params": {...}, "tune_split": ...}`` from metrics.json."""
    quality = metrics.get("quality") or {}
    strategy = quality.get("selected_strategy")
    params = ((quality.get("strategies") or {}).get(strategy) or {}).get("params")
    if not strategy or params is None:
        raise UserError(
            "metrics.json has no selected threshold strategy",
            expected="a variant measured by emocompress (run or eval)",
        )
    return {"strategy": strategy, "params": params, "tune_split": quality.get("tune_split")}


def lineage_chain(variant: Path) -> list[dict[str, Any]]:
    """The variant's lineage, then its parent's, ... while they are in the same run folder."""
    chain: list[dict[str, Any]] = []
    current: Path | None = variant
    while current is not None and (current / "emocompress.json").is_file():
        lineage = _read(current / "emocompress.json")
        chain.append(lineage)
        parent = lineage.get("parent")
        current = current.parent / parent if isinstance(parent, str) else None
        if len(chain) > 50:  # a cycle in hand-edited files
            break
    return chain


def write_bundle(variant: str | Path, out: str | Path) -> Path:
    """Write the bundle of the finished ONNX variant ``variant`` to ``out`` (atomically)."""
    variant, out = Path(variant), Path(out)
    if not (variant / MODEL_FILE).is_file():
        raise UserError(f"{variant}: no {MODEL_FILE}", expected="an exported ONNX variant")
    if not (variant / "metrics.json").is_file():
        raise UserError(
            f"{variant}: no metrics.json", expected="a measured variant (thresholds come from it)"
        )
    if out.resolve() == variant.resolve():
        raise UserError(f"{out}: the bundle cannot be written over its own variant")
    metrics = _read(variant / "metrics.json")
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


def _figure(value: Any, spec: str = ".4f") -> str:
    return "n/a" if value is None else format(value, spec)


def model_card(
    variant: Path, metrics: dict[str, Any], thresholds: dict[str, Any], labels: list[str]
) -> str:
    from emocompress.measure.summary import dig, selected_f1

    chain = lineage_chain(variant)
    facts = (chain[0].get("facts") or {}) if chain else {}
    steps = [
        f"- `{c.get('name')}`: {c.get('operation')} from "
        f"{c.get('parent') or c.get('source')}"
        + (f" ({(c.get('facts') or {}).get('precision')})" if c.get("format") == "onnx" else "")
        for c in chain
    ]
    quality = metrics.get("quality") or {}
    parity = metrics.get("parity") or facts.get("parity") or {}
    size_mb = dig(metrics, "size", "bytes_on_disk")
    rows = [
        ("macro AUC", _figure(dig(quality, "auc", "macro"))),
        ("micro AUC", _figure(dig(quality, "auc", "micro"))),
        (f"macro F1 ({thresholds['strategy']} thresholds)", _figure(selected_f1(metrics))),
        ("micro F1", _figure(selected_f1(metrics, "micro"))),
        ("size on disk", "n/a" if size_mb is None else f"{size_mb / 1e6:.1f} MB"),
        ("precision", str(facts.get("precision", "n/a"))),
        (
            "parity (max abs logit diff)",
            f"{_figure(parity.get('max_abs_logit_diff'), '.2g')} against "
            f"{parity.get('reference', 'n/a')} on {parity.get('texts', 'n/a')} texts",
        ),
    ]
    table = "\n".join(f"| {name} | {value} |" for name, value in rows)
    return f"""# {metrics.get("variant") or variant.name}

Multi-label emotion classifier ({len(labels)} labels), ONNX, made by emocompress.

## Lineage

{chr(10).join(steps) or "- (no lineage recorded)"}

## Figures

Measured on the `{quality.get("report_split")}` split ({quality.get("n_report")} texts);
thresholds chosen on `{quality.get("tune_split")}` ({quality.get("n_tune")} texts).

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
        data = json.loads((variant / TOKENIZER_FILE).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return (data.get("truncation") or {}).get("max_length")


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
    chosen = apply_thresholds(probs, _read(bundle / THRESHOLDS_FILE), model.label_names)
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

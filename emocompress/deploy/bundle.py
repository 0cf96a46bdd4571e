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
  manifest.json                    sha256 and size of the files above that predict reads
```

Made from a finished ONNX variant (it must have metrics.json: the thresholds come from it).
Reading a bundle needs numpy, onnxruntime and tokenizers only. ``predict`` checks the
manifest first (a swapped or edited model.onnx, tokenizer.json, labels.json or
thresholds.json is refused, naming the file), then the graph's output width against
labels.json, and refuses non-finite outputs. ``emocompress predict`` also takes an ONNX
variant directory of a run as it is: its thresholds are the strategy selected in its own
metrics.json, exactly what its bundle's thresholds.json would hold.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from emocompress.artifacts.atomic import atomic_dir, write_json, write_text
from emocompress.artifacts.digest import sha256_of
from emocompress.artifacts.jsonfile import read_json_object
from emocompress.artifacts.rundir import VariantDir
from emocompress.artifacts.schema import CONFIG_FILE, Lineage, Metrics
from emocompress.deploy.model_card import CARD_FILE, model_card
from emocompress.errors import UserError
from emocompress.models.ort import LABELS_FILE, MODEL_FILE, TOKENIZER_FILE, read_label_names

THRESHOLDS_FILE = "thresholds.json"
MANIFEST_FILE = "manifest.json"
MANIFEST_VERSION = 1
# what predict reads: the files whose checksums the manifest holds
CHECKED = (MODEL_FILE, MODEL_FILE + ".data", TOKENIZER_FILE, LABELS_FILE, THRESHOLDS_FILE)
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


def is_bundle(path: Path) -> bool:
    """Whether ``path`` is a bundle emocompress wrote (so ``export`` may replace it)."""
    return (path / MANIFEST_FILE).is_file() or (
        (path / THRESHOLDS_FILE).is_file() and (path / MODEL_FILE).is_file()
    )


def write_manifest(bundle: Path) -> None:
    files = {
        name: {"sha256": sha256_of(bundle / name), "bytes": (bundle / name).stat().st_size}
        for name in CHECKED
        if (bundle / name).is_file()
    }
    write_json(bundle / MANIFEST_FILE, {"manifest_version": MANIFEST_VERSION, "files": files})


def verify_bundle(bundle: Path) -> bool:
    """Check the bundle's files against its manifest; False when it has none (an older
    bundle); a UserError naming the first file that is missing or changed."""
    bundle = Path(bundle)
    if not (bundle / MANIFEST_FILE).is_file():
        return False
    manifest = read_json_object(bundle / MANIFEST_FILE)
    files = manifest.get("files")
    if not isinstance(files, dict) or not all(
        isinstance(entry, dict) and isinstance(entry.get("sha256"), str) for entry in files.values()
    ):
        raise UserError(
            f"{bundle / MANIFEST_FILE}: no files with sha256",
            expected="a manifest written by emocompress export",
        )
    for name in CHECKED:
        path = bundle / name
        if name not in files:
            if path.is_file():
                raise UserError(f"{path}: not in the bundle's {MANIFEST_FILE}")
            continue
        if not path.is_file():
            raise UserError(f"{path}: missing (the bundle's {MANIFEST_FILE} lists it)")
        if sha256_of(path) != files[name]["sha256"]:
            raise UserError(
                f"{path}: its sha256 differs from the bundle's {MANIFEST_FILE}: the file was "
                "changed or replaced after export",
                expected="the bundle as exported (export it again)",
            )
    return True


def write_bundle(
    variant: str | Path,
    out: str | Path,
    *,
    overwrite: bool = False,
    inputs: tuple[str | Path, ...] = (),
) -> Path:
    """Write the bundle of the finished ONNX variant ``variant`` to ``out`` (atomically).

    ``out`` follows the output rule (docs/safety.md): never on or around ``variant`` or
    ``inputs``; an existing folder that is not a bundle only with ``overwrite``.
    """
    from emocompress.artifacts.outputs import check_output

    variant, out = Path(variant), Path(out)
    check_output(
        out, what="bundle", inputs=[variant, *inputs], overwrite=overwrite, is_own=is_bundle
    )
    source = VariantDir(variant)
    if not (variant / MODEL_FILE).is_file():
        raise UserError(f"{variant}: no {MODEL_FILE}", expected="an exported ONNX variant")
    if not source.has_metrics():
        raise UserError(
            f"{variant}: no {Metrics.FILE}",
            expected="a measured variant (thresholds come from it)",
        )
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
        write_manifest(tmp)
    return out


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
    import numpy as np

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
    verify_bundle(bundle)
    model = OrtClassifier(bundle)
    _check_output_width(model, bundle)
    try:
        probs = model.probs(texts, batch_size=batch_size)
    except ValueError as exc:  # a graph whose output does not have one column per label
        raise UserError(
            f"{bundle / MODEL_FILE}: its output does not fit {LABELS_FILE} "
            f"({len(model.label_names)} labels): {_first_line(exc)}"
        ) from exc
    bad = ~np.isfinite(probs).all(axis=1)
    if bad.any():
        rows = ", ".join(str(i + 1) for i in np.flatnonzero(bad)[:5])
        raise UserError(
            f"{bundle / MODEL_FILE}: non-finite probabilities (NaN or inf) for "
            f"{int(bad.sum())} of {len(texts)} texts (text {rows})",
            expected="a model that gives finite outputs (re-export it)",
        )
    thresholds = thresholds_of(bundle)
    try:
        chosen = apply_thresholds(probs, thresholds, model.label_names)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:  # a hand-edited file
        raise UserError(
            f"{bundle / THRESHOLDS_FILE}: not thresholds for this bundle's labels "
            f"({type(exc).__name__}: {_first_line(exc)})",
            expected="the thresholds.json emocompress export wrote",
        ) from exc
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


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def _check_output_width(model: Any, bundle: Path) -> None:
    """The graph's declared output width against labels.json, before any text runs."""
    outputs = model.session.get_outputs()
    shape = outputs[0].shape if outputs else None
    width = shape[-1] if shape else None
    if len(shape or ()) != 2 or (isinstance(width, int) and width != len(model.label_names)):
        raise UserError(
            f"{bundle / MODEL_FILE}: its output has shape {shape}, "
            f"but {LABELS_FILE} names {len(model.label_names)} labels",
            expected=f"an output of shape (batch, {len(model.label_names)})",
        )

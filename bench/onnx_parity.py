"""Must-show 2 of the ONNX issue: parity of fp32 and int8 exports against PyTorch, and the
exported graph run at batch 1, 7, 32 and lengths 5, 128.

For each finished PyTorch variant given (default: runs/quickstart's teacher and student-3l,
and /work/runs/goemotions-minilm's student-3l once its run.json says that step is done):
export to a scratch folder (the run directory is only read), check parity on the run's
tune-split texts, quantise (int8 dynamic per-channel, int8 static), and measure macro AUC on
the run's report split. Prints a Markdown table; --json FILE writes every figure.

  python bench/onnx_parity.py [VARIANT_DIR ...] [--texts 64] [--json bench/logs/onnx_parity.json]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

DEFAULTS = ["runs/quickstart/variants/teacher", "runs/quickstart/variants/student-3l"]
GOEMOTIONS = Path("/work/runs/goemotions-minilm")


def default_variants() -> list[Path]:
    found = [Path(p) for p in DEFAULTS]
    state = GOEMOTIONS / "run.json"
    if state.is_file():
        step = json.loads(state.read_text()).get("steps", {}).get("student-3l", {})
        if step.get("status") == "done":
            found.append(GOEMOTIONS / "variants" / "student-3l")
    return found


def measure(variant: Path, scratch: Path, count: int) -> dict:
    from emocompress.measure.metrics import auc_scores
    from emocompress.models.ort import predict_probs
    from emocompress.ops.onnx.export import export_classifier, parity, reference_logits_of
    from emocompress.ops.onnx.quantize import quantize_variant
    from emocompress.recipe.loading import load_recipe
    from emocompress.run.runner import data_context

    data = data_context(load_recipe(variant.parent.parent / "recipe.yaml"))
    tune, report = data.split("tune"), data.split("report")
    texts = list(tune.texts[:count])
    reference = reference_logits_of(variant, texts, data.max_length)
    pytorch_auc = json.loads((variant / "metrics.json").read_text())["quality"]["auc"]["macro"]
    rows = {"variant": str(variant), "pytorch_macro_auc": pytorch_auc, "graphs": {}}
    fp32 = scratch / "fp32"
    started = time.perf_counter()
    facts = export_classifier(variant, fp32, max_length=data.max_length)
    rows["export_seconds"] = round(time.perf_counter() - started, 1)
    rows["shapes_checked"] = facts["shapes_checked"]
    rows["fusions"] = facts["fusions"]
    graphs = {"fp32": (fp32, 1e-4)}
    for precision in ("int8-dynamic", "int8-static"):
        out = scratch / precision
        quantize_variant(
            fp32,
            out,
            precision,
            calibration_texts=list(tune.texts[:256]),
            per_channel=True,
            max_length=data.max_length,
        )
        graphs[precision] = (out, None)
    for precision, (path, tolerance) in graphs.items():
        result = parity(
            path,
            variant,
            texts,
            tolerance=tolerance,
            max_length=data.max_length,
            reference_logits=reference,
            reference_name="pytorch",
        )
        probs, _ = predict_probs(path, report.texts, max_length=data.max_length)
        auc = auc_scores(probs, report.labels, report.label_names)["macro"]
        size = sum(f.stat().st_size for f in path.glob("model.onnx*"))
        rows["graphs"][precision] = {
            **result,
            "macro_auc": auc,
            "auc_drop_vs_pytorch": pytorch_auc - auc,
            "mb": size / 1e6,
        }
    rows["splits"] = {"tune": tune.name, "report": report.name, "n_report": len(report)}
    return rows


def markdown(all_rows: list[dict]) -> str:
    lines = [
        "| variant | graph | max abs logit diff vs PyTorch | texts | tolerance | macro AUC"
        " (PyTorch) | AUC drop | MB |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for rows in all_rows:
        name = "/".join(Path(rows["variant"]).parts[-3::2])
        for precision, g in rows["graphs"].items():
            lines.append(
                f"| {name} | {precision} | {g['max_abs_logit_diff']:.2e} | {g['texts']} | "
                f"{g['tolerance'] if g['tolerance'] is not None else 'recorded'} | "
                f"{g['macro_auc']:.4f} ({rows['pytorch_macro_auc']:.4f}) | "
                f"{g['auc_drop_vs_pytorch']:+.4f} | {g['mb']:.1f} |"
            )
    lines += [
        "",
        "| variant | batch | length | max abs logit diff (fp32 graph vs PyTorch) |",
        "| --- | --- | --- | --- |",
    ]
    for rows in all_rows:
        name = "/".join(Path(rows["variant"]).parts[-3::2])
        for s in rows["shapes_checked"]:
            lines.append(
                f"| {name} | {s['batch']} | {s['length']} | {s['max_abs_logit_diff']:.2e} |"
            )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variants", nargs="*", type=Path)
    parser.add_argument("--texts", type=int, default=64)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    all_rows = []
    for variant in args.variants or default_variants():
        with tempfile.TemporaryDirectory() as scratch:
            print(f"measuring {variant} ...", file=sys.stderr, flush=True)
            all_rows.append(measure(variant, Path(scratch), args.texts))
    print(markdown(all_rows))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(all_rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

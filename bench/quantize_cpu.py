"""int8 weight types on this CPU: s8 against u8 weights, and the kernel's own error.

1. Kernel probe: ORT MatMulInteger of random full-range u8 activations with s8 and with u8
   weights, against the exact int32 product (numpy). On x86 without VNNI the u8s8 kernel
   (vpmaddubsw) saturates in int16; with VNNI both are exact.
2. A real model: quantise the fp32 ONNX variant both ways (dynamic int8) and measure the dev
   macro AUC and the largest |logit difference| from fp32 on the report split.

  python bench/quantize_cpu.py runs/goemotions-fast/variants/student-2l-onnx \
      --data ../shared/data/goemotions [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np


def kernel_probe(weight_type: str, size: int = 256, seed: int = 0) -> float:
    """Largest relative error of ORT's MatMulInteger against the exact product."""
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper

    rng = np.random.default_rng(seed)
    a = rng.integers(0, 256, (size, size), dtype=np.uint8)
    if weight_type == "s8":
        b = rng.integers(-128, 128, (size, size), dtype=np.int8)
        b_type = TensorProto.INT8
    else:
        b = rng.integers(0, 256, (size, size), dtype=np.uint8)
        b_type = TensorProto.UINT8
    graph = helper.make_graph(
        [helper.make_node("MatMulInteger", ["a", "b"], ["y"])],
        "probe",
        [
            helper.make_tensor_value_info("a", TensorProto.UINT8, [size, size]),
            helper.make_tensor_value_info("b", b_type, [size, size]),
        ],
        [helper.make_tensor_value_info("y", TensorProto.INT32, [size, size])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    got = session.run(None, {"a": a, "b": b})[0].astype(np.int64)
    exact = a.astype(np.int64) @ b.astype(np.int64)
    del onnx
    return float(np.abs(got - exact).max() / max(1, np.abs(exact).max()))


def model_figures(fp32: Path, data: str, threads: int) -> dict[str, dict[str, float]]:
    from emocompress.data.readers import load_splits
    from emocompress.measure.metrics import auc_scores
    from emocompress.models.ort import OrtClassifier, sigmoid
    from emocompress.ops.onnx.quantize import quantize_variant

    dev = load_splits(data)["dev"]
    reference = OrtClassifier(fp32, threads=threads).logits(dev.texts, max_length=64)
    figures = {
        "fp32": {
            "macro_auc": auc_scores(sigmoid(reference), dev.labels, dev.label_names)["macro"],
            "max_logit_diff": 0.0,
        }
    }
    with tempfile.TemporaryDirectory() as scratch:
        for weight_type in ("s8", "u8"):
            out = Path(scratch) / weight_type
            quantize_variant(fp32, out, "int8-dynamic", per_channel=True, weight_type=weight_type)
            logits = OrtClassifier(out, threads=threads).logits(dev.texts, max_length=64)
            figures[weight_type] = {
                "macro_auc": auc_scores(sigmoid(logits), dev.labels, dev.label_names)["macro"],
                "max_logit_diff": float(np.abs(logits - reference).max()),
            }
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("fp32", type=Path, help="an fp32 ONNX variant directory")
    parser.add_argument("--data", required=True)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    from emocompress.artifacts.cpu import cpu_flags
    from emocompress.ops.onnx.quantize import choose_weight_type

    result = {
        "cpu_flags": list(cpu_flags()),
        "auto_choice": choose_weight_type(None, cpu_flags()),
        "kernel_relative_error": {w: kernel_probe(w) for w in ("s8", "u8")},
        "model": model_figures(args.fp32, args.data, args.threads),
    }
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

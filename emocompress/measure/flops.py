"""How much work a text costs a model, and how much work this machine can do.

FLOPs count the matrix products only (a multiply-add is 2 FLOPs): the projections, the
attention scores and their weighted sum, the feed-forward network and the head. Softmax,
layer norms, activations and embedding look-ups are left out: they are small, and the
machine's limit figure (:func:`matmul_limit`) is a matrix-product rate, so both sides of
"share of the limit" count the same kind of work. :func:`flops_per_text` counts useful work
(each text at its own length n); the bench also counts what a runtime really computes: a
text padded into a batch of width w costs :func:`text_flops` at length w.

Per encoder layer and text of n tokens (hidden h, attention width a = h, FFN width i)::

    2n(3ha)  Q, K, V projections      2n(ah)  attention output projection
    2n²a     scores Q·Kᵀ              2n²a    scores · V
    2n(2hi)  feed-forward in and out

and once per text: 2h² for a [CLS] pooler (standard heads; mean-pooled heads have none)
plus 2hL for the classifier over L labels.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from emocompress.models.families import FAMILIES

POOLED_MODEL_TYPE = "emocompress-pooled"  # emocompress.models.pooled.MODEL_TYPE, without torch
_LAYER_KEYS = ("num_hidden_layers", "n_layers", "num_layers")
_HIDDEN_KEYS = ("hidden_size", "dim", "d_model")
_FFN_KEYS = ("intermediate_size", "hidden_dim", "ffn_dim", "encoder_ffn_dim")
# shape-plan module names that set a layer's attention width (query) or FFN width: each
# family's query and FFN-input projections (emocompress.models.families)
_ATTENTION_QUERY = tuple(dict.fromkeys(f.query for f in FAMILIES if f.query))
_FFN_INPUT = tuple(dict.fromkeys(f.intermediate for f in FAMILIES if f.intermediate))
_PLANNED = re.compile(
    r"layers?\.(\d+)\.(" + "|".join(map(re.escape, _ATTENTION_QUERY + _FFN_INPUT)) + r")$"
)


@dataclass(frozen=True)
class EncoderShape:
    """The sizes that decide a classifier's FLOPs."""

    layers: int
    hidden: int
    intermediate: int
    labels: int
    pooler: bool  # a hidden x hidden dense on the [CLS] state before the classifier
    # per-layer widths where a shape plan (pruned heads or FFN) overrides the config's
    attention_widths: tuple[int, ...] | None = None
    intermediates: tuple[int, ...] | None = None

    def with_plan(self, plan: Mapping[str, Any] | None) -> EncoderShape:
        """The same shape with each layer's attention and FFN width from a shape plan."""
        if not plan:
            return self
        attention = [self.hidden] * self.layers
        ffn = [self.intermediate] * self.layers
        for name, spec in (plan.get("modules") or {}).items():
            match = _PLANNED.search(name)
            if match and int(match.group(1)) < self.layers and "out_features" in spec:
                widths = attention if match.group(2) in _ATTENTION_QUERY else ffn
                widths[int(match.group(1))] = int(spec["out_features"])
        return replace(self, attention_widths=tuple(attention), intermediates=tuple(ffn))

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> EncoderShape:
        """From a config.json dict (standard classifier or emocompress mean-pooled one).

        Raises ValueError naming the missing key for an architecture it cannot read.
        """
        pooled = config.get("model_type") == POOLED_MODEL_TYPE
        encoder = (config.get("backbone") or {}) if pooled else config
        labels = config.get("num_labels") or len(config.get("id2label") or {})
        if not labels:
            raise ValueError("config.json names no labels (id2label)")
        return cls(
            layers=_first(encoder, _LAYER_KEYS),
            hidden=_first(encoder, _HIDDEN_KEYS),
            intermediate=_first(encoder, _FFN_KEYS),
            labels=int(labels),
            pooler=not pooled,
        )


def _first(config: Mapping[str, Any], keys: Sequence[str]) -> int:
    for key in keys:
        if isinstance(config.get(key), int):
            return int(config[key])
    raise ValueError(f"config.json has none of {', '.join(keys)}")


def text_flops(shape: EncoderShape, tokens: int) -> int:
    """Matrix-product FLOPs of one text of ``tokens`` tokens (formula in the module doc;
    a pruned layer uses its own attention width a and FFN width i)."""
    n, h = tokens, shape.hidden
    attention = shape.attention_widths or (h,) * shape.layers
    ffn = shape.intermediates or (shape.intermediate,) * shape.layers
    layers = sum(
        2 * n * (3 * h * a + a * h + 2 * h * i) + 4 * n * n * a
        for a, i in zip(attention, ffn, strict=True)
    )
    head = (2 * h * h if shape.pooler else 0) + 2 * h * shape.labels
    return layers + head


def flops_per_text(shape: EncoderShape, token_lengths: Sequence[int]) -> float:
    """Mean FLOPs per text over texts of these token lengths."""
    if not token_lengths:
        raise ValueError("no token lengths to average over")
    return sum(text_flops(shape, int(n)) for n in token_lengths) / len(token_lengths)


# ----------------------------------------------------------------------- the machine's limit


def matmul_limit(threads: int, *, size: int = 1024, seconds: float = 0.5) -> dict[str, Any]:
    """Measured peak rates of a square ``size`` matrix product on ``threads`` CPU threads,
    one per runtime's kernels, so each variant is compared with what its own runtime can do.

    ``fp32_gflops``: torch (the kernels PyTorch eager uses); ``onnx_fp32_gflops``: ONNX
    Runtime's fp32 MatMul (fp32 graphs); ``int8_gops``: ONNX Runtime's MatMulInteger (uint8 x
    int8 -> int32, the kernel family of dynamically quantised models); the ONNX figures are
    None when onnxruntime is missing. Each is the best of repeated runs over ``seconds``.
    """
    import torch

    torch.set_num_threads(threads)
    ops = 2 * size**3
    a, b = torch.randn(size, size), torch.randn(size, size)
    fp32 = ops / _best_seconds(lambda: torch.mm(a, b), seconds) / 1e9
    rates = {}
    for name, int8 in (("int8_gops", True), ("onnx_fp32_gflops", False)):
        run = _ort_matmul(size, threads, int8=int8)
        rates[name] = ops / _best_seconds(run, seconds) / 1e9 if run else None
    return {"size": size, "threads": threads, "fp32_gflops": fp32, **rates}


def _best_seconds(work: Callable[[], Any], budget: float, *, least: int = 3) -> float:
    for _ in range(2):  # warm-up: first calls allocate and pick kernels
        work()
    best = float("inf")
    started = time.perf_counter()
    runs = 0
    while runs < least or time.perf_counter() - started < budget:
        begin = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - begin)
        runs += 1
    return best


def _ort_matmul(size: int, threads: int, *, int8: bool) -> Callable[[], Any] | None:
    """A callable running one ONNX Runtime product of two ``size`` squares: MatMulInteger
    (uint8 x int8) when ``int8``, else fp32 MatMul; None without onnxruntime."""
    return ort_matmul((size, size, size), threads, int8=int8)


def ort_matmul(
    shape: tuple[int, int, int], threads: int, *, int8: bool
) -> Callable[[], Any] | None:
    """A callable running one ONNX Runtime product (M x K) @ (K x N), ``shape`` = (M, K, N):
    MatMulInteger (uint8 x int8) when ``int8``, else fp32 MatMul; None without onnxruntime.
    The weight is an initializer, as in an exported model (so ORT may pre-pack it)."""
    try:
        import numpy as np
        import onnxruntime as ort
        from onnx import TensorProto, helper, numpy_helper
    except ImportError:
        return None
    rows, inner, cols = shape
    rng = np.random.default_rng(0)
    if int8:
        weight = rng.integers(-127, 128, size=(inner, cols), dtype=np.int8)
        feed = {"A": rng.integers(0, 256, size=(rows, inner), dtype=np.uint8)}
        op, types = "MatMulInteger", (TensorProto.UINT8, TensorProto.INT32)
    else:
        weight = rng.standard_normal((inner, cols), dtype=np.float32)
        feed = {"A": rng.standard_normal((rows, inner), dtype=np.float32)}
        op, types = "MatMul", (TensorProto.FLOAT, TensorProto.FLOAT)
    graph = helper.make_graph(
        [helper.make_node(op, ["A", "B"], ["Y"])],
        "matmul_limit",
        [helper.make_tensor_value_info("A", types[0], [rows, inner])],
        [helper.make_tensor_value_info("Y", types[1], [rows, cols])],
        initializer=[numpy_helper.from_array(weight, "B")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(
        model.SerializeToString(),
        options,
        providers=["CPUExecutionProvider"],
    )
    return lambda: session.run(None, feed)


def shape_rate(
    shape: tuple[int, int, int], threads: int, *, int8: bool, seconds: float = 0.3
) -> float | None:
    """Best GOP/s of one ONNX Runtime product of ``shape`` (M, K, N) alone: what the kernel
    reaches at a model's own sizes, against the square-matrix limit."""
    run = ort_matmul(shape, threads, int8=int8)
    if run is None:
        return None
    rows, inner, cols = shape
    return 2 * rows * inner * cols / _best_seconds(run, seconds) / 1e9

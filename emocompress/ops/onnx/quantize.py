"""Lower-precision copies of an exported fp32 graph: int8 (dynamic, static) and fp16.

- ``int8-dynamic``: weights int8 ahead of time, activations quantised per batch at run
  time (``onnxruntime.quantization.quantize_dynamic``); per-channel weights optional. A
  text's result would depend on its batch, so such graphs are scored one text at a time
  (:func:`emocompress.models.ort.quantizes_per_batch`).
- ``int8-static``: weights and activations int8, activation ranges calibrated (MinMax) on
  texts from the tune split (QDQ format); per-channel optional.
- ``fp16``: every float tensor fp16, inputs/outputs kept as they are; meant for GPUs (ONNX
  Runtime on CPU runs many fp16 ops by casting back, so it is rarely faster there).

Whether int8 is faster is a property of the CPU: measure with ``bench`` before recommending.

The int8 weight type follows the CPU (:func:`choose_weight_type`): ORT's x86 u8s8 kernel
without VNNI (AVX2, AVX-512 without VNNI) multiplies with vpmaddubsw, which adds pairs of
u8*s8 products into int16 and saturates for full-range values; its u8u8 kernel does not. With
VNNI (or AMX, or ARM's sdot) the u8s8 dot product is exact. ``weight_type: auto`` therefore
takes s8 weights where the CPU has VNNI and u8 weights where it has not, and records the
choice, the reason and the flags in the variant's facts (docs/onnx.md).
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from emocompress.errors import UserError
from emocompress.models.ort import MODEL_FILE, OrtClassifier
from emocompress.progress import Reporter

PRECISIONS = ("int8-dynamic", "int8-static", "fp16")
# fused ops (com.microsoft domain) defeat ONNX shape inference; their outputs are float
FUSED_GRAPH_OPTIONS = {"DefaultTensorType": 1}  # onnx.TensorProto.FLOAT
SIDE_FILES = ("config.json", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json")


def copy_side_files(src: Path, dst: Path) -> None:
    for name in SIDE_FILES:
        if (src / name).is_file():
            shutil.copyfile(src / name, dst / name)


def _external(src: Path) -> bool:
    return (src / (MODEL_FILE + ".data")).is_file()


WEIGHT_TYPES = ("auto", "s8", "u8")


def choose_weight_type(requested: str | None, flags: Sequence[str]) -> tuple[str, str]:
    """The int8 weight type (s8 or u8) for these CPU flags, and why (one line for the facts)."""
    from emocompress.artifacts.cpu import has_vnni

    if requested in ("s8", "u8"):
        return requested, f"{requested} asked for in the settings"
    if has_vnni(tuple(flags)):
        return "s8", "the CPU has int8 dot products (VNNI/AMX/sdot): u8s8 is exact and fastest"
    if "avx2" in flags or "avx512f" in flags:
        return "u8", (
            "x86 without VNNI: ORT's u8s8 kernel (vpmaddubsw) can saturate in int16, u8u8 cannot"
        )
    return "s8", "no x86 int8 kernel flags read: ORT's default (s8 weights)"


def quant_type(weight_type: str) -> Any:
    """ONNX Runtime's QuantType for ``s8`` or ``u8`` weights."""
    from onnxruntime.quantization import QuantType

    return QuantType.QUInt8 if weight_type == "u8" else QuantType.QInt8


def quantize_dynamic_int8(
    src: Path, dst: Path, *, per_channel: bool, weight_type: str = "s8"
) -> None:
    from onnxruntime.quantization import quantize_dynamic

    quantize_dynamic(
        src / MODEL_FILE,
        dst / MODEL_FILE,
        per_channel=per_channel,
        weight_type=quant_type(weight_type),
        use_external_data_format=_external(src),
        extra_options=FUSED_GRAPH_OPTIONS,
    )


def calibration_batches(
    model: OrtClassifier, texts: Sequence[str], batch_size: int, max_length: int
) -> Iterator[dict[str, Any]]:
    for start in range(0, len(texts), batch_size):
        yield model.encode(texts[start : start + batch_size], max_length=max_length)


def quantize_static_int8(
    src: Path,
    dst: Path,
    texts: Sequence[str],
    *,
    per_channel: bool,
    max_length: int,
    batch_size: int = 16,
) -> None:
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    if not texts:
        raise UserError("static int8 needs calibration texts", expected="a non-empty tune split")
    batches = calibration_batches(OrtClassifier(src), texts, batch_size, max_length)

    class Reader(CalibrationDataReader):
        def get_next(self) -> dict[str, Any] | None:
            return next(batches, None)

    quantize_static(
        src / MODEL_FILE,
        dst / MODEL_FILE,
        Reader(),
        quant_format=QuantFormat.QDQ,
        # the encoder's MatMuls hold nearly all the work; the classifier Gemm's bias
        # cannot take a scale after mean pooling's division, so it stays float
        op_types_to_quantize=["MatMul"],
        per_channel=per_channel,
        activation_type=QuantType.QInt8,
        weight_type=QuantType.QInt8,
        calibrate_method=CalibrationMethod.MinMax,
        use_external_data_format=_external(src),
        # symmetric activations: what ORT's int8 MatMul kernels are fastest with on x86
        extra_options={**FUSED_GRAPH_OPTIONS, "ActivationSymmetric": True},
    )


def convert_fp16(src: Path, dst: Path) -> None:
    from onnxruntime.transformers.onnx_model import OnnxModel

    from emocompress.ops.onnx.export import load_onnx

    graph = OnnxModel(load_onnx(src / MODEL_FILE))
    graph.convert_float_to_float16(keep_io_types=True)
    external = _external(src)
    graph.save_model_to_file(
        str(dst / MODEL_FILE), use_external_data_format=external, all_tensors_to_one_file=True
    )


def quantize_variant(
    src: Path,
    dst: Path,
    precision: str,
    *,
    calibration_texts: Sequence[str] = (),
    per_channel: bool = False,
    max_length: int = 128,
    weight_type: str | None = None,
    reporter: Reporter | None = None,
) -> dict[str, Any]:
    """Write a ``precision`` copy of the fp32 ONNX variant ``src`` into ``dst``; return facts.

    ``weight_type``: s8, u8, or auto/None (from this CPU's flags; int8-dynamic only: the
    static QDQ path keeps s8 weights and symmetric activations).
    """
    from emocompress.artifacts.cpu import cpu_flags

    flags = cpu_flags()
    chosen, reason = choose_weight_type(weight_type, flags)
    if precision != "int8-dynamic":
        chosen, reason = "s8", "int8-static keeps s8 weights (QDQ, symmetric activations)"
    if precision not in PRECISIONS:
        raise UserError(
            f"unknown precision {precision!r}", expected="one of " + ", ".join(PRECISIONS)
        )
    if not (src / MODEL_FILE).is_file():
        raise UserError(
            f"{src}: no {MODEL_FILE} to quantise",
            expected="an exported fp32 ONNX variant (add an export step as the parent)",
        )
    dst.mkdir(parents=True, exist_ok=True)
    reporter = reporter or Reporter("quiet")
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # ORT's quantiser logs advice through the root logger
    with reporter.task(f"{precision}: {src.name}", total=1) as task:
        if precision == "int8-dynamic":
            quantize_dynamic_int8(src, dst, per_channel=per_channel, weight_type=chosen)
        elif precision == "int8-static":
            quantize_static_int8(
                src, dst, calibration_texts, per_channel=per_channel, max_length=max_length
            )
        else:
            convert_fp16(src, dst)
        task.advance()
    root.setLevel(level)
    copy_side_files(src, dst)
    facts: dict[str, Any] = {"precision": precision}
    if precision.startswith("int8"):
        facts["per_channel"] = per_channel
        facts["weight_type"] = chosen
        facts["weight_type_reason"] = reason
        facts["quantized_on"] = {"flags": list(flags)}
    if precision == "int8-static":
        facts["calibration_texts"] = len(calibration_texts)
    return facts

"""export and quantize: ONNX variants, checked for parity, for ONNX Runtime.

``export`` turns a PyTorch variant into an fp32 ONNX variant (dynamic axes, fused graph)
and fails when its logits on tune-split texts drift from PyTorch by more than
``parity_tolerance``. ``quantize`` takes an exported fp32 ONNX variant as its parent (add
an ``export`` step first; a PyTorch parent is an error saying so) and makes an int8 or fp16
copy; its macro-AUC drop against that parent on the report split is measured and checked
against ``max_auc_drop`` by the runner (metrics.json ``against_parent``; gate
``max_parent_auc_drop``, implied for every quantize step).

Both record ``precision`` in their facts (bench labels runtimes with it) and ``parity``;
quantize also ``quantization`` (how the graph was quantised). Those two are the operations'
``metrics_sections``: the runner copies them into metrics.json.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from emocompress.artifacts.rundir import VariantDir
from emocompress.artifacts.schema import Parity
from emocompress.errors import UserError
from emocompress.ops.base import Operation, Settings

if TYPE_CHECKING:
    from emocompress.ops.context import OpContext


class ExportSettings(Settings):
    opset: int = Field(
        17, ge=17, le=23, description="ONNX opset (23: the newest torch's exporter writes)"
    )
    optimize: bool = Field(
        True, description="ONNX Runtime transformer fusions (attention, LayerNorm, GELU)"
    )
    parity_tolerance: float = Field(
        1e-4, gt=0, description="largest allowed |logit difference| from PyTorch"
    )
    parity_texts: int = Field(
        64, ge=1, le=100_000, description="tune-split texts the parity check uses"
    )


class QuantizeSettings(Settings):
    precision: Literal["int8-dynamic", "int8-static", "fp16"] = "int8-dynamic"
    per_channel: bool = Field(True, description="int8 weights with one scale per channel")
    weight_type: Literal["auto", "s8", "u8"] | None = Field(
        None,
        description="int8-dynamic weights: s8, u8, or auto/null (s8 on CPUs with VNNI, u8 on "
        "x86 without: its u8s8 kernel can saturate)",
    )
    calibration_texts: int = Field(
        256, ge=1, le=1_000_000, description="tune-split texts for int8-static"
    )
    max_auc_drop: float = Field(
        0.005, ge=0, description="largest allowed macro-AUC drop against the fp32 parent"
    )
    parity_tolerance: float | None = Field(
        None, gt=0, description="fail over this |logit difference| from the parent (null: record)"
    )
    parity_texts: int = Field(64, ge=1, le=100_000)


def check_parity(ctx: OpContext, tolerance: float | None, count: int) -> Parity:
    """Parity of the new graph against the parent on tune texts."""
    from emocompress.ops.onnx.export import parity

    return parity(
        ctx.out_dir,
        ctx.parent_path,
        _tune_texts(ctx, count),
        tolerance=tolerance,
        max_length=ctx.max_length,
        reference_name=ctx.parent_name,
        reporter=ctx.reporter,
    )


def _tune_texts(ctx: OpContext, count: int) -> list[str]:
    return list(ctx.dataset.split("tune").texts[:count])


def run_export(ctx: OpContext, settings: ExportSettings) -> dict[str, Any]:
    from emocompress.ops.onnx.export import export_classifier

    if VariantDir(ctx.parent_path).is_onnx:
        raise UserError(
            f"{ctx.variant}: parent {ctx.parent_name or ctx.parent_path} is already ONNX",
            expected="a PyTorch variant as the parent of export",
        )
    facts = export_classifier(
        ctx.parent_path,
        ctx.out_dir,
        max_length=ctx.max_length,
        opset=settings.opset,
        optimize=settings.optimize,
        reporter=ctx.reporter,
    )
    checked = check_parity(ctx, settings.parity_tolerance, settings.parity_texts)
    ctx.reporter.log(
        f"{ctx.variant}: parity {checked.max_abs_logit_diff:.2g} "
        f"(tolerance {settings.parity_tolerance:g}); fusions {facts['fusions'] or 'none'}"
    )
    return {**facts, "parity": checked}


def parent_precision(path: Path) -> str | None:
    lineage = VariantDir(path).load_lineage_or_none()
    return None if lineage is None else lineage.facts.get("precision")


def run_quantize(ctx: OpContext, settings: QuantizeSettings) -> dict[str, Any]:
    from emocompress.models.ort import OrtClassifier
    from emocompress.ops.onnx.export import check_shapes
    from emocompress.ops.onnx.quantize import quantize_variant

    if not VariantDir(ctx.parent_path).is_onnx:
        raise UserError(
            f"{ctx.variant}: parent {ctx.parent_name or ctx.parent_path} is not an ONNX variant",
            expected="an export step as the parent of quantize (op: export)",
        )
    if parent_precision(ctx.parent_path) not in (None, "fp32"):
        raise UserError(
            f"{ctx.variant}: parent {ctx.parent_name} is already "
            f"{parent_precision(ctx.parent_path)}",
            expected="an fp32 ONNX variant (the output of export) as the parent",
        )
    quantization = quantize_variant(
        ctx.parent_path,
        ctx.out_dir,
        settings.precision,
        calibration_texts=_tune_texts(ctx, settings.calibration_texts),
        per_channel=settings.per_channel,
        max_length=ctx.max_length,
        weight_type=settings.weight_type,
        reporter=ctx.reporter,
    )
    # the macro-AUC drop against the fp32 parent is measured by the runner's evaluation
    # (metrics.json against_parent) and checked as the implied gate max_parent_auc_drop
    return {
        "precision": settings.precision,
        "quantization": quantization,
        "shapes_checked": check_shapes(OrtClassifier(ctx.out_dir)),
        "parity": check_parity(ctx, settings.parity_tolerance, settings.parity_texts),
    }


def quantize_gates(settings: QuantizeSettings) -> dict[str, float]:
    """A quantised graph may lose at most ``max_auc_drop`` macro AUC against its parent."""
    return {"max_parent_auc_drop": settings.max_auc_drop}


OPERATIONS = [
    Operation(
        "export",
        "export to ONNX (dynamic axes, fused graph), checked for parity with PyTorch",
        ExportSettings,
        run_export,
        produces="onnx",
        metrics_sections=("parity",),
        # the model, the traced graph, its proto copies and ORT's optimiser each hold the
        # weights: 9.5x measured on RoBERTa-Large (bench/scale-roberta-large.md)
        peak_memory=lambda sizes: int(9.5 * sizes.parent_weights),
    ),
    Operation(
        "quantize",
        "int8 (dynamic/static) or fp16 copy of an exported ONNX variant, AUC-drop checked",
        QuantizeSettings,
        run_quantize,
        produces="onnx",
        accepts=("onnx",),
        metrics_sections=("parity", "quantization"),
        implied_gates=quantize_gates,
        # the fp32 graph, the quantiser's working copy and the result (3x measured)
        peak_memory=lambda sizes: 3 * sizes.parent_weights,
    ),
]

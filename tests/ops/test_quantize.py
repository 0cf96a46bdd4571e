"""int8 (dynamic, static) and fp16 copies of an exported graph; export/quantize in recipes."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import write_tiny_recipe

from emocompress.artifacts.rundir import VariantDir
from emocompress.data.readers import load_splits
from emocompress.errors import UserError
from emocompress.models.inspect import size_summary
from emocompress.models.ort import OrtClassifier
from emocompress.ops.onnx.export import check_shapes, export_classifier
from emocompress.ops.onnx.quantize import quantize_variant

TEXTS = list(load_splits("demo")["dev"].texts[:24])
ONNX_DOC = Path(__file__).parents[2] / "docs" / "onnx.md"
STORED_DTYPE = {"int8-dynamic": "int8", "int8-static": "int8", "fp16": "float16"}


@pytest.fixture(scope="module")
def fp32(tmp_path_factory, tiny_pooled_classifier):
    out = tmp_path_factory.mktemp("fp32")
    export_classifier(tiny_pooled_classifier, out, max_length=32)
    return out


@pytest.mark.parametrize("precision", ["int8-dynamic", "int8-static", "fp16"])
def test_quantised_graph_runs_at_every_shape_and_stays_close(tmp_path, fp32, precision):
    facts = quantize_variant(fp32, tmp_path, precision, calibration_texts=TEXTS, max_length=32)
    assert facts["precision"] == precision
    assert STORED_DTYPE[precision] in size_summary(tmp_path)["dtypes"]
    assert len(check_shapes(OrtClassifier(tmp_path))) == 6
    diff = np.abs(OrtClassifier(tmp_path).logits(TEXTS) - OrtClassifier(fp32).logits(TEXTS))
    assert diff.max() < 0.1  # tiny random weights: quantisation error stays small
    assert (tmp_path / "tokenizer.json").is_file() and (tmp_path / "config.json").is_file()


def test_static_int8_needs_calibration_texts(tmp_path, fp32):
    with pytest.raises(UserError, match="calibration"):
        quantize_variant(fp32, tmp_path, "int8-static", calibration_texts=[])


def test_unknown_precision_and_missing_graph_are_errors(tmp_path, fp32):
    with pytest.raises(UserError, match="int4"):
        quantize_variant(fp32, tmp_path, "int4")
    with pytest.raises(UserError, match="no model.onnx"):
        quantize_variant(tmp_path, tmp_path / "out", "fp16")


EXTRA = """\
  - name: onnx
    op: export
    parent: student-1l
    gates: {max_parity_diff: 1.0e-4}
  - name: onnx-int8
    op: quantize
    parent: onnx
    settings: {precision: int8-static, calibration_texts: 32}
"""


def test_export_and_quantize_in_a_recipe(tmp_path, tiny_run, tiny_classifier):
    from emocompress.progress import Reporter
    from emocompress.recipe.loading import load_recipe
    from emocompress.run.runner import run_recipe

    run = tmp_path / "runs" / "tiny"
    shutil.copytree(tiny_run, run)
    recipe = load_recipe(write_tiny_recipe(tmp_path, tiny_classifier, extra=EXTRA))
    result = run_recipe(recipe, run, resume=True, reporter=Reporter("quiet"))
    assert result.ran == ["onnx", "onnx-int8"]
    onnx, int8 = result.run_dir.variant("onnx"), result.run_dir.variant("onnx-int8")
    assert onnx.is_onnx and int8.is_onnx
    onnx_metrics, int8_metrics = onnx.load_metrics(), int8.load_metrics()
    assert onnx_metrics.parity.max_abs_logit_diff < 1e-4
    assert onnx_metrics.parity.reference == "student-1l"
    lineage = onnx.load_lineage()
    assert lineage.format == "onnx" and lineage.facts["precision"] == "fp32"
    assert int8.load_lineage().facts["precision"] == "int8-static"
    assert int8_metrics.quantization["calibration_texts"] == 32
    # the drop against the fp32 parent: measured once by the runner, checked as an implied gate
    comparison = int8_metrics.against_parent
    assert comparison.parent == "onnx" and int8_metrics.quality.report_split == "dev"
    assert comparison.parent_macro_auc == onnx_metrics.macro_auc
    assert comparison.macro_auc_drop == pytest.approx(
        onnx_metrics.macro_auc - int8_metrics.macro_auc
    )
    [gate] = [
        g
        for g in result.gate_results
        if (g.variant, g.gate) == ("onnx-int8", "max_parent_auc_drop")
    ]
    assert gate.bound == 0.005
    assert gate.passed == (comparison.macro_auc_drop <= 0.005)
    assert int8_metrics.parity.tolerance is None
    assert all(g.passed for g in result.gate_results if g.variant == "onnx")
    # every `facts.<key>` docs/onnx.md names is a fact one of the two steps records
    recorded = set(lineage.facts) | set(int8.load_lineage().facts)
    named = set(re.findall(r"facts\.([a-z_]+)", ONNX_DOC.read_text(encoding="utf-8")))
    assert named and named <= recorded, sorted(named - recorded)


def test_quantize_needs_an_onnx_parent(tmp_path, tiny_run, tiny_classifier):
    from emocompress.ops.registry import get_operation
    from emocompress.recipe.loading import load_recipe
    from emocompress.run.variant import Parent, make_variant

    extra = "  - {name: q, op: quantize, parent: student-1l}\n"
    # refused when the recipe is loaded (and so by --dry-run), before any work
    with pytest.raises(UserError, match="quantize cannot start from 'student-1l', a PyTorch"):
        load_recipe(write_tiny_recipe(tmp_path, tiny_classifier, extra=extra))
    # and by the one way every variant is made, for callers that skip the recipe
    operation = get_operation("quantize")
    parent = Parent.of_variant(VariantDir(tiny_run / "variants" / "student-1l"))
    with pytest.raises(UserError, match="is a PyTorch model; quantize cannot start from it"):
        make_variant(
            operation, operation.settings(), parents=[parent], out=tmp_path / "q", data=None
        )
    assert not (tmp_path / "q").exists()


def test_bad_settings_are_reported_before_work(tmp_path, tiny_classifier):
    from emocompress.recipe.loading import load_recipe

    extra = (
        "  - {name: o, op: export, parent: teacher, settings: {opset: 11}}\n"
        "  - {name: q, op: quantize, parent: o, settings: {precision: int4}}\n"
    )
    with pytest.raises(UserError) as error:
        load_recipe(write_tiny_recipe(tmp_path, tiny_classifier, extra=extra))
    assert "opset" in str(error.value) and "precision" in str(error.value)


AVX2_ONLY = ("avx2", "fma")
AVX512_NO_VNNI = ("avx2", "fma", "avx512f", "avx512bw")
VNNI = ("avx2", "fma", "avx512f", "avx512bw", "avx512_vnni")
ARM_SDOT = ("asimd", "asimddp")


@pytest.mark.parametrize(
    ("flags", "expected"),
    [(AVX2_ONLY, "u8"), (AVX512_NO_VNNI, "u8"), (VNNI, "s8"), (("avx2", "avx_vnni"), "s8"),
     (ARM_SDOT, "s8"), ((), "s8")],
)  # fmt: skip
def test_auto_weight_type_follows_the_cpu_flags(flags, expected):
    from emocompress.ops.onnx.quantize import choose_weight_type

    for requested in (None, "auto"):
        chosen, reason = choose_weight_type(requested, flags)
        assert chosen == expected and reason
    assert choose_weight_type("u8", VNNI)[0] == "u8"
    assert choose_weight_type("s8", AVX2_ONLY)[0] == "s8"


def test_both_weight_types_run_stay_close_and_are_recorded(tmp_path, fp32):
    from emocompress.artifacts.cpu import cpu_flags

    reference = OrtClassifier(fp32).logits(TEXTS)
    stored = {}
    for weight_type in ("s8", "u8"):
        out = tmp_path / weight_type
        facts = quantize_variant(fp32, out, "int8-dynamic", weight_type=weight_type)
        assert facts["weight_type"] == weight_type
        assert facts["quantized_on"]["flags"] == list(cpu_flags())
        assert np.abs(OrtClassifier(out).logits(TEXTS) - reference).max() < 0.1
        stored[weight_type] = size_summary(out)["dtypes"]
    assert "int8" in stored["s8"] and "uint8" in stored["u8"]
    auto = quantize_variant(fp32, tmp_path / "auto", "int8-dynamic")
    assert auto["weight_type"] in ("s8", "u8") and auto["weight_type_reason"]

"""ONNX export: dynamic axes, fusions, parity against PyTorch, external data, the export op."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from emocompress.data.readers import load_splits
from emocompress.errors import UserError
from emocompress.models.ort import OrtClassifier
from emocompress.ops.onnx.export import export_classifier, parity

TEXTS = list(load_splits("demo")["dev"].texts[:24])


@pytest.fixture(scope="module", params=["cls", "mean"])
def exported(request, tmp_path_factory, tiny_classifier, tiny_pooled_classifier):
    source = tiny_classifier if request.param == "cls" else tiny_pooled_classifier
    out = tmp_path_factory.mktemp(f"onnx-{request.param}")
    facts = export_classifier(source, out, max_length=32)
    return source, out, facts


def test_graph_has_dynamic_batch_and_sequence_axes(exported):
    _, out, facts = exported
    session = ort.InferenceSession(str(out / "model.onnx"))
    for graph_input in session.get_inputs():
        assert graph_input.shape == ["batch", "sequence"], graph_input
    checked = {(row["batch"], row["length"]) for row in facts["shapes_checked"]}
    assert checked == {(b, n) for b in (1, 7, 32) for n in (5, 128)}
    assert all(row["max_abs_logit_diff"] < 1e-4 for row in facts["shapes_checked"])


def test_export_is_fused_and_records_precision(exported):
    _, _, facts = exported
    assert facts["precision"] == "fp32" and facts["opset"] >= 17
    assert facts["fusions"].get("LayerNormalization", 0) > 0
    assert facts["fusions"].get("SkipLayerNormalization", 0) == 0
    assert facts["external_data"] is False


def test_cpu_sessions_keep_add_and_layer_norm_apart(exported, tmp_path):
    """ORT would fuse Add + LayerNormalization into SkipLayerNormalization when it loads the
    graph; on CPU emocompress's sessions turn that off (the fused kernel is slower there)."""
    from emocompress.models.ort import session_kwargs

    _, out, _ = exported
    ops = {}
    for name, kwargs in (
        ("default", {}),
        ("emocompress", session_kwargs(["CPUExecutionProvider"])),
    ):
        options = ort.SessionOptions()
        options.optimized_model_filepath = str(tmp_path / f"{name}.onnx")
        options.log_severity_level = 3
        ort.InferenceSession(
            str(out / "model.onnx"), options, providers=["CPUExecutionProvider"], **kwargs
        )
        ops[name] = {n.op_type for n in onnx.load(tmp_path / f"{name}.onnx").graph.node}
    assert "SkipLayerNormalization" in ops["default"]  # what ORT does unasked
    assert "SkipLayerNormalization" not in ops["emocompress"]
    assert "LayerNormalization" in ops["emocompress"]
    assert session_kwargs(["CUDAExecutionProvider", "CPUExecutionProvider"]) == {}


def test_parity_on_texts_against_pytorch(exported):
    source, out, _ = exported
    result = parity(out, source, TEXTS, tolerance=1e-4, max_length=32, reference_name="teacher")
    assert result.texts == len(TEXTS) and result.reference == "teacher"
    assert 0 <= result.max_abs_logit_diff < 1e-4


def test_parity_failure_is_an_error_with_the_figure(exported):
    source, out, _ = exported
    shifted = OrtClassifier(out).logits(TEXTS, max_length=32) + 0.5
    with pytest.raises(UserError, match=r"parity failed: max \|logit difference\| 0\.5"):
        parity(out, source, TEXTS, tolerance=1e-4, max_length=32, reference_logits=shifted)


def test_encode_pads_like_pytorch(exported):
    source, out, _ = exported
    from transformers import AutoTokenizer

    feeds = OrtClassifier(out).encode(TEXTS[:5], max_length=12)
    reference = AutoTokenizer.from_pretrained(str(source))(
        TEXTS[:5], truncation=True, max_length=12, padding="longest", return_tensors="np"
    )
    for name, array in feeds.items():
        assert array.dtype == np.int64
        np.testing.assert_array_equal(array, reference[name])


def test_large_models_use_external_data(tmp_path, tiny_classifier):
    facts = export_classifier(tiny_classifier, tmp_path, max_length=32, external_data_bytes=0)
    assert facts["external_data"] is True
    assert (tmp_path / "model.onnx.data").stat().st_size > (tmp_path / "model.onnx").stat().st_size
    parity(tmp_path, tiny_classifier, TEXTS, tolerance=1e-4, max_length=32)


def test_old_opset_is_refused(tmp_path, tiny_classifier):
    with pytest.raises(UserError, match="opset 13"):
        export_classifier(tiny_classifier, tmp_path, max_length=32, opset=13)


def test_missing_graph_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="no model.onnx"):
        OrtClassifier(tmp_path)


def test_ort_module_never_imports_torch():
    code = "import sys, emocompress.models.ort; print('torch' in sys.modules, 'transformers' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]

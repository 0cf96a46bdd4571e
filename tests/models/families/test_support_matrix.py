"""The support matrix, cell by cell: every family x operation of emocompress.models.support
either works on a tiny model of the family (real tokenizer of its kind) or refuses before any
work with exit 2 and the table's message. Never a traceback.

Run: python -m pytest tests/models/families -q
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from tiny_families import FamilyModels, tiny_data

from emocompress.artifacts.rundir import VariantDir
from emocompress.cli import main
from emocompress.data.readers import load_splits
from emocompress.models.classifier import load_classifier, load_tokenizer
from emocompress.models.inspect import component_of, inspect_checkpoint
from emocompress.models.support import OPERATIONS, ROWS, refusal, status
from emocompress.ops.registry import get_operation
from emocompress.run.variant import Parent, make_variant

TEXTS = list(load_splits("demo")["dev"].texts[:12])
TRAIN = {"epochs": 1, "batch_size": 16, "lr": 1.0e-3}
NO_RECOVERY = {"recovery": {"mode": "none"}}
PRUNE = {
    "prune-heads": {"heads": 0.5},
    "prune-ffn": {"ffn": 0.5},
    "prune-hidden": {"hidden": 0.5},
    "prune-layers": {"drop_layers": [1]},
    "prune-sparsity": {"sparsity": 0.5},
    "prune-vocab": {"vocab": {"corpus": ["train", "tune", "report"]}},
}
# DeBERTa's ONNX export folds these into per-layer constants (docs/support.md)
FOLDED_IN_ONNX = {
    "deberta-v2": ("rel_embeddings", "encoder.LayerNorm", "pos_key_proj", "pos_query_proj")
}


def _make(op: str, settings: dict, parents: list[Path], out: Path) -> Path:
    operation = get_operation(op)
    make_variant(
        operation,
        operation.settings.model_validate(settings),
        parents=[Parent(p) for p in parents],
        out=out,
        data=tiny_data(),
    )
    return out


def _logits(path: Path, texts: list[str] = TEXTS) -> torch.Tensor:
    model, tokenizer = load_classifier(path), load_tokenizer(path)
    batch = tokenizer(texts, padding=True, truncation=True, max_length=32, return_tensors="pt")
    with torch.no_grad():
        logits = model(**batch).logits
    assert logits.shape == (len(texts), 28)
    assert torch.isfinite(logits).all()
    return logits


def _parameters(path: Path) -> int:
    return inspect_checkpoint(path).parameters


# ----------------------------------------------------------------------------- the cells


def cell_inspect(family: str, models: FamilyModels, tmp: Path) -> None:
    source, onnx = models.model(family), models.exported(family) / "model.onnx"
    torch_report, onnx_report = inspect_checkpoint(source), inspect_checkpoint(onnx)
    expected = {r.name: r.parameters for r in torch_report.by_component}
    folded = FOLDED_IN_ONNX.get(family, ())
    if folded:  # the PyTorch breakdown less exactly the folded modules' tensors
        from emocompress.models.checkpoint import list_tensors

        for info in list_tensors(source):
            if any(part in info.name for part in folded):
                expected[component_of(info.qualified_name)] -= info.numel
    assert {r.name: r.parameters for r in onnx_report.by_component} == expected
    assert onnx_report.parameters == sum(expected.values())


def _pooling(family: str) -> dict[str, str]:
    return {"pooling": "mean"} if family == "bert-mean" else {}


def cell_finetune(family: str, models: FamilyModels, tmp: Path) -> None:
    out = _make("finetune", {**TRAIN, **_pooling(family)}, [models.model(family)], tmp / "ft")
    _logits(out)


def cell_distil_layers(family: str, models: FamilyModels, tmp: Path) -> None:
    out = _make("distil", {**TRAIN, "init": {"layers": [0]}}, [models.model(family)], tmp / "d")
    _logits(out)
    assert (
        load_classifier(out).config.to_dict()
        != load_classifier(models.model(family)).config.to_dict()
    )


def cell_distil_config(family: str, models: FamilyModels, tmp: Path) -> None:
    from emocompress.models.families import family_of_type

    key = family_of_type("bert" if family == "bert-mean" else family).ffn_key
    out = _make(
        "distil", {**TRAIN, "init": {"config": {key: 32}}}, [models.model(family)], tmp / "d"
    )
    _logits(out)
    assert _parameters(out) < _parameters(models.model(family))


def cell_distil_model(family: str, models: FamilyModels, tmp: Path) -> None:
    """The student is this family's checkpoint with its own tokenizer; the teacher another
    family's (RoBERTa's BPE, or BERT's WordPiece for RoBERTa)."""
    teacher = models.model("bert" if family == "roberta" else "roberta")
    student = models.model(family)
    assert load_tokenizer(student).get_vocab() != load_tokenizer(teacher).get_vocab()
    settings = {**TRAIN, "init": {"model": str(student)}, **_pooling(family)}
    out = _make("distil", settings, [teacher], tmp / "d")
    _logits(out)
    assert load_tokenizer(out).get_vocab() == load_tokenizer(student).get_vocab()


def cell_distil_states(family: str, models: FamilyModels, tmp: Path) -> None:
    settings = {**TRAIN, "init": {"layers": [0]}, "hidden_weight": 1.0, "attention_weight": 1.0}
    out = _make("distil", settings, [models.model(family)], tmp / "d")
    _logits(out)
    history = VariantDir(out).load_history()
    text = history.model_dump_json()
    assert '"hidden"' in text and '"attention"' in text


def _prune_cell(mode: str) -> Callable[[str, FamilyModels, Path], None]:
    def cell(family: str, models: FamilyModels, tmp: Path) -> None:
        source = models.model(family)
        out = _make("prune", {**PRUNE[mode], **NO_RECOVERY}, [source], tmp / "p")
        _logits(out)
        if mode == "prune-vocab":  # the corpus texts keep their tokens, so their logits
            corpus = list(tiny_data().split("report").texts)
            assert torch.allclose(_logits(out, corpus), _logits(source, corpus), atol=1e-5)
        if mode == "prune-sparsity":
            report = inspect_checkpoint(out, sparsity=True)
            assert report.sparsity["components"]["feed_forward"]["fraction"] > 0.4
        elif family == "albert" and mode == "prune-layers":  # fewer repetitions (NOTES)
            assert _parameters(out) == _parameters(source)
        else:
            assert _parameters(out) < _parameters(source)

    return cell


def cell_merge(family: str, models: FamilyModels, tmp: Path) -> None:
    first, second = models.model(family), models.model(family, seed=1)
    out = _make("merge", {"method": "uniform"}, [first, second], tmp / "m")
    merged = _logits(out)
    assert not torch.allclose(merged, _logits(first))


def cell_export(family: str, models: FamilyModels, tmp: Path) -> None:
    from emocompress.models.ort import OrtClassifier

    onnx = models.exported(family)
    expected = _logits(models.model(family)).numpy()
    got = OrtClassifier(onnx).logits(TEXTS, max_length=32)
    assert np.abs(got - expected).max() < 1e-3


def cell_quantize(family: str, models: FamilyModels, tmp: Path) -> None:
    from emocompress.models.ort import OrtClassifier

    out = _make("quantize", {"precision": "int8-dynamic"}, [models.exported(family)], tmp / "q")
    logits = OrtClassifier(out).logits(TEXTS, max_length=32)
    assert np.isfinite(logits).all()
    assert (out / "model.onnx").stat().st_size < (
        models.exported(family) / "model.onnx"
    ).stat().st_size


def cell_bundle(family: str, models: FamilyModels, tmp: Path) -> None:
    from emocompress.deploy.bundle import predict_texts, write_bundle

    bundle = write_bundle(models.exported(family), tmp / "bundle")
    predictions = predict_texts(bundle, TEXTS[:3])
    assert len(predictions) == 3


def cell_bench(family: str, models: FamilyModels, tmp: Path) -> None:
    from emocompress.measure.bench.speed import child_main

    for path, runtime in ((models.model(family), "pytorch"), (models.exported(family), "onnx")):
        job = {
            "kind": "measure",
            "precision": "fp32",
            "path": str(path),
            "runtime": runtime,
            "device": "cpu",
            "threads": 1,
            "batch_sizes": [1, 4],
            "runs": 2,
            "warmup": 1,
            "max_length": 32,
            "texts": TEXTS[:8],
        }
        (tmp / "job.json").write_text(json.dumps(job), encoding="utf-8")
        assert child_main([str(tmp / "job.json"), str(tmp / "out.json")]) == 0
        result = json.loads((tmp / "out.json").read_text(encoding="utf-8"))
        assert result["runtime"]["batches"]


CELLS: dict[str, Callable[[str, FamilyModels, Path], None]] = {
    "inspect": cell_inspect,
    "finetune": cell_finetune,
    "distil-layers": cell_distil_layers,
    "distil-config": cell_distil_config,
    "distil-model": cell_distil_model,
    "distil-states": cell_distil_states,
    **{mode: _prune_cell(mode) for mode in PRUNE},
    "merge": cell_merge,
    "export": cell_export,
    "quantize": cell_quantize,
    "bundle": cell_bundle,
    "bench": cell_bench,
}


def test_every_operation_has_a_cell_check():
    assert list(CELLS) == list(OPERATIONS)


@pytest.mark.parametrize("operation", list(OPERATIONS))
@pytest.mark.parametrize("family", list(ROWS))
def test_cell(family, operation, family_models, tmp_path, capsys):
    if status(family, operation) == "tested":
        CELLS[operation](family, family_models, tmp_path)
        return
    # refused: the direct command stops before writing anything, exit 2, the table's message
    assert operation in PRUNE, "refusals are checked through the prune command"
    flags = {"prune-heads": "--heads", "prune-ffn": "--ffn", "prune-hidden": "--hidden"}
    code = main(
        [
            "prune",
            str(family_models.model(family)),
            flags[operation],
            "0.5",
            "--out",
            str(tmp_path / "x"),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert str(refusal(family, operation)).splitlines()[0][:60] in " ".join(err.split())
    assert "Traceback" not in err
    assert not (tmp_path / "x").exists()

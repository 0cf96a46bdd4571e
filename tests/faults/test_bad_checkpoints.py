"""Checkpoints that cannot be used: a truncated safetensors file, a pickle that
``weights_only`` refuses, an ONNX model where PyTorch is needed. Each is one line and exit 2
from every command that reads one, before any work, and no code in the pickle runs."""

from __future__ import annotations

import shutil

import pytest

from emocompress.cli import main


@pytest.fixture(scope="module")
def truncated(tmp_path_factory, tiny_classifier):
    folder = tmp_path_factory.mktemp("truncated") / "model"
    shutil.copytree(tiny_classifier, folder)
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])
    return folder


@pytest.fixture(scope="module")
def pickled(tmp_path_factory, tiny_classifier):
    """A pytorch_model.bin whose unpickling would create a file (if it ever ran)."""
    import torch

    folder = tmp_path_factory.mktemp("pickled") / "model"
    folder.mkdir()
    for name in ("config.json", "tokenizer.json", "tokenizer_config.json"):
        shutil.copy(tiny_classifier / name, folder / name)
    marker = folder.parent / "pwned"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    torch.save({"weight": Payload()}, folder / "pytorch_model.bin")
    return folder


def _argv(command, model, tmp_path):
    out = str(tmp_path / "out")
    return {
        "eval": ["eval", str(model), "--data", "demo", "--out", out],
        "prune": ["prune", str(model), "--ffn", "0.5", "--out", out],
        "export": ["export", str(model), "--out", out, "--run-dir", str(tmp_path / "r")],
        "merge": ["merge", str(model), str(model), "--out", out],
        "bench": ["bench", str(model), "--data", "demo", "--runs", "1", "--warmup", "0"],
    }[command]


@pytest.mark.parametrize("command", ["eval", "prune", "export", "merge", "bench"])
@pytest.mark.parametrize("kind", ["truncated", "pickled"])
def test_a_bad_checkpoint_is_one_line_and_exit_2(command, kind, request, tmp_path, capsys):
    model = request.getfixturevalue(kind)
    quiet = ["--quiet"] if command in ("prune", "export", "merge") else []
    assert main([*_argv(command, model, tmp_path), *quiet]) == 2
    err = capsys.readouterr().err
    expected = {
        "truncated": "was it truncated?",
        # bench measures safetensors and ONNX models only, and says so
        "pickled": "no model to measure" if command == "bench" else "weights_only=True",
    }[kind]
    assert err.startswith("error: ") and expected in err and "Traceback" not in err, err
    assert err.count("\n") == 1
    assert not (tmp_path / "out").exists()
    assert not (model.parent / "pwned").exists()


def test_prune_of_an_onnx_variant_is_refused(tmp_path, capsys, tiny_classifier):
    onnx_model = tmp_path / "onnx"
    argv = [
        "export",
        str(tiny_classifier),
        "--out",
        str(tmp_path / "b"),
        "--run-dir",
        str(tmp_path / "r"),
        "--data",
        "demo",
    ]
    assert main([*argv, "--max-length", "32", "--max-examples", "32", "--quiet"]) == 0
    shutil.copytree(tmp_path / "r" / "variants" / "onnx", onnx_model)
    capsys.readouterr()
    assert main(["prune", str(onnx_model), "--ffn", "0.5", "--out", str(tmp_path / "p")]) == 2
    err = capsys.readouterr().err
    assert "is an ONNX model; prune cannot start from it (expected a PyTorch parent)" in err
    assert not (tmp_path / "p").exists()

"""Bundles and `emocompress predict`: onnxruntime + tokenizers only, thresholds from tune."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from emocompress.cli import main
from emocompress.deploy.bundle import predict_texts, write_bundle
from emocompress.errors import UserError
from emocompress.measure.metrics import apply_thresholds
from emocompress.models.ort import OrtClassifier

# torch and transformers cannot be imported in the subprocess: predict must not need them
NO_TORCH = textwrap.dedent(
    """\
    import importlib.abc, sys
    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("torch", "transformers"):
                raise ImportError(f"{name} is blocked in this test")
    sys.meta_path.insert(0, Block())
    from emocompress.cli import main
    code = main(sys.argv[1:])
    assert "torch" not in sys.modules and "transformers" not in sys.modules
    sys.exit(code)
    """
)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory, tiny_classifier):
    folder = tmp_path_factory.mktemp("bundle")
    code = main(
        [
            "export",
            str(tiny_classifier),
            "--out",
            str(folder / "bundle"),
            "--run-dir",
            str(folder / "run"),
            "--data",
            "demo",
            "--max-length",
            "32",
            "--max-examples",
            "48",
            "--quiet",
        ]
    )
    assert code == 0
    return folder / "bundle"


@pytest.fixture(scope="module")
def onnx_variant(bundle):
    """The ONNX variant of the run the bundle was made from (as it lies in the run)."""
    return bundle.parent / "run" / "variants" / "onnx"


def test_bundle_holds_what_deployment_needs(bundle):
    names = {p.name for p in bundle.iterdir()}
    expected = {"model.onnx", "tokenizer.json", "labels.json", "thresholds.json", "MODEL_CARD.md"}
    assert expected <= names
    thresholds = json.loads((bundle / "thresholds.json").read_text())
    metrics = json.loads((bundle / "metrics.json").read_text())
    quality = metrics["quality"]
    assert thresholds["strategy"] == quality["selected_strategy"]
    assert thresholds["params"] == quality["strategies"][thresholds["strategy"]]["params"]
    card = (bundle / "MODEL_CARD.md").read_text()
    assert "`onnx`: export from teacher (fp32)" in card and "emocompress predict" in card
    assert metrics["parity"]["max_abs_logit_diff"] < 1e-4


def test_predict_applies_the_tuned_thresholds(bundle):
    texts = ["I love this so much", "this is awful, I am furious", "ok"]
    results = predict_texts(bundle, texts)
    probs = OrtClassifier(bundle).probs(texts)
    thresholds = json.loads((bundle / "thresholds.json").read_text())
    chosen = apply_thresholds(probs, thresholds, OrtClassifier(bundle).label_names)
    labels = OrtClassifier(bundle).label_names
    for result, row, picked in zip(results, probs, chosen, strict=True):
        assert set(result["labels"]) == {labels[j] for j in np.flatnonzero(picked)}
        assert result["probs"][labels[0]] == pytest.approx(row[0], abs=1e-6)


def test_predict_runs_without_torch(bundle, tmp_path):
    texts = tmp_path / "texts.txt"
    texts.write_text("thank you so much\n\nwhat is going on?\n", encoding="utf-8")
    args = [
        sys.executable,
        "-c",
        NO_TORCH,
        "predict",
        str(bundle),
        "so happy",
        "--file",
        str(texts),
    ]
    done = subprocess.run([*args, "--json"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)
    assert [r["text"] for r in results] == ["so happy", "thank you so much", "what is going on?"]
    assert len(results[0]["probs"]) == 28
    plain = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert plain.returncode == 0 and "labels:" in plain.stdout


def test_predict_errors_are_messages(bundle, tmp_path, capsys):
    assert main(["predict", str(bundle)]) == 2
    assert "no texts" in capsys.readouterr().err
    assert main(["predict", str(bundle), "--file", str(tmp_path / "missing.txt")]) == 2
    broken = tmp_path / "broken"
    shutil.copytree(bundle, broken)
    (broken / "thresholds.json").unlink()
    (broken / "metrics.json").unlink()
    assert main(["predict", str(broken), "hi"]) == 2
    assert "no thresholds.json and no metrics.json" in capsys.readouterr().err


def test_predict_takes_an_onnx_variant_directory(bundle, onnx_variant, capsys):
    texts = ["I love this so much", "this is awful, I am furious", "ok"]
    assert not (onnx_variant / "thresholds.json").exists()
    assert predict_texts(onnx_variant, texts) == predict_texts(bundle, texts)
    assert main(["predict", str(onnx_variant), *texts, "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert [r["labels"] for r in printed] == [r["labels"] for r in predict_texts(bundle, texts)]


def test_predict_on_a_pytorch_variant_says_how_to_export(bundle, capsys):
    teacher = bundle.parent / "run" / "variants" / "teacher"
    assert main(["predict", str(teacher), "hi"]) == 2
    err = capsys.readouterr().err
    assert "no model.onnx" in err and f"emocompress export {teacher}" in err


def test_export_needs_data_for_a_model_outside_a_run(tiny_classifier, tmp_path, capsys):
    assert main(["export", str(tiny_classifier), "--out", str(tmp_path / "b")]) == 2
    assert "--data SOURCE" in capsys.readouterr().err
    assert not (tmp_path / "b").exists()


def test_export_of_a_run_variant_tunes_on_its_runs_data(bundle, tmp_path):
    from emocompress.artifacts.rundir import RunDir

    run = RunDir(bundle.parent / "run")
    teacher = run.variant("teacher").path
    again = RunDir(tmp_path / "again")
    argv = ["export", str(teacher), "--out", str(tmp_path / "b"), "--run-dir", str(again.root)]
    assert main([*argv, "--quiet"]) == 0
    assert again.load_recipe().data == run.load_recipe().data  # the same splits, no --data
    tuned = again.variant("onnx").load_metrics().quality
    assert tuned.n_tune == run.variant("onnx").load_metrics().quality.n_tune


def test_bundle_needs_a_measured_onnx_variant(tmp_path, tiny_classifier, bundle):
    with pytest.raises(UserError, match="no model.onnx"):
        write_bundle(tiny_classifier, tmp_path / "b")
    variant = tmp_path / "v"
    shutil.copytree(bundle, variant)
    (variant / "metrics.json").unlink()
    with pytest.raises(UserError, match="no metrics.json"):
        write_bundle(variant, tmp_path / "b")


def test_export_command_needs_model_or_recipe(capsys):
    assert main(["export"]) == 2
    assert "MODEL or --recipe" in capsys.readouterr().err

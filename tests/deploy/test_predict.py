"""Bundles and `emocompress predict`: onnxruntime + tokenizers only, thresholds from tune."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
import threading

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
def onnx_variant(bundle):
    """The ONNX variant of the run the bundle was made from (as it lies in the run)."""
    return bundle.parent / "run" / "variants" / "onnx"


def test_bundle_holds_what_deployment_needs(bundle):
    names = {p.name for p in bundle.iterdir()}
    expected = {"model.onnx", "tokenizer.json", "labels.json", "thresholds.json", "README.md"}
    assert expected <= names
    thresholds = json.loads((bundle / "thresholds.json").read_text())
    metrics = json.loads((bundle / "metrics.json").read_text())
    quality = metrics["quality"]
    assert thresholds["strategy"] == quality["selected_strategy"]
    assert thresholds["params"] == quality["strategies"][thresholds["strategy"]]["params"]
    card = (bundle / "README.md").read_text()
    assert "`onnx`: export from `teacher`" in card and "emocompress predict BUNDLE" in card
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
    assert main(["predict", str(broken), "hi"]) == 2
    assert (
        "thresholds.json: missing (the bundle's manifest.json lists it)" in capsys.readouterr().err
    )
    (broken / "metrics.json").unlink()
    (broken / "manifest.json").unlink()  # not a bundle any more, nor a measured variant
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


def test_export_refused_by_its_recipe_leaves_no_run_dir_behind(tiny_classifier, tmp_path, capsys):
    # a flag the recipe refuses left --run-dir holding export-recipe.yaml alone, and the
    # corrected command was then refused: "exists and is not empty, and is not a previous run"
    run_dir, out = tmp_path / "run", tmp_path / "b"
    argv = ["export", str(tiny_classifier), "--out", str(out), "--run-dir", str(run_dir)]
    argv += ["--data", "demo", "--max-length", "32", "--quiet"]
    assert main([*argv, "--max-examples", "0"]) == 2
    assert "max_examples" in capsys.readouterr().err
    assert not run_dir.exists() and not out.exists()
    assert main([*argv, "--max-examples", "40"]) == 0
    assert (out / "manifest.json").is_file()
    recipe_text = (run_dir / "export-recipe.yaml").read_text()
    # a refused second export into that run keeps the recipe the run was made with
    assert main([*argv, "--max-examples", "0", "--out", str(tmp_path / "b2")]) == 2
    assert (run_dir / "export-recipe.yaml").read_text() == recipe_text


def test_export_refuses_an_opset_the_exporter_cannot_write(tiny_classifier, tmp_path, capsys):
    # --opset 24 (or 99) crashed in torch.onnx.export ("Unsupported onnx_opset_version"), exit 3
    run_dir, out = tmp_path / "run", tmp_path / "b"
    argv = ["export", str(tiny_classifier), "--out", str(out), "--run-dir", str(run_dir)]
    assert main([*argv, "--data", "demo", "--opset", "24", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "--opset 24: Input should be less than or equal to 23" in err
    assert not run_dir.exists() and not out.exists()


@pytest.mark.parametrize(
    "flags",
    [
        ["--quantize-max-auc-drop", "0.01"],
        ["--no-per-channel"],
        ["--quantize-calibration-texts", "8"],
    ],
)
def test_quantize_settings_without_a_precision_are_refused(
    tiny_classifier, tmp_path, capsys, flags
):
    # they were ignored: an fp32 bundle was made as if they had not been given
    run_dir, out = tmp_path / "run", tmp_path / "b"
    argv = ["export", str(tiny_classifier), "--out", str(out), "--run-dir", str(run_dir)]
    assert main([*argv, "--data", "demo", *flags]) == 2
    err = capsys.readouterr().err
    assert f"{flags[0]}: quantize settings, but no quantisation was asked for" in err
    assert len(err.strip().splitlines()) == 1
    assert not run_dir.exists() and not out.exists()


def test_export_of_an_unmeasured_onnx_model_says_to_measure_it(bundle, tmp_path, capsys):
    # it ran a recipe with the ONNX graph as a PyTorch teacher, and the refusal listed
    # "2 problems in the recipe" of an export-recipe.yaml that was not there afterwards
    graph = tmp_path / "graph"
    shutil.copytree(bundle.parent / "run" / "variants" / "onnx", graph)
    (graph / "metrics.json").unlink()
    run_dir = tmp_path / "run"
    argv = ["export", str(graph), "--out", str(tmp_path / "b"), "--run-dir", str(run_dir)]
    assert main([*argv, "--data", "demo"]) == 2
    err = capsys.readouterr().err
    assert "an ONNX model without metrics.json" in err and "emocompress eval" in err
    assert len(err.strip().splitlines()) == 1 and not run_dir.exists()


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


def _copy(bundle, tmp_path, name="b"):
    copy = tmp_path / name
    shutil.copytree(bundle, copy)
    return copy


def test_the_manifest_holds_the_checksums_predict_verifies(bundle):
    from emocompress.artifacts.digest import sha256_of
    from emocompress.deploy.bundle import verify_bundle

    manifest = json.loads((bundle / "manifest.json").read_text())
    for name in ("model.onnx", "tokenizer.json", "labels.json", "thresholds.json"):
        assert manifest["files"][name]["sha256"] == sha256_of(bundle / name)
    assert verify_bundle(bundle) is True


@pytest.mark.parametrize("name", ["model.onnx", "tokenizer.json", "labels.json", "thresholds.json"])
def test_a_changed_or_swapped_file_is_refused(bundle, tmp_path, capsys, name):
    changed = _copy(bundle, tmp_path)
    with open(changed / name, "ab") as handle:
        handle.write(b" ")
    assert main(["predict", str(changed), "hi"]) == 2
    err = capsys.readouterr().err
    assert f"{changed / name}: its sha256 differs from the bundle's manifest.json" in err


def test_a_graph_whose_output_does_not_fit_the_labels_is_refused(bundle, tmp_path, capsys):
    shortened = _copy(bundle, tmp_path)
    labels = json.loads((shortened / "labels.json").read_text())
    (shortened / "labels.json").write_text(json.dumps(labels[:-1]))
    (shortened / "manifest.json").unlink()  # an older bundle: no manifest to catch it first
    assert main(["predict", str(shortened), "hi"]) == 2
    assert (
        "output has shape ['batch', 28], but labels.json names 27 labels" in capsys.readouterr().err
    )


def test_a_corrupt_tokenizer_is_one_message_naming_it(bundle, tmp_path, capsys):
    broken = _copy(bundle, tmp_path)
    (broken / "tokenizer.json").write_text('{"version": ')
    (broken / "manifest.json").unlink()
    assert main(["predict", str(broken), "hi"]) == 2
    err = capsys.readouterr().err
    assert f"{broken / 'tokenizer.json'}: cannot be read as a tokenizer" in err
    assert err.count("\n") == 1


def _nan_graph(path, labels: int) -> None:
    """A graph with the bundle's input and output shapes whose logits are all NaN."""
    import onnx
    from onnx import TensorProto, helper

    nodes = [
        helper.make_node("Cast", ["input_ids"], ["x"], to=TensorProto.FLOAT),
        helper.make_node("ReduceSum", ["x", "axes"], ["s"], keepdims=1),
        helper.make_node("Mul", ["s", "zero"], ["z"]),
        helper.make_node("Div", ["z", "z"], ["nan"]),
        helper.make_node("Add", ["nan", "row"], ["logits"]),
    ]
    graph = helper.make_graph(
        nodes,
        "nan",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", labels])],
        initializer=[
            helper.make_tensor("axes", TensorProto.INT64, [1], [1]),
            helper.make_tensor("zero", TensorProto.FLOAT, [], [0.0]),
            helper.make_tensor("row", TensorProto.FLOAT, [1, labels], [0.0] * labels),
        ],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)


def test_non_finite_outputs_are_refused(bundle, tmp_path, capsys):
    from emocompress.deploy.bundle import write_manifest

    nan = _copy(bundle, tmp_path)
    _nan_graph(nan / "model.onnx", 28)
    write_manifest(nan)  # the manifest agrees: the graph itself is what is wrong
    assert main(["predict", str(nan), "hi", "there"]) == 2
    err = capsys.readouterr().err
    assert "non-finite probabilities (NaN or inf) for 2 of 2 texts" in err


def test_empty_lines_are_reported(bundle, tmp_path, capsys):
    texts = tmp_path / "texts.txt"
    texts.write_text("great\n\n   \nawful\n", encoding="utf-8")
    assert main(["predict", str(bundle), "--file", str(texts), "--json"]) == 0
    out, err = capsys.readouterr()
    assert [r["text"] for r in json.loads(out)] == ["great", "awful"]
    assert f"note: {texts}: skipped 2 empty lines (line 2, 3)" in err


def test_bundle_files_have_the_usual_modes(bundle):
    import os

    umask = os.umask(0)
    os.umask(umask)
    for path in [bundle, *bundle.iterdir()]:
        expected = (0o777 if path.is_dir() else 0o666) & ~umask
        assert path.stat().st_mode & 0o777 == expected, path


@pytest.mark.parametrize(
    "content",
    ['{"strategy": "x", "params": {"thresholds": 5}}', '{"params": {"k": "many"}}', "[1]"],
)
def test_a_hand_edited_thresholds_file_is_one_message(bundle, tmp_path, capsys, content):
    edited = _copy(bundle, tmp_path)
    (edited / "thresholds.json").write_text(content)
    (edited / "manifest.json").unlink()  # an older bundle: only the file itself can tell
    assert main(["predict", str(edited), "hi"]) == 2
    err = capsys.readouterr().err
    assert f"{edited / 'thresholds.json'}: " in err and err.count("\n") == 1


def test_texts_come_from_stdin_and_pipes(bundle, tmp_path, capsys):
    # `--file -`, `--file /dev/stdin` and `--file <(cmd)` were all "no such file"
    command = [sys.executable, "-m", "emocompress", "predict", str(bundle), "--json", "--file"]
    env = {**os.environ, "EMOCOMPRESS_THREADS": "1"}
    for name in ("-", "/dev/stdin"):
        done = subprocess.run(
            [*command, name],
            input="so happy\n\nthank you\n",
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
        )
        assert done.returncode == 0, done.stderr
        assert [r["text"] for r in json.loads(done.stdout)] == ["so happy", "thank you"]
        assert "skipped 1 empty line (line 2)" in done.stderr
    fifo = tmp_path / "texts.fifo"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_text("what a day\n", encoding="utf-8"))
    writer.start()
    assert main(["predict", str(bundle), "--file", str(fifo), "--json"]) == 0
    writer.join(timeout=30)
    assert [r["text"] for r in json.loads(capsys.readouterr().out)] == ["what a day"]
    # a directory is said to be one, not "no such file"
    assert main(["predict", str(bundle), "--file", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "is a directory" in err and "no such file" not in err


def test_texts_may_follow_the_options(bundle, capsys):
    # `predict BUNDLE --top 1 "text"` was "unrecognized arguments: text" (argparse gives a
    # positional list its texts before the first option only)
    assert main(["predict", str(bundle), "--top", "1", "so happy", "--json", "what?!"]) == 0
    assert [r["text"] for r in json.loads(capsys.readouterr().out)] == ["so happy", "what?!"]
    with pytest.raises(SystemExit) as refused:  # an unknown option is still refused
        main(["predict", str(bundle), "--json", "hi", "--bogus"])
    assert refused.value.code == 2
    assert "unrecognized arguments: hi --bogus" in capsys.readouterr().err

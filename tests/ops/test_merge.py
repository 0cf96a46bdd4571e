"""Merging: each method against a hand computation, the streamed safetensors output (loads,
shards, metadata), refusals of checkpoints that do not fit, greedy soup, CLI and recipe."""

from __future__ import annotations

import hashlib
import json
import math
import shutil
from pathlib import Path

import pytest
import torch
from conftest import build_tiny_classifier
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from emocompress.artifacts.rundir import VariantDir
from emocompress.cli import main
from emocompress.errors import UserError
from emocompress.ops.merge.base import TensorInputs
from emocompress.ops.merge.engine import merge_checkpoints
from emocompress.ops.merge.inputs import MergeInput
from emocompress.ops.merge.operation import MergeSettings, parse_size
from emocompress.ops.merge.registry import METHODS
from emocompress.ops.merge.slerp import SlerpParams

# ----------------------------------------------------------------------------- methods by hand


def _merge(method: str, tensors, weights, *, base=None, densities=None, params=None):
    inputs = TensorInputs(
        [torch.tensor(t, dtype=torch.float32) for t in tensors],
        weights,
        densities or [1.0] * len(tensors),
        None if base is None else torch.tensor(base, dtype=torch.float32),
    )
    return METHODS.lookup(method).merge(inputs, params or METHODS.lookup(method).params()).tolist()


def test_uniform_is_the_weighted_average():
    # (1*[1, 2] + 3*[3, 6]) / 4
    assert _merge("uniform", [[1, 2], [3, 6]], [1, 3]) == [2.5, 5.0]
    assert _merge("uniform", [[1, 2], [3, 6], [5, 1]], [1, 1, 1]) == [3.0, 3.0]


def test_task_arithmetic_adds_lambda_times_each_difference():
    # [1, 1] + 0.5 * ([2, 0] - [1, 1]) + 1 * ([1, 3] - [1, 1])
    assert _merge("task_arithmetic", [[2, 0], [1, 3]], [0.5, 1], base=[1, 1]) == [1.5, 2.5]


def test_ties_trims_elects_and_takes_the_disjoint_mean():
    base = [1, 1, 1, 1]
    a = [4, 0, 1.5, -1]  # tau [3, -1, 0.5, -2] -> density 0.5 keeps [3, 0, 0, -2]
    b = [0, 3, 2, -3]  # tau [-1, 2, 1, -4]   -> keeps [0, 2, 0, -4]
    # elected signs [+, +, 0, -]; entry 3: both agree, (-2 - 4) / 2
    got = _merge("ties", [a, b], [1, 1], base=base, densities=[0.5, 0.5])
    assert got == [4.0, 3.0, 1.0, -2.0]
    # weights 2, 1: entry 0 is 2*3 / 2, entry 3 is (2*-2 + 1*-4) / (2 + 1)
    got = _merge("ties", [a, b], [2, 1], base=base, densities=[0.5, 0.5])
    assert got == pytest.approx([4.0, 3.0, 1.0, 1 - 8 / 3])
    # density 1 keeps everything: entry 1 has signs -1 vs +2, elected +, only b counts
    got = _merge("ties", [a, b], [1, 1], base=base, densities=[1.0, 1.0])
    assert got == pytest.approx([4.0, 3.0, 1.75, -2.0])


def test_slerp_follows_the_arc_and_falls_back_to_lerp():
    half = math.sin(math.pi / 4) / math.sin(math.pi / 2)
    got = _merge("slerp", [[1, 0], [0, 1]], [1, 1], params=SlerpParams(t=0.5))
    assert got == pytest.approx([half, half])
    assert _merge("slerp", [[1, 0], [0, 1]], [1, 1], params=SlerpParams(t=0)) == [1, 0]
    assert _merge("slerp", [[1, 0], [0, 1]], [1, 1], params=SlerpParams(t=1)) == pytest.approx(
        [0, 1], abs=1e-7
    )
    # parallel vectors: the linear interpolation 0.75 a + 0.25 b
    assert _merge("slerp", [[1, 2], [2, 4]], [1, 1], params=SlerpParams(t=0.25)) == [1.25, 2.5]


def test_registry_names_every_method():
    assert list(METHODS) == ["uniform", "greedy", "task_arithmetic", "ties", "slerp"]
    with pytest.raises(UserError, match="unknown merge method 'soup'"):
        METHODS.lookup("soup")


# ----------------------------------------------------------------------------- checkpoints


@pytest.fixture(scope="module")
def seeds(tmp_path_factory) -> list[Path]:
    """Three tiny classifiers of one architecture that differ only in their random seed."""
    root = tmp_path_factory.mktemp("seeds")
    return [build_tiny_classifier(root / f"seed{s}", seed=s) for s in range(3)]


def _inputs(paths, weights=None) -> list[MergeInput]:
    return [MergeInput(p.name, p, (weights or [1.0] * len(paths))[i]) for i, p in enumerate(paths)]


def _uniform(paths: list[Path], out: Path, **kwargs) -> dict:
    method = METHODS.lookup("uniform")
    return merge_checkpoints(method, method.params(), _inputs(paths), out, **kwargs)


def _merged(out: Path) -> dict[str, torch.Tensor]:
    return {k: v for f in sorted(out.glob("*.safetensors")) for k, v in load_file(f).items()}


def test_uniform_merge_streams_a_loadable_checkpoint_with_provenance(seeds, tmp_path):
    from emocompress.models.classifier import label_names_of, load_classifier

    out = tmp_path / "soup"
    out.mkdir()
    facts = merge_checkpoints(
        METHODS.lookup("uniform"),
        METHODS.lookup("uniform").params(),
        _inputs(seeds, [1, 2, 1]),
        out,
    )
    states = [load_file(p / "model.safetensors") for p in seeds]
    merged = _merged(out)
    assert list(merged) == list(states[0])
    for name, value in merged.items():
        expected = (states[0][name] + 2 * states[1][name] + states[2][name]) / 4
        assert torch.allclose(value, expected, atol=1e-6), name
    with safe_open(str(out / "model.safetensors"), framework="pt") as handle:
        metadata = handle.metadata()
    assert metadata["format"] == "pt"
    assert metadata["emocompress.merge.method"] == "uniform"
    params = json.loads(metadata["emocompress.merge.params"])
    assert [m["weight"] for m in params["models"]] == [1, 2, 1]
    hashes = {h["name"]: h["sha256"] for h in json.loads(metadata["emocompress.merge.inputs"])}
    for path in seeds:
        assert (
            hashes[path.name]
            == hashlib.sha256((path / "model.safetensors").read_bytes()).hexdigest()
        )
    assert facts["tensors"] == len(merged) and facts["files"] == ["model.safetensors"]
    model = load_classifier(out)  # config and tokenizer came from the first model
    assert label_names_of(model) == label_names_of(load_classifier(seeds[0]))
    assert torch.equal(model.classifier.weight, merged["classifier.weight"])
    assert (out / "tokenizer.json").is_file()


def test_large_output_is_sharded_with_an_index(seeds, tmp_path):
    from emocompress.models.classifier import load_classifier

    whole, sharded = tmp_path / "whole", tmp_path / "sharded"
    for out, limit in ((whole, 10**9), (sharded, 30_000)):
        out.mkdir()
        _uniform(seeds, out, max_shard_bytes=limit)
    index = json.loads((sharded / "model.safetensors.index.json").read_text())
    shards = sorted(p.name for p in sharded.glob("model-*.safetensors"))
    assert len(shards) > 1 and sorted(set(index["weight_map"].values())) == shards
    assert index["metadata"]["emocompress.merge.method"] == "uniform"
    for shard in sharded.glob("model-*.safetensors"):
        # a shard stays under the limit unless it holds one tensor larger than the limit
        tensors_in_shard = [n for n, f in index["weight_map"].items() if f == shard.name]
        assert shard.stat().st_size <= 30_000 + 4096 or len(tensors_in_shard) == 1
    a, b = _merged(whole), _merged(sharded)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert torch.equal(load_classifier(sharded).classifier.bias, a["classifier.bias"])


def test_ties_and_task_arithmetic_with_a_base_checkpoint(seeds, tmp_path):
    base, *models = [MergeInput(p.name, p, 1.0, 0.5) for p in seeds]
    out = tmp_path / "ties"
    out.mkdir()
    merge_checkpoints(
        METHODS.lookup("ties"), METHODS.lookup("ties").params(), models, out, base=base
    )
    states = [load_file(p / "model.safetensors") for p in seeds]
    name = "classifier.weight"
    expected = _merge(
        "ties",
        [states[1][name].tolist(), states[2][name].tolist()],
        [1, 1],
        base=states[0][name].tolist(),
        densities=[0.5, 0.5],
    )
    assert torch.allclose(_merged(out)[name], torch.tensor(expected), atol=1e-6)
    with safe_open(str(out / "model.safetensors"), framework="pt") as handle:
        hashed = json.loads(handle.metadata()["emocompress.merge.inputs"])
    assert [h["name"] for h in hashed] == ["seed1", "seed2", "seed0"]  # the base is hashed too


def test_bfloat16_stays_bfloat16_and_integer_buffers_are_copied(tmp_path):
    paths = []
    for i, value in enumerate((1.0, 2.0)):
        folder = tmp_path / f"m{i}"
        folder.mkdir()
        save_file(
            {
                "w": torch.full((3,), value, dtype=torch.bfloat16),
                "ids": torch.arange(4) + i,
            },
            str(folder / "model.safetensors"),
        )
        (folder / "config.json").write_text("{}")
        paths.append(folder)
    out = tmp_path / "out"
    out.mkdir()
    _uniform(paths, out)
    merged = load_file(out / "model.safetensors")
    assert merged["w"].dtype == torch.bfloat16 and merged["w"].tolist() == [1.5] * 3
    assert merged["ids"].tolist() == [0, 1, 2, 3]


# ----------------------------------------------------------------------------- refusals


def _variant(source: Path, folder: Path, change) -> Path:
    """A copy of ``source`` whose tensors went through ``change(state)``."""
    shutil.copytree(source, folder)
    state = load_file(folder / "model.safetensors")
    change(state)
    save_file(state, str(folder / "model.safetensors"), metadata={"format": "pt"})
    return folder


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda s: s.pop("classifier.bias"),
            r"tensor 'classifier\.bias' of seed0 is missing from other",
        ),
        (
            lambda s: s.update(extra=torch.zeros(2)),
            r"tensor 'extra' of other is missing from seed0",
        ),
        (
            lambda s: s.update({"classifier.bias": torch.zeros(5)}),
            r"tensor 'classifier\.bias' has shape \[28\] in seed0 but \[5\] in other",
        ),
        (
            lambda s: s.update({"classifier.bias": s["classifier.bias"].half()}),
            r"tensor 'classifier\.bias' is float32 in seed0 but float16 in other",
        ),
    ],
    ids=["missing", "extra", "shape", "dtype"],
)
def test_mismatched_tensors_are_refused_before_writing(seeds, tmp_path, change, message):
    other = _variant(seeds[1], tmp_path / "other", change)
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(UserError, match=message):
        _uniform([seeds[0], other], out)
    assert not any(out.iterdir())


def test_a_different_label_set_is_refused(seeds, tmp_path):
    other = tmp_path / "other"
    shutil.copytree(seeds[1], other)
    config = json.loads((other / "config.json").read_text())
    config["id2label"]["3"] = "irritation"
    (other / "config.json").write_text(json.dumps(config))
    with pytest.raises(
        UserError, match="different label sets.*only in seed0: annoyance.*irritation"
    ):
        _uniform([seeds[0], other], tmp_path)
    config["id2label"]["3"], config["id2label"]["4"] = "approval", "annoyance"  # swapped
    (other / "config.json").write_text(json.dumps(config))
    with pytest.raises(UserError, match="label 3 is 'annoyance' in seed0 but 'approval' in other"):
        _uniform([seeds[0], other], tmp_path)
    assert not list(tmp_path.glob("*.safetensors"))


def test_non_safetensors_input_is_refused(seeds, tmp_path):
    other = tmp_path / "bin"
    other.mkdir()
    torch.save(load_file(seeds[1] / "model.safetensors"), other / "pytorch_model.bin")
    (other / "config.json").write_text((seeds[1] / "config.json").read_text())
    with pytest.raises(UserError, match="expected safetensors weights"):
        _uniform([seeds[0], other], tmp_path)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--method", "soup"], "unknown merge method 'soup'"),
        (["--t", "0.3"], "t is not a setting of method uniform"),
        (["--method", "slerp", "--t", "1.5"], "t: Input should be less than or equal to 1"),
        (["--method", "ties"], "ties needs a base"),
        (["--density", "0.3"], "density applies to ties, not uniform"),
        (["--weights", "1", "2"], "--weights has 2 values for 3 models"),
        (["--method", "slerp"], "slerp merges exactly 2 models"),
        (["--method", "greedy", "--weights", "1", "2", "1"], "it takes no weights"),
        (["--method", "greedy"], "greedy soup measures candidate soups on a tune split"),
        (["--shard-size", "lots"], "cannot read a size from 'lots'"),
    ],
)
def test_bad_direct_arguments_are_one_clear_message(seeds, tmp_path, extra, message, capsys):
    argv = ["merge", *map(str, seeds), "--out", str(tmp_path / "out"), "--quiet", *extra]
    assert main(argv) == 2
    assert message in " ".join(capsys.readouterr().err.split())
    assert not (tmp_path / "out").exists()


def test_base_listed_as_a_model_and_a_taken_out_dir_are_refused(seeds, tmp_path, capsys):
    argv = ["merge", *map(str, seeds), "--method", "ties", "--base", str(seeds[0])]
    assert main([*argv, "--out", str(tmp_path / "o"), "--quiet"]) == 2
    assert "is both the base and a model" in capsys.readouterr().err
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "x").write_text("x")
    assert main(["merge", *map(str, seeds), "--out", str(tmp_path / "taken")]) == 2
    assert "exists and is not empty" in capsys.readouterr().err


def test_parse_size():
    assert parse_size("2GB") == 2 * 10**9 and parse_size("500mb") == 5 * 10**8
    assert parse_size(1234) == 1234 and parse_size("1.5k") == 1500


def test_settings_name_models_and_base_among_the_inputs(seeds):
    available = [(p.name, p) for p in seeds]
    settings = MergeSettings(method="ties", base="seed0", density=0.3)
    models, base = settings.inputs(available)
    assert [(m.name, m.density) for m in models] == [("seed1", 0.3), ("seed2", 0.3)]
    assert base is not None and base.name == "seed0"
    models, _ = MergeSettings(method="ties", base="seed0").inputs(available)
    assert models[0].density == 0.2  # the TIES paper's default
    with pytest.raises(UserError, match="model 'ghost' is not one of the inputs"):
        MergeSettings(models=[{"model": "ghost"}, {"model": "seed1"}]).inputs(available)


# ----------------------------------------------------------------------------- CLI and recipe


def test_direct_command_prints_what_it_did(seeds, tmp_path, capsys):
    out = tmp_path / "halfway"
    argv = [str(seeds[0]), str(seeds[1]), "--method", "slerp", "--t", "0.3", "--out", str(out)]
    assert main(["merge", *argv, "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert f"merged 2 models with slerp into {out}" in printed
    assert "41 tensors" in printed
    with safe_open(str(out / "model.safetensors"), framework="pt") as handle:
        assert json.loads(handle.metadata()["emocompress.merge.params"])["params"] == {"t": 0.3}
    # the merged checkpoint says where it came from, like every variant; no data: no metrics
    lineage = VariantDir(out).load_lineage()
    assert lineage.parents == [str(seeds[0]), str(seeds[1])] and lineage.source is None
    assert lineage.operation == "merge" and lineage.settings["method"] == "slerp"
    assert lineage.settings["t"] == 0.3 and lineage.facts["merge"]["params"] == {"t": 0.3}
    assert not VariantDir(out).has_metrics()


def test_greedy_direct_ranks_on_the_tune_split(seeds, tmp_path, capsys):
    out = tmp_path / "greedy"
    argv = [*map(str, seeds), "--method", "greedy", "--data", "demo", "--max-length", "32"]
    assert main(["merge", *argv, "--out", str(out), "--quiet"]) == 0
    assert "tune macro-AUC" in capsys.readouterr().out
    assert (out / "model.safetensors").is_file()
    # with --data the result is measured like every variant, its merge facts in its metrics
    metrics = VariantDir(out).load_metrics()
    assert metrics.quality is not None and metrics.quality.auc.macro is not None
    assert metrics.merge is not None and metrics.merge["method"] == "greedy"
    assert metrics.merge["greedy"]["chosen"]
    assert VariantDir(out).load_lineage().parents == [str(s) for s in seeds]


@pytest.mark.integration
def test_recipe_merges_seeded_students_and_greedy_reads_tune_predictions(tiny_classifier, tmp_path):
    from conftest import write_tiny_recipe

    from emocompress.artifacts.rundir import RunDir
    from emocompress.progress import Reporter
    from emocompress.recipe.loading import load_recipe
    from emocompress.run.runner import run_recipe

    students = "".join(
        f"""
  - name: s{seed}
    op: distil
    settings: {{init: {{layers: [0]}}, epochs: 1, batch_size: 16, lr: 1.0e-3, seed: {seed}}}"""
        for seed in (1, 2)
    )
    soups = """
  - name: uniform-soup
    op: merge
    parent: [student-1l, s1, s2]
  - name: greedy-soup
    op: merge
    parent: [student-1l, s1, s2]
    settings: {method: greedy, shard_size: 40kB}
"""
    recipe = load_recipe(write_tiny_recipe(tmp_path, tiny_classifier, extra=students + soups))
    run_recipe(recipe, tmp_path / "run", reporter=Reporter("quiet"))
    run = RunDir(tmp_path / "run")
    greedy = run.variant("greedy-soup").load_lineage().facts["merge"]["greedy"]
    assert [c["from"] for c in greedy["candidates"]] == ["predictions/tune.npz"] * 3
    aucs = [c["tune_macro_auc"] for c in greedy["candidates"]]
    assert aucs == sorted(aucs, reverse=True)
    assert greedy["chosen"][0] == greedy["candidates"][0]["name"]
    best, kept = aucs[0], [greedy["chosen"][0]]
    for step in greedy["steps"]:  # kept exactly when the soup did not get worse
        assert step["kept"] == (step["tune_macro_auc"] >= best)
        if step["kept"]:
            best, kept = step["tune_macro_auc"], [*kept, step["added"]]
    assert kept == greedy["chosen"] and best == greedy["soup_tune_macro_auc"]
    assert (run.variant("greedy-soup").path / "model.safetensors.index.json").is_file()
    for name in ("uniform-soup", "greedy-soup"):
        assert run.variant(name).load_metrics().macro_auc is not None
        assert run.variant(name).load_lineage().parent == ["student-1l", "s1", "s2"]


def test_recipe_settings_errors_name_the_key(tiny_classifier, tmp_path):
    from conftest import write_tiny_recipe

    from emocompress.recipe.loading import load_recipe

    extra = """
  - name: soup
    op: merge
    parent: [teacher, student-1l]
    settings: {method: slerp, t: 0.5, base: teacher}
"""
    with pytest.raises(
        UserError, match=r"variants\[1\]\.settings.*base applies to task_arithmetic"
    ):
        load_recipe(write_tiny_recipe(tmp_path, tiny_classifier, extra=extra))

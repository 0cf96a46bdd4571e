"""--out on, around or beside what a command reads: refused (exit 2, one line), nothing
deleted. The examples of issue 16, item 1, each as it was reported."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import write_tiny_recipe

from emocompress.cli import main


def tree(path: Path) -> dict[str, bytes]:
    """Every file under ``path`` with its bytes (what must survive a refused command)."""
    return {
        str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()
    }


@pytest.fixture(scope="module")
def exported(tmp_path_factory, tiny_classifier) -> Path:
    """A run with a measured ONNX variant (variants/onnx), made by `export MODEL`."""
    folder = tmp_path_factory.mktemp("exported")
    argv = ["export", str(tiny_classifier), "--out", str(folder / "bundle"), "--data", "demo"]
    argv += ["--run-dir", str(folder / "run"), "--max-length", "32", "--max-examples", "48"]
    assert main([*argv, "--quiet"]) == 0
    return folder / "run"


@pytest.fixture
def foreign(tmp_path) -> Path:
    """`mkdir -p v/sub; echo x > v/notes.txt`: a folder emocompress did not make."""
    (tmp_path / "v" / "sub").mkdir(parents=True)
    (tmp_path / "v" / "notes.txt").write_text("x\n")
    (tmp_path / "v" / "sub" / "keep.txt").write_text("y\n")
    return tmp_path / "v"


def refused(argv: list[str], capsys, *words: str) -> str:
    assert main(argv) == 2, argv
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    for word in words:
        assert word in err, err
    return err


def test_export_into_a_foreign_folder_is_refused(exported, foreign, capsys):
    before = tree(foreign)
    variant = exported / "variants" / "onnx"
    refused(["export", str(variant), "--out", str(foreign)], capsys, "not a previous bundle")
    assert tree(foreign) == before
    # with --overwrite it is the user's decision: the folder becomes the bundle
    assert main(["export", str(variant), "--out", str(foreign), "--overwrite"]) == 0
    assert (foreign / "manifest.json").is_file() and not (foreign / "notes.txt").exists()


def test_export_onto_the_sources_parent_is_refused_even_with_overwrite(exported, capsys):
    variants = exported / "variants"
    before = tree(variants)
    for extra in ([], ["--overwrite"]):
        refused(
            ["export", str(variants / "onnx"), "--out", str(variants), *extra],
            capsys,
            "holds the input",
        )
    refused(
        ["export", str(variants / "onnx"), "--out", str(variants / "onnx")], capsys, "is the input"
    )
    assert tree(variants) == before


def test_export_over_a_file_and_over_its_own_bundle(exported, tmp_path, capsys):
    file = tmp_path / "model.txt"
    file.write_text("mine\n")
    refused(
        ["export", str(exported / "variants" / "onnx"), "--out", str(file)],
        capsys,
        "not a directory",
    )
    assert file.read_text() == "mine\n"
    bundle = tmp_path / "b"
    for _ in range(2):  # its own earlier bundle is replaced without --overwrite
        assert main(["export", str(exported / "variants" / "onnx"), "--out", str(bundle)]) == 0


def test_prune_into_a_foreign_folder_or_into_its_input(tiny_classifier, foreign, capsys):
    before, model = tree(foreign), tree(tiny_classifier)
    base = ["prune", str(tiny_classifier), "--ffn", "0.5", "--quiet"]
    refused([*base, "--out", str(foreign)], capsys, "not a previous variant directory")
    refused(
        [*base, "--out", str(tiny_classifier / "sub"), "--overwrite"], capsys, "inside the input"
    )
    refused([*base, "--out", str(tiny_classifier.parent), "--overwrite"], capsys, "holds the input")
    assert tree(foreign) == before and tree(tiny_classifier) == model


def test_run_fresh_deletes_only_a_run_directory(tmp_path, tiny_classifier, foreign, capsys):
    recipe = str(write_tiny_recipe(tmp_path, tiny_classifier))
    before = tree(foreign)
    for argv, words in (
        (["run", recipe, "--out", str(foreign), "--fresh"], "--fresh deletes only a run directory"),
        (["run", recipe, "--out", str(foreign)], "not a previous run directory"),
        (["run", recipe, "--out", str(tmp_path)], "holds the input"),  # the recipe is there
    ):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and words in err and err.count("\n") == 1, err
    assert tree(foreign) == before


def test_a_folder_with_a_variants_subfolder_is_not_a_run_to_delete(
    tmp_path, tiny_classifier, foreign, capsys
):
    # a user's folder that happens to hold a variants/ folder counted as a run directory:
    # --fresh deleted everything in it, and a run wrote into it without --overwrite
    (foreign / "variants" / "mine").mkdir(parents=True)
    (foreign / "variants" / "mine" / "spec.txt").write_text("z\n")
    recipe = str(write_tiny_recipe(tmp_path, tiny_classifier))
    before = tree(foreign)
    for argv, words in (
        (["run", recipe, "--out", str(foreign), "--fresh"], "--fresh deletes only a run directory"),
        (["run", recipe, "--out", str(foreign)], "not a previous run directory"),
        (["distil", "--recipe", recipe, "--out", str(foreign)], "not a previous run directory"),
        (
            ["export", str(tiny_classifier), "--out", str(tmp_path / "b"), "--data", "demo"]
            + ["--run-dir", str(foreign)],
            "not a previous run directory",
        ),
        (["pull", "mlflow:abc", "--out", str(foreign)], "not a previous run directory"),
    ):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and words in err and err.count("\n") == 1, err
    assert tree(foreign) == before


@pytest.mark.parametrize("command", ["run", "eval", "merge", "prune"])
def test_out_on_an_existing_file_is_refused(tmp_path, tiny_classifier, command, capsys):
    file = tmp_path / "taken.txt"
    file.write_text("mine\n")
    model = str(tiny_classifier)
    argv = {
        "run": ["run", str(write_tiny_recipe(tmp_path, tiny_classifier))],
        "eval": ["eval", model, "--data", "demo"],
        "merge": ["merge", model, model],
        "prune": ["prune", model, "--ffn", "0.5"],
    }[command]
    refused([*argv, "--out", str(file), "--overwrite"], capsys, "exists and is not a directory")
    assert file.read_text() == "mine\n"


def test_eval_into_its_model_and_report_over_a_run_file(tiny_run, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    teacher = run / "variants" / "teacher"
    before = tree(run)
    refused(["eval", str(teacher), "--data", "demo", "--out", str(teacher)], capsys, "is the input")
    refused(
        ["report", str(run), "--out", str(run / "run.json"), "--overwrite"], capsys, "is the input"
    )
    refused(
        ["report", str(run), "--out", str(teacher / "metrics.json")], capsys, "inside the input"
    )
    notes = tmp_path / "notes.md"
    notes.write_text("my notes\n")
    refused(
        ["report", str(run), "--out", str(notes), "--no-figures"], capsys, "not a previous report"
    )
    assert tree(run) == before and notes.read_text() == "my notes\n"


def test_a_runs_variant_is_no_direct_commands_own_output(tiny_run, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    teacher, student = run / "variants" / "teacher", run / "variants" / "student-1l"
    before = tree(student)
    refused(
        ["eval", str(teacher), "--data", "demo", "--out", str(student)], capsys, "not a previous"
    )
    refused(
        ["prune", str(teacher), "--ffn", "0.5", "--out", str(student)], capsys, "not a previous"
    )
    assert tree(student) == before


def test_a_direct_commands_own_output_is_replaced(tiny_classifier, tmp_path, capsys):
    out = tmp_path / "p"
    for ffn in ("0.5", "0.25"):
        assert (
            main(["prune", str(tiny_classifier), "--ffn", ffn, "--out", str(out), "--quiet"]) == 0
        )
    assert '"ffn": 0.25' in (out / "emocompress.json").read_text()
    e = tmp_path / "e"
    for _ in range(2):
        argv = ["eval", str(tiny_classifier), "--data", "demo", "--max-examples", "30"]
        assert main([*argv, "--out", str(e), "--json"]) == 0
    assert (e / "metrics.json").is_file() and (e / "model.safetensors").is_symlink()


@pytest.mark.parametrize("inside", ["run.json", "variants/teacher/metrics.json"])
def test_a_recipe_commands_json_summary_is_never_written_over_the_run(
    tiny_run, tiny_classifier, tmp_path, capsys, inside
):
    # `distil --recipe R --out RUN --json RUN/run.json` replaced run.json with the summary:
    # the run directory was unreadable afterwards
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    recipe = write_tiny_recipe(tmp_path, tiny_classifier)
    before = tree(run)
    argv = ["distil", "--recipe", str(recipe), "--out", str(run), "--quiet"]
    refused([*argv, "--json", str(run / inside)], capsys, "would be written over", "JSON summary")
    assert tree(run) == before
    # nor over a record a new run is about to write
    new = tmp_path / "new"
    refused(
        [*argv[:-2], str(new), "--quiet", "--json", str(new / "run.json")],
        capsys,
        "would be written over",
    )
    assert not new.exists()


@pytest.mark.parametrize(
    "argv, words",
    [
        (["quantize"], "the recipe has no quantize variant"),
        (["prune", "--variant", "student-1l"], "the recipe has no prune variant named student-1l"),
        (["distil", "--variant", "nobody"], "no variant named nobody in the recipe"),
    ],
)
def test_a_recipe_command_with_nothing_to_do_leaves_no_run_directory(
    tmp_path, tiny_classifier, capsys, argv, words
):
    # refused (exit 2) only after --out held recipe.yaml, run.json and run.lock
    recipe = str(write_tiny_recipe(tmp_path, tiny_classifier))
    out = tmp_path / "new-run"
    assert main([argv[0], "--recipe", recipe, "--out", str(out), *argv[1:]]) == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1, err
    assert not out.exists()

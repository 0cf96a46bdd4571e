"""The shared fixtures themselves: a tiny run is complete and follows the contract."""

import json

from emocompress.artifacts.rundir import RunDir


def test_tiny_run_has_every_artifact(tiny_run):
    run = RunDir(tiny_run)
    names = [v.name for v in run.variants()]
    assert names == ["teacher", "student-1l"]
    for variant in run.variants():
        assert variant.is_complete()
        assert variant.load_metrics().quality.report_split == "dev"
        assert (variant.path / "model.safetensors").is_file()
        assert variant.predictions_file("dev").is_file()
        assert variant.predictions_file("tune").is_file()
    state = json.loads(run.run_file.read_text())
    assert state["status"] == "finished"
    assert run.gates_file.is_file()


def test_each_variant_is_compared_with_its_parent_in_its_metrics(tiny_run):
    run = RunDir(tiny_run)
    teacher = run.variant("teacher").load_metrics()
    student = run.variant("student-1l").load_metrics()
    comparison = student.against_parent
    assert comparison.parent == "teacher"
    assert comparison.macro_auc_drop == teacher.macro_auc - student.macro_auc
    assert "against_parent" not in teacher  # made from a model reference, not a variant

"""A bug in the middle of a run: one line naming the run's crash.log (which holds the
traceback), exit 3, run.json "failed", the lock released, and the run resumable."""

from __future__ import annotations

import shutil

import pytest
from conftest import write_tiny_recipe

from emocompress.artifacts.crashlog import forget_run_dir
from emocompress.cli import CRASH_EXIT, main
from emocompress.run import runner


@pytest.mark.integration
def test_a_crash_in_a_step_goes_to_the_runs_crash_log(
    tmp_path, tiny_run, tiny_classifier, capsys, monkeypatch
):
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    extra = (
        "  - name: student-b\n    op: distil\n    parent: teacher\n"
        "    settings: {init: {layers: [1]}, epochs: 1, batch_size: 16, lr: 1.0e-3}\n"
    )
    recipe = write_tiny_recipe(tmp_path, tiny_classifier, extra=extra)

    def bug(*args, **kwargs):
        raise ZeroDivisionError("a bug in a step")

    monkeypatch.setattr(runner, "_run_step", bug)
    monkeypatch.delenv("EMOCOMPRESS_DEBUG", raising=False)
    try:
        assert main(["run", str(recipe), "--out", str(run), "--resume", "--quiet"]) == CRASH_EXIT
    finally:
        forget_run_dir()
    err = capsys.readouterr().err
    log = run / "crash.log"
    assert err.count("\n") == 1 and "Traceback" not in err
    assert f"traceback in {log}" in err and "ZeroDivisionError: a bug in a step" in err
    assert "Traceback" in log.read_text() and "in bug" in log.read_text()
    assert '"status": "failed"' in (run / "run.json").read_text()
    assert (run / "run.lock").read_text() == ""
    monkeypatch.undo()
    assert main(["run", str(recipe), "--out", str(run), "--resume", "--quiet"]) in (0, 1)
    assert (run / "variants" / "student-b" / "metrics.json").is_file()

"""kill -9 at random moments, then --resume: the same results as a run never interrupted.
SIGTERM: run.json says "interrupted" and --resume finishes the run. Two writers: refused."""

from __future__ import annotations

import random
import signal
import time

import pytest
from conftest import write_tiny_recipe
from helpers import cli, finish, lock_held, run_status, variant_digests, wait_for

from emocompress.cli import main


@pytest.fixture(scope="module")
def reference(tmp_path_factory, tiny_classifier):
    """The tiny recipe run once without interruption, through the CLI like the others."""
    folder = tmp_path_factory.mktemp("reference")
    recipe = write_tiny_recipe(folder, tiny_classifier)
    code, _, err = finish(cli("run", str(recipe), "--out", str(folder / "run"), "--quiet"))
    assert code == 0, err
    return recipe, variant_digests(folder / "run")


@pytest.mark.integration
def test_kill_9_at_random_moments_then_resume_gives_the_same_results(tmp_path, reference):
    recipe, expected = reference
    rng = random.Random(16)
    run = tmp_path / "run"
    kills = []
    for attempt in range(3):
        argv = ["run", str(recipe), "--out", str(run), "--quiet"]
        process = cli(*argv, *(["--resume"] if attempt or run.exists() else []))
        assert wait_for(lambda: lock_held(run), timeout=120)
        time.sleep(rng.uniform(0.0, 4.0))  # the lock is taken before any step starts
        if process.poll() is not None:
            break
        process.send_signal(signal.SIGKILL)
        process.wait()
        kills.append(run_status(run))
    code, _, err = finish(cli("run", str(recipe), "--out", str(run), "--resume", "--quiet"))
    assert code == 0, err
    assert run_status(run) == ("finished", ["teacher", "student-1l"])
    assert variant_digests(run) == expected
    assert kills, "the run finished before any kill: nothing was tested"
    assert not [p for p in (run / "variants").iterdir() if p.name.startswith(".")]


@pytest.mark.integration
def test_sigterm_marks_the_run_interrupted_and_resume_finishes_it(tmp_path, reference):
    recipe, expected = reference
    run = tmp_path / "run"
    process = cli("run", str(recipe), "--out", str(run), "--quiet")
    assert wait_for(lambda: run_status(run)[0] == "running", timeout=120)
    time.sleep(0.5)
    process.send_signal(signal.SIGTERM)
    code, _, err = finish(process)
    if code == 0:
        pytest.skip("the run finished before SIGTERM arrived")
    assert code == 143, err
    assert "interrupted (SIGTERM)" in err and "Traceback" not in err
    assert run_status(run)[0] == "interrupted"
    assert (run / "run.lock").read_text() == ""  # released on the way out
    code, _, err = finish(cli("run", str(recipe), "--out", str(run), "--resume", "--quiet"))
    assert code == 0, err
    assert variant_digests(run) == expected


@pytest.mark.integration
@pytest.mark.parametrize("gaps", [(0.0, 0.0, 0.0), (0.0, 0.01, 0.01), (0.01, 0.05, 0.1)])
def test_ctrl_c_pressed_again_while_stopping_still_marks_the_run_interrupted(
    tmp_path, reference, gaps
):
    # more Ctrl-C while the first was being handled: run.json stayed "running" (as after
    # kill -9), or a KeyboardInterrupt traceback came from a library's exit hook
    recipe, expected = reference
    run = tmp_path / "run"
    process = cli("run", str(recipe), "--out", str(run), "--quiet")
    assert wait_for(lambda: run_status(run)[0] == "running", timeout=120)
    time.sleep(1.0)
    for gap in gaps:
        process.send_signal(signal.SIGINT)
        time.sleep(gap)
    code, _, err = finish(process)
    if code == 0:
        pytest.skip("the run finished before SIGINT arrived")
    assert code in (130, -signal.SIGINT), err  # a shell shows both as 130
    assert err == "interrupted (SIGINT); a run can continue with --resume\n"
    assert run_status(run)[0] == "interrupted"
    code, _, err = finish(cli("run", str(recipe), "--out", str(run), "--resume", "--quiet"))
    assert code == 0, err
    assert variant_digests(run) == expected


@pytest.mark.integration
def test_a_second_writer_is_refused_while_the_first_runs(tmp_path, reference, capsys):
    recipe, expected = reference
    run = tmp_path / "run"
    first = cli("run", str(recipe), "--out", str(run), "--quiet")
    try:
        assert wait_for(lambda: lock_held(run), timeout=120)
        assert main(["run", str(recipe), "--out", str(run), "--resume", "--quiet"]) == 2
        err = capsys.readouterr().err
        assert f"being written by pid {first.pid} on " in err and "run.lock" in err
        assert err.count("\n") == 1
    finally:
        code, _, first_err = finish(first)
    assert code == 0, first_err
    assert variant_digests(run) == expected  # the refused writer changed nothing


def test_bench_does_not_write_into_a_run_another_process_writes(tmp_path, tiny_run, capsys):
    import shutil

    from helpers import hold_lock_elsewhere

    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    before = (run / "variants" / "teacher" / "metrics.json").read_bytes()
    holder = hold_lock_elsewhere(run / "run.lock")
    try:
        argv = ["bench", str(run), "--runs", "1", "--warmup", "0", "--n-texts", "4"]
        assert main(argv) == 2
    finally:
        holder.kill()
        holder.wait()
    err = capsys.readouterr().err
    assert f"being written by pid {holder.pid}" in err.splitlines()[-1]
    assert (run / "variants" / "teacher" / "metrics.json").read_bytes() == before

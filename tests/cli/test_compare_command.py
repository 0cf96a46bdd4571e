"""`emocompress compare RUN`: comparison.json on a run directory, tables and --json."""

from __future__ import annotations

import json

import pytest
from synthetic_runs import make_run

from emocompress.artifacts.rundir import RunDir
from emocompress.cli import main


def test_compare_writes_the_comparison_and_prints_deltas(tmp_path, capsys):
    run = make_run(tmp_path / "run", {"weak": 0.0})
    assert main(["compare", str(run.root), "--resamples", "200", "--examples", "3"]) == 0
    printed = capsys.readouterr().out
    assert "Paired differences" in printed and "What weak forgot against teacher" in printed
    comparison = RunDir(run.root).load_comparison()
    assert comparison is not None and comparison.bootstrap.resamples == 200
    pair = comparison.pair("weak", "teacher")
    assert pair is not None
    for emotion in pair.significant_f1_drops:
        assert emotion in printed


def test_compare_json_to_stdout_and_no_write(tmp_path, capsys):
    run = make_run(tmp_path / "run", {"student": 0.2})
    assert main(["compare", str(run.root), "--resamples", "100", "--no-write", "--json", "-"]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["bootstrap"]["resamples"] == 100
    assert [p["variant"] for p in payload["comparisons"]] == ["student"]
    assert not RunDir(run.root).comparison_file.exists()


def test_compare_refuses_a_folder_that_is_no_run(tmp_path, capsys):
    assert main(["compare", str(tmp_path)]) == 2
    assert "not a run directory" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("flag", "value", "expected"),
    [
        ("--resamples", "0", "--resamples 0: Input should be greater than or equal to 20"),
        ("--confidence", "1.5", "--confidence 1.5: Input should be less than 1"),
    ],
)
def test_compare_refuses_bootstrap_settings_out_of_range(tmp_path, capsys, flag, value, expected):
    run = make_run(tmp_path / "run", {"student": 0.2})
    assert main(["compare", str(run.root), flag, value]) == 2
    err = capsys.readouterr().err
    assert expected in err and len(err.strip().splitlines()) == 1
    assert not RunDir(run.root).comparison_file.exists()


def test_compare_refuses_an_unknown_reference(tmp_path, capsys):
    # a misspelt --reference used to be ignored: the deltas were silently against the teacher
    run = make_run(tmp_path / "run", {"student": 0.2})
    assert main(["compare", str(run.root), "--reference", "techer", "--resamples", "50"]) == 2
    err = capsys.readouterr().err
    assert "--reference techer" in err and "one of student, teacher" in err
    assert len(err.strip().splitlines()) == 1
    assert not RunDir(run.root).comparison_file.exists()


@pytest.mark.parametrize("inside", ["run.json", "variants/teacher/metrics.json", "gates.json"])
def test_compare_json_file_is_never_written_into_the_run(tmp_path, capsys, inside):
    # --json RUN/run.json replaced the run's record with the comparison: the run was unreadable
    run = make_run(tmp_path / "run", {"student": 0.2})
    target = run.root / inside
    before = target.read_bytes() if target.exists() else None
    assert main(["compare", str(run.root), "--resamples", "50", "--json", str(target)]) == 2
    err = capsys.readouterr().err
    assert "would be written over" in err and len(err.strip().splitlines()) == 1
    assert (target.read_bytes() if target.exists() else None) == before
    assert not RunDir(run.root).comparison_file.exists()
    # elsewhere it is written (and replaced, like a log), beside the run's files too
    for other in (tmp_path / "comparison.json", run.root / "mine.json"):
        assert main(["compare", str(run.root), "--resamples", "50", "--json", str(other)]) == 0
        assert json.loads(other.read_text())["bootstrap"]["resamples"] == 50

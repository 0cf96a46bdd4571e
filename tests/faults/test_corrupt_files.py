"""Corrupt files of every run-directory kind: each reader fails for that file, naming it;
the TUI shows the rest of the run; commands exit 2 in one line, never a traceback."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from emocompress.artifacts.rundir import RunDir, VariantDir
from emocompress.cli import main
from emocompress.errors import UserError

CORRUPTIONS = {
    "truncated": lambda data: data[: max(1, len(data) // 2)],
    "not-utf8": lambda data: b"\xff\xfe" + data,
    "wrong-type": lambda data: b'{"schema_version": 2, "quality": "oops", "steps": 7, "name": []}',
    "empty": lambda data: b"",
}

# file (relative to the run) -> how its reader is called
READERS = {
    "run.json": lambda run: RunDir(run).load_state(),
    "recipe.yaml": lambda run: RunDir(run).load_recipe(),
    "gates.json": lambda run: RunDir(run).load_gates(),
    "bench.json": lambda run: RunDir(run).load_bench(),
    "variants/student-1l/metrics.json": lambda run: VariantDir(
        run / "variants/student-1l"
    ).load_metrics(),
    "variants/student-1l/emocompress.json": lambda run: VariantDir(
        run / "variants/student-1l"
    ).load_lineage(),
    "variants/student-1l/history.json": lambda run: VariantDir(
        run / "variants/student-1l"
    ).load_history(),
}


@pytest.fixture
def run(tmp_path, tiny_run) -> Path:
    copy = tmp_path / "run"
    shutil.copytree(tiny_run, copy)
    (copy / "bench.json").write_text('{"schema_version": 2}\n')  # a file to corrupt
    return copy


def _corrupt(path: Path, how: str) -> None:
    path.write_bytes(CORRUPTIONS[how](path.read_bytes()))


@pytest.mark.parametrize("how", sorted(CORRUPTIONS))
@pytest.mark.parametrize("name", sorted(READERS))
def test_each_reader_names_the_corrupt_file(run, name, how):
    _corrupt(run / name, how)
    if name == "recipe.yaml" and how == "truncated":
        pytest.skip("half of a YAML mapping is often still a valid YAML mapping")
    with pytest.raises(UserError) as caught:
        READERS[name](run)
    assert str(run / name) in str(caught.value)


@pytest.mark.parametrize(
    "name",
    [
        "variants/student-1l/metrics.json",
        "variants/student-1l/emocompress.json",
        "variants/student-1l/history.json",
    ],
)
def test_the_tui_shows_the_rest_of_the_run(run, name):
    from tui.data import load_catalog

    _corrupt(run / name, "not-utf8")
    catalog = load_catalog([str(run)])
    assert [v.name for v in catalog.variants] == ["teacher", "student-1l"]
    assert any(str(run / name) in error for error in catalog.errors), catalog.errors
    teacher = next(v for v in catalog.variants if v.name == "teacher")
    assert teacher.metrics is not None  # the other variant is whole


@pytest.mark.parametrize(
    "name",
    [
        "run.json",
        "recipe.yaml",
        "variants/student-1l/metrics.json",
        "variants/student-1l/emocompress.json",
        "variants/student-1l/history.json",
        "variants/teacher/model.safetensors",
        "variants/teacher/config.json",
        "variants/teacher/predictions/dev.npz",
        "gates.json",
    ],
)
def test_commands_on_a_corrupt_run_exit_2_in_one_line(run, name, capsys):
    _corrupt(run / name, "not-utf8" if name.endswith((".json", ".yaml")) else "truncated")
    for argv in (
        ["report", str(run), "--no-figures", "--no-csv"],
        [
            "eval",
            str(run / "variants" / "teacher"),
            "--data",
            "demo",
            "--max-examples",
            "20",
            "--out",
            str(run.parent / "e"),
            "--overwrite",
            "--json",
        ],
    ):
        code = main(argv)
        err = capsys.readouterr().err
        assert code in (0, 2), (argv, err)
        assert "Traceback" not in err and "crash:" not in err, (argv, err)
        if code == 2:  # progress lines may come first; the error is the one last line
            assert err.splitlines()[-1].startswith("error: ") and str(run) in err, err


def test_report_leaves_out_a_variant_whose_metrics_json_is_broken(run, capsys):
    _corrupt(run / "variants" / "student-1l" / "metrics.json", "not-utf8")
    out = run.parent / "report.md"
    assert main(["report", str(run), "--out", str(out), "--no-figures", "--no-csv"]) == 0
    err = capsys.readouterr().err
    assert "left out, unreadable: student-1l:" in err and "metrics.json" in err
    text = out.read_text()
    assert "Not reported (a file could not be read):" in text and "- student-1l:" in text
    assert "teacher" in text  # the rest of the run is reported

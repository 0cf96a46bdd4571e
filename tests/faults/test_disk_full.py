"""A full disk: exit 2 with one line saying so, no half-made output, nothing existing lost.

Two ways: a real small tmpfs (when this process may mount one), and ENOSPC injected at the
moment an artifact is committed (always)."""

from __future__ import annotations

import errno
import os
import shutil
import subprocess

import pytest
from conftest import write_tiny_recipe

from emocompress.artifacts import atomic
from emocompress.cli import main


@pytest.fixture
def small_disk(tmp_path):
    """A 64 KiB tmpfs with one file on it that must survive."""
    disk = tmp_path / "disk"
    disk.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(disk)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        (disk / "keep.txt").write_text("precious\n")
        yield disk
    finally:
        subprocess.run(["umount", str(disk)], check=False)


def _inject_enospc(monkeypatch, name: str) -> None:
    """Committing a file called ``name`` fails as a full disk would."""
    real = atomic._fsync_file

    def full(path):
        if path.name.startswith(f".{name}."):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        real(path)

    monkeypatch.setattr(atomic, "_fsync_file", full)


def _one_line_disk_full(capsys) -> str:
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "disk full" in err, err
    assert err.count("\n") == 1 and "Traceback" not in err
    return err


def test_prune_onto_a_full_tmpfs(small_disk, tiny_classifier, capsys):
    out = small_disk / "pruned"
    assert main(["prune", str(tiny_classifier), "--ffn", "0.5", "--out", str(out), "--quiet"]) == 2
    _one_line_disk_full(capsys)
    assert sorted(p.name for p in small_disk.iterdir()) == ["keep.txt"]  # no half-made output
    assert (small_disk / "keep.txt").read_text() == "precious\n"


def test_eval_with_enospc_leaves_no_half_made_out(tmp_path, tiny_classifier, capsys, monkeypatch):
    _inject_enospc(monkeypatch, "metrics.json")
    out = tmp_path / "e"
    argv = [
        "eval",
        str(tiny_classifier),
        "--data",
        "demo",
        "--max-examples",
        "40",
        "--out",
        str(out),
    ]
    assert main([*argv, "--json"]) == 2
    _one_line_disk_full(capsys)
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".e.")]


@pytest.mark.integration
def test_a_run_with_enospc_fails_in_one_line_and_resumes(
    tmp_path, tiny_run, tiny_classifier, capsys, monkeypatch
):
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    extra = (
        "  - name: student-1l-b\n    op: distil\n    parent: teacher\n"
        "    settings: {init: {layers: [1]}, epochs: 1, batch_size: 16, lr: 1.0e-3}\n"
    )
    recipe = write_tiny_recipe(tmp_path, tiny_classifier, extra=extra)
    before = (run / "variants" / "student-1l" / "metrics.json").read_bytes()
    _inject_enospc(monkeypatch, "metrics.json")
    assert main(["run", str(recipe), "--out", str(run), "--resume", "--quiet"]) == 2
    _one_line_disk_full(capsys)
    assert '"status": "failed"' in (run / "run.json").read_text()
    assert not (run / "variants" / "student-1l-b").exists()
    assert (run / "variants" / "student-1l" / "metrics.json").read_bytes() == before
    monkeypatch.undo()
    assert main(["run", str(recipe), "--out", str(run), "--resume", "--quiet"]) in (0, 1)
    assert (run / "variants" / "student-1l-b" / "metrics.json").is_file()

"""Finished folders get the modes plain files get under the umask (mkstemp's 0600 and
mkdtemp's 0700 never reach the user)."""

from __future__ import annotations

import os
import tempfile

from emocompress.artifacts.atomic import atomic_dir


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def test_files_made_0600_inside_an_atomic_dir_end_up_like_any_file(tmp_path):
    with atomic_dir(tmp_path / "v") as tmp:
        fd, name = tempfile.mkstemp(dir=tmp)  # what safetensors' writer does: 0600
        os.close(fd)
        os.rename(name, tmp / "model.safetensors")
        (tmp / "sub").mkdir(mode=0o700)
        script = tmp / "run.sh"
        script.write_text("#!/bin/sh\n")
        script.chmod(0o700)
    umask = _umask()
    assert (tmp_path / "v" / "model.safetensors").stat().st_mode & 0o777 == 0o666 & ~umask
    assert (tmp_path / "v" / "sub").stat().st_mode & 0o777 == 0o777 & ~umask
    assert (tmp_path / "v").stat().st_mode & 0o777 == 0o777 & ~umask
    assert script.exists() is False  # the temporary folder itself is gone
    assert (tmp_path / "v" / "run.sh").stat().st_mode & 0o777 == 0o777 & ~umask


def test_a_variant_of_a_run_has_a_readable_checkpoint(tiny_run):
    weights = tiny_run / "variants" / "teacher" / "model.safetensors"
    assert weights.stat().st_mode & 0o777 == 0o666 & ~_umask()

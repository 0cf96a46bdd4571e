"""Model references on the command line: a local path, pkg:NAME or a hub id, and the one-line
messages when none of them is there."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def _emocompress(*argv: str, cwd) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "EMOCOMPRESS_THREADS": "1"}
    command = [sys.executable, "-m", "emocompress", *argv]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, env=env, cwd=cwd)


@pytest.mark.parametrize("name", ["model.safetensors", "model.onnx", "pytorch_model.bin"])
def test_a_missing_weight_file_is_no_hub_id(name, tmp_path):
    # a bare file name that is not there was looked up on the hub, and the hub's
    # multi-line "cannot find a cached snapshot" came back instead of "no such file"
    done = _emocompress("inspect", name, cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"error: no such file or directory: {name} (expected a checkpoint directory or file)"
    )


def test_a_hub_id_that_cannot_be_fetched_is_one_line(tmp_path):
    done = _emocompress("inspect", "no-such-model", cwd=tmp_path)
    assert done.returncode == 2
    err = done.stderr.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert "no local path" in err and "could not fetch it from the Hugging Face hub" in err

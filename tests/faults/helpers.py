"""What the fault-injection tests share: running the CLI in a child process, digests of a
run directory, waiting for a run to reach a point."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def cli(*argv: str, **kwargs) -> subprocess.Popen:
    """`emocompress ARGV` in a child process, one thread, this tree first on the path."""
    env = {
        **os.environ,
        "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "EMOCOMPRESS_DEBUG": "",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "emocompress", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        **kwargs,
    )


def finish(process: subprocess.Popen, timeout: float = 600) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err


def variant_digests(run: Path) -> dict[str, str]:
    """sha256 of every variant's model and metrics files (the results a resume must equal)."""
    digests = {}
    for variant in sorted((run / "variants").iterdir()):
        if variant.name.startswith("."):
            continue
        for name in ("model.safetensors", "model.onnx", "metrics.json", "emocompress.json"):
            file = variant / name
            if file.is_file():
                digests[f"{variant.name}/{name}"] = hashlib.sha256(file.read_bytes()).hexdigest()
    return digests


def run_status(run: Path) -> tuple[str | None, list[str]]:
    file = run / "run.json"
    if not file.is_file():
        return None, []
    try:
        data = json.loads(file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None, []
    return data.get("status"), list(data.get("steps", {}))


def wait_for(condition, timeout: float = 300, every: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(every)
    return False


def lock_held(run: Path) -> bool:
    lock = run / "run.lock"
    try:
        return bool(lock.read_text().strip())
    except OSError:
        return False


HOLD_LOCK = """
import sys, time
from pathlib import Path
from emocompress.artifacts.lock import hold_lock
with hold_lock(Path(sys.argv[1])):
    print("held", flush=True)
    time.sleep(120)
"""


def hold_lock_elsewhere(lock: Path) -> subprocess.Popen:
    """Another process holding ``lock`` (kill it when done)."""
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(lock)], stdout=subprocess.PIPE, text=True, env=env
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "held"
    return process

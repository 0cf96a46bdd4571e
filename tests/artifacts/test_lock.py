"""The run-directory lock: one writer, a named holder, stale locks taken over."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

from emocompress.artifacts.lock import hold_lock, read_holder
from emocompress.errors import UserError

HOLD = """
import sys, time
from pathlib import Path
from emocompress.artifacts.lock import hold_lock
with hold_lock(Path(sys.argv[1])):
    print("held", flush=True)
    time.sleep(60)
"""


def _holder_process(lock):
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(lock)], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None and process.stdout.readline().strip() == "held"
    return process


def test_a_second_writer_is_refused_with_the_holders_pid_and_host(tmp_path):
    lock = tmp_path / "run" / "run.lock"
    process = _holder_process(lock)
    try:
        refused = pytest.raises(UserError, match=f"being written by pid {process.pid} on ")
        with refused, hold_lock(lock):
            pass
    finally:
        process.kill()
        process.wait()


def test_a_lock_left_by_a_killed_process_is_taken_over(tmp_path):
    lock = tmp_path / "run.lock"
    process = _holder_process(lock)
    process.kill()  # kill -9: no cleanup ran; the file still names it
    process.wait()
    assert read_holder(lock).pid == process.pid
    seen = []
    with hold_lock(lock, on_stale=seen.append) as me:
        assert me.pid == os.getpid()
        assert json.loads(lock.read_text())["pid"] == os.getpid()
    assert [holder.pid for holder in seen] == [process.pid]
    assert lock.read_text() == ""  # released cleanly: no holder recorded
    with hold_lock(lock, on_stale=seen.append):
        pass
    assert len(seen) == 1  # a clean release is not stale


def test_the_lock_is_released_when_the_block_fails(tmp_path):
    lock = tmp_path / "run.lock"
    with pytest.raises(RuntimeError), hold_lock(lock):
        raise RuntimeError("boom")
    started = time.perf_counter()
    with hold_lock(lock):
        assert time.perf_counter() - started < 5


def test_an_unreadable_lock_file_names_an_unknown_holder(tmp_path):
    lock = tmp_path / "run.lock"
    lock.write_bytes(b"\xff\xfe not json")
    holder = read_holder(lock)
    assert holder.pid is None and holder.describe() == "an unknown process"

"""The one error path: exit 2 and one line for what the user can fix, a crash log for bugs,
tracebacks only with --debug or EMOCOMPRESS_DEBUG=1, a quiet end on a closed pipe."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest

from emocompress.artifacts.crashlog import forget_run_dir, remember_run_dir
from emocompress.cli import CRASH_EXIT, build_parser, handle_error, main
from emocompress.errors import Interrupted, UserError


def _raise(exc):
    try:
        raise exc
    except BaseException as caught:  # noqa: BLE001 - a real exception with a traceback
        return caught


def test_a_user_error_is_one_line_and_exit_2(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("EMOCOMPRESS_DEBUG", raising=False)
    assert main(["eval", str(tmp_path / "absent"), "--data", "demo"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.parametrize("how", ["flag-before", "flag-after", "env"])
def test_debug_shows_the_traceback(tmp_path, capsys, monkeypatch, how):
    argv = ["eval", str(tmp_path / "absent"), "--data", "demo"]
    monkeypatch.delenv("EMOCOMPRESS_DEBUG", raising=False)
    if how == "env":
        monkeypatch.setenv("EMOCOMPRESS_DEBUG", "1")
    argv = (
        ["--debug", *argv] if how == "flag-before" else [*argv, "--debug"] * (how != "env") or argv
    )
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and "error: " in err


@pytest.mark.parametrize(
    ("code", "words"),
    [
        (errno.ENOSPC, "disk full"),
        (errno.EACCES, "Permission denied"),
        (errno.EROFS, "Read-only file system"),
        (errno.ENOENT, "No such file or directory"),
    ],
)
def test_os_errors_about_files_are_user_errors(capsys, code, words):
    exc = _raise(OSError(code, os.strerror(code), "/data/runs/x/metrics.json"))
    assert handle_error(exc, None, ["emocompress"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: /data/runs/x/metrics.json: ") and words in err
    assert "Traceback" not in err


def test_an_unexpected_crash_goes_to_the_run_directorys_crash_log(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("EMOCOMPRESS_DEBUG", raising=False)
    remember_run_dir(tmp_path)
    try:
        exc = _raise(ZeroDivisionError("division by zero"))
        assert handle_error(exc, None, ["emocompress", "run", "x.yaml"]) == CRASH_EXIT
    finally:
        forget_run_dir()
    err = capsys.readouterr().err
    log = tmp_path / "crash.log"
    assert err.count("\n") == 1 and "Traceback" not in err and str(log) in err
    text = log.read_text()
    assert "Traceback" in text and "ZeroDivisionError: division by zero" in text
    assert "emocompress run x.yaml" in text


def test_a_crash_without_a_run_directory_goes_to_a_temporary_file(capsys):
    forget_run_dir()
    assert handle_error(_raise(KeyError("k")), None, []) == CRASH_EXIT
    err = capsys.readouterr().err
    path = err.split("traceback in ")[1].split(";")[0]
    assert "KeyError" in Path(path).read_text(encoding="utf-8")
    os.unlink(path)


def test_signals_and_user_errors_keep_their_codes(capsys):
    assert handle_error(_raise(Interrupted(15, "SIGTERM")), None, []) == 143
    assert handle_error(_raise(KeyboardInterrupt()), None, []) == 130
    assert handle_error(_raise(UserError("bad", where="f.yaml")), None, []) == 2
    err = capsys.readouterr().err
    assert "interrupted (SIGTERM)" in err and "error: f.yaml: bad" in err


def test_an_interruption_offers_resume_only_where_the_command_has_it(capsys):
    # eval, report, bench... were told "a run can continue with --resume", an option they lack
    for command, resumable in (["eval", "m", "--data", "demo"], False), (["run", "r.yaml"], True):
        args = build_parser().parse_args(command)
        assert handle_error(_raise(KeyboardInterrupt()), args, command) == 130
        err = capsys.readouterr().err
        assert err.startswith("interrupted (SIGINT)")
        assert ("--resume" in err) is resumable, err


def test_a_closed_stdout_ends_quietly(tiny_classifier):
    process = subprocess.Popen(
        [sys.executable, "-m", "emocompress", "inspect", str(tiny_classifier)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "EMOCOMPRESS_DEBUG": ""},
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # like `| head` that has read enough
    err = process.stderr.read().decode()
    assert process.wait(timeout=120) == 141
    assert "Traceback" not in err and "BrokenPipe" not in err


def test_a_signal_inside_an_import_is_an_interruption_not_a_crash(capsys):
    # what Python does when SIGTERM lands in a class body: __set_name__ wraps the interrupt
    def wrapped():
        try:
            raise Interrupted(15, "SIGTERM")
        except Interrupted as signal:
            raise RuntimeError("Error calling __set_name__ on 'cached_property'") from signal

    exc = _raise_from(wrapped)
    assert handle_error(exc, None, ["emocompress", "run"]) == 143
    err = capsys.readouterr().err
    assert "interrupted (SIGTERM)" in err and "crash" not in err


def _raise_from(function):
    try:
        function()
    except BaseException as caught:  # noqa: BLE001
        return caught
    raise AssertionError("expected an exception")

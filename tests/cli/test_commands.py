"""The command list: every command module is registered, in the order --help shows, and
--help stays light (no torch)."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import pytest

import emocompress.cli.commands as package
from emocompress.cli import main
from emocompress.cli.commands import COMMANDS


def test_every_command_module_is_listed_once() -> None:
    modules = {info.name for info in pkgutil.iter_modules(package.__path__)}
    listed = {command.__name__.rsplit(".", 1)[1] for command in COMMANDS.values()}
    assert listed == {name for name in modules if not name.startswith("_")}
    assert all(name == command.NAME for name, command in COMMANDS.items())


def test_help_lists_the_commands_in_order(capsys) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    positions = [text.index(f"    {name} ") for name in COMMANDS]
    assert positions == sorted(positions)


def test_help_imports_no_heavy_library() -> None:
    code = (
        "import sys; from emocompress.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit as done:\n    assert done.code == 0\n"
        "heavy = {'torch', 'transformers', 'onnxruntime', 'textual'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


def test_unknown_command_exits_2(capsys) -> None:
    with pytest.raises(SystemExit) as done:
        main(["serve"])
    assert done.value.code == 2
    assert "invalid choice: 'serve'" in capsys.readouterr().err


def test_every_option_says_what_it_is_and_its_default() -> None:
    # --batch-size of eval and predict, --max-length and --seed of prune had no help at all;
    # several defaults were not shown
    import argparse

    from emocompress.cli import build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    missing = []
    for name, command in commands.choices.items():
        for action in command._actions:
            text = action.help or ""
            default = action.default
            shown = default in (None, False, [], argparse.SUPPRESS) or "default" in text
            if not text or not shown:
                missing.append(f"{name} {'/'.join(action.option_strings) or action.dest}")
    assert missing == []


def test_list_positionals_may_follow_options(tmp_path) -> None:
    # `merge A --out X B` and `bench RUN --threads 1 RUN2` were "unrecognized arguments"
    from emocompress.cli import _parse, build_parser

    parser = build_parser()
    args = _parse(parser, ["merge", "a", "--out", str(tmp_path), "b", "--method", "ties", "c"])
    assert args.models == ["a", "b", "c"] and args.out == str(tmp_path)
    args = _parse(parser, ["bench", "runs/x", "--threads", "1", "runs/y"])
    assert args.paths == ["runs/x", "runs/y"] and args.threads == "1"
    with pytest.raises(SystemExit):
        _parse(parser, ["inspect", "a", "b"])  # one PATH: a second word is still refused

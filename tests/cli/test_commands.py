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

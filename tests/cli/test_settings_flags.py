"""Direct-command flags come from the operations' settings models, and go back into them."""

from __future__ import annotations

import argparse

import pytest
from pydantic import BaseModel

from emocompress.cli import main
from emocompress.cli.commands import prune as prune_command
from emocompress.cli.settings_flags import add_settings_flags, flag_names, settings_from_flags
from emocompress.errors import UserError
from emocompress.ops.prune.operation import PruneSettings


def _leaf_paths(model: type[BaseModel], prefix: str = "") -> set[str]:
    """Every field of a settings model, nested models' fields as dotted paths."""
    from emocompress.cli.settings_flags import _is_model, _unwrap_optional

    paths = set()
    for name, field in model.model_fields.items():
        annotation, _ = _unwrap_optional(field.annotation)
        if _is_model(annotation):
            paths |= _leaf_paths(annotation, f"{prefix}{name}.")
        else:
            paths.add(f"{prefix}{name}")
    return paths


def _prune_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="emocompress prune")
    prune_command.add_arguments(parser)
    return parser


def _prune_settings(argv: list[str]) -> PruneSettings:
    return prune_command.settings_from_args(_prune_parser().parse_args(["MODEL", *argv]))


def test_every_prune_setting_has_a_flag_of_the_prune_command():
    names = flag_names(PruneSettings, rename=prune_command.RENAME)
    assert _leaf_paths(PruneSettings) <= set(names)
    options = {o for action in _prune_parser()._actions for o in action.option_strings}
    assert set(names.values()) <= options
    # today's names still work, and the generated one for the renamed setting too
    for flag in ("--heads", "--ffn", "--hidden", "--drop-layers", "--scope", "--importance"):
        assert flag in options
    assert {
        "--sparsity",
        "--vocab",
        "--recovery",
        "--recovery-mode",
        "--recovery-epochs",
    } <= options


def test_flags_round_trip_into_the_settings():
    settings = _prune_settings(
        [
            "--heads", "0.5", "--drop-layers", "3,5", "--scope", "global",
            "--vocab-corpus", "train,tune", "--recovery", "distil", "--recovery-epochs", "2",
        ]
    )  # fmt: skip
    assert settings.heads == 0.5 and settings.drop_layers == [3, 5]
    assert settings.scope == "global"
    assert settings.vocab is not None and settings.vocab.corpus == ["train", "tune"]
    assert settings.recovery.mode == "distil" and settings.recovery.epochs == 2.0
    # flags not given keep the model's defaults
    defaults = PruneSettings(heads=0.5)
    assert settings.ffn == defaults.ffn and settings.importance == defaults.importance
    assert settings.recovery.lr == defaults.recovery.lr
    assert settings.recovery.batch_size == defaults.recovery.batch_size


def test_only_given_flags_override_and_a_section_flag_sets_its_defaults():
    settings = _prune_settings(["--ffn", "0.25", "--vocab"])
    assert settings.vocab is not None and settings.vocab.corpus == ["train"]
    assert settings.recovery.mode == "none"  # no --data: recovery defaults to none
    assert (
        settings.model_dump()
        == PruneSettings(ffn=0.25, vocab={}, recovery={"mode": "none"}).model_dump()
    )
    parser = _prune_parser()
    with_data = prune_command.settings_from_args(
        parser.parse_args(["MODEL", "--ffn", "0.25", "--data", "demo"])
    )
    assert with_data.recovery.mode == "finetune"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--heads", "1.5"], "--heads 1.5: Input should be less than 1"),
        (["--heads", "lots"], "--heads lots: Input should be a valid number"),
        (["--drop-layers", "3,x"], "--drop-layers x: Input should be a valid integer"),
        (
            ["--ffn", "0.5", "--scope", "wide"],
            "--scope wide: Input should be 'uniform' or 'global'",
        ),
        (
            ["--ffn", "0.5", "--recovery-epochs", "0"],
            "--recovery-epochs 0: Input should be greater than 0",
        ),
        ([], "nothing to prune"),
    ],
)
def test_a_bad_value_is_one_user_error_naming_the_flag(argv, message):
    with pytest.raises(UserError) as error:
        _prune_settings(argv)
    text = str(error.value)
    assert message in text and "\n" not in text


def test_bad_flag_on_the_command_line_exits_2_with_one_line(tiny_classifier, tmp_path, capsys):
    argv = ["prune", str(tiny_classifier), "--heads", "2", "--out", str(tmp_path / "p")]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "--heads 2" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "p").exists()


class _Inner(BaseModel):
    mode: str = "a"


class _Sample(BaseModel):
    flag: bool = True
    size: int = 3
    inner: _Inner = _Inner()


def test_booleans_have_a_no_form_and_prefixes_apply_to_every_flag():
    parser = argparse.ArgumentParser()
    add_settings_flags(parser, _Sample, prefix="x-")
    args = parser.parse_args(["--no-x-flag", "--x-inner-mode", "b"])
    sample = settings_from_flags(args, _Sample, prefix="x-")
    assert sample == _Sample(flag=False, inner=_Inner(mode="b"))
    assert settings_from_flags(parser.parse_args([]), _Sample, prefix="x-") == _Sample()


def test_a_field_without_a_command_line_form_must_be_excluded():
    class WithDict(BaseModel):
        table: dict[str, int] = {}

    with pytest.raises(TypeError, match="table"):
        add_settings_flags(argparse.ArgumentParser(), WithDict)
    add_settings_flags(argparse.ArgumentParser(), WithDict, exclude=("table",))

"""The strict safetensors header parser and the one-message errors of ``emocompress inspect``."""

from __future__ import annotations

import json
import pickle
import struct
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emocompress.cli import main
from emocompress.errors import UserError
from emocompress.models.checkpoint import (
    SAFETENSORS_DTYPES,
    list_tensors,
    parse_safetensors_header,
    read_safetensors_header,
)


def write_safetensors(
    path: Path, header: object, data: bytes = b"", *, length: int | None = None
) -> Path:
    """A safetensors file by hand: 8-byte little-endian header length, JSON header, data."""
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(raw) if length is None else length) + raw + data)
    return path


def f32(begin: int, end: int, shape: list[int]) -> dict:
    return {"dtype": "F32", "shape": shape, "data_offsets": [begin, end]}


VALID_HEADER = {
    "__metadata__": {"format": "pt"},
    "a.weight": f32(0, 24, [2, 3]),
    "b.bias": {"dtype": "BF16", "shape": [4], "data_offsets": [24, 32]},
}


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(["inspect", *argv])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err + captured.out
    return code, " ".join(captured.err.split())  # undo rich's line wrapping


# ----------------------------------------------------------------------------- valid files


def test_valid_header_lists_tensors_with_absolute_offsets(tmp_path: Path) -> None:
    file = write_safetensors(tmp_path / "ok.safetensors", VALID_HEADER, bytes(32))
    infos = read_safetensors_header(file)
    header_end = file.stat().st_size - 32
    assert [(i.name, i.dtype, i.shape, i.numel, i.nbytes) for i in infos] == [
        ("a.weight", "float32", (2, 3), 6, 24),
        ("b.bias", "bfloat16", (4,), 4, 8),
    ]
    assert infos[0].offsets == (header_end, header_end + 24)


def test_zero_sized_tensors_and_empty_files_are_valid(tmp_path: Path) -> None:
    header = {"empty": f32(0, 0, [0, 5]), "one": f32(0, 4, [])}
    infos = read_safetensors_header(write_safetensors(tmp_path / "z.safetensors", header, bytes(4)))
    assert {i.name: i.numel for i in infos} == {"empty": 0, "one": 1}
    assert read_safetensors_header(write_safetensors(tmp_path / "e.safetensors", {})) == []


# ----------------------------------------------------------------------------- bad input, via the CLI


def test_truncated_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = tmp_path / "short.safetensors"
    file.write_bytes(b"\x10\x00\x00")
    code, err = run_cli(capsys, str(file))
    assert code == 2
    assert "short.safetensors: file is truncated (3 bytes)" in err
    assert "expected a safetensors file" in err


def test_header_length_beyond_file_size(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = write_safetensors(tmp_path / "cut.safetensors", b'{"a":', length=5000)
    code, err = run_cli(capsys, str(file))
    assert code == 2
    assert "header length 5000 runs past the end of the file (13 bytes)" in err


def test_malformed_header_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = write_safetensors(tmp_path / "bad.safetensors", b'{"a.weight": {"dtype": "F32",')
    code, err = run_cli(capsys, str(file))
    assert code == 2
    assert "bad.safetensors: malformed header JSON" in err
    assert "expected a JSON object" in err


def test_header_over_100_mb(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = write_safetensors(tmp_path / "huge.safetensors", b"{}" + bytes(64), length=200_000_000)
    code, err = run_cli(capsys, str(file))
    assert code == 2
    assert "header length 200000000 bytes is over the 100 MB limit" in err


def test_overlapping_offsets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    header = {"a": f32(0, 8, [2]), "b": f32(4, 12, [2])}
    file = write_safetensors(tmp_path / "overlap.safetensors", header, bytes(12))
    code, err = run_cli(capsys, str(file))
    assert code == 2
    assert "tensor 'b' data_offsets [4, 12] overlap tensor 'a' (ends at 8)" in err
    assert "expected tensors stored in disjoint byte ranges" in err


def test_offsets_past_the_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = write_safetensors(tmp_path / "past.safetensors", {"a": f32(0, 16, [4])}, bytes(8))
    code, err = run_cli(capsys, str(file))
    assert code == 2
    assert "tensor 'a' data_offsets [0, 16] run past the data section (8 bytes)" in err


def test_directory_with_no_weights(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "config.json").write_text("{}")
    code, err = run_cli(capsys, str(tmp_path))
    assert code == 2
    assert f"{tmp_path}: directory holds no weights" in err
    assert "expected model.safetensors" in err


def test_unknown_suffix(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = tmp_path / "weights.h5"
    file.write_bytes(b"\x89HDF")
    code, err = run_cli(capsys, str(file))
    assert code == 2
    assert "weights.h5: unknown weight file suffix '.h5'" in err


class NotATensor:
    pass


def test_pickle_that_is_not_a_state_dict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "pytorch_model.bin"
    file.write_bytes(pickle.dumps({"weight": NotATensor()}, protocol=2))
    code, err = run_cli(capsys, str(file))
    assert code == 2
    assert (
        "pytorch_model.bin: cannot be read as a plain state dict with torch.load(weights_only=True)"
        in err
    )
    assert "Unsupported global" in err and "NotATensor was not an allowed global" in err
    assert "expected a PyTorch state dict" in err


def test_training_checkpoint_is_not_a_plain_state_dict(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import torch

    file = tmp_path / "checkpoint.bin"
    torch.save({"model": {"w": torch.zeros(2)}, "epoch": 3}, file)
    code, err = run_cli(capsys, str(file))
    assert code == 2
    assert "checkpoint.bin: entry 'model' is a dict" in err
    assert "expected a plain state dict of tensor name -> tensor" in err


def test_missing_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run_cli(capsys, str(tmp_path / "nowhere" / "model.safetensors"))
    assert code == 2
    assert "no such file or directory" in err


def test_missing_shard(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    index = {
        "weight_map": {
            "a": "model-00001-of-00002.safetensors",
            "b": "model-00002-of-00002.safetensors",
        }
    }
    (tmp_path / "model.safetensors.index.json").write_text(json.dumps(index))
    write_safetensors(
        tmp_path / "model-00001-of-00002.safetensors", {"a": f32(0, 4, [1])}, bytes(4)
    )
    code, err = run_cli(capsys, str(tmp_path))
    assert code == 2
    assert "shard file(s) missing: model-00002-of-00002.safetensors" in err


# ----------------------------------------------------------------------------- the other header checks


@pytest.mark.parametrize(
    ("header", "data_size", "message"),
    [
        ([1, 2], 0, "header is a JSON list"),
        ({"a": 5}, 0, "tensor 'a': entry is a JSON int"),
        ({"a": {"dtype": "F31", "shape": [1], "data_offsets": [0, 4]}}, 4, "unknown dtype 'F31'"),
        ({"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}, 4, "bad shape [-1]"),
        ({"a": {"dtype": "F32", "shape": [True], "data_offsets": [0, 4]}}, 4, "bad shape [True]"),
        ({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0]}}, 4, "bad data_offsets [0]"),
        ({"a": f32(0, 8, [3])}, 8, "hold 8 bytes but shape [3] of float32 needs 12"),
        ({"a": f32(4, 8, [1])}, 8, "4 unused bytes before tensor 'a'"),
        ({"a": f32(0, 4, [1])}, 8, "4 bytes after the last tensor"),
        ({"__metadata__": {"n": 1}}, 0, "__metadata__ is not a map of strings"),
        (
            {"a": {"dtype": "F4", "shape": [3], "data_offsets": [0, 1]}},
            1,
            "do not fill whole bytes",
        ),
    ],
)
def test_header_problems(header: object, data_size: int, message: str) -> None:
    with pytest.raises(UserError, match="^x.safetensors: ") as error:
        parse_safetensors_header(json.dumps(header).encode(), data_size, where="x.safetensors")
    assert message in str(error.value)


def test_duplicate_tensor_names_are_malformed() -> None:
    header = b'{"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, "a": {}}'
    with pytest.raises(UserError, match="duplicate key 'a'"):
        parse_safetensors_header(header, 4)


def test_header_that_is_not_utf8() -> None:
    with pytest.raises(UserError, match="malformed header JSON"):
        parse_safetensors_header(b'{"\xff": 1}', 0)


# ----------------------------------------------------------------------------- fuzzing


def _parses_or_user_error(header: bytes, data_size: int) -> None:
    try:
        entries = parse_safetensors_header(header, data_size)
    except UserError:
        return
    assert sum(nbytes for *_, nbytes, _ in entries) == data_size


@settings(max_examples=300, deadline=None)
@given(header=st.binary(max_size=300), data_size=st.integers(0, 2**40))
def test_fuzz_random_header_bytes(header: bytes, data_size: int) -> None:
    _parses_or_user_error(header, data_size)


_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)
_ENTRIES = st.fixed_dictionaries(
    {},
    optional={
        "dtype": st.sampled_from(list(SAFETENSORS_DTYPES)) | _JSON_VALUES,
        "shape": st.lists(st.integers(-2, 2**40), max_size=4) | _JSON_VALUES,
        "data_offsets": st.lists(st.integers(-2, 2**20), min_size=2, max_size=2) | _JSON_VALUES,
    },
)


@settings(max_examples=300, deadline=None)
@given(
    entries=st.dictionaries(
        st.sampled_from(["a", "b", "__metadata__", "c.weight"]), _ENTRIES | _JSON_VALUES
    ),
    data_size=st.integers(0, 2**20),
)
def test_fuzz_structured_headers(entries: dict, data_size: int) -> None:
    _parses_or_user_error(json.dumps(entries).encode(), data_size)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    edits=st.lists(
        st.tuples(st.integers(0, 200), st.integers(0, 255), st.sampled_from("rid")), max_size=6
    ),
    cut=st.integers(0, 300),
)
def test_fuzz_mutated_valid_files(
    tmp_path: Path, edits: list[tuple[int, int, str]], cut: int
) -> None:
    """Replace, insert or delete bytes of a valid file (length prefix included), maybe truncate."""
    body = json.dumps(VALID_HEADER).encode()
    data = bytearray(struct.pack("<Q", len(body)) + body + bytes(32))
    for position, value, op in edits:
        position %= len(data) + 1
        if op == "r" and position < len(data):
            data[position] = value
        elif op == "i":
            data.insert(position, value)
        elif position < len(data):
            del data[position]
    file = tmp_path / "fuzz.safetensors"
    file.write_bytes(bytes(data[: len(data) - cut % 40]))
    try:
        infos = list_tensors(file)
    except UserError:
        return
    assert all(i.offsets[1] <= file.stat().st_size for i in infos)

"""Reading checkpoints without loading their tensors.

One view of every weight format emocompress meets: a Hugging Face checkpoint directory
(``model.safetensors``, sharded safetensors with ``model.safetensors.index.json``,
``pytorch_model.bin`` or its sharded index), a single ``.safetensors``, ``.bin`` or ``.onnx``
file. :func:`list_tensors` describes every stored tensor (:class:`TensorInfo`);
:func:`iter_tensor_values` yields their values one at a time.

Safetensors files are read through a strict header parser of our own: counting a 5 GB
checkpoint reads a few kilobytes and imports neither torch nor numpy. Every problem with a
file is a :class:`~emocompress.errors.UserError` saying what is wrong, where, and what was
expected. ``.bin`` files are read with ``torch.load(weights_only=True)`` only, never with a
full unpickler; ``.onnx`` files by reading the protobuf's initializer and node fields
(``emocompress.models.onnx_proto``; values with ``onnx`` only when asked).
"""

from __future__ import annotations

import json
import math
import os
import struct
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emocompress.artifacts.jsonfile import read_json_object
from emocompress.errors import UserError

MAX_HEADER_BYTES = 100 * 1024 * 1024
SAFETENSORS_INDEX = "model.safetensors.index.json"
BIN_INDEX = "pytorch_model.bin.index.json"
_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".onnx")

# safetensors dtype code -> (canonical name, bits per element)
SAFETENSORS_DTYPES: dict[str, tuple[str, int]] = {
    "BOOL": ("bool", 8),
    "U8": ("uint8", 8),
    "I8": ("int8", 8),
    "U16": ("uint16", 16),
    "I16": ("int16", 16),
    "U32": ("uint32", 32),
    "I32": ("int32", 32),
    "U64": ("uint64", 64),
    "I64": ("int64", 64),
    "F16": ("float16", 16),
    "BF16": ("bfloat16", 16),
    "F32": ("float32", 32),
    "F64": ("float64", 64),
    "F8_E4M3": ("float8_e4m3fn", 8),
    "F8_E5M2": ("float8_e5m2", 8),
    "F8_E8M0": ("float8_e8m0fnu", 8),
    "F6_E2M3": ("float6_e2m3fn", 6),
    "F6_E3M2": ("float6_e3m2fn", 6),
    "F4": ("float4_e2m1fn", 4),
}
_BITS = {name: bits for name, bits in SAFETENSORS_DTYPES.values()}

# ONNX TensorProto data type -> canonical name (bits come from _BITS)
_ONNX_DTYPES = {
    1: "float32",
    2: "uint8",
    3: "int8",
    4: "uint16",
    5: "int16",
    6: "int32",
    7: "int64",
    9: "bool",
    10: "float16",
    11: "float64",
    12: "uint32",
    13: "uint64",
    16: "bfloat16",
    17: "float8_e4m3fn",
    19: "float8_e5m2",
    21: "uint4",
    22: "int4",
    23: "float4_e2m1fn",
}
_BITS.update({"uint4": 4, "int4": 4})


@dataclass(frozen=True)
class TensorInfo:
    """One stored tensor, described without reading its values.

    ``offsets`` is the byte range ``(start, end)`` of its data inside ``storage`` of ``file``:
    for safetensors the absolute range in the file (``storage`` is ``""``); for ``.bin`` the
    range inside one torch storage (``storage`` names it); for ONNX the range in the external
    data file, or ``None`` for data held inside the model proto. Two tensors with the same
    ``(file, storage, offsets)`` share their bytes (tied weights).

    ``role_name`` is the dotted name used to classify the tensor: the name itself, except for
    ONNX initializers the exporter renamed (``onnx::MatMul_12``), where it is derived from the
    node that consumes them (``bert.encoder.layer.0.attention.self.query.weight``).
    """

    name: str
    dtype: str
    shape: tuple[int, ...]
    numel: int
    nbytes: int
    file: Path
    offsets: tuple[int, int] | None
    storage: str = ""
    role_name: str = ""

    @property
    def qualified_name(self) -> str:
        return self.role_name or self.name

    @property
    def storage_key(self) -> tuple[str, str, tuple[int, int]] | None:
        if self.offsets is None or self.nbytes == 0:
            return None
        return (str(self.file), self.storage, self.offsets)


# ----------------------------------------------------------------------------- locating files


def checkpoint_format(path: str | os.PathLike[str]) -> str:
    """``"safetensors"``, ``"pytorch"`` or ``"onnx"`` for a checkpoint file or directory."""
    suffix = weight_files(path)[0].suffix
    return {".safetensors": "safetensors", ".onnx": "onnx"}.get(suffix, "pytorch")


def weight_files(path: str | os.PathLike[str]) -> list[Path]:
    """The files holding the weights of ``path`` (a checkpoint directory or weight file).

    Shards are listed in name order (``model-00001-of-00003`` first). ONNX external data files are not listed here (see
    :func:`bytes_on_disk`).
    """
    path = Path(path)
    if not path.exists():
        raise UserError(
            f"no such file or directory: {path}", expected="a checkpoint directory or file"
        )
    if path.is_file():
        return _single_file(path)
    return _directory_files(path)


def _single_file(path: Path) -> list[Path]:
    if path.name.endswith(".index.json"):
        return _index_shards(path)
    if path.suffix not in _SUFFIXES:
        raise UserError(
            f"{path}: unknown weight file suffix {path.suffix or '(none)'!r}",
            expected="a .safetensors, .bin, .onnx file or a checkpoint directory",
        )
    return [path]


def _directory_files(path: Path) -> list[Path]:
    for index in (SAFETENSORS_INDEX, BIN_INDEX):
        if (path / index).is_file():
            return _index_shards(path / index)
    for name in ("model.safetensors", "pytorch_model.bin", "model.onnx"):
        if (path / name).is_file():
            return [path / name]
    for suffix in (".safetensors", ".onnx"):
        found = sorted(path.glob(f"*{suffix}"))
        if len(found) == 1:
            return found
    raise UserError(
        f"{path}: directory holds no weights",
        expected="model.safetensors, a sharded model.safetensors.index.json, pytorch_model.bin or model.onnx",
    )


def _index_shards(index: Path) -> list[Path]:
    weight_map = read_json_object(index).get("weight_map")
    if not isinstance(weight_map, dict) or not all(isinstance(v, str) for v in weight_map.values()):
        raise UserError(
            f"{index}: no 'weight_map' of tensor name -> shard file",
            expected="a sharded-checkpoint index",
        )
    shards = [index.parent / name for name in sorted(set(weight_map.values()))]
    missing = [shard.name for shard in shards if not shard.is_file()]
    if missing:
        raise UserError(
            f"{index}: shard file(s) missing: {', '.join(missing)}",
            expected="every shard the index names",
        )
    return shards


def bytes_on_disk(path: str | os.PathLike[str], tensors: list[TensorInfo] | None = None) -> int:
    """Size in bytes of the weight files of ``path``, ONNX external data included.

    Pass ``tensors`` (from :func:`list_tensors`) when you have them, to save reading again.
    """
    files = set(weight_files(path))
    if checkpoint_format(path) == "onnx":
        files.update(info.file for info in (tensors if tensors is not None else list_tensors(path)))
    return sum(file.stat().st_size for file in files)


# ----------------------------------------------------------------------------- listing tensors


def list_tensors(path: str | os.PathLike[str]) -> list[TensorInfo]:
    """Every tensor stored in ``path`` (directory or weight file), in file order."""
    tensors: list[TensorInfo] = []
    for file in weight_files(path):
        tensors.extend(_READERS[_reader_key(file)](file))
    return tensors


def _reader_key(file: Path) -> str:
    return file.suffix if file.suffix in (".safetensors", ".onnx") else ".bin"


def read_safetensors_header(file: str | os.PathLike[str]) -> list[TensorInfo]:
    """Parse and validate the header of one safetensors file."""
    file = Path(file)
    size = file.stat().st_size
    with open(file, "rb") as handle:
        prefix = handle.read(8)
        if len(prefix) < 8:
            raise UserError(
                f"{file}: file is truncated ({size} bytes)",
                expected="a safetensors file: an 8-byte header length, a JSON header, tensor data",
            )
        (length,) = struct.unpack("<Q", prefix)
        if length > MAX_HEADER_BYTES:
            raise UserError(
                f"{file}: header length {length} bytes is over the 100 MB limit",
                expected="a safetensors header under 100 MB; is this a safetensors file?",
            )
        if 8 + length > size:
            raise UserError(
                f"{file}: header length {length} runs past the end of the file ({size} bytes)",
                expected="a complete safetensors file; was it truncated?",
            )
        header = handle.read(length)
    data_start = 8 + length
    return [
        TensorInfo(name, dtype, shape, numel, nbytes, file, (data_start + begin, data_start + end))
        for name, dtype, shape, numel, nbytes, (begin, end) in parse_safetensors_header(
            header, size - data_start, where=str(file)
        )
    ]


def parse_safetensors_header(
    header: bytes, data_size: int, *, where: str = "safetensors header"
) -> list[tuple[str, str, tuple[int, ...], int, int, tuple[int, int]]]:
    """Validate a safetensors JSON header against a data section of ``data_size`` bytes.

    Returns ``(name, dtype, shape, numel, nbytes, (begin, end))`` per tensor, offsets
    relative to the data section, in data order. Raises UserError for anything malformed.
    """
    try:
        parsed = json.loads(header.decode("utf-8"), object_pairs_hook=_no_duplicate_keys)
    except (UnicodeDecodeError, json.JSONDecodeError, _DuplicateKey, RecursionError) as exc:
        raise UserError(
            f"{where}: malformed header JSON ({exc})", expected="a JSON object"
        ) from exc
    if not isinstance(parsed, dict):
        raise UserError(
            f"{where}: header is a JSON {type(parsed).__name__}",
            expected="a JSON object of tensor name -> {dtype, shape, data_offsets}",
        )
    _check_metadata(parsed.pop("__metadata__", {}), where)
    entries = [_parse_entry(name, entry, where) for name, entry in parsed.items()]
    entries.sort(key=lambda e: e[5])
    _check_layout(entries, data_size, where)
    return entries


class _DuplicateKey(ValueError):
    pass


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        duplicate = next(key for key, _ in pairs if key in seen or seen.add(key))
        raise _DuplicateKey(f"duplicate key {duplicate!r}")
    return result


def _check_metadata(metadata: Any, where: str) -> None:
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise UserError(
            f"{where}: __metadata__ is not a map of strings", expected='{"key": "value", ...}'
        )


def _parse_entry(name: str, entry: Any, where: str) -> tuple:
    at = f"{where}: tensor {name!r}"
    if not isinstance(entry, dict):
        raise UserError(
            f"{at}: entry is a JSON {type(entry).__name__}", expected="{dtype, shape, data_offsets}"
        )
    code = entry.get("dtype")
    if not isinstance(code, str) or code not in SAFETENSORS_DTYPES:
        raise UserError(
            f"{at}: unknown dtype {code!r}", expected=f"one of {', '.join(SAFETENSORS_DTYPES)}"
        )
    dtype, bits = SAFETENSORS_DTYPES[code]
    shape = entry.get("shape")
    if not isinstance(shape, list) or not all(_is_count(d) for d in shape):
        raise UserError(f"{at}: bad shape {shape!r}", expected="a list of non-negative integers")
    offsets = entry.get("data_offsets")
    if not (isinstance(offsets, list) and len(offsets) == 2 and all(_is_count(o) for o in offsets)):
        raise UserError(
            f"{at}: bad data_offsets {offsets!r}", expected="[begin, end], non-negative integers"
        )
    begin, end = offsets
    numel = math.prod(shape)
    if numel * bits % 8:
        raise UserError(
            f"{at}: {numel} {dtype} elements do not fill whole bytes",
            expected="a whole number of bytes",
        )
    nbytes = numel * bits // 8
    if end - begin != nbytes:
        raise UserError(
            f"{at}: data_offsets {offsets} hold {end - begin} bytes but shape {shape} of {dtype} needs {nbytes}",
            expected="end - begin == prod(shape) * itemsize",
        )
    return (name, dtype, tuple(shape), numel, nbytes, (begin, end))


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _check_layout(entries: list[tuple], data_size: int, where: str) -> None:
    """Tensor data must tile the data section: no overlap, no gap, nothing past its end."""
    position, previous = 0, None
    for name, *_, (begin, end) in entries:
        if end > data_size:
            raise UserError(
                f"{where}: tensor {name!r} data_offsets [{begin}, {end}] run past the data section ({data_size} bytes)",
                expected="offsets inside the file; was it truncated?",
            )
        if begin < position:
            raise UserError(
                f"{where}: tensor {name!r} data_offsets [{begin}, {end}] overlap tensor {previous!r} (ends at {position})",
                expected="tensors stored in disjoint byte ranges",
            )
        if begin > position:
            raise UserError(
                f"{where}: {begin - position} unused bytes before tensor {name!r} at offset {position}",
                expected="tensor data packed without gaps, as the safetensors format requires",
            )
        position, previous = end, name
    if position != data_size:
        raise UserError(
            f"{where}: {data_size - position} bytes after the last tensor are not described by the header",
            expected="a data section exactly as long as its tensors",
        )


# ----------------------------------------------------------------------------- .bin (torch)


def _load_bin(file: Path) -> dict[str, Any]:
    """``torch.load(weights_only=True)``, memory-mapped when the format allows."""
    import pickle

    import torch

    try:
        data = _torch_load(file)
    except (
        pickle.UnpicklingError,
        RuntimeError,
        EOFError,
        ValueError,
        AttributeError,
        TypeError,
    ) as exc:
        raise UserError(
            f"{file}: cannot be read as a plain state dict with torch.load(weights_only=True)"
            f" ({_torch_reason(exc)})",
            expected="a PyTorch state dict of tensor name -> tensor (no other Python objects)",
        ) from exc
    _check_state_dict(data, file, torch.Tensor)
    return data


def _torch_reason(exc: BaseException) -> str:
    """The useful part of torch's message (it wraps the reason in advice to unpickle unsafely)."""
    text = str(exc)
    if "WeightsUnpickler error:" in text:
        text = text.split("WeightsUnpickler error:", 1)[1].split("Check the documentation", 1)[0]
    text = " ".join(text.split()).split(" Please use ", 1)[0]
    return text[:300] or type(exc).__name__


def _torch_load(file: Path) -> Any:
    import warnings

    import torch

    with warnings.catch_warnings():
        # torch warns about the pickle protocol of plain pickles: noise next to our message
        warnings.filterwarnings("ignore", message="Detected pickle protocol")
        try:
            return torch.load(file, map_location="cpu", weights_only=True, mmap=True)
        except RuntimeError as exc:
            if "mmap" not in str(exc):  # legacy (non-zip) files cannot be memory-mapped
                raise
            return torch.load(file, map_location="cpu", weights_only=True)


def _check_state_dict(data: Any, file: Path, tensor_type: type) -> None:
    if not isinstance(data, dict):
        raise UserError(
            f"{file}: holds a {type(data).__name__}",
            expected="a plain state dict of tensor name -> tensor",
        )
    for key, value in data.items():
        if not isinstance(key, str) or not isinstance(value, tensor_type):
            raise UserError(
                f"{file}: entry {key!r} is a {type(value).__name__}",
                expected="a plain state dict of tensor name -> tensor",
            )


def _read_bin(file: Path) -> list[TensorInfo]:
    return _bin_infos(file, _load_bin(file))


def _bin_infos(file: Path, state: dict[str, Any]) -> list[TensorInfo]:
    storages: dict[int, str] = {}
    infos = []
    for name, tensor in state.items():
        storage = tensor.untyped_storage()
        key = storages.setdefault(storage.data_ptr(), f"storage {len(storages)}")
        itemsize = tensor.element_size()
        start = tensor.storage_offset() * itemsize
        dtype = str(tensor.dtype).removeprefix("torch.")
        nbytes = tensor.numel() * itemsize
        infos.append(
            TensorInfo(
                name,
                dtype,
                tuple(tensor.shape),
                tensor.numel(),
                nbytes,
                file,
                (start, start + nbytes),
                key,
            )
        )
    return infos


# ----------------------------------------------------------------------------- .onnx


def _load_onnx(file: Path) -> Any:
    import onnx

    try:
        return onnx.load(str(file), load_external_data=False)
    except Exception as exc:  # protobuf raises DecodeError and friends
        raise UserError(
            f"{file}: cannot be read as an ONNX model ({exc})", expected="a valid .onnx file"
        ) from exc


def _read_onnx(file: Path) -> list[TensorInfo]:
    """Initializers from the protobuf itself (emocompress.models.onnx_proto: no ``import
    onnx``, which alone takes longer than a second)."""
    from emocompress.models.onnx_proto import ProtoError, read_model

    try:
        model = read_model(file)
    except (ProtoError, OSError) as exc:
        raise UserError(
            f"{file}: cannot be read as an ONNX model ({exc})", expected="a valid .onnx file"
        ) from exc
    return _onnx_infos(file, model)


def _onnx_infos(file: Path, model: Any) -> list[TensorInfo]:
    consumers = _onnx_consumers(model.graph)
    return [
        _onnx_info(file, tensor, consumers.get(tensor.name)) for tensor in model.graph.initializer
    ]


def _onnx_consumers(graph: Any) -> dict[str, str]:
    """Initializer name -> name of the first node that reads it."""
    consumers: dict[str, str] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, node.name)
    return consumers


def _onnx_info(file: Path, tensor: Any, consumer: str | None) -> TensorInfo:
    dtype = _ONNX_DTYPES.get(tensor.data_type)
    if dtype is None:
        raise UserError(
            f"{file}: initializer {tensor.name!r} has unsupported ONNX data type {tensor.data_type}",
            expected="a numeric tensor type",
        )
    shape = tuple(int(d) for d in tensor.dims)
    numel = math.prod(shape)
    nbytes = (numel * _BITS[dtype] + 7) // 8
    data_file, offsets = file, None
    if tensor.data_location == 1:  # TensorProto.EXTERNAL
        data_file, offsets = _onnx_external(file, tensor, nbytes)
    return TensorInfo(
        tensor.name,
        dtype,
        shape,
        numel,
        nbytes,
        data_file,
        offsets,
        "",
        _onnx_role_name(tensor.name, consumer),
    )


def _onnx_external(file: Path, tensor: Any, nbytes: int) -> tuple[Path, tuple[int, int]]:
    fields = {entry.key: entry.value for entry in tensor.external_data}
    location = fields.get("location", "")
    data_file = (file.parent / location).resolve()
    if not location or not data_file.is_file() or file.parent.resolve() not in data_file.parents:
        raise UserError(
            f"{file}: external data {location!r} of initializer {tensor.name!r} is missing",
            expected="the external data file beside the .onnx file",
        )
    start = int(fields.get("offset", 0))
    end = start + int(fields.get("length", nbytes))
    if end > data_file.stat().st_size:
        raise UserError(
            f"{file}: initializer {tensor.name!r} runs past the end of {data_file.name}",
            expected="complete external data",
        )
    return data_file, (start, end)


def _onnx_role_name(name: str, consumer: str | None) -> str:
    """``onnx::MatMul_7`` read by ``/bert/encoder/layer.0/attention/self/query/MatMul``
    becomes ``bert.encoder.layer.0.attention.self.query.weight``."""
    if not name.startswith("onnx::") or not consumer or not consumer.startswith("/"):
        return ""
    module = consumer.strip("/").rsplit("/", 1)[0]
    return module.replace("/", ".") + ".weight"


_READERS = {".safetensors": read_safetensors_header, ".bin": _read_bin, ".onnx": _read_onnx}


# ----------------------------------------------------------------------------- values


def iter_tensor_values(
    path: str | os.PathLike[str], names: Collection[str] | None = None
) -> Iterator[tuple[TensorInfo, Any]]:
    """Yield ``(info, numpy array)`` for every tensor (or those in ``names``), one at a time.

    Only one tensor's values are held at once: safetensors and external ONNX data are read
    straight from their byte range, ``.bin`` files are memory-mapped. bfloat16 and float8
    arrays use ``ml_dtypes`` types.
    """
    for file in weight_files(path):
        kind = _reader_key(file)
        if kind == ".bin":
            pairs = _iter_bin_values(file, names)
        elif kind == ".onnx":
            pairs = _iter_onnx_values(file, names)
        else:
            pairs = (
                (info, read_tensor_bytes(info))
                for info in read_safetensors_header(file)
                if names is None or info.name in names
            )
        yield from pairs


def numpy_dtype(dtype: str) -> Any:
    """The numpy dtype for a canonical dtype name (ml_dtypes for bfloat16/float8)."""
    import numpy as np

    if _BITS.get(dtype, 8) % 8:
        raise UserError(
            f"cannot read values of packed sub-byte dtype {dtype}",
            expected="a dtype of whole bytes",
        )
    try:
        return np.dtype(dtype)
    except TypeError:
        import ml_dtypes  # an onnx dependency

        if not hasattr(ml_dtypes, dtype):
            raise UserError(
                f"cannot read values of dtype {dtype}", expected="a dtype numpy or ml_dtypes knows"
            ) from None
        return np.dtype(getattr(ml_dtypes, dtype))


def read_tensor_bytes(info: TensorInfo) -> Any:
    """Read one tensor's values from its byte range (safetensors or external ONNX data)."""
    import numpy as np

    if info.offsets is None:
        raise ValueError(f"{info.name}: no byte range to read from")
    dtype = numpy_dtype(info.dtype)
    array = np.fromfile(info.file, dtype=np.uint8, count=info.nbytes, offset=info.offsets[0])
    if array.size != info.nbytes:
        raise UserError(
            f"{info.file}: tensor {info.name!r} is truncated", expected=f"{info.nbytes} bytes"
        )
    return array.view(dtype).reshape(info.shape)


def _iter_bin_values(file: Path, names: Collection[str] | None) -> Iterator[tuple[TensorInfo, Any]]:
    import torch

    state = _load_bin(file)
    for info in _bin_infos(file, state):
        if names is not None and info.name not in names:
            continue
        tensor = state[info.name]
        if tensor.dtype == torch.bfloat16:  # numpy has no bfloat16: reinterpret the bits
            values = tensor.contiguous().view(torch.int16).numpy().view(numpy_dtype("bfloat16"))
        else:
            values = tensor.numpy()
        yield info, values


def _iter_onnx_values(
    file: Path, names: Collection[str] | None
) -> Iterator[tuple[TensorInfo, Any]]:
    from onnx import numpy_helper

    model = _load_onnx(file)
    for tensor, info in zip(model.graph.initializer, _onnx_infos(file, model), strict=True):
        if names is not None and info.name not in names:
            continue
        if info.offsets is not None:
            yield info, read_tensor_bytes(info)
        else:
            yield info, numpy_helper.to_array(tensor)

"""Streaming safetensors I/O: read one tensor at a time, write each output tensor as it is made.

safetensors has no incremental writer, so :func:`write_checkpoint` writes the format itself:
every output tensor's dtype and shape are known from the input headers before any value is
computed, so the 8-byte header length and the JSON header go first, then each tensor's
bytes in header order as it is produced. Peak memory is one output tensor plus one tensor
per input, never whole models. Output larger than ``max_shard_bytes`` is split into
``model-0000i-of-0000n.safetensors`` files with ``model.safetensors.index.json``. Every file
is written under a temporary name and renamed into place (emocompress.artifacts.atomic).
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from emocompress.artifacts.atomic import atomic_path, write_json
from emocompress.models.checkpoint import SAFETENSORS_DTYPES, SAFETENSORS_INDEX, TensorInfo
from emocompress.progress import Reporter

if TYPE_CHECKING:
    import torch

SINGLE_FILE = "model.safetensors"
_CODES = {name: code for code, (name, _) in SAFETENSORS_DTYPES.items()}


def read_tensor(file: Path, name: str) -> torch.Tensor:
    """One tensor's values. The file is opened for this read only: a handle kept open
    would keep its memory map, and every page read through it would stay in RSS."""
    from safetensors import safe_open

    with safe_open(str(file), framework="pt") as handle:
        return handle.get_tensor(name)


def plan_shards(layout: Sequence[TensorInfo], max_shard_bytes: int) -> list[list[TensorInfo]]:
    """Consecutive groups of tensors of at most ``max_shard_bytes`` (a larger tensor alone)."""
    shards: list[list[TensorInfo]] = [[]]
    size = 0
    for info in layout:
        if shards[-1] and size + info.nbytes > max_shard_bytes:
            shards.append([])
            size = 0
        shards[-1].append(info)
        size += info.nbytes
    return shards


def shard_names(count: int) -> list[str]:
    if count == 1:
        return [SINGLE_FILE]
    return [f"model-{i:05d}-of-{count:05d}.safetensors" for i in range(1, count + 1)]


def write_checkpoint(
    out_dir: Path,
    layout: Sequence[TensorInfo],
    produce: Callable[[TensorInfo], torch.Tensor],
    *,
    metadata: Mapping[str, str],
    max_shard_bytes: int,
    reporter: Reporter | None = None,
    description: str = "merging",
) -> dict[str, Any]:
    """Write ``produce(info)`` for every tensor of ``layout``; return the files and sizes."""
    reporter = reporter or Reporter("quiet")
    shards = plan_shards(layout, max_shard_bytes)
    names = shard_names(len(shards))
    total = sum(info.nbytes for info in layout)
    with reporter.task(description, total=len(layout)) as task:
        for name, shard in zip(names, shards, strict=True):
            with atomic_path(out_dir / name) as tmp, open(tmp, "wb") as handle:
                handle.write(encode_header(shard, metadata))
                for info in shard:
                    reporter.check_cancelled()
                    _write_values(handle, info, produce(info))
                    task.advance(1, info=info.name)
    if len(shards) > 1:
        weight_map = {
            info.name: n for n, shard in zip(names, shards, strict=True) for info in shard
        }
        write_json(
            out_dir / SAFETENSORS_INDEX,
            {"metadata": {"total_size": total, **metadata}, "weight_map": weight_map},
        )
    return {"files": names, "bytes": total, "tensors": len(layout)}


def encode_header(shard: Sequence[TensorInfo], metadata: Mapping[str, str]) -> bytes:
    """The 8-byte little-endian length and the JSON header, padded to 8 bytes with spaces."""
    header: dict[str, Any] = {"__metadata__": dict(metadata)}
    offset = 0
    for info in shard:
        header[info.name] = {
            "dtype": _CODES[info.dtype],
            "shape": list(info.shape),
            "data_offsets": [offset, offset + info.nbytes],
        }
        offset += info.nbytes
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text


def _write_values(handle: Any, info: TensorInfo, tensor: torch.Tensor) -> None:
    import torch

    if tuple(tensor.shape) != info.shape:
        raise RuntimeError(
            f"{info.name}: produced shape {tuple(tensor.shape)}, planned {info.shape}"
        )
    # reinterpret as bytes without a copy (numpy has no bfloat16); 0-d tensors need reshape
    raw = tensor.contiguous().reshape(-1).view(torch.uint8).numpy()
    if raw.nbytes != info.nbytes:
        raise RuntimeError(f"{info.name}: produced {raw.nbytes} bytes, planned {info.nbytes}")
    handle.write(memoryview(raw))

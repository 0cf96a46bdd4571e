"""Read an offline W&B run back from its ``run-<id>.wandb`` file: config, summary, history
and the artifacts it logged (with the staged copies of their files).

The file is W&B's transaction log: a 7-byte header (``:W&B``, a key, a version), then
32 KiB blocks of records, each with a 7-byte header (checksum, length, kind: full, first,
middle, last), LevelDB's log format; every record is a protobuf ``Record``. wandb 0.2x+
moved its own reader to a Go binary, so this small one lives here. It reads only: it never
contacts W&B.
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emocompress.errors import UserError

MAGIC = b":W&B"
HEADER = 7
BLOCK = 32 * 1024
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4
MAX_FILE_BYTES = 1 << 30  # the log of one run; far beyond what emocompress writes


@dataclass(frozen=True)
class ArtifactFile:
    path: str
    md5: str  # base64, as W&B records it
    size: int
    staged: Path | None  # the copy W&B keeps until the run is synced


@dataclass
class OfflineArtifact:
    name: str
    type: str
    metadata: dict[str, Any]
    files: list[ArtifactFile]


@dataclass
class OfflineRun:
    run_id: str
    path: Path
    name: str = ""
    group: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)
    artifacts: list[OfflineArtifact] = field(default_factory=list)

    def artifact(self, type_: str) -> OfflineArtifact | None:
        return next((a for a in self.artifacts if a.type == type_), None)


def raw_records(path: Path) -> Iterator[bytes]:
    """The records of a LevelDB-format log, reassembled from their fragments."""
    data = path.read_bytes()
    if not data.startswith(MAGIC):
        raise UserError(f"{path}: not a W&B run file (no {MAGIC.decode()} header)")
    position, pending = HEADER, b""
    while position + HEADER <= len(data):
        left_in_block = BLOCK - position % BLOCK
        if left_in_block < HEADER:  # a block's tail too short for a header is padding
            position += left_in_block
            continue
        _checksum, length, kind = struct.unpack("<IHB", data[position : position + HEADER])
        position += HEADER
        if kind == 0 and length == 0:
            position += left_in_block - HEADER
            continue
        chunk = data[position : position + length]
        position += length
        if kind == FULL:
            yield chunk
        elif kind == FIRST:
            pending = chunk
        elif kind == MIDDLE:
            pending += chunk
        elif kind == LAST:
            yield pending + chunk
            pending = b""


def _json_items(items: Any) -> dict[str, Any]:
    """W&B's ``{key or nested_key, value_json}`` items as a nested dict."""
    out: dict[str, Any] = {}
    for item in items:
        keys = list(item.nested_key) or [item.key]
        target = out
        for key in keys[:-1]:
            target = target.setdefault(key, {})
        target[keys[-1]] = json.loads(item.value_json)
    return out


def read_offline_run(run_file: Path) -> OfflineRun:
    """Everything the run logged, in order (summary: the last value of each key)."""
    from wandb.proto import wandb_internal_pb2 as pb

    if run_file.stat().st_size > MAX_FILE_BYTES:
        raise UserError(f"{run_file}: over {MAX_FILE_BYTES >> 20} MB, not read")
    run = OfflineRun(run_id=run_file.stem.removeprefix("run-"), path=run_file)
    for raw in raw_records(run_file):
        record = pb.Record()
        record.ParseFromString(raw)
        kind = record.WhichOneof("record_type")
        if kind == "run":
            run.name, run.group = record.run.display_name, record.run.run_group
            run.config.update(_config(record.run.config))
        elif kind == "config":
            run.config.update(_config(record.config))
        elif kind == "summary":
            _merge(run.summary, _json_items(record.summary.update))
        elif kind == "history":
            run.history.append(_json_items(record.history.item))
        elif kind == "artifact":
            run.artifacts.append(_artifact(record.artifact))
    return run


def _config(config: Any) -> dict[str, Any]:
    values = _json_items(config.update)
    # W&B wraps each config value as {"value": ...}, plus its own "_wandb" entry
    return {
        key: value.get("value") if isinstance(value, dict) and "value" in value else value
        for key, value in values.items()
        if key != "_wandb"
    }


def _merge(target: dict[str, Any], update: dict[str, Any]) -> None:
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = value


def _artifact(artifact: Any) -> OfflineArtifact:
    files = [
        ArtifactFile(
            path=entry.path,
            md5=entry.digest,
            size=entry.size,
            staged=Path(entry.local_path) if entry.local_path else None,
        )
        for entry in artifact.manifest.contents
    ]
    metadata = json.loads(artifact.metadata) if artifact.metadata else {}
    return OfflineArtifact(artifact.name, artifact.type, metadata, files)


def find_offline_run(wandb_dir: Path, run_id: str) -> Path:
    """``run-<id>.wandb`` of the offline run ``run_id`` under ``wandb_dir`` (or its wandb/)."""
    for root in (wandb_dir, wandb_dir / "wandb"):
        found = sorted(root.glob(f"offline-run-*-{run_id}/run-{run_id}.wandb"))
        if found:
            return found[-1]
    raise UserError(
        f"no offline W&B run {run_id!r} under {wandb_dir}",
        expected="the folder W&B wrote offline runs to (WANDB_DIR, or its wandb/ subfolder)",
    )


def md5_base64(path: Path) -> str:
    digest = hashlib.md5()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return base64.b64encode(digest.digest()).decode()

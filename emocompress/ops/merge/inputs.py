"""The checkpoints a merge reads: their weight files, tensor headers, labels and hashes.

Only headers are read here (emocompress.models.checkpoint's parser): describing a 5 GB input costs
kilobytes. Values are read later, one tensor at a time, by :mod:`emocompress.ops.merge.streaming`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from emocompress.errors import UserError
from emocompress.models import checkpoint
from emocompress.models.checkpoint import TensorInfo

HASH_CHUNK = 8 * 1024 * 1024


@dataclass
class MergeInput:
    """One checkpoint directory taking part in a merge, under the name the user gave it."""

    name: str
    path: Path
    weight: float = 1.0
    density: float = 1.0

    @cached_property
    def files(self) -> list[Path]:
        files = checkpoint.weight_files(self.path)
        if checkpoint.checkpoint_format(self.path) != "safetensors":
            raise UserError(
                f"{self.name}: {self.path} holds {files[0].name}",
                expected="safetensors weights (model.safetensors or a sharded index) to merge",
            )
        return files

    @cached_property
    def tensors(self) -> dict[str, TensorInfo]:
        """Name -> header entry, in the order the files store them."""
        return {
            info.name: info for f in self.files for info in checkpoint.read_safetensors_header(f)
        }

    @cached_property
    def label_names(self) -> list[str] | None:
        """The config's id2label in id order; None when config.json has no labels."""
        # not emocompress.models.classifier: that would import transformers
        from emocompress.artifacts.jsonfile import read_json_object

        config = self.path / "config.json"
        if not config.is_file():
            raise UserError(
                f"{self.name}: no config.json in {self.path}",
                expected="a Hugging Face checkpoint directory",
            )
        id2label = read_json_object(config).get("id2label") or {}
        try:
            return [id2label[str(i)] for i in range(len(id2label))]
        except KeyError:
            raise UserError(
                f"{self.name}: config.json id2label keys are not 0..{len(id2label) - 1}",
                where=str(self.path),
            ) from None

    @cached_property
    def sha256(self) -> str:
        """sha256 of the weight files' bytes in shard order (one file: its own sha256)."""
        digest = hashlib.sha256()
        for file in self.files:
            with open(file, "rb") as handle:
                while chunk := handle.read(HASH_CHUNK):
                    digest.update(chunk)
        return digest.hexdigest()

"""The run directory (docs/run-directory.md): the one place that knows its file names."""

from __future__ import annotations

import json
import os
import platform
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from emocompress import __version__
from emocompress.artifacts.atomic import write_json
from emocompress.errors import UserError

RUN_SCHEMA = "emocompress.run/1"
VARIANT_SCHEMA = "emocompress.variant/1"
METRICS_SCHEMA = "emocompress.metrics/1"

RUN_FILE = "run.json"
RECIPE_FILE = "recipe.yaml"
GATES_FILE = "gates.xml"
BENCH_FILE = "bench.json"
METRICS_FILE = "metrics.json"
LINEAGE_FILE = "emocompress.json"
HISTORY_FILE = "history.json"
PREDICTIONS_DIR = "predictions"


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise UserError(f"{path}: file not found") from exc
    except json.JSONDecodeError as exc:
        raise UserError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from exc
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a JSON object")
    return data


@dataclass(frozen=True)
class VariantDir:
    path: Path

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def metrics_file(self) -> Path:
        return self.path / METRICS_FILE

    @property
    def lineage_file(self) -> Path:
        return self.path / LINEAGE_FILE

    @property
    def history_file(self) -> Path:
        return self.path / HISTORY_FILE

    def predictions_file(self, split: str) -> Path:
        return self.path / PREDICTIONS_DIR / f"{split}.npz"

    @property
    def onnx_file(self) -> Path:
        return self.path / "model.onnx"

    @property
    def is_onnx(self) -> bool:
        return self.onnx_file.is_file()

    def is_complete(self) -> bool:
        return self.metrics_file.is_file() and self.lineage_file.is_file()

    def metrics(self) -> dict[str, Any]:
        return read_json(self.metrics_file)

    def lineage(self) -> dict[str, Any]:
        return read_json(self.lineage_file)

    def update_metrics(self, section: str, value: Any) -> None:
        """Replace one section of metrics.json (e.g. ``speed`` after a bench)."""
        metrics = self.metrics() if self.metrics_file.is_file() else {"schema": METRICS_SCHEMA}
        metrics[section] = value
        write_json(self.metrics_file, metrics)


class RunDir:
    """A run directory on disk."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    @property
    def variants_root(self) -> Path:
        return self.root / "variants"

    @property
    def cache_dir(self) -> Path:
        return self.root / "cache"

    @property
    def run_file(self) -> Path:
        return self.root / RUN_FILE

    @property
    def recipe_file(self) -> Path:
        return self.root / RECIPE_FILE

    @property
    def gates_file(self) -> Path:
        return self.root / GATES_FILE

    def variant(self, name: str) -> VariantDir:
        return VariantDir(self.variants_root / name)

    def variants(self) -> list[VariantDir]:
        """Finished variants, in the order the run made them (run.json), then by name."""
        if not self.variants_root.is_dir():
            return []
        order = list(self.state().get("steps", {})) if self.run_file.is_file() else []
        found = [
            VariantDir(p)
            for p in self.variants_root.iterdir()
            if p.is_dir() and not p.name.startswith(".")
        ]
        rank = {name: i for i, name in enumerate(order)}
        return sorted(found, key=lambda v: (rank.get(v.name, len(rank)), v.name))

    def state(self) -> dict[str, Any]:
        if not self.run_file.is_file():
            return {}
        return read_json(self.run_file)

    def write_state(self, state: dict[str, Any]) -> None:
        write_json(self.run_file, state)

    @staticmethod
    def is_run_dir(path: Path) -> bool:
        return (path / RUN_FILE).is_file() or (path / "variants").is_dir()


def environment() -> dict[str, Any]:
    """Versions and hardware, recorded in run.json and in bench results."""
    import importlib.metadata as metadata

    versions = {"python": platform.python_version(), "emocompress": __version__}
    for package in ("torch", "transformers", "onnxruntime", "onnx", "torch-pruning", "safetensors"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {**versions, **machine()}


def machine() -> dict[str, Any]:
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "platform": platform.platform(),
        "gpu": gpu_name(),
    }


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def gpu_name() -> str | None:
    """The CUDA device name, only when torch is already imported (never imported for this)."""
    import sys

    torch = sys.modules.get("torch")
    if torch is None or not torch.cuda.is_available():
        return None
    return torch.cuda.get_device_name(0)

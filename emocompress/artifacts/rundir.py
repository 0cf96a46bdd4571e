"""The run directory (docs/run-directory.md): the one place that knows its file names."""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from emocompress import __version__
from emocompress.artifacts.cpu import cpu_flags
from emocompress.artifacts.schema import (
    CACHE_DIR,
    CRASH_LOG,
    GATES_XML_FILE,
    LOCK_FILE,
    ONNX_FILE,
    PREDICTIONS_DIR,
    RECIPE_FILE,
    VARIANTS_DIR,
    BenchFile,
    ComparisonFile,
    GatesFile,
    History,
    Lineage,
    Metrics,
    ResolvedRecipe,
    RunFile,
    ShapePlanFile,
)


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@dataclass(frozen=True)
class VariantDir:
    """One variant's folder; its files are read and written through the typed models."""

    path: Path

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def metrics_file(self) -> Path:
        return self.path / Metrics.FILE

    @property
    def lineage_file(self) -> Path:
        return self.path / Lineage.FILE

    @property
    def history_file(self) -> Path:
        return self.path / History.FILE

    @property
    def shape_plan_file(self) -> Path:
        return self.path / ShapePlanFile.FILE

    @property
    def predictions_dir(self) -> Path:
        return self.path / PREDICTIONS_DIR

    def predictions_file(self, split: str) -> Path:
        return self.predictions_dir / f"{split}.npz"

    def prediction_files(self) -> list[Path]:
        return sorted(self.predictions_dir.glob("*.npz")) if self.predictions_dir.is_dir() else []

    @property
    def onnx_file(self) -> Path:
        return self.path / ONNX_FILE

    @property
    def is_onnx(self) -> bool:
        return self.onnx_file.is_file()

    def is_complete(self) -> bool:
        return self.metrics_file.is_file() and self.lineage_file.is_file()

    def has_metrics(self) -> bool:
        return self.metrics_file.is_file()

    def has_lineage(self) -> bool:
        return self.lineage_file.is_file()

    def load_metrics(self) -> Metrics:
        return Metrics.read(self.metrics_file)

    def load_metrics_or_none(self) -> Metrics | None:
        return self.load_metrics() if self.metrics_file.is_file() else None

    def load_lineage(self) -> Lineage:
        return Lineage.read(self.lineage_file)

    def load_lineage_or_none(self) -> Lineage | None:
        return self.load_lineage() if self.lineage_file.is_file() else None

    def load_history(self) -> History | None:
        return History.read(self.history_file) if self.history_file.is_file() else None

    def train_seconds(self) -> float | None:
        """The one train time of a variant: the training loop's wall time in history.json."""
        history = self.load_history()
        return None if history is None else history.seconds

    def write_metrics(self, metrics: Metrics) -> None:
        metrics.write(self.metrics_file)

    def write_lineage(self, lineage: Lineage) -> None:
        lineage.write(self.lineage_file)

    def write_history(self, history: History) -> None:
        history.write(self.history_file)

    def update_sections(self, **sections: Any) -> Metrics:
        """Replace sections of metrics.json (e.g. ``speed`` after a bench); returns the result."""
        current = self.load_metrics_or_none() or Metrics(variant=self.name)
        updated = current.model_validate({**current.model_dump(), **sections})
        self.write_metrics(updated)
        return updated


class RunDir:
    """A run directory on disk."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    @property
    def variants_root(self) -> Path:
        return self.root / VARIANTS_DIR

    @property
    def cache_dir(self) -> Path:
        return self.root / CACHE_DIR

    @property
    def run_file(self) -> Path:
        return self.root / RunFile.FILE

    @property
    def recipe_file(self) -> Path:
        return self.root / RECIPE_FILE

    @property
    def gates_file(self) -> Path:
        """gates.xml (JUnit, for CI)."""
        return self.root / GATES_XML_FILE

    @property
    def gates_json_file(self) -> Path:
        return self.root / GatesFile.FILE

    @property
    def lock_file(self) -> Path:
        """run.lock: the OS lock of the process writing the run (emocompress.artifacts.lock)."""
        return self.root / LOCK_FILE

    @property
    def crash_log(self) -> Path:
        """crash.log: tracebacks of unexpected crashes of commands writing this run."""
        return self.root / CRASH_LOG

    @property
    def bench_file(self) -> Path:
        return self.root / BenchFile.FILE

    def variant(self, name: str) -> VariantDir:
        return VariantDir(self.variants_root / name)

    def variants(self) -> list[VariantDir]:
        """Variant folders, in the order the run made them (run.json), then by name."""
        if not self.variants_root.is_dir():
            return []
        order = list(self.load_state().steps)
        found = [
            VariantDir(p)
            for p in self.variants_root.iterdir()
            if p.is_dir() and not p.name.startswith(".")
        ]
        rank = {name: i for i, name in enumerate(order)}
        return sorted(found, key=lambda v: (rank.get(v.name, len(rank)), v.name))

    def load_state(self) -> RunFile:
        """run.json; an empty record when there is none yet."""
        if not self.run_file.is_file():
            return RunFile()
        return RunFile.read(self.run_file)

    def save_state(self, state: RunFile) -> None:
        state.write(self.run_file)

    def load_recipe(self) -> ResolvedRecipe | None:
        """The run's resolved recipe (the figures readers take from it); None when absent."""
        return ResolvedRecipe.read(self.recipe_file) if self.recipe_file.is_file() else None

    def load_bench(self) -> BenchFile | None:
        return BenchFile.read(self.bench_file) if self.bench_file.is_file() else None

    def write_bench(self, bench: BenchFile) -> None:
        bench.write(self.bench_file)

    def load_gates(self) -> GatesFile | None:
        return GatesFile.read(self.gates_json_file) if self.gates_json_file.is_file() else None

    def write_gates(self, gates: GatesFile) -> None:
        gates.write(self.gates_json_file)

    @property
    def comparison_file(self) -> Path:
        return self.root / ComparisonFile.FILE

    def load_comparison(self) -> ComparisonFile | None:
        return ComparisonFile.read(self.comparison_file) if self.comparison_file.is_file() else None

    def write_comparison(self, comparison: ComparisonFile) -> None:
        comparison.write(self.comparison_file)

    def records(self) -> list[Path]:
        """What emocompress writes into a run directory and reads back: no other output (a
        JSON summary, a comparison file) may land on or inside one of them."""
        return [
            self.run_file,
            self.recipe_file,
            self.variants_root,
            self.cache_dir,
            self.gates_file,
            self.gates_json_file,
            self.lock_file,
            self.crash_log,
            self.bench_file,
            self.comparison_file,
        ]

    @staticmethod
    def holds_a_run(path: Path) -> bool:
        """A run directory that a writer opened: run.json, or run.lock (every writer takes the
        lock before it writes anything, and the file stays). What --fresh may delete and a run
        may write into: a variants/ folder alone is no proof, `variants` is a common name."""
        return (path / RunFile.FILE).is_file() or (path / LOCK_FILE).is_file()

    @staticmethod
    def is_run_dir(path: Path) -> bool:
        """run.json or variants/; or the lock alone: a run that is just starting (its
        writer holds the lock before it writes run.json)."""
        return (
            (path / RunFile.FILE).is_file()
            or (path / VARIANTS_DIR).is_dir()
            or (path / LOCK_FILE).is_file()
        )


def model_format(path: str | os.PathLike[str]) -> str:
    """The format of a model: "onnx" (model.onnx, or a .onnx file) or "pytorch"."""
    path = Path(path)
    if path.is_file():
        return "onnx" if path.suffix == ".onnx" else "pytorch"
    return "onnx" if VariantDir(path).is_onnx else "pytorch"


def a_format(kind: str) -> str:
    """ "an ONNX" / "a PyTorch": a model format inside a sentence."""
    return {"onnx": "an ONNX", "pytorch": "a PyTorch"}.get(kind, f"a {kind}")


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
        "cpu_flags": list(cpu_flags()),
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

"""What an operation receives: its input, its output folder, the data and the run around it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from emocompress.artifacts.rundir import RunDir
from emocompress.data.context import DataContext
from emocompress.errors import UserError
from emocompress.progress import Reporter


@dataclass
class OpContext:
    """``data`` is None only in direct commands given no data; operations that need it say so."""

    run: RunDir
    variant: str
    out_dir: Path
    data: DataContext | None
    parent_name: str | None
    parent_path: Path
    seed: int = 13
    device: str = "cpu"
    threads: int | None = None
    eval_batch_size: int = 64
    reporter: Reporter = field(default_factory=Reporter)
    extra_parents: list[tuple[str, Path]] = field(default_factory=list)

    @property
    def dataset(self) -> DataContext:
        """The data, or one error saying that this operation needs it."""
        if self.data is None:
            raise UserError(f"{self.variant}: this operation needs data", expected="--data SOURCE")
        return self.data

    @property
    def label_names(self) -> tuple[str, ...]:
        return self.dataset.label_names

    @property
    def max_length(self) -> int:
        return self.dataset.max_length

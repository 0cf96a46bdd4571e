"""Settings of a bench call: the recipe's ``bench:`` section and ``emocompress bench`` options.

Import-light (pydantic only) so that recipes validate it without loading torch.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator


class BenchSettings(BaseModel):
    """How variants are measured for speed and memory (see docs/bench.md)."""

    model_config = ConfigDict(extra="forbid")

    variants: list[str] | None = Field(
        None, description="variants to measure; null: every finished variant of the run"
    )
    baseline: str | None = Field(
        None, description="variant that speedups compare with; null: the recipe's reference"
    )
    batch_sizes: list[int] = Field(
        default_factory=lambda: [1, 32], min_length=1, description="batch sizes measured"
    )
    runs: int = Field(50, ge=1, description="timed runs per batch size (after warm-up)")
    warmup: int = Field(5, ge=0, description="untimed runs per batch size before timing")
    threads: int | None = Field(
        None,
        ge=1,
        description="CPU threads for every runtime; null: the cores this process may use",
    )
    texts: int = Field(256, ge=1, description="texts sampled from the report split (fixed seed)")

    @field_validator("batch_sizes")
    @classmethod
    def _positive_and_distinct(cls, sizes: list[int]) -> list[int]:
        bad = [size for size in sizes if size < 1]
        if bad:
            raise ValueError(f"batch sizes must be at least 1, got {bad}")
        if len(set(sizes)) != len(sizes):
            raise ValueError(f"batch sizes repeat: {sizes}")
        return sorted(sizes)

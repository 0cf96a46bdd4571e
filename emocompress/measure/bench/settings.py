"""Settings of a bench call: the recipe's ``bench:`` section and ``emocompress bench`` options.

Import-light (pydantic only) so that recipes validate it without loading torch.
"""

from __future__ import annotations

from typing import Literal

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
    threads: list[int | Literal["all"]] | None = Field(
        None,
        description="CPU thread counts, each measured (a number, or all: the cores this "
        "process may use); null: [all]. The first is the headline figures'",
    )
    modes: list[Literal["plain", "bucketed"]] = Field(
        default_factory=lambda: ["plain", "bucketed"],
        min_length=1,
        description="batching: plain (texts in the order given) and/or bucketed (sorted by "
        "token length); bucketed, when measured, is the headline figures'",
    )
    texts: int = Field(256, ge=1, description="texts sampled from the report split (fixed seed)")

    @field_validator("threads", mode="before")
    @classmethod
    def _one_or_many(cls, threads: object) -> object:
        return [threads] if isinstance(threads, int | str) else threads

    @field_validator("threads")
    @classmethod
    def _at_least_one(cls, threads: list[int | str] | None) -> list[int | str] | None:
        bad = [n for n in threads or [] if isinstance(n, int) and n < 1]
        if bad:
            raise ValueError(f"thread counts must be at least 1, got {bad}")
        return list(dict.fromkeys(threads)) if threads is not None else None

    @field_validator("modes")
    @classmethod
    def _distinct(cls, modes: list[str]) -> list[str]:
        return list(dict.fromkeys(modes))

    @field_validator("batch_sizes")
    @classmethod
    def _positive_and_distinct(cls, sizes: list[int]) -> list[int]:
        bad = [size for size in sizes if size < 1]
        if bad:
            raise ValueError(f"batch sizes must be at least 1, got {bad}")
        if len(set(sizes)) != len(sizes):
            raise ValueError(f"batch sizes repeat: {sizes}")
        return sorted(sizes)

    def headline_mode(self) -> str:
        """The mode of a runtime's headline figures: bucketed when measured."""
        return "bucketed" if "bucketed" in self.modes else self.modes[0]

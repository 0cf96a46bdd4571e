"""What the data of a run is: its source, its split roles (train, tune, report), the caps.

:class:`DataContext` loads each split once, on first use, and describes it for metrics.json.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from emocompress.data.readers import Split, carve, load_splits, subsample
from emocompress.errors import UserError

ROLES = ("train", "tune", "report")


@dataclass
class DataContext:
    """The three roles a recipe's data plays: train on, tune thresholds/early stopping, report.

    ``tune`` is a split name or ``{"carve_from": split, "fraction": f}``; a carved tune split
    is removed from the split it came from, so no example is in both.
    """

    source: str
    train: str = "train"
    tune: str | Mapping[str, Any] = field(
        default_factory=lambda: {"carve_from": "train", "fraction": 0.1}
    )
    report: str = "dev"
    max_length: int = 128
    max_examples: Mapping[str, int | None] = field(default_factory=dict)
    seed: int = 13

    @cached_property
    def _raw(self) -> dict[str, Split]:
        return load_splits(self.source)

    @cached_property
    def _roles(self) -> dict[str, Split]:
        raw = dict(self._raw)
        tune_spec = self.tune
        if isinstance(tune_spec, Mapping):
            origin = str(tune_spec.get("carve_from", "train"))
            rest, tune = carve(
                self._named(raw, origin),
                float(tune_spec.get("fraction", 0.1)),
                self.seed,
                names=(origin, "tune"),
            )
            raw[origin] = rest
        else:
            tune = self._named(raw, str(tune_spec))
        roles = {
            "train": self._named(raw, self.train),
            "tune": tune,
            "report": self._named(raw, self.report),
        }
        for role, split in roles.items():
            cap = self.max_examples.get(role)
            if cap:
                roles[role] = subsample(split, int(cap), self.seed)
        return roles

    def _named(self, raw: Mapping[str, Split], name: str) -> Split:
        if name not in raw:
            raise UserError(
                f"data source {self.source!r} has no split {name!r}",
                expected="one of " + ", ".join(sorted(raw)),
            )
        return raw[name]

    def split(self, role: str) -> Split:
        if role not in ROLES:
            raise ValueError(f"unknown data role {role!r}")
        return self._roles[role]

    @property
    def label_names(self) -> tuple[str, ...]:
        return self.split("train").label_names

    def describe(self) -> dict[str, Any]:
        return {
            role: {"split": split.name, "examples": len(split), "description": split.description}
            for role, split in self._roles.items()
        }

"""Tiny models of every family, built once per session (see tiny_families.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from emocompress.data.context import DataContext


class FamilyModels:
    """Builds each family's tiny classifier (and its ONNX export) on first use."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._built: dict[tuple[str, int], Path] = {}
        self._exported: dict[str, Path] = {}

    def model(self, family: str, seed: int = 0) -> Path:
        from tiny_families import build_family_classifier

        key = (family, seed)
        if key not in self._built:
            self._built[key] = build_family_classifier(
                family, self.root / f"{family}-{seed}", seed=seed
            )
        return self._built[key]

    def exported(self, family: str) -> Path:
        """The ONNX export variant of the family's model (made with the export operation)."""
        from emocompress.ops.registry import get_operation
        from emocompress.run.variant import Parent, make_variant

        if family not in self._exported:
            out = self.root / f"{family}-onnx"
            operation = get_operation("export")
            make_variant(
                operation,
                operation.settings.model_validate({}),
                parents=[Parent(self.model(family))],
                out=out,
                data=tiny_data(),
            )
            self._exported[family] = out
        return self._exported[family]


def tiny_data() -> DataContext:
    return DataContext(
        source="demo",
        tune={"carve_from": "train", "fraction": 0.2},
        max_length=32,
        max_examples={"train": 48, "report": 32},
    )


@pytest.fixture(scope="session")
def family_models(tmp_path_factory) -> FamilyModels:
    return FamilyModels(tmp_path_factory.mktemp("families"))

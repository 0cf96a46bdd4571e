"""A bundle exported from the tiny classifier, shared by the deploy tests."""

from __future__ import annotations

import pytest

from emocompress.cli import main


@pytest.fixture(scope="session")
def bundle(tmp_path_factory, tiny_classifier):
    folder = tmp_path_factory.mktemp("bundle")
    code = main(
        [
            "export",
            str(tiny_classifier),
            "--out",
            str(folder / "bundle"),
            "--run-dir",
            str(folder / "run"),
            "--max-length",
            "32",
            "--max-examples",
            "48",
            "--quiet",
        ]
    )
    assert code == 0
    return folder / "bundle"

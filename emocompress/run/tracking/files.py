"""The files a tracker stores for a variant: its folder, and its bundle when it is ONNX."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

from emocompress.run.tracking.content import TrackedVariant

VARIANT_ARTIFACT = "variant"  # the variant folder as it is in the run directory
BUNDLE_ARTIFACT = "bundle"  # the deployable bundle (ONNX variants only)


@contextlib.contextmanager
def artifact_folders(variant: TrackedVariant) -> Iterator[dict[str, Path]]:
    """``{artifact name: folder}`` for the variant; a bundle is built in a temporary folder."""
    folders = {VARIANT_ARTIFACT: variant.variant.path}
    if not variant.is_onnx:
        yield folders
        return
    from emocompress.deploy.bundle import write_bundle

    with tempfile.TemporaryDirectory(prefix="emocompress-bundle-") as scratch:
        bundle = write_bundle(variant.variant.path, Path(scratch) / BUNDLE_ARTIFACT)
        yield {**folders, BUNDLE_ARTIFACT: bundle}

"""Saved predictions: one ``.npz`` per split, so every quality figure can be recomputed.

File layout (see docs/run-directory.md): ``probs`` (n, L) float32 probabilities,
``labels`` (n, L) uint8 gold labels (0/1), ``label_names`` (L,) unicode strings.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from emocompress.artifacts.atomic import atomic_path
from emocompress.errors import UserError

ARRAYS = ("probs", "labels", "label_names")


class Predictions(NamedTuple):
    probs: np.ndarray  # (n, L) float32
    labels: np.ndarray  # (n, L) uint8, 0 or 1
    label_names: tuple[str, ...]


def validate_arrays(
    probs: np.ndarray,
    labels: np.ndarray,
    label_names: Sequence[str],
    *,
    where: str | None = None,
) -> None:
    """Raise UserError unless probs/labels are matching (n, L) matrices for ``label_names``.

    Probabilities must be finite and in [0, 1] (logits are a common mistake), labels 0 or 1.
    """
    probs = np.asarray(probs)
    labels = np.asarray(labels)
    if probs.ndim != 2 or labels.ndim != 2:
        raise UserError(
            f"probs {probs.shape} and labels {labels.shape} must both be 2-D",
            where=where,
            expected="(examples, labels) matrices",
        )
    if probs.shape != labels.shape:
        raise UserError(
            f"probs {probs.shape} and labels {labels.shape} differ in shape", where=where
        )
    if probs.shape[1] != len(label_names):
        raise UserError(
            f"{probs.shape[1]} label columns but {len(label_names)} label names", where=where
        )
    if len(set(label_names)) != len(label_names):
        raise UserError("label names repeat", where=where, expected="unique names")
    if probs.shape[0] == 0:
        raise UserError("no examples", where=where, expected="at least one row")
    if not np.issubdtype(probs.dtype, np.number) or np.iscomplexobj(probs):
        raise UserError(f"probs have dtype {probs.dtype}", where=where, expected="real numbers")
    if not np.all(np.isfinite(probs)) or probs.min() < 0 or probs.max() > 1:
        raise UserError(
            "probs are not all finite values in [0, 1]",
            where=where,
            expected="probabilities (apply a sigmoid to logits)",
        )
    if not np.isin(labels, (0, 1)).all():
        raise UserError("labels are not all 0 or 1", where=where, expected="a 0/1 matrix")


def save_predictions(
    path: str | os.PathLike[str],
    probs: np.ndarray,
    labels: np.ndarray,
    label_names: Sequence[str],
) -> Path:
    """Write probabilities and gold labels of one split atomically; return the path."""
    path = Path(path)
    label_names = [str(name) for name in label_names]
    validate_arrays(probs, labels, label_names, where=str(path))
    with atomic_path(path) as tmp, open(tmp, "wb") as handle:
        # a file handle, not a name: np.savez would append ".npz" to the temporary name
        np.savez_compressed(
            handle,
            probs=np.asarray(probs, dtype=np.float32),
            labels=np.asarray(labels, dtype=np.uint8),
            label_names=np.array(label_names, dtype=np.str_),
        )
    return path


def load_predictions(path: str | os.PathLike[str]) -> Predictions:
    """Read a file written by :func:`save_predictions`; UserError if it is missing or bad."""
    where = str(path)
    if not Path(path).is_file():
        raise UserError("predictions file not found", where=where, expected="a .npz file")
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = [name for name in ARRAYS if name not in data.files]
            if missing:
                raise UserError(
                    f"missing array(s) {', '.join(missing)}",
                    where=where,
                    expected=f"arrays {', '.join(ARRAYS)}",
                )
            probs, labels, names = (data[name] for name in ARRAYS)
    except UserError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        # np.load raises these for truncated, non-zip or pickled content
        raise UserError(
            f"cannot read predictions ({error})", where=where, expected="a .npz predictions file"
        ) from error
    if names.ndim != 1 or names.dtype.kind != "U":
        raise UserError(
            f"label_names has dtype {names.dtype} and shape {names.shape}",
            where=where,
            expected="a 1-D unicode array",
        )
    label_names = tuple(str(name) for name in names)
    validate_arrays(probs, labels, label_names, where=where)
    return Predictions(
        probs=probs.astype(np.float32, copy=False),
        labels=labels.astype(np.uint8, copy=False),
        label_names=label_names,
    )

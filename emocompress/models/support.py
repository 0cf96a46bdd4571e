"""The support matrix: every encoder family x every operation is "tested" or refused.

This is the ONE table. ``tests/models/families/test_support_matrix.py`` runs every cell on a
tiny model of the family (a real tokenizer of its kind): a "tested" cell must work, a
refused cell must fail before any work with exit 2 and its message. Recipes are checked
against it when they are loaded (:func:`emocompress.recipe.checks.support_problems`), the
pruning and distillation code calls :func:`require` before touching weights, and
``docs/support.md`` is generated from it (``python -m emocompress.models.support
docs/support.md``; a test fails when the page and the table disagree).

Families not in the table (any other Hugging Face encoder) are untested: operations that
need no family knowledge are attempted, those that do are refused by the adapter.
No torch import here.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from emocompress.errors import UserError
from emocompress.models.families import FAMILIES, encoder_type_of_config, family_of_type

TESTED = "tested"
POOLED = "emocompress-pooled"  # emocompress.models.pooled.MODEL_TYPE, without importing torch
MEAN_POOLED_BERT = "bert-mean"

# operation -> what it covers (the columns)
OPERATIONS: dict[str, str] = {
    "inspect": "parameter breakdown of the PyTorch checkpoint and of its ONNX export agree",
    "finetune": "fine-tune on the labels (BCE, or the `loss` setting)",
    "distil-layers": "student = a subset of the teacher's layers",
    "distil-config": "student = the teacher's architecture, resized, randomly initialised",
    "distil-model": "student = another checkpoint, with its own (different) tokenizer",
    "distil-states": "hidden-state and attention losses (student shares the teacher's tokenizer)",
    "prune-heads": "structured: remove attention heads",
    "prune-ffn": "structured: remove FFN neurons",
    "prune-hidden": "structured: remove hidden channels",
    "prune-layers": "drop whole layers",
    "prune-sparsity": "unstructured magnitude sparsity",
    "prune-vocab": "keep the tokens the corpus uses (WordPiece, BPE, Unigram)",
    "merge": "merge same-shaped variants (uniform average)",
    "export": "ONNX export with parity against PyTorch",
    "quantize": "int8 ONNX",
    "bundle": "deployment bundle + emocompress predict (onnxruntime + tokenizers only)",
    "bench": "speed and memory of the PyTorch and ONNX variants",
}

_ALBERT_SHARED = (
    "ALBERT applies one set of layer weights num_hidden_layers times, so a head, FFN neuron "
    "or hidden channel cannot be removed from one layer alone"
)
_MODERNBERT_FUSED = (
    "ModernBERT fuses query, key and value into one matrix (Wqkv) and gates its FFN input "
    "(Wi holds two halves); the pruning adapters know separate projections only"
)

# (family, operation) -> why it is refused; every other cell is "tested"
REFUSED: dict[tuple[str, str], str] = {
    ("albert", "prune-heads"): _ALBERT_SHARED,
    ("albert", "prune-ffn"): _ALBERT_SHARED,
    ("albert", "prune-hidden"): _ALBERT_SHARED,
    ("mpnet", "prune-heads"): (
        "MPNet's relative-position bias has one column per head and is shared by every "
        "layer, so heads cannot be removed per layer"
    ),
    ("modernbert", "prune-heads"): _MODERNBERT_FUSED,
    ("modernbert", "prune-ffn"): _MODERNBERT_FUSED,
    ("modernbert", "prune-hidden"): _MODERNBERT_FUSED,
}

# what a "tested" cell means where it differs from the column's description
_FEWER_REPETITIONS = "fewer repetitions of the shared layer: same parameters, less compute"
_DEBERTA_FOLDED = (
    "the ONNX export folds rel_embeddings, its LayerNorm and the relative-position projections "
    "into per-layer constants: the ONNX breakdown is the PyTorch one less exactly those tensors"
)
NOTES: dict[tuple[str, str], str] = {
    ("albert", "distil-layers"): _FEWER_REPETITIONS,
    ("albert", "prune-layers"): _FEWER_REPETITIONS,
    (
        "electra",
        "prune-hidden",
    ): "embedding_size == hidden_size only (projected embeddings: refused)",
    ("deberta-v2", "inspect"): _DEBERTA_FOLDED,
    ("modernbert", "distil-layers"): "the subset must keep layer 0 (it has no attention norm)",
    ("modernbert", "prune-layers"): "layer 0 cannot be dropped (it has no attention norm)",
}

ROWS: tuple[str, ...] = (
    "bert",
    MEAN_POOLED_BERT,
    *(f.name for f in FAMILIES if f.name != "bert"),
)


def _check_table() -> None:
    unknown = [
        cell for cell in [*REFUSED, *NOTES] if cell[0] not in ROWS or cell[1] not in OPERATIONS
    ]
    if unknown:  # pragma: no cover - a typo in the table above
        raise AssertionError(f"support matrix cells outside the table: {unknown}")


_check_table()


def status(row: str, operation: str) -> str:
    """``"tested"`` or the reason the cell is refused."""
    if operation not in OPERATIONS:
        raise KeyError(operation)
    return REFUSED.get((row, operation), TESTED)


def row_of(model_type: str | None, pooling: str | None = None) -> str | None:
    """The matrix row of an encoder type (``bert`` + ``mean`` pooling: ``bert-mean``); None
    for a family the table does not know (untested)."""
    family = family_of_type(model_type)
    if family is None:
        return None
    if family.name == "bert" and pooling == "mean":
        return MEAN_POOLED_BERT
    return family.name


def row_of_config(config: dict[str, Any]) -> str | None:
    """The matrix row of a config.json dict (a pooled classifier's: its backbone, mean)."""
    pooled = config.get("model_type") == POOLED
    pooling = config.get("pooling") if pooled else config.get("emocompress_pooling")
    return row_of(encoder_type_of_config(config), pooling)


def row_of_model(model: Any) -> str | None:
    """The matrix row of a live classifier."""
    config = model.config.to_dict() if hasattr(model.config, "to_dict") else dict(model.config)
    return row_of_config(config)


def supported(row: str) -> list[str]:
    return [op for op in OPERATIONS if status(row, op) == TESTED]


def refusal(row: str, operation: str) -> UserError | None:
    """The error for a refused cell (None when the cell is tested or the row is unknown)."""
    reason = REFUSED.get((row, operation))
    if reason is None:
        return None
    return UserError(
        f"{operation} is not supported for {row} models: {reason}",
        expected=f"for {row}: {', '.join(supported(row))} (docs/support.md)",
    )


def require(row: str | None, *operations: str) -> None:
    """Raise the refusal of the first refused cell among ``operations`` for ``row``."""
    if row is None:
        return
    for operation in operations:
        error = refusal(row, operation)
        if error is not None:
            raise error


# ----------------------------------------------------------------------------- docs/support.md


def _family(row: str):
    family = family_of_type("bert" if row == MEAN_POOLED_BERT else row)
    assert family is not None
    return family


def _cell_text(row: str, operation: str, reasons: list[str]) -> str:
    reason = REFUSED.get((row, operation))
    if reason is not None:
        return f"refused ({reasons.index(reason) + 1})"
    return "tested*" if (row, operation) in NOTES else TESTED


def markdown() -> str:
    """docs/support.md: the matrix, its legend and every refusal's reason."""
    lines = [
        "# Support matrix: encoder families x operations",
        "",
        "Generated from `emocompress/models/support.py` by",
        "`python -m emocompress.models.support docs/support.md`; "
        "`tests/models/families/test_support_matrix.py` fails when this page and the table disagree.",
        "",
        "Every cell is checked by that test on a tiny model of the family (hidden size 32, 2 layers,",
        "28 labels, a real tokenizer of its kind trained on the demo texts):",
        "",
        "- **tested**: the operation works (finite logits; fewer parameters where it prunes;",
        "  ONNX parity where it exports);",
        "- **refused (n)**: it stops before any work with exit 2 and the message below (note n).",
        "  Recipes are checked against this table when they are loaded, so a refused cell fails",
        "  before the teacher is trained.",
        "",
        "Run it: `python -m pytest tests/models/families -q`",
        "",
    ]
    reasons = list(dict.fromkeys(REFUSED.values()))
    lines.append("| operation | " + " | ".join(ROWS) + " |")
    lines.append("|" + " --- |" * (len(ROWS) + 1))
    tokenizers = [_family(row).tokenizer for row in ROWS]
    lines.append("| *(tokenizer)* | " + " | ".join(f"*{t}*" for t in tokenizers) + " |")
    for operation in OPERATIONS:
        cells = [_cell_text(row, operation, reasons) for row in ROWS]
        lines.append(f"| {operation} | " + " | ".join(cells) + " |")
    lines += ["", "## Refusals", ""]
    for number, reason in enumerate(reasons, 1):
        cells = ", ".join(f"{r} {o}" for (r, o), why in REFUSED.items() if why == reason)
        lines.append(f"{number}. {reason} ({cells}).")
    lines += ["", "## Notes (tested*)", ""]
    for (row, operation), note in NOTES.items():
        lines.append(f"- {row} {operation}: {note}.")
    lines += ["", "## Operations", ""]
    for operation, description in OPERATIONS.items():
        lines.append(f"- `{operation}`: {description}")
    lines += ["", "## Families", ""]
    lines.append(
        f"- `{MEAN_POOLED_BERT}`: BERT with mean pooling (emocompress's pooled classifier)"
    )
    for family in FAMILIES:
        types = ", ".join(family.model_types)
        extra = f"; {family.note}" if family.note else ""
        lines.append(f"- `{family.name}`: model_type {types}, {family.tokenizer} tokenizer{extra}")
    lines += [
        "",
        "Other encoder types are untested: fine-tuning, distilling into them, export and",
        "quantisation are attempted; pruning needs a family adapter",
        "(`emocompress/models/families.py`) and is refused without one.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    text = markdown()
    if args:
        Path(args[0]).write_text(text, encoding="utf-8")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

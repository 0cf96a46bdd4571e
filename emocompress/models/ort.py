"""Running an exported classifier with ONNX Runtime and the ``tokenizers`` library only.

This module is what a deployed bundle needs, so it must never import torch or transformers
(``emocompress predict`` runs where neither is installed). Inputs are made exactly as the
PyTorch side makes them (:mod:`emocompress.data.batching`): the tokenizer from ``tokenizer.json``,
truncation to ``max_length`` (special tokens included), padding to the longest text of the
batch, texts batched by length.

Labels come from ``labels.json`` (bundles) or ``config.json``'s ``id2label`` (variants).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from emocompress.artifacts.jsonfile import read_json_object
from emocompress.data.batching import score_in_batches
from emocompress.errors import UserError
from emocompress.models.onnx_proto import read_model

MODEL_FILE = "model.onnx"
TOKENIZER_FILE = "tokenizer.json"
LABELS_FILE = "labels.json"
DEFAULT_MAX_LENGTH = 128


def _read_label_list(path: Path) -> list[str]:
    from emocompress.artifacts.jsonfile import read_json

    labels = read_json(path)
    if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
        raise UserError(f"{path}: expected a JSON list of label names")
    return labels


def read_label_names(path: Path) -> list[str]:
    """Label names of an ONNX variant or bundle directory, in output-column order."""
    labels_file = path / LABELS_FILE
    if labels_file.is_file():
        return _read_label_list(labels_file)
    config_file = path / "config.json"
    if not config_file.is_file():
        raise UserError(f"{path}: neither labels.json nor config.json", expected="label names")
    id2label = read_json_object(config_file).get("id2label") or {}
    try:
        return [id2label[str(i)] for i in range(len(id2label))]
    except KeyError as exc:
        raise UserError(f"{config_file}: id2label is not numbered 0..{len(id2label) - 1}") from exc


def load_fast_tokenizer(path: Path, max_length: int | None = None) -> Any:
    """The ``tokenizers.Tokenizer`` of ``path`` with truncation set, padding off (we pad)."""
    from tokenizers import Tokenizer

    file = path / TOKENIZER_FILE
    if not file.is_file():
        raise UserError(f"{path}: no {TOKENIZER_FILE}", expected="an exported variant or bundle")
    try:
        tokenizer = Tokenizer.from_file(str(file))
    except Exception as exc:  # tokenizers raises its own exception type for a malformed file
        reason = " ".join(str(exc).split())[:200]
        raise UserError(f"{file}: cannot be read as a tokenizer ({reason})") from exc
    saved = tokenizer.truncation["max_length"] if tokenizer.truncation else None
    tokenizer.no_padding()
    tokenizer.enable_truncation(max_length or saved or DEFAULT_MAX_LENGTH)
    return tokenizer


def pad_id_of(tokenizer: Any) -> int:
    """The id PyTorch pads with: ``[PAD]``/``<pad>`` when the vocabulary has one, else 0."""
    if tokenizer.padding and tokenizer.padding.get("pad_id") is not None:
        return int(tokenizer.padding["pad_id"])
    for token in ("[PAD]", "<pad>"):
        token_id = tokenizer.token_to_id(token)
        if token_id is not None:
            return int(token_id)
    return 0


# ORT's load-time fusion of Add + LayerNormalization into SkipLayerNormalization: on CPU
# the fused kernel is a scalar loop, about 8x slower than the two ops it replaces
# (emocompress.ops.onnx.export; bench/profile-onnx.md). GPU providers keep it.
CPU_DISABLED_OPTIMIZERS = ("SkipLayerNormFusion",)

# Nodes that quantise activations with a scale computed at run time over the whole tensor
DYNAMIC_QUANTIZE_OPS = frozenset({"DynamicQuantizeLinear", "DynamicQuantizeMatMul"})


def quantizes_per_batch(model_file: Path) -> bool:
    """Whether ``model_file`` quantises activations dynamically (int8 ``dynamic``).

    ONNX Runtime's dynamic int8 takes one activation scale per tensor, that is per batch, so
    a text's probabilities change with the texts batched beside it and with their padding
    (up to 0.16 on the quickstart's int8 student, against 3e-7 for its fp32 graph).
    """
    return any(node.op_type in DYNAMIC_QUANTIZE_OPS for node in read_model(model_file).graph.node)


def session_kwargs(providers: Sequence[str]) -> dict[str, Any]:
    """Extra ``onnxruntime.InferenceSession`` arguments for sessions on ``providers``."""
    if list(providers) == ["CPUExecutionProvider"]:
        return {"disabled_optimizers": list(CPU_DISABLED_OPTIMIZERS)}
    return {}


class OrtClassifier:
    """An exported classifier (a directory with model.onnx and tokenizer.json)."""

    def __init__(
        self,
        path: str | Path,
        *,
        threads: int | None = None,
        providers: list[str] | None = None,
    ) -> None:
        import onnxruntime as ort

        self.path = Path(path)
        model_file = self.path / MODEL_FILE
        if not model_file.is_file():
            raise UserError(f"{self.path}: no {MODEL_FILE}", expected="an exported ONNX variant")
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        options.log_severity_level = 3  # errors only: ORT warns about unused initializers
        providers = providers or ["CPUExecutionProvider"]
        try:
            self.session = ort.InferenceSession(
                str(model_file), options, providers=providers, **session_kwargs(providers)
            )
        except Exception as exc:  # onnxruntime raises its own types for unreadable graphs
            raise UserError(f"{model_file}: ONNX Runtime cannot load it ({exc})") from exc
        self.label_names = read_label_names(self.path)
        raw = load_fast_tokenizer(self.path)
        self.max_length = int(raw.truncation["max_length"])
        self._tokenizers: dict[int, Any] = {}
        self.pad_id = pad_id_of(raw)
        self.input_names = [i.name for i in self.session.get_inputs()]
        # each text scored alone, so that it has one result in eval, predict and the saved
        # predictions whatever else is scored with it (int8 costs about as much per text at
        # batch 1 as at batch 32 on a CPU: bench/goemotions-states.md)
        self.scores_each_text_alone = quantizes_per_batch(model_file)

    def _tokenizer(self, max_length: int | None) -> Any:
        # parsing tokenizer.json costs tens of milliseconds: once per truncation length
        length = max_length or self.max_length
        if length not in self._tokenizers:
            self._tokenizers[length] = load_fast_tokenizer(self.path, length)
        return self._tokenizers[length]

    def _token_ids(
        self, texts: Sequence[str], max_length: int | None
    ) -> tuple[list[list[int]], list[list[int]]]:
        if isinstance(texts, str):
            raise TypeError("texts must be a sequence of strings, not one string")
        encodings = self._tokenizer(max_length).encode_batch(list(texts))
        return [e.ids for e in encodings], [e.type_ids for e in encodings]

    def _pad(self, ids: Sequence[list[int]], types: Sequence[list[int]]) -> dict[str, np.ndarray]:
        width = max((len(seq) for seq in ids), default=1)
        feeds = {
            "input_ids": np.full((len(ids), width), self.pad_id, dtype=np.int64),
            "attention_mask": np.zeros((len(ids), width), dtype=np.int64),
            "token_type_ids": np.zeros((len(ids), width), dtype=np.int64),
        }
        for row, (seq, kinds) in enumerate(zip(ids, types, strict=True)):
            feeds["input_ids"][row, : len(seq)] = seq
            feeds["attention_mask"][row, : len(seq)] = 1
            feeds["token_type_ids"][row, : len(seq)] = kinds
        return {name: feeds[name] for name in self.input_names}

    def encode(self, texts: Sequence[str], max_length: int | None = None) -> dict[str, np.ndarray]:
        """The graph's inputs for ``texts``: int64, padded to the longest text."""
        return self._pad(*self._token_ids(texts, max_length))

    def run(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        """One session call on prepared inputs: the logits (batch, labels) as float32."""
        return np.asarray(self.session.run(None, feeds)[0], dtype=np.float32)

    def logits(
        self,
        texts: Sequence[str],
        *,
        batch_size: int = 64,
        max_length: int | None = None,
        bucketed: bool = True,
    ) -> np.ndarray:
        """Logits (n, L) in the order of ``texts``, batched by token length like the PyTorch
        side (:func:`emocompress.data.batching.score_in_batches`; ``bucketed=False``: in the
        order given, same logits). A graph that quantises per batch scores each text alone,
        whatever ``batch_size`` says (:func:`quantizes_per_batch`)."""
        if self.scores_each_text_alone:
            batch_size = 1
        ids, types = self._token_ids(texts, max_length)
        lengths = np.array([len(s) for s in ids], dtype=np.int64)

        def score(chosen: np.ndarray) -> np.ndarray:
            return self.run(self._pad([ids[i] for i in chosen], [types[i] for i in chosen]))

        return score_in_batches(
            lengths, batch_size, len(self.label_names), score, bucketed=bucketed
        )

    def probs(self, texts: Sequence[str], **kwargs: Any) -> np.ndarray:
        return sigmoid(self.logits(texts, **kwargs))


def sigmoid(logits: np.ndarray) -> np.ndarray:
    return (1.0 / (1.0 + np.exp(-logits.astype(np.float64)))).astype(np.float32)


def predict_probs(
    variant_path: str | Path,
    texts: Sequence[str],
    *,
    batch_size: int = 64,
    max_length: int = DEFAULT_MAX_LENGTH,
) -> tuple[np.ndarray, list[str]]:
    """Probabilities (n, L) and label names of an ONNX variant (used by evaluation)."""
    model = OrtClassifier(variant_path)
    return model.probs(texts, batch_size=batch_size, max_length=max_length), model.label_names

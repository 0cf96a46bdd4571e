"""Encoder families: the one table of where each family keeps its parts.

Per family (keyed by ``config.model_type``): the encoder layers inside the base model, and
in each layer the self-attention module (it holds the head count), its query/key/value and
output projections, the FFN's two projections; the word embeddings; the config keys of the
sizes; the tokenizer kind a checkpoint of this family usually ships. Pruning, layer subsets
and the support matrix (:mod:`emocompress.models.support`) read this table; parameter-name
classification (:mod:`emocompress.models.inspect`) covers the same names.

Paths are dotted attribute paths relative to the base model (``model.base_model``) for
``layers`` and ``word_embeddings``, and relative to one layer for the rest; ``None`` means
the family has no such separate module (ModernBERT fuses query/key/value into one matrix).
No torch import here: the table is plain data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from emocompress.errors import UserError


@dataclass(frozen=True)
class Family:
    name: str  # the support matrix's row name
    model_types: tuple[str, ...]
    tokenizer: str  # WordPiece | BPE | Unigram (what its checkpoints usually ship)
    layers: str | None
    attention: str | None  # the module with the head-count attributes
    query: str | None
    key: str | None
    value: str | None
    attention_output: str | None
    intermediate: str | None
    output: str | None
    word_embeddings: str = "embeddings.word_embeddings"
    heads_attribute: str = "num_attention_heads"
    hidden_key: str = "hidden_size"
    heads_key: str = "num_attention_heads"
    ffn_key: str = "intermediate_size"
    layers_key: str = "num_hidden_layers"
    # where embeddings may be narrower than the hidden size (a projection in between)
    embedding_key: str | None = None
    shared_layers: bool = False  # ALBERT: one set of layer weights applied N times
    first_layer_fixed: bool = False  # ModernBERT: layer 0 has no attention norm
    note: str = ""


_BERT_LAYOUT: dict[str, Any] = {
    "layers": "encoder.layer",
    "attention": "attention.self",
    "query": "attention.self.query",
    "key": "attention.self.key",
    "value": "attention.self.value",
    "attention_output": "attention.output.dense",
    "intermediate": "intermediate.dense",
    "output": "output.dense",
}

FAMILIES: tuple[Family, ...] = (
    Family("bert", ("bert",), "WordPiece", **_BERT_LAYOUT),
    Family("roberta", ("roberta",), "BPE", **_BERT_LAYOUT),
    Family("xlm-roberta", ("xlm-roberta",), "Unigram", **_BERT_LAYOUT),
    Family("electra", ("electra",), "WordPiece", embedding_key="embedding_size", **_BERT_LAYOUT),
    Family(
        "distilbert",
        ("distilbert",),
        "WordPiece",
        layers="transformer.layer",
        attention="attention",
        query="attention.q_lin",
        key="attention.k_lin",
        value="attention.v_lin",
        attention_output="attention.out_lin",
        intermediate="ffn.lin1",
        output="ffn.lin2",
        heads_attribute="n_heads",
        hidden_key="dim",
        heads_key="n_heads",
        ffn_key="hidden_dim",
        layers_key="n_layers",
    ),
    Family(
        "deberta-v2",
        ("deberta-v2",),
        "Unigram",
        layers="encoder.layer",
        attention="attention.self",
        query="attention.self.query_proj",
        key="attention.self.key_proj",
        value="attention.self.value_proj",
        attention_output="attention.output.dense",
        intermediate="intermediate.dense",
        output="output.dense",
        note="DeBERTa-v3 checkpoints are model_type deberta-v2",
    ),
    Family(
        "albert",
        ("albert",),
        "Unigram",
        layers=None,
        attention=None,
        query=None,
        key=None,
        value=None,
        attention_output=None,
        intermediate=None,
        output=None,
        shared_layers=True,
        embedding_key="embedding_size",
        note=(
            "one set of layer weights is applied num_hidden_layers times: a layer subset is "
            "fewer repetitions, and pruning a head or neuron prunes it in every layer"
        ),
    ),
    Family(
        "mpnet",
        ("mpnet",),
        "WordPiece",
        layers="encoder.layer",
        attention="attention.attn",
        query="attention.attn.q",
        key="attention.attn.k",
        value="attention.attn.v",
        attention_output="attention.attn.o",
        intermediate="intermediate.dense",
        output="output.dense",
        note="one relative-position bias (a column per head) is shared by every layer",
    ),
    Family(
        "modernbert",
        ("modernbert",),
        "BPE",
        layers="layers",
        attention="attn",
        query=None,  # one fused Wqkv
        key=None,
        value=None,
        attention_output="attn.Wo",
        intermediate=None,  # a gated Wi (two halves)
        output="mlp.Wo",
        word_embeddings="embeddings.tok_embeddings",
        first_layer_fixed=True,
        note=(
            "query/key/value are one fused matrix, the FFN input is gated (two halves), and "
            "layer 0 has no attention norm (the embeddings' norm serves)"
        ),
    ),
)

_BY_MODEL_TYPE = {t: f for f in FAMILIES for t in f.model_types}
NAMES = tuple(f.name for f in FAMILIES)


def family_of_type(model_type: str | None) -> Family | None:
    """The family of a ``model_type`` (``deberta-v2``...), or None when the table lacks it."""
    return _BY_MODEL_TYPE.get(str(model_type or ""))


def encoder_type_of_config(config: dict[str, Any]) -> str | None:
    """The encoder's model_type in a config.json dict (a pooled model's backbone's)."""
    backbone = config.get("backbone")
    if isinstance(backbone, dict):
        return backbone.get("model_type")
    return config.get("model_type")


def family_of_model(model: Any) -> Family:
    """The family of a live classifier (pooled or standard); unknown types are a UserError."""
    config = getattr(model, "config", None)
    backbone = getattr(model, "backbone", None)
    model_type = (backbone.config if backbone is not None else config).model_type
    family = family_of_type(model_type)
    if family is None:
        raise UserError(
            f"emocompress has no adapter for {model_type} models",
            expected=f"one of the families {', '.join(NAMES)} (see docs/support.md)",
        )
    return family


def attribute(root: Any, path: str) -> Any:
    """``root.a.b.c`` for ``path`` ``"a.b.c"``."""
    value = root
    for part in path.split("."):
        value = getattr(value, part)
    return value

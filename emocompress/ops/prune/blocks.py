"""Where the prunable parts of a BERT-family classifier live.

One view over ``*ForSequenceClassification`` (``model.bert``, ``model.roberta``, ...) and
:class:`~emocompress.models.pooled.PooledClassifier` (``model.backbone``): the encoder's
layers, and in each the attention's query/key/value and output projections and the FFN's
two projections. BERT, RoBERTa, XLM-R and ELECTRA share this naming; other architectures
are a clear error, not a silent no-op.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn
from transformers import PreTrainedModel

from emocompress.errors import UserError


@dataclass(frozen=True)
class Block:
    """One transformer layer's prunable modules."""

    index: int
    attention: nn.Module  # the self-attention module (num_attention_heads, attention_head_size)
    query: nn.Linear
    key: nn.Linear
    value: nn.Linear
    attention_output: nn.Linear
    intermediate: nn.Linear
    output: nn.Linear

    @property
    def heads(self) -> int:
        return int(self.attention.num_attention_heads)

    @property
    def head_size(self) -> int:
        return int(self.attention.attention_head_size)

    @property
    def ffn_size(self) -> int:
        return int(self.intermediate.out_features)


def encoder_of(model: PreTrainedModel) -> nn.Module:
    """The encoder model inside a classifier (``bert``, ``roberta``, ``backbone``, ...)."""
    base = model.base_model
    if getattr(getattr(base, "encoder", None), "layer", None) is None:
        raise UserError(
            f"cannot prune a {model.config.model_type} model",
            expected="a BERT-family encoder (BERT, RoBERTa, XLM-R, ELECTRA naming: encoder.layer.N)",
        )
    return base


def blocks_of(model: PreTrainedModel) -> list[Block]:
    blocks = []
    for index, layer in enumerate(encoder_of(model).encoder.layer):
        attention = layer.attention.self
        blocks.append(
            Block(
                index=index,
                attention=attention,
                query=attention.query,
                key=attention.key,
                value=attention.value,
                attention_output=layer.attention.output.dense,
                intermediate=layer.intermediate.dense,
                output=layer.output.dense,
            )
        )
    return blocks


def update_encoder_config(model: PreTrainedModel, **values: int) -> None:
    """Set encoder sizes on the live config (and on a pooled model's saved backbone dict)."""
    from emocompress.models.classifier import encoder_config
    from emocompress.models.pooled import PooledClassifier

    config = encoder_config(model)
    for key, value in values.items():
        setattr(config, key, value)
    if isinstance(model, PooledClassifier):
        model.config.backbone = {**model.config.backbone, **values}

"""Where the prunable parts of a classifier live, for every family of
:mod:`emocompress.models.families`.

One view over ``*ForSequenceClassification`` (``model.bert``, ``model.distilbert``,
``model.deberta``, ...) and :class:`~emocompress.models.pooled.PooledClassifier`
(``model.backbone``): the encoder's layers, and in each the self-attention module, its query
projection (torch-pruning's graph finds the key, value, output and any relative-position
projections coupled to it) and the FFN's two projections. A family the table says cannot be
pruned this way is a clear error naming the family and what is supported, never a crash.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn
from transformers import PreTrainedModel

from emocompress.errors import UserError
from emocompress.models.families import Family, attribute, family_of_model


@dataclass(frozen=True)
class Block:
    """One transformer layer's prunable modules."""

    index: int
    family: Family
    attention: nn.Module  # the self-attention module (head count, attention_head_size)
    query: nn.Linear
    attention_output: nn.Linear
    intermediate: nn.Linear
    output: nn.Linear

    @property
    def heads(self) -> int:
        return int(getattr(self.attention, self.family.heads_attribute))

    @property
    def head_size(self) -> int:
        return int(self.attention.attention_head_size)

    @property
    def ffn_size(self) -> int:
        return int(self.intermediate.out_features)


def encoder_of(model: PreTrainedModel) -> nn.Module:
    """The encoder model inside a classifier (``bert``, ``distilbert``, ``backbone``, ...)."""
    return model.base_model


def word_embeddings_of(model: PreTrainedModel) -> nn.Embedding:
    family = family_of_model(model)
    return attribute(encoder_of(model), family.word_embeddings)


def set_word_embeddings(model: PreTrainedModel, embeddings: nn.Embedding) -> None:
    family = family_of_model(model)
    parent, _, name = family.word_embeddings.rpartition(".")
    setattr(attribute(encoder_of(model), parent) if parent else encoder_of(model), name, embeddings)


def layers_of(model: PreTrainedModel) -> nn.ModuleList:
    """The encoder's transformer layers (ALBERT: its layer groups, shared across depth)."""
    family = family_of_model(model)
    if family.layers is None:
        return attribute(encoder_of(model), "encoder.albert_layer_groups")
    return attribute(encoder_of(model), family.layers)


def blocks_of(model: PreTrainedModel, *, what: str = "structured pruning") -> list[Block]:
    """Every layer's prunable modules, or a UserError when the family has none to offer."""
    family = family_of_model(model)
    parts = (family.layers, family.attention, family.query, family.intermediate, family.output)
    if family.shared_layers or any(p is None for p in parts):
        raise UserError(
            f"{what} of heads, FFN neurons or hidden channels is not supported for "
            f"{family.name} models ({family.note})",
            expected="drop_layers, sparsity or vocab pruning, or a family listed in docs/support.md",
        )
    blocks = []
    for index, layer in enumerate(attribute(encoder_of(model), family.layers)):
        blocks.append(
            Block(
                index=index,
                family=family,
                attention=attribute(layer, family.attention),
                query=attribute(layer, family.query),
                attention_output=attribute(layer, family.attention_output),
                intermediate=attribute(layer, family.intermediate),
                output=attribute(layer, family.output),
            )
        )
    return blocks


def update_encoder_config(model: PreTrainedModel, **values: int) -> None:
    """Set encoder sizes on the live config (and on a pooled model's saved backbone dict).

    Keys are the generic names (``hidden_size``, ``num_attention_heads``,
    ``intermediate_size``, ``vocab_size``...); each is written under the family's own key
    (DistilBERT: ``dim``, ``n_heads``, ``hidden_dim``)."""
    from emocompress.models.classifier import encoder_config
    from emocompress.models.pooled import PooledClassifier

    family = family_of_model(model)
    own = {
        "hidden_size": family.hidden_key,
        "num_attention_heads": family.heads_key,
        "intermediate_size": family.ffn_key,
    }
    values = {own.get(key, key): value for key, value in values.items()}
    config = encoder_config(model)
    for key, value in values.items():
        setattr(config, key, value)
    if isinstance(model, PooledClassifier):
        model.config.backbone = {**model.config.backbone, **values}

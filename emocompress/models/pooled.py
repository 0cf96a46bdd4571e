"""A sequence classifier with a choice of pooling over any Hugging Face encoder.

Standard ``*ForSequenceClassification`` heads read the [CLS] token only. Sentence-embedding
backbones (MiniLM-L6 from sentence-transformers) learn far faster from the mean of the token
states, which no standard head offers. This module is self-contained (torch + transformers
only) because it is also copied into saved checkpoints as ``modeling_emocompress.py``: a
user without emocompress loads them with
``AutoModelForSequenceClassification.from_pretrained(path, trust_remote_code=True)``, and
with emocompress installed ``import emocompress.models.pooled`` registers the class so that
plain ``from_pretrained(path)`` works. Without either, loading fails loudly on the unknown
model type rather than silently dropping the pooling.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from transformers import (
    AutoConfig,
    AutoModel,
    AutoModelForSequenceClassification,
    PretrainedConfig,
    PreTrainedModel,
)
from transformers.modeling_outputs import SequenceClassifierOutput

MODEL_TYPE = "emocompress-pooled"


class PooledClassifierConfig(PretrainedConfig):
    model_type = MODEL_TYPE

    def __init__(
        self,
        backbone: dict[str, Any] | None = None,
        pooling: str = "mean",
        classifier_dropout: float = 0.1,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.backbone = dict(backbone or {})
        self.pooling = pooling
        self.classifier_dropout = classifier_dropout

    def backbone_config(self) -> PretrainedConfig:
        settings = dict(self.backbone)
        return AutoConfig.for_model(settings.pop("model_type"), **settings)


class PooledClassifier(PreTrainedModel):
    config_class = PooledClassifierConfig
    base_model_prefix = "backbone"
    main_input_name = "input_ids"

    def __init__(self, config: PooledClassifierConfig, backbone: nn.Module | None = None) -> None:
        super().__init__(config)
        self.backbone = (
            backbone if backbone is not None else AutoModel.from_config(config.backbone_config())
        )
        if getattr(self.backbone, "pooler", None) is not None:
            self.backbone.pooler = None  # unused: pooling happens here
        hidden = (
            self.backbone.config.hidden_size
            if hasattr(self.backbone.config, "hidden_size")
            else self.backbone.config.dim
        )
        self.dropout = nn.Dropout(config.classifier_dropout)
        self.classifier = nn.Linear(hidden, config.num_labels)
        self.post_init()

    def _init_weights(self, module: nn.Module) -> None:
        std = 0.02
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, std=std)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, std=std)
        elif isinstance(module, nn.LayerNorm):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        output_hidden_states: bool | None = None,
        output_attentions: bool | None = None,
        **kwargs: Any,
    ) -> SequenceClassifierOutput:
        extra = {"token_type_ids": token_type_ids} if token_type_ids is not None else {}
        outputs = self.backbone(
            input_ids=input_ids,
            attention_mask=attention_mask,
            output_hidden_states=output_hidden_states,
            output_attentions=output_attentions,
            **extra,
        )
        states = outputs[0]
        if self.config.pooling == "mean":
            if attention_mask is None:
                pooled = states.mean(dim=1)
            else:
                mask = attention_mask.unsqueeze(-1).to(states.dtype)
                pooled = (states * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
        else:
            pooled = states[:, 0]
        logits = self.classifier(self.dropout(pooled))
        loss = None
        if labels is not None:
            loss = nn.functional.binary_cross_entropy_with_logits(logits, labels.to(logits.dtype))
        return SequenceClassifierOutput(
            loss=loss,
            logits=logits,
            hidden_states=getattr(outputs, "hidden_states", None),
            attentions=getattr(outputs, "attentions", None),
        )


def register() -> None:
    """Make plain ``AutoModelForSequenceClassification.from_pretrained`` know this model type."""
    try:
        AutoConfig.register(MODEL_TYPE, PooledClassifierConfig)
        AutoModelForSequenceClassification.register(PooledClassifierConfig, PooledClassifier)
    except ValueError:
        pass  # already registered


register()

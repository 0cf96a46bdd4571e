"""config.json of a few hub models, so that ``run --dry-run`` works offline.

Only the architecture numbers matter for a dry run. Anything not listed here is read from
the local Hugging Face cache or, when the network allows, from the hub.
"""

from __future__ import annotations

from typing import Any

_ROBERTA = {
    "model_type": "roberta",
    "vocab_size": 50265,
    "max_position_embeddings": 514,
    "type_vocab_size": 1,
    "pad_token_id": 1,
    "bos_token_id": 0,
    "eos_token_id": 2,
    "layer_norm_eps": 1e-5,
    "hidden_act": "gelu",
}
_BERT_BASE = {
    "model_type": "bert",
    "vocab_size": 30522,
    "max_position_embeddings": 512,
    "type_vocab_size": 2,
    "hidden_size": 768,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "intermediate_size": 3072,
}

_DISTILBERT_BASE = {
    "model_type": "distilbert",
    "vocab_size": 30522,
    "max_position_embeddings": 512,
    "dim": 768,
    "n_layers": 6,
    "n_heads": 12,
    "hidden_dim": 3072,
    "activation": "gelu",
    "pad_token_id": 0,
}

KNOWN_CONFIGS: dict[str, dict[str, Any]] = {
    "distilbert-base-uncased": _DISTILBERT_BASE,
    "distilbert/distilbert-base-uncased": _DISTILBERT_BASE,
    "roberta-large": {
        **_ROBERTA,
        "hidden_size": 1024,
        "num_hidden_layers": 24,
        "num_attention_heads": 16,
        "intermediate_size": 4096,
    },
    "FacebookAI/roberta-large": {
        **_ROBERTA,
        "hidden_size": 1024,
        "num_hidden_layers": 24,
        "num_attention_heads": 16,
        "intermediate_size": 4096,
    },
    "roberta-base": {
        **_ROBERTA,
        "hidden_size": 768,
        "num_hidden_layers": 12,
        "num_attention_heads": 12,
        "intermediate_size": 3072,
    },
    "FacebookAI/roberta-base": {
        **_ROBERTA,
        "hidden_size": 768,
        "num_hidden_layers": 12,
        "num_attention_heads": 12,
        "intermediate_size": 3072,
    },
    "distilroberta-base": {
        **_ROBERTA,
        "hidden_size": 768,
        "num_hidden_layers": 6,
        "num_attention_heads": 12,
        "intermediate_size": 3072,
    },
    "distilbert/distilroberta-base": {
        **_ROBERTA,
        "hidden_size": 768,
        "num_hidden_layers": 6,
        "num_attention_heads": 12,
        "intermediate_size": 3072,
    },
    "bert-base-uncased": _BERT_BASE,
    "google-bert/bert-base-uncased": _BERT_BASE,
    "sentence-transformers/all-MiniLM-L6-v2": {
        "model_type": "bert",
        "vocab_size": 30522,
        "max_position_embeddings": 512,
        "type_vocab_size": 2,
        "hidden_size": 384,
        "num_hidden_layers": 6,
        "num_attention_heads": 12,
        "intermediate_size": 1536,
    },
}

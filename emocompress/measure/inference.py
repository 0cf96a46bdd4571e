"""Scoring texts with a PyTorch classifier: logits and probabilities, batched by length."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from emocompress.data.batching import collate, encode, score_in_batches
from emocompress.progress import Reporter


@torch.inference_mode()
def predict_logits(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    texts: Sequence[str],
    *,
    batch_size: int = 64,
    max_length: int = 128,
    reporter: Reporter | None = None,
    description: str = "scoring",
    bucketed: bool = True,
) -> np.ndarray:
    """Logits (n, L) in the order of ``texts``; batched by token length unless ``bucketed``
    is False (same logits, more padding: the check that bucketing changes nothing)."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    encoded = encode(tokenizer, texts, max_length)
    reporter = reporter or Reporter("quiet")
    with reporter.task(description, total=len(texts)) as task:

        def score(indices: np.ndarray) -> np.ndarray:
            reporter.check_cancelled()
            batch = {k: v.to(device) for k, v in collate(encoded, indices).items()}
            logits = model(**batch).logits.float().cpu().numpy()
            task.advance(len(indices))
            return logits

        logits = score_in_batches(
            encoded.lengths, batch_size, model.config.num_labels, score, bucketed=bucketed
        )
    model.train(was_training)
    return logits


def sigmoid(logits: np.ndarray) -> np.ndarray:
    return (1.0 / (1.0 + np.exp(-logits.astype(np.float64)))).astype(np.float32)


def predict_probs(
    model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, texts: Sequence[str], **kwargs
) -> np.ndarray:
    return sigmoid(predict_logits(model, tokenizer, texts, **kwargs))

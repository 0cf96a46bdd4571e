"""Vocabulary pruning: fewer embedding rows, a remapped tokenizer, identical logits on the corpus.

Tiny real models with real tokenizers: a WordPiece BERT (the demo-trained vocabulary) and a
byte-level BPE RoBERTa, so both ways of remapping a tokenizer are exercised.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

from emocompress.data.labels import GOEMOTIONS_LABELS
from emocompress.data.readers import load_splits
from emocompress.errors import UserError
from emocompress.models.classifier import load_classifier, load_tokenizer, save_classifier
from emocompress.ops.prune.vocabulary import prune_vocabulary

LABELS = {
    "num_labels": len(GOEMOTIONS_LABELS),
    "id2label": dict(enumerate(GOEMOTIONS_LABELS)),
    "label2id": {n: i for i, n in enumerate(GOEMOTIONS_LABELS)},
    "problem_type": "multi_label_classification",
}
SIZES = {
    "hidden_size": 32,
    "num_hidden_layers": 1,
    "num_attention_heads": 2,
    "intermediate_size": 64,
}


def _texts() -> tuple[list[str], list[str]]:
    splits = load_splits("demo")
    return list(splits["train"].texts), list(splits["dev"].texts)


@pytest.fixture(scope="module")
def wordpiece_model(tmp_path_factory) -> Path:
    from conftest import build_tiny_tokenizer
    from transformers import BertConfig, BertForSequenceClassification, BertTokenizer

    out = tmp_path_factory.mktemp("vocab") / "bert"
    build_tiny_tokenizer(out / "_vocab")
    tokenizer = BertTokenizer(vocab=str(out / "_vocab" / "vocab.txt"))
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(tokenizer), max_position_embeddings=128, **SIZES, **LABELS)
    save_classifier(BertForSequenceClassification(config), tokenizer, out)
    return out


@pytest.fixture(scope="module")
def bpe_model(tmp_path_factory) -> Path:
    from tokenizers import ByteLevelBPETokenizer
    from transformers import RobertaConfig, RobertaForSequenceClassification, RobertaTokenizer

    out = tmp_path_factory.mktemp("vocab") / "roberta"
    train, dev = _texts()
    bpe = ByteLevelBPETokenizer()
    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    bpe.train_from_iterator(
        train + dev, vocab_size=700, special_tokens=specials, show_progress=False
    )
    out.mkdir(parents=True)
    bpe.save_model(str(out))
    tokenizer = RobertaTokenizer(vocab=str(out / "vocab.json"), merges=str(out / "merges.txt"))
    torch.manual_seed(0)
    config = RobertaConfig(
        vocab_size=len(tokenizer), max_position_embeddings=140, pad_token_id=1, **SIZES, **LABELS
    )
    save_classifier(RobertaForSequenceClassification(config), tokenizer, out)
    return out


def _logits(model, tokenizer, texts: list[str]) -> torch.Tensor:
    batch = tokenizer(texts, padding=True, truncation=True, max_length=64, return_tensors="pt")
    with torch.no_grad():
        return model(**batch).logits


@pytest.mark.parametrize("fixture", ["wordpiece_model", "bpe_model"])
def test_pruned_vocabulary_gives_identical_logits_on_the_corpus(fixture, request, tmp_path):
    path = request.getfixturevalue(fixture)
    train, _ = _texts()
    corpus = train[:120]
    model, tokenizer = load_classifier(path), load_tokenizer(path)
    before = _logits(model, tokenizer, corpus)

    result = prune_vocabulary(model, tokenizer, corpus)
    facts = result.facts()
    assert facts["rows_kept"] < facts["rows_before"]
    assert facts["rows_dropped"] == facts["rows_before"] - facts["rows_kept"]
    removed = facts["parameters_removed"]
    assert removed == facts["rows_dropped"] * SIZES["hidden_size"]
    assert model.config.vocab_size == result.rows_kept
    assert set(tokenizer.all_special_tokens) <= set(result.tokenizer.get_vocab())

    save_classifier(model, result.tokenizer, tmp_path / "pruned")
    reloaded = AutoModelForSequenceClassification.from_pretrained(tmp_path / "pruned").eval()
    new_tokenizer = AutoTokenizer.from_pretrained(tmp_path / "pruned")
    assert len(new_tokenizer) == result.rows_kept
    after = _logits(reloaded, new_tokenizer, corpus)
    torch.testing.assert_close(after, before, rtol=0, atol=1e-5)


def test_texts_outside_the_corpus_use_only_kept_tokens(wordpiece_model):
    """Words the corpus never used split into kept pieces, or the unknown token."""
    train, _ = _texts()
    model, tokenizer = load_classifier(wordpiece_model), load_tokenizer(wordpiece_model)
    result = prune_vocabulary(model, tokenizer, train[:10])
    ids = result.tokenizer("zebra quantum xylophone")["input_ids"]
    assert max(ids) < result.rows_kept
    assert result.tokenizer.unk_token_id in ids
    assert torch.isfinite(_logits(model, result.tokenizer, ["zebra quantum xylophone"])).all()


def test_empty_corpus_is_a_user_error(wordpiece_model):
    model, tokenizer = load_classifier(wordpiece_model), load_tokenizer(wordpiece_model)
    with pytest.raises(UserError, match="non-empty corpus"):
        prune_vocabulary(model, tokenizer, [])

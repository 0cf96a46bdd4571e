"""Tiny classifiers of every encoder family (hidden 32, 2 layers, 28 labels), each with a real
tokenizer of its kind trained on the demo texts: WordPiece (BERT, DistilBERT, ELECTRA, MPNet),
byte-level BPE (RoBERTa, ModernBERT), Unigram/SentencePiece (XLM-R, ALBERT, DeBERTa-v2).

Everything is built from configs: no network, a second or two per family.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from emocompress.data.context import DataContext
from emocompress.data.labels import GOEMOTIONS_LABELS

SIZES = {
    "hidden_size": 32,
    "num_hidden_layers": 2,
    "num_attention_heads": 2,
    "intermediate_size": 64,
}


@cache
def demo_texts() -> tuple[str, ...]:
    from emocompress.data.readers import load_splits

    return tuple(t for split in load_splits("demo").values() for t in split.texts)


BERT_SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
# MPNet's embeddings take padding index 1 as given: <pad> must be id 1
MPNET_SPECIALS = {
    "bos_token": "<s>",
    "pad_token": "<pad>",
    "eos_token": "</s>",
    "unk_token": "[UNK]",
    "mask_token": "<mask>",
}


def _wordpiece(out: Path, cls, specials: dict[str, str] | None = None):
    from tokenizers import BertWordPieceTokenizer

    wordpiece = BertWordPieceTokenizer(lowercase=True)
    ordered = list(dict.fromkeys(specials.values())) if specials else list(BERT_SPECIALS)
    wordpiece.train_from_iterator(
        demo_texts(),
        vocab_size=600,
        min_frequency=1,
        show_progress=False,
        special_tokens=ordered,
    )
    out.mkdir(parents=True, exist_ok=True)
    wordpiece.save_model(str(out))
    vocab = {}
    for line in (out / "vocab.txt").read_text(encoding="utf-8").splitlines():
        vocab.setdefault(line, len(vocab))
    tokenizer = cls(vocab=vocab, **(specials or {}))
    tokenizer.model_max_length = 128
    return tokenizer


def _bpe(out: Path, cls, specials: list[str], **kwargs):
    from tokenizers import ByteLevelBPETokenizer

    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(
        demo_texts(), vocab_size=700, special_tokens=specials, show_progress=False
    )
    out.mkdir(parents=True, exist_ok=True)
    bpe.save_model(str(out))
    tokenizer = cls(vocab=str(out / "vocab.json"), merges=str(out / "merges.txt"), **kwargs)
    tokenizer.model_max_length = 128
    return tokenizer


def _unigram(cls, specials: list[str], unk: str, **kwargs):
    import json

    from tokenizers import SentencePieceUnigramTokenizer

    unigram = SentencePieceUnigramTokenizer()
    unigram.train_from_iterator(
        demo_texts(), vocab_size=600, special_tokens=specials, unk_token=unk, show_progress=False
    )
    vocab = [tuple(piece) for piece in json.loads(unigram.to_str())["model"]["vocab"]]
    tokenizer = cls(vocab=vocab, **kwargs)
    tokenizer.model_max_length = 128
    return tokenizer


def _bpe_cls_sep(out: Path):
    """ModernBERT's kind: byte-level BPE with [CLS] text [SEP] around it."""
    from tokenizers import ByteLevelBPETokenizer, processors
    from transformers import PreTrainedTokenizerFast

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(
        demo_texts(), vocab_size=700, special_tokens=specials, show_progress=False
    )
    bpe.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=bpe._tokenizer,
        pad_token="[PAD]",
        unk_token="[UNK]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        model_input_names=["input_ids", "attention_mask"],
    )
    tokenizer.model_max_length = 128
    return tokenizer


def _tokenizer(family: str, out: Path):
    import transformers as t

    if family in ("bert", "bert-mean", "electra"):
        return _wordpiece(out, t.BertTokenizer)
    if family == "distilbert":
        return _wordpiece(out, t.DistilBertTokenizer)
    if family == "mpnet":
        specials = {**MPNET_SPECIALS, "sep_token": "</s>", "cls_token": "<s>"}
        return _wordpiece(out, t.MPNetTokenizer, specials)
    if family == "roberta":
        return _bpe(out, t.RobertaTokenizer, ["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    if family == "modernbert":
        return _bpe_cls_sep(out)
    if family == "xlm-roberta":
        return _unigram(t.XLMRobertaTokenizer, ["<s>", "<pad>", "</s>", "<unk>", "<mask>"], "<unk>")
    if family == "albert":
        return _unigram(t.AlbertTokenizer, ["<pad>", "<unk>", "[CLS]", "[SEP]", "[MASK]"], "<unk>")
    if family == "deberta-v2":
        return _unigram(
            t.DebertaV2Tokenizer, ["[PAD]", "[CLS]", "[SEP]", "[UNK]", "[MASK]"], "[UNK]"
        )
    raise KeyError(family)


def _config(family: str, tokenizer):
    import transformers as t

    ids = {
        "vocab_size": len(tokenizer),
        "pad_token_id": tokenizer.pad_token_id,
        "max_position_embeddings": 140,
    }
    if family in ("bert", "bert-mean"):
        return t.BertConfig(**SIZES, **ids)
    if family == "roberta":
        return t.RobertaConfig(**SIZES, **ids, bos_token_id=0, eos_token_id=2)
    if family == "xlm-roberta":
        return t.XLMRobertaConfig(**SIZES, **ids, bos_token_id=0, eos_token_id=2)
    if family == "electra":
        return t.ElectraConfig(**SIZES, **ids, embedding_size=32)
    if family == "distilbert":
        return t.DistilBertConfig(dim=32, n_layers=2, n_heads=2, hidden_dim=64, **ids)
    if family == "deberta-v2":
        return t.DebertaV2Config(
            **SIZES,
            **ids,
            relative_attention=True,
            position_buckets=16,
            max_relative_positions=32,
            pos_att_type=["p2c", "c2p"],
            position_biased_input=False,
            norm_rel_ebd="layer_norm",
            type_vocab_size=0,
        )
    if family == "albert":
        return t.AlbertConfig(**SIZES, **ids, embedding_size=16)
    if family == "mpnet":
        return t.MPNetConfig(**SIZES, **ids)
    if family == "modernbert":
        return t.ModernBertConfig(
            **SIZES,
            **ids,
            cls_token_id=tokenizer.cls_token_id,
            sep_token_id=tokenizer.sep_token_id,
            bos_token_id=tokenizer.cls_token_id,
            eos_token_id=tokenizer.sep_token_id,
            global_attn_every_n_layers=1,
        )
    raise KeyError(family)


def build_family_classifier(family: str, out: Path, *, seed: int = 0) -> Path:
    """A randomly initialised ``family`` classifier for the 28 GoEmotions labels at ``out``."""
    import torch
    from transformers import AutoModelForSequenceClassification

    from emocompress.models.classifier import multi_label_config, save_classifier
    from emocompress.models.pooled import PooledClassifier, PooledClassifierConfig

    torch.manual_seed(seed)
    tokenizer = _tokenizer(family, out / "_vocab")
    encoder = _config(family, tokenizer)
    labels = multi_label_config(GOEMOTIONS_LABELS)
    if family == "bert-mean":
        model = PooledClassifier(
            PooledClassifierConfig(backbone=encoder.to_dict(), pooling="mean", **labels)
        )
    else:
        for key, value in labels.items():
            setattr(encoder, key, value)
        model = AutoModelForSequenceClassification.from_config(encoder)
    with torch.no_grad():  # no two tensors alike (as after training): ONNX would share them
        for parameter in model.parameters():
            parameter.add_(torch.randn_like(parameter) * 0.02)
    save_classifier(model, tokenizer, out)
    return out


class FamilyModels:
    """Builds each family's tiny classifier (and its ONNX export) on first use."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._built: dict[tuple[str, int], Path] = {}
        self._exported: dict[str, Path] = {}

    def model(self, family: str, seed: int = 0) -> Path:
        key = (family, seed)
        if key not in self._built:
            self._built[key] = build_family_classifier(
                family, self.root / f"{family}-{seed}", seed=seed
            )
        return self._built[key]

    def exported(self, family: str) -> Path:
        """The ONNX export variant of the family's model (made with the export operation)."""
        from emocompress.ops.registry import get_operation
        from emocompress.run.variant import Parent, make_variant

        if family not in self._exported:
            out = self.root / f"{family}-onnx"
            operation = get_operation("export")
            make_variant(
                operation,
                operation.settings.model_validate({}),
                parents=[Parent(self.model(family))],
                out=out,
                data=tiny_data(),
            )
            self._exported[family] = out
        return self._exported[family]


def tiny_data() -> DataContext:
    return DataContext(
        source="demo",
        tune={"carve_from": "train", "fraction": 0.2},
        max_length=32,
        max_examples={"train": 48, "report": 32},
    )

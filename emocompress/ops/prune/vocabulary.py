"""Vocabulary pruning: keep the tokens a corpus uses, shrink the embedding matrix, remap the
tokenizer.

The kept tokens are every id the tokenizer produces on the corpus plus every special and
added token, in their old order (so ``[PAD]``/``<pad>`` keep their relative place). The
tokenizer's model (``tokenizer.json``) is rewritten to the new ids:

- WordPiece / WordLevel / Unigram: only the vocabulary is filtered. Removing tokens that a
  text never produced cannot change how that text is split (greedy longest match and the
  best Viterbi path only ever lose unused options), so corpus texts tokenize to the same
  tokens;
- BPE: the tokens that build kept tokens through merges are kept too, and merges whose
  parts or result are gone are dropped; merges that never fire on the corpus are the only
  ones removed, so corpus texts merge the same way.

:func:`prune_vocabulary` checks this: every corpus text must encode to the remapped old
ids, otherwise it raises instead of saving a tokenizer that disagrees with the model. Texts
outside the corpus may need dropped tokens: they are then split into smaller kept pieces
or become the unknown token.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from emocompress.artifacts.jsonfile import read_json_object
from emocompress.errors import UserError

_CONFIG_TOKEN_IDS = ("pad_token_id", "bos_token_id", "eos_token_id", "sep_token_id", "cls_token_id")


@dataclass(frozen=True)
class VocabPruneResult:
    tokenizer: PreTrainedTokenizerBase
    kept_ids: list[int]  # old ids, in new-id order
    rows_before: int
    parameters_before: int
    parameters_after: int

    @property
    def rows_kept(self) -> int:
        return len(self.kept_ids)

    def facts(self) -> dict[str, Any]:
        dropped = self.rows_before - self.rows_kept
        return {
            "rows_before": self.rows_before,
            "rows_kept": self.rows_kept,
            "rows_dropped": dropped,
            "parameters_removed": self.parameters_before - self.parameters_after,
            "share_of_parameters_removed": round(
                (self.parameters_before - self.parameters_after) / self.parameters_before, 6
            ),
        }


def used_token_ids(
    tokenizer: PreTrainedTokenizerBase, texts: Iterable[str], max_length: int | None = None
) -> set[int]:
    """Every id the tokenizer produces on ``texts`` (untruncated unless ``max_length``)."""
    used: set[int] = set()
    texts = list(texts)
    for start in range(0, len(texts), 1024):
        batch = texts[start : start + 1024]
        encoded = tokenizer(
            batch, truncation=max_length is not None, max_length=max_length, padding=False
        )
        for ids in encoded["input_ids"]:
            used.update(ids)
    return used


def special_token_ids(tokenizer: PreTrainedTokenizerBase) -> set[int]:
    ids = set(tokenizer.all_special_ids)
    ids.update(getattr(tokenizer, "added_tokens_decoder", {}).keys())
    return {int(i) for i in ids if i is not None}


def prune_vocabulary(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    corpus: Sequence[str],
) -> VocabPruneResult:
    """Shrink ``model``'s word embeddings in place to the tokens ``corpus`` uses; return the
    remapped tokenizer and the counts."""
    from emocompress.ops.prune.blocks import set_word_embeddings, word_embeddings_of

    if not corpus:
        raise UserError("vocabulary pruning needs a non-empty corpus")
    embeddings = word_embeddings_of(model)
    rows_before = int(embeddings.num_embeddings)
    parameters_before = sum(p.numel() for p in model.parameters())
    used = used_token_ids(tokenizer, corpus)
    kept = sorted((used | special_token_ids(tokenizer)) & set(range(rows_before)))
    kept = _with_bpe_parents(tokenizer, kept)
    new_tokenizer = remap_tokenizer(tokenizer, kept)
    _check_same_tokens(tokenizer, new_tokenizer, kept, corpus)

    index = torch.tensor(kept, dtype=torch.long)
    new_embeddings = torch.nn.Embedding(
        len(kept),
        embeddings.embedding_dim,
        padding_idx=_new_id(kept, embeddings.padding_idx),
        dtype=embeddings.weight.dtype,
    )
    with torch.no_grad():
        new_embeddings.weight.copy_(embeddings.weight[index])
    set_word_embeddings(model, new_embeddings)
    _renumber_config_ids(model, kept)
    return VocabPruneResult(
        new_tokenizer,
        kept,
        rows_before,
        parameters_before,
        sum(p.numel() for p in model.parameters()),
    )


def _renumber_config_ids(model: PreTrainedModel, kept: list[int]) -> None:
    """Point pad/bos/eos ids (and RoBERTa's position padding index) at the new ids."""
    from emocompress.models.classifier import encoder_config
    from emocompress.ops.prune.blocks import encoder_of, update_encoder_config

    config = encoder_config(model)
    ids = {
        key: _new_id(kept, getattr(config, key))
        for key in _CONFIG_TOKEN_IDS
        if getattr(config, key, None) is not None
    }
    update_encoder_config(model, vocab_size=len(kept), **ids)
    if model.config is not config:
        for key, value in ids.items():
            if getattr(model.config, key, None) is not None:
                setattr(model.config, key, value)
    embeddings = getattr(encoder_of(model), "embeddings", None)
    if isinstance(getattr(embeddings, "padding_idx", None), int):
        embeddings.padding_idx = ids.get("pad_token_id", embeddings.padding_idx)


def _new_id(kept: list[int], old: int | None) -> int | None:
    if old is None:
        return None
    position = {token: i for i, token in enumerate(kept)}
    return position.get(int(old))


def _backend_json(tokenizer: PreTrainedTokenizerBase) -> dict[str, Any]:
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        raise UserError(
            f"vocabulary pruning needs a fast (tokenizers) tokenizer, not {type(tokenizer).__name__}"
        )
    return json.loads(backend.to_str())


def _with_bpe_parents(tokenizer: PreTrainedTokenizerBase, kept: list[int]) -> list[int]:
    """For BPE: add the tokens that merges build kept tokens from (recursively)."""
    data = _backend_json(tokenizer)
    if data["model"]["type"] != "BPE":
        return kept
    vocab: dict[str, int] = data["model"]["vocab"]
    token_of = {i: t for t, i in vocab.items()}
    parts_of: dict[str, tuple[str, str]] = {}
    for merge in data["model"]["merges"]:
        left, right = merge.split(" ", 1) if isinstance(merge, str) else merge
        parts_of.setdefault(left + right, (left, right))
    keep = set(kept)
    stack = [token_of[i] for i in kept if i in token_of]
    while stack:
        for part in parts_of.get(stack.pop(), ()):
            if part in vocab and vocab[part] not in keep:
                keep.add(vocab[part])
                stack.append(part)
    return sorted(keep)


def remap_tokenizer(tokenizer: PreTrainedTokenizerBase, kept: list[int]) -> PreTrainedTokenizerBase:
    """A copy of ``tokenizer`` whose ids are positions in ``kept`` (old ids)."""
    from transformers import AutoTokenizer

    new_id = {old: new for new, old in enumerate(kept)}
    data = _backend_json(tokenizer)
    _remap_model(data["model"], new_id)
    data["added_tokens"] = [
        {**token, "id": new_id[token["id"]]}
        for token in data.get("added_tokens") or []
        if token["id"] in new_id
    ]
    data["post_processor"] = _remap_special_ids(data.get("post_processor"), new_id)
    with tempfile.TemporaryDirectory() as tmp:
        tokenizer.save_pretrained(tmp)
        folder = Path(tmp)
        (folder / "tokenizer.json").write_text(json.dumps(data), encoding="utf-8")
        config_file = folder / "tokenizer_config.json"
        if config_file.is_file():
            config = read_json_object(config_file)
            decoder = config.get("added_tokens_decoder") or {}
            config["added_tokens_decoder"] = {
                str(new_id[int(i)]): v for i, v in decoder.items() if int(i) in new_id
            }
            config_file.write_text(json.dumps(config), encoding="utf-8")
        for stale in ("vocab.txt", "vocab.json", "merges.txt"):
            (folder / stale).unlink(missing_ok=True)  # tokenizer.json is the one source
        return AutoTokenizer.from_pretrained(tmp)


def _remap_model(model: dict[str, Any], new_id: dict[int, int]) -> None:
    kind = model["type"]
    if kind in ("WordPiece", "WordLevel", "BPE"):
        old_vocab: dict[str, int] = model["vocab"]
        model["vocab"] = {t: new_id[i] for t, i in old_vocab.items() if i in new_id}
        if kind == "BPE":
            kept = model["vocab"]
            merges = []
            for merge in model["merges"]:
                left, right = merge.split(" ", 1) if isinstance(merge, str) else merge
                if left in kept and right in kept and left + right in kept:
                    merges.append(merge)
            model["merges"] = merges
    elif kind == "Unigram":
        old = model["vocab"]
        model["vocab"] = [old[i] for i in sorted(new_id, key=new_id.get)]
        if model.get("unk_id") is not None:
            model["unk_id"] = new_id.get(model["unk_id"])
    else:
        raise UserError(f"vocabulary pruning does not know tokenizer models of type {kind!r}")


def _remap_special_ids(node: Any, new_id: dict[int, int]) -> Any:
    """Post-processors name special tokens with their ids (TemplateProcessing, BertProcessing)."""
    if isinstance(node, dict):
        result = {}
        for key, value in node.items():
            if key == "ids" and isinstance(value, list):
                result[key] = [new_id[i] for i in value]
            elif key in ("sep", "cls") and isinstance(value, list) and len(value) == 2:
                result[key] = [value[0], new_id[value[1]]]  # BertProcessing/RobertaProcessing
            else:
                result[key] = _remap_special_ids(value, new_id)
        return result
    if isinstance(node, list):
        return [_remap_special_ids(item, new_id) for item in node]
    return node


def _check_same_tokens(
    old: PreTrainedTokenizerBase,
    new: PreTrainedTokenizerBase,
    kept: list[int],
    corpus: Sequence[str],
) -> None:
    new_id = {o: n for n, o in enumerate(kept)}
    before = old(list(corpus), padding=False)["input_ids"]
    after = new(list(corpus), padding=False)["input_ids"]
    for text, ids_old, ids_new in zip(corpus, before, after, strict=True):
        if [new_id.get(i, -1) for i in ids_old] != list(ids_new):
            raise RuntimeError(f"the remapped tokenizer splits {text[:60]!r} differently")

"""Fused nodes of each family's ONNX export: a transformers or ORT upgrade that breaks a
fusion fails here instead of silently slowing users down (docs/onnx.md, "What fuses")."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from emocompress.models.support import ROWS

# family: (Attention, EmbedLayerNormalization) of a 2-layer tiny export
EXPECTED = {
    "bert": (2, 1),
    "bert-mean": (2, 1),
    "roberta": (2, 0),
    "xlm-roberta": (2, 0),
    "electra": (2, 1),
    "distilbert": (2, 1),
    "deberta-v2": (0, 0),
    "mpnet": (0, 0),
    "albert": (0, 0),  # exported with its default attention: see eager_attention
    "modernbert": (0, 0),
}
DOCS = Path(__file__).resolve().parents[3] / "docs" / "onnx.md"


def test_every_family_of_the_support_matrix_has_an_expectation():
    assert set(EXPECTED) == set(ROWS)


@pytest.mark.parametrize("family", sorted(EXPECTED))
def test_export_fuses_what_ort_can_and_keeps_parity(family, family_models, tmp_path):
    from emocompress.models.classifier import load_classifier, load_tokenizer
    from emocompress.models.ort import OrtClassifier
    from emocompress.ops.onnx.export import export_classifier, torch_logits_fn

    source = family_models.model(family)
    facts = export_classifier(source, tmp_path, max_length=32)
    fusions = facts["fusions"]
    assert facts["attention"] == ("sdpa" if family == "albert" else "eager")
    attention, embeddings = EXPECTED[family]
    assert fusions.get("Attention", 0) == attention, fusions
    assert fusions.get("EmbedLayerNormalization", 0) == embeddings, fusions
    # residual Adds stay beside LayerNormalization: ORT's CPU SkipLayerNormalization is slower
    assert fusions.get("SkipLayerNormalization", 0) == 0, fusions
    assert fusions.get("LayerNormalization", 0) >= 4, fusions

    # the fused graph against PyTorch (default attention) on real tokenised texts
    model = load_classifier(source)
    tokenizer = load_tokenizer(source)
    texts = ["I love this so much", "what a terrible, awful day", "ok", "thanks!! " * 6]
    feeds = OrtClassifier(tmp_path).encode(texts, max_length=32)
    onnx_logits = OrtClassifier(tmp_path).logits(texts, max_length=32)
    reference = torch_logits_fn(model)(feeds)
    assert np.abs(onnx_logits - reference).max() < 1e-4
    del tokenizer


@pytest.mark.parametrize("family", ["bert", "bert-mean", "distilbert"])
def test_the_model_gets_its_attention_implementation_back(family, family_models):
    from transformers import PreTrainedModel

    from emocompress.models.classifier import load_classifier
    from emocompress.ops.onnx.export import eager_attention

    model = load_classifier(family_models.model(family))
    submodels = [m for m in model.modules() if isinstance(m, PreTrainedModel)]
    before = [m.config._attn_implementation for m in submodels]
    assert "sdpa" in before  # the encoder's default under transformers 5
    with eager_attention(model) as used:
        assert used == "eager"
        assert {m.config._attn_implementation for m in submodels} == {"eager"}
    assert [m.config._attn_implementation for m in submodels] == before


def test_docs_table_states_the_tested_counts():
    text = DOCS.read_text()
    for family, (attention, embeddings) in EXPECTED.items():
        row = re.search(rf"^\| {re.escape(family)} \| (\d+) \| (\d+) \|", text, re.M)
        assert row, f"docs/onnx.md has no fusion row for {family}"
        assert (int(row[1]), int(row[2])) == (attention, embeddings), family

"""Length-bucketed scoring gives the logits of unbucketed scoring, in the input order:
PyTorch and ONNX Runtime on the tiny model (real tensors, a real ONNX session)."""

from __future__ import annotations

import numpy as np
import pytest

from emocompress.data.batching import inference_batches, padded_tokens, score_in_batches
from emocompress.data.readers import load_splits

TEXTS = load_splits("demo")["dev"].texts[:40]


def test_batches_cover_every_item_once_and_bucketing_cuts_padding() -> None:
    lengths = np.array([3, 9, 1, 7, 7, 2, 8])
    for bucketed in (True, False):
        batches = inference_batches(lengths, 3, bucketed=bucketed)
        assert sorted(np.concatenate(batches).tolist()) == list(range(7))
    plain = inference_batches(lengths, 3, bucketed=False)
    assert [b.tolist() for b in plain] == [[0, 1, 2], [3, 4, 5], [6]]
    bucketed = inference_batches(lengths, 3)
    assert [lengths[b].tolist() for b in bucketed] == [[9, 8, 7], [7, 3, 2], [1]]
    assert padded_tokens(lengths, plain) == (3 * 9 + 3 * 7 + 8, 37)
    assert padded_tokens(lengths, bucketed) == (3 * 9 + 3 * 7 + 1, 37)


def test_rows_come_back_in_input_order() -> None:
    lengths = np.array([5, 1, 4, 2])
    rows = score_in_batches(lengths, 2, 1, lambda idx: idx[:, None].astype(np.float32))
    assert rows[:, 0].tolist() == [0, 1, 2, 3]


def test_pytorch_bucketed_equals_unbucketed(tiny_classifier) -> None:
    from emocompress.measure.inference import predict_logits
    from emocompress.models.classifier import load_classifier, load_tokenizer

    model, tokenizer = load_classifier(tiny_classifier), load_tokenizer(tiny_classifier)
    one_by_one = np.concatenate(
        [predict_logits(model, tokenizer, [t], max_length=32) for t in TEXTS]
    )
    bucketed = predict_logits(model, tokenizer, TEXTS, batch_size=8, max_length=32)
    plain = predict_logits(model, tokenizer, TEXTS, batch_size=8, max_length=32, bucketed=False)
    assert not np.array_equal(bucketed, np.zeros_like(bucketed))
    np.testing.assert_allclose(bucketed, one_by_one, atol=1e-5)
    np.testing.assert_allclose(plain, one_by_one, atol=1e-5)


@pytest.fixture(scope="module")
def tiny_onnx(tiny_classifier, tmp_path_factory):
    from emocompress.ops.onnx.export import export_classifier

    out = tmp_path_factory.mktemp("bucketed") / "onnx"
    export_classifier(tiny_classifier, out, max_length=32)
    return out


def test_onnx_bucketed_equals_unbucketed(tiny_onnx) -> None:
    from emocompress.models.ort import OrtClassifier

    model = OrtClassifier(tiny_onnx)
    one_by_one = np.concatenate([model.logits([t], max_length=32) for t in TEXTS])
    bucketed = model.logits(TEXTS, batch_size=8, max_length=32)
    plain = model.logits(TEXTS, batch_size=8, max_length=32, bucketed=False)
    np.testing.assert_allclose(bucketed, one_by_one, atol=1e-5)
    np.testing.assert_allclose(plain, one_by_one, atol=1e-5)
    # the texts differ in length, so bucketing really reorders them
    lengths = [len(ids) for ids in model._token_ids(TEXTS, 32)[0]]
    assert len(set(lengths)) > 3


def test_dynamic_int8_scores_a_text_the_same_whatever_is_scored_beside_it(
    tiny_onnx, tmp_path
) -> None:
    """Dynamic int8 takes one activation scale per batch: scored in batches, a text's
    probabilities would follow its neighbours. Each text is scored alone instead, so eval,
    predict and the saved predictions agree for any order and batch size."""
    from emocompress.models.ort import OrtClassifier
    from emocompress.ops.onnx.quantize import copy_side_files, quantize_dynamic_int8

    int8 = tmp_path / "int8"
    int8.mkdir()
    quantize_dynamic_int8(tiny_onnx, int8, per_channel=False)
    copy_side_files(tiny_onnx, int8)
    model = OrtClassifier(int8)
    assert model.scores_each_text_alone
    assert not OrtClassifier(tiny_onnx).scores_each_text_alone  # fp32: batches as before

    one_by_one = np.concatenate([model.logits([t], max_length=32) for t in TEXTS])
    in_batches = model.logits(TEXTS, batch_size=8, max_length=32)
    reversed_order = model.logits(TEXTS[::-1], batch_size=16, max_length=32)[::-1]
    np.testing.assert_array_equal(in_batches, one_by_one)
    np.testing.assert_array_equal(reversed_order, one_by_one)

    # what the rule guards against: the same graph run on a padded batch scores the
    # texts otherwise
    batched = model.run(model.encode(TEXTS[:16], max_length=32))
    assert np.abs(batched - one_by_one[:16]).max() > 1e-4

"""Layer-wise learning-rate decay: the optimiser's parameter groups carry the lr each
parameter's depth asks for, in every encoder family (tiny models from tests/tiny_families.py)."""

from __future__ import annotations

import pytest

from emocompress.models.classifier import count_layers, load_classifier
from emocompress.ops.prune.blocks import word_embeddings_of
from emocompress.ops.train.loop import _optimizer
from emocompress.ops.train.settings import TrainSettings

LR, DECAY = 1e-3, 0.5
FAMILIES = [
    "bert",
    "bert-mean",
    "distilbert",
    "electra",
    "mpnet",
    "roberta",
    "xlm-roberta",
    "modernbert",
    "albert",
    "deberta-v2",
]


def _lr_of(optimizer) -> dict[int, float]:
    """id(param) -> its group's lr; every parameter in exactly one group."""
    lrs: dict[int, float] = {}
    for group in optimizer.param_groups:
        for param in group["params"]:
            assert id(param) not in lrs
            lrs[id(param)] = group["lr"]
    return lrs


def _named_lrs(model, settings: TrainSettings) -> dict[str, float]:
    lrs = _lr_of(_optimizer(model, settings))
    named = dict(model.named_parameters())
    assert set(lrs) == {id(p) for p in named.values()}
    return {name: lrs[id(p)] for name, p in named.items()}


# (name prefix, power of the decay) for the two-layer tiny models; the first match wins
EXPECTED = {
    "bert": [
        ("bert.embeddings.", 2),
        ("bert.encoder.layer.0.", 1),
        ("bert.encoder.layer.1.", 0),
        ("bert.pooler.", 0),
        ("classifier.", 0),
    ],
    "distilbert": [
        ("distilbert.embeddings.", 2),
        ("distilbert.transformer.layer.0.", 1),
        ("distilbert.transformer.layer.1.", 0),
        ("pre_classifier.", 0),
        ("classifier.", 0),
    ],
}


@pytest.mark.parametrize("family", sorted(EXPECTED))
def test_each_parameter_gets_the_lr_of_its_depth(family_models, family):
    model = load_classifier(family_models.model(family))
    lrs = _named_lrs(model, TrainSettings(lr=LR, layer_decay=DECAY))
    for name, lr in lrs.items():
        power = next(p for prefix, p in EXPECTED[family] if name.startswith(prefix))
        assert lr == pytest.approx(LR * DECAY**power), name
    # weight decay only on matrices, never on biases or norms
    for group in _optimizer(model, TrainSettings(lr=LR, layer_decay=DECAY)).param_groups:
        if any(p.ndim < 2 for p in group["params"]):
            assert group["weight_decay"] == 0.0


@pytest.mark.parametrize("family", sorted(EXPECTED))
def test_head_lr_still_sets_the_head(family_models, family):
    model = load_classifier(family_models.model(family))
    lrs = _named_lrs(model, TrainSettings(lr=LR, layer_decay=DECAY, head_lr=0.1))
    assert all(lr == 0.1 for name, lr in lrs.items() if name.startswith("classifier."))
    embeddings = [lr for name, lr in lrs.items() if ".embeddings." in name]
    assert embeddings and all(lr == pytest.approx(LR * DECAY**2) for lr in embeddings)


@pytest.mark.parametrize("family", FAMILIES)
def test_every_family_decays_from_the_head_to_the_embeddings(family_models, family):
    model = load_classifier(family_models.model(family))
    layers = count_layers(model)
    optimizer = _optimizer(model, TrainSettings(lr=LR, layer_decay=DECAY))
    lrs = _lr_of(optimizer)
    assert lrs[id(word_embeddings_of(model).weight)] == pytest.approx(LR * DECAY**layers)
    head = [p for name, p in model.named_parameters() if name.startswith("classifier.")]
    assert head and all(lrs[id(p)] == LR for p in head)
    # one lr per depth: ALBERT's shared layer is the top one, so only head/top and embeddings
    depths = {0, layers} if family == "albert" else set(range(layers + 1))
    assert sorted(set(lrs.values())) == pytest.approx(sorted(LR * DECAY**d for d in depths))
    assert optimizer.param_groups[0]["lr"] == LR  # the lr history.json records: the peak


def test_without_layer_decay_the_groups_are_as_before(family_models):
    model = load_classifier(family_models.model("bert"))
    groups = _optimizer(model, TrainSettings(lr=LR)).param_groups
    assert [g["weight_decay"] for g in groups] == [0.01, 0.0]
    assert all(g["lr"] == LR for g in groups)
    with_head = _optimizer(model, TrainSettings(lr=LR, head_lr=0.1)).param_groups
    assert [g["lr"] for g in with_head] == [LR, LR, 0.1]

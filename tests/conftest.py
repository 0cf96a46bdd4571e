"""Shared fixtures: tiny real models (hidden size 32, two layers) and a tiny finished run.

Everything is built from configs and the embedded demo data, so the suite needs no network
and runs in minutes on two cores.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from emocompress.data.labels import GOEMOTIONS_LABELS


def build_tiny_tokenizer(out: Path):
    """A WordPiece tokenizer trained on the demo texts (a few hundred tokens)."""
    from tokenizers import BertWordPieceTokenizer
    from transformers import BertTokenizerFast

    from emocompress.data.readers import load_splits

    texts = [t for split in load_splits("demo").values() for t in split.texts]
    wordpiece = BertWordPieceTokenizer(lowercase=True)
    wordpiece.train_from_iterator(texts, vocab_size=600, min_frequency=1, show_progress=False)
    out.mkdir(parents=True, exist_ok=True)
    wordpiece.save_model(str(out))
    # transformers 5 reads the vocabulary from `vocab`, not `vocab_file`
    tokenizer = BertTokenizerFast(vocab=str(out / "vocab.txt"), do_lower_case=True)
    tokenizer.model_max_length = 128
    return tokenizer


def build_tiny_classifier(out: Path, *, pooling: str = "cls", seed: int = 0) -> Path:
    """A randomly initialised BERT classifier for the 28 GoEmotions labels, saved at ``out``."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    from emocompress.models.classifier import multi_label_config, save_classifier
    from emocompress.models.pooled import PooledClassifier, PooledClassifierConfig

    torch.manual_seed(seed)
    tokenizer = build_tiny_tokenizer(out / "_vocab")
    label_config = multi_label_config(GOEMOTIONS_LABELS)
    encoder = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=128,
    )
    if pooling == "mean":
        model = PooledClassifier(
            PooledClassifierConfig(backbone=encoder.to_dict(), pooling="mean", **label_config)
        )
    else:
        for key, value in label_config.items():
            setattr(encoder, key, value)
        model = BertForSequenceClassification(encoder)
    save_classifier(model, tokenizer, out)
    return out


@pytest.fixture(scope="session")
def tiny_classifier(tmp_path_factory) -> Path:
    """Directory of a tiny BERT classifier ([CLS] head) with a tokenizer."""
    return build_tiny_classifier(tmp_path_factory.mktemp("tiny") / "bert")


@pytest.fixture(scope="session")
def tiny_pooled_classifier(tmp_path_factory) -> Path:
    """Directory of a tiny mean-pooled classifier (emocompress.models.pooled)."""
    return build_tiny_classifier(tmp_path_factory.mktemp("tiny") / "pooled", pooling="mean")


@pytest.fixture(scope="session")
def family_models(tmp_path_factory):
    """Tiny classifiers of every encoder family, built on first use (tests/tiny_families.py)."""
    from tiny_families import FamilyModels

    return FamilyModels(tmp_path_factory.mktemp("families"))


def tiny_recipe_head(name: str, model: Path, *, max_examples: str = "{train: 96}") -> str:
    """The top of a tiny recipe: name, demo data (32 tokens), the teacher ``model``."""
    return textwrap.dedent(
        f"""\
        name: {name}
        seed: 13
        threads: 1
        data:
          source: demo
          tune: {{carve_from: train, fraction: 0.2}}
          report: dev
          max_length: 32
          max_examples: {max_examples}
        teacher:
          model: {model}
        """
    )


def write_tiny_recipe(folder: Path, model: Path, *, name: str = "tiny", extra: str = "") -> Path:
    """A recipe that fine-tunes the tiny model briefly and distils a 1-layer student."""
    recipe = folder / f"{name}.yaml"
    recipe.write_text(
        tiny_recipe_head(name, model)
        + textwrap.dedent(
            """\
              finetune: {epochs: 1, batch_size: 16, lr: 1.0e-3}
            variants:
              - name: student-1l
                op: distil
                parent: teacher
                settings: {init: {layers: [0]}, epochs: 1, batch_size: 16, lr: 1.0e-3}
                gates: {max_mb: 100}
            """
        )
        + extra,
        encoding="utf-8",
    )
    return recipe


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, tiny_classifier) -> Path:
    """A finished run directory of the tiny recipe (teacher + one student). Do not modify it:
    copy it (shutil.copytree) when a test needs to change files."""
    from emocompress.progress import Reporter
    from emocompress.recipe.loading import load_recipe
    from emocompress.run.runner import run_recipe

    folder = tmp_path_factory.mktemp("tinyrun")
    recipe = load_recipe(write_tiny_recipe(folder, tiny_classifier))
    out = folder / "runs" / "tiny"
    run_recipe(recipe, out, reporter=Reporter("quiet"))
    return out


# -- deploy: a bundle exported from the tiny classifier --------------------------------


@pytest.fixture(scope="session")
def bundle(tmp_path_factory, tiny_classifier):
    folder = tmp_path_factory.mktemp("bundle")
    from emocompress.cli import main

    code = main(
        [
            "export",
            str(tiny_classifier),
            "--out",
            str(folder / "bundle"),
            "--run-dir",
            str(folder / "run"),
            "--data",
            "demo",
            "--max-length",
            "32",
            "--max-examples",
            "48",
            "--quiet",
        ]
    )
    assert code == 0
    return folder / "bundle"


# -- tracking: the tiny run logged to a local MLflow store and to offline W&B ----------


@pytest.fixture(scope="session")
def mlflow_logged(tiny_run, tmp_path_factory):
    """(tracking URI, {variant: MLflow run id}, store folder)."""
    from emocompress.artifacts.rundir import RunDir
    from emocompress.progress import Reporter
    from emocompress.recipe.schema import MlflowSpec, TrackingSpec
    from emocompress.run.tracking import log_run

    pytest.importorskip("mlflow")
    store = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{store / 'mlflow.db'}"
    tracking = TrackingSpec(mlflow=MlflowSpec(tracking_uri=uri, experiment="tiny"))
    ids = log_run(tracking, RunDir(tiny_run), Reporter("quiet"))["MLflow"]
    return uri, ids, store


@pytest.fixture(scope="session")
def wandb_logged(tiny_run, tmp_path_factory):
    """(offline W&B folder, {variant: W&B run id})."""
    from emocompress.artifacts.rundir import RunDir
    from emocompress.progress import Reporter
    from emocompress.recipe.schema import TrackingSpec, WandbSpec
    from emocompress.run.tracking import log_run

    pytest.importorskip("wandb")
    root = tmp_path_factory.mktemp("wandb")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("WANDB_DATA_DIR", str(root / "data"))  # staged artifact copies
        env.setenv("WANDB_CACHE_DIR", str(root / "cache"))
        env.setenv("WANDB_SILENT", "true")
        tracking = TrackingSpec(wandb=WandbSpec(project="tiny", mode="offline", dir=str(root)))
        ids = log_run(tracking, RunDir(tiny_run), Reporter("quiet"))["W&B"]
    return root, ids


# A test is an integration test when it runs a whole recipe. Those that use the tiny_run
# fixture (directly or through another fixture) are marked here; the others that run one
# themselves (run_recipe, `emocompress run` or a single-operation command with --recipe, the
# TUI's run screen) say @pytest.mark.integration. `pytest -m "not integration"`: the quick loop.
def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tiny_run" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.integration)

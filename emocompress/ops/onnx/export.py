"""PyTorch classifier -> ONNX: export, graph optimisation, shape and parity checks.

- Export with ``torch.onnx.export(dynamo=False)`` (the TorchScript exporter): in torch 2.13
  both exporters handle BERT and the mean-pooled classifier, but the dynamo one cannot emit
  opset 17 directly (it converts down from 18) and takes 5x longer. Batch and sequence
  axes are dynamic.
- The export traces eager attention: transformers 5's default SDPA attention exports a
  boolean-mask chain (Where, Add, Softmax, IsNaN, Where) that ORT's fusion does not match, so
  its graphs kept every attention unfused; the eager path's (scores + additive mask, Softmax)
  is the pattern ORT fuses. The caller's model gets its own implementation back afterwards.
- ONNX Runtime's transformer optimiser (``onnxruntime.transformers.optimizer``, model type
  ``bert``) then fuses attention (Attention), embeddings + LayerNorm
  (EmbedLayerNormalization, where position ids are plain positions), LayerNorm
  (LayerNormalization) and GELU (BiasGelu). What fuses for which family is in
  docs/onnx.md and tests/models/families/test_fusion.py; the counts are recorded in the
  facts, never assumed.
- The residual Add is kept beside its LayerNormalization rather than fused into
  SkipLayerNormalization: ORT's CPU SkipLayerNormalization kernel is a scalar loop (serial
  mean and variance sums, a division per element), about 8x slower than Add plus the
  vectorised LayerNormalization (1.2 ms against 0.14 ms on a 32 x 20 x 384 batch, ORT 1.32),
  which made it a fifth of a 2-layer int8 student's time (bench/profile-onnx.md). Sessions on
  CPU turn ORT's own load-time re-fusion off (:data:`emocompress.models.ort.CPU_DISABLED_OPTIMIZERS`).
- Models over 2 GB keep their weights in ``model.onnx.data`` beside the graph (protobuf's
  2 GB limit).
- Parity: logits from the exported graph (tokenised by :mod:`emocompress.models.ort`, as deployed)
  against PyTorch on real texts; over the tolerance is a :class:`UserError` with the figure.
"""

from __future__ import annotations

import contextlib
import shutil
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from emocompress.artifacts.schema import Parity
from emocompress.errors import UserError
from emocompress.models.ort import MODEL_FILE, TOKENIZER_FILE, OrtClassifier
from emocompress.progress import Reporter

PROTOBUF_LIMIT = 2 * 1024**3
EXTERNAL_DATA_FILE = MODEL_FILE + ".data"
GRAPH_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
CHECK_BATCHES = (1, 7, 32)
CHECK_LENGTHS = (5, 128)
# side files copied from the parent so that the variant is self-describing
SIDE_FILES = ("config.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt")


def save_onnx(model: Any, path: Path, *, external: bool) -> None:
    """Save an ONNX ModelProto; with ``external`` every tensor goes to one .data file."""
    import onnx

    data_file = path.with_name(path.name + ".data")
    data_file.unlink(missing_ok=True)
    if external:
        onnx.save_model(
            model,
            str(path),
            save_as_external_data=True,
            all_tensors_to_one_file=True,
            location=data_file.name,
            size_threshold=1024,
        )
    else:
        onnx.save_model(model, str(path))


def load_onnx(path: Path) -> Any:
    import onnx

    return onnx.load(str(path), load_external_data=True)


def parameter_bytes(model: Any) -> int:
    return sum(p.numel() * p.element_size() for p in model.parameters())


def graph_inputs(tokenizer: Any) -> list[str]:
    """The inputs the model takes: those of BERT-style tokenisers that the graph uses."""
    names = getattr(tokenizer, "model_input_names", None) or list(GRAPH_INPUTS[:2])
    return [name for name in GRAPH_INPUTS if name in names]


def export_torch(
    model: Any,
    input_names: Sequence[str],
    path: Path,
    *,
    opset: int,
    external: bool,
) -> None:
    """Export ``model`` (eval mode) to ``path`` with dynamic batch and sequence axes."""
    import torch

    dummy = {name: torch.ones((2, 8), dtype=torch.long) for name in input_names}
    dummy.get("token_type_ids", torch.empty(0)).zero_()
    axes = {name: {0: "batch", 1: "sequence"} for name in input_names}
    axes["logits"] = {0: "batch"}
    scratch = path.parent / ".export"
    scratch.mkdir(parents=True, exist_ok=True)
    try:
        # the TorchScript exporter's deprecation and tracer notes are noise for users
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                model,
                (),
                str(scratch / MODEL_FILE),
                kwargs=dummy,
                input_names=list(input_names),
                output_names=["logits"],
                dynamic_axes=axes,
                opset_version=opset,
                do_constant_folding=True,
                dynamo=False,
            )
        save_onnx(load_onnx(scratch / MODEL_FILE), path, external=external)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


@contextmanager
def eager_attention(model: Any) -> Iterator[str]:
    """Trace with eager attention (what ORT fuses); yields the implementation the export used.

    A model that cannot switch (an architecture with only one implementation) is exported
    as it is. Every submodel's implementation is restored on exit.
    """
    from transformers import PreTrainedModel

    from emocompress.models.families import family_of_model

    submodels = [m for m in model.modules() if isinstance(m, PreTrainedModel)]
    before = [m.config._attn_implementation for m in submodels]
    used = str(before[-1]) if before else "default"
    try:
        shared = family_of_model(model).shared_layers
    except UserError:
        shared = False
    # one layer applied N times (ALBERT): ORT fuses the first use only and then keeps both
    # the packed copy and the original weights, so the graph would grow; keep the default
    if not shared:
        with contextlib.suppress(ValueError, AttributeError, NotImplementedError):
            model.set_attn_implementation("eager")
            used = "eager"
    try:
        yield used
    finally:
        for submodel, implementation in zip(submodels, before, strict=True):
            if submodel.config._attn_implementation != implementation:
                submodel.config._attn_implementation = implementation


def fusion_options(**overrides: bool) -> Any:
    """ORT's BERT fusion options as export sets them, with ``overrides`` (FusionOptions
    attribute names, e.g. ``enable_gelu_approximation=True``) on top."""
    from onnxruntime.transformers.fusion_options import FusionOptions

    options = FusionOptions("bert")
    # Add + LayerNormalization runs faster on CPU than the fused kernel (module docstring)
    options.enable_skip_layer_norm = False
    options.enable_bias_skip_layer_norm = False
    for name, value in overrides.items():
        if not hasattr(options, name):
            raise AttributeError(f"FusionOptions has no {name!r}")
        setattr(options, name, value)
    return options


def optimize_graph(
    path: Path, *, num_heads: int, hidden_size: int, external: bool, options: Any = None
) -> dict[str, int]:
    """Fuse the graph in place with ORT's BERT optimiser (``options``: from
    :func:`fusion_options`, default export's own); return the non-zero fusion counts."""
    from onnxruntime.transformers.optimizer import optimize_model

    optimized = optimize_model(
        str(path),
        model_type="bert",
        num_heads=num_heads,
        hidden_size=hidden_size,
        optimization_options=options or fusion_options(),
    )
    stats = {op: n for op, n in optimized.get_fused_operator_statistics().items() if n}
    (path.with_name(path.name + ".data")).unlink(missing_ok=True)
    optimized.save_model_to_file(
        str(path), use_external_data_format=external, all_tensors_to_one_file=True
    )
    return stats


def write_side_files(parent: Path, out_dir: Path, tokenizer: Any, max_length: int) -> None:
    """config.json, tokenizer files, and a tokenizer.json whose truncation is ``max_length``.

    The saved truncation is what :class:`~emocompress.models.ort.OrtClassifier` uses by default,
    so a bundle tokenises as the PyTorch side did without any other setting.
    """
    from tokenizers import Tokenizer

    for name in SIDE_FILES:
        if (parent / name).is_file():
            shutil.copyfile(parent / name, out_dir / name)
    backend = Tokenizer.from_str(tokenizer.backend_tokenizer.to_str())
    backend.no_padding()
    backend.enable_truncation(max_length)
    backend.save(str(out_dir / TOKENIZER_FILE))


def attention_shape(model: Any) -> tuple[int, int]:
    """(num_heads, hidden_size) of the encoder, for the optimiser."""
    from emocompress.models.classifier import encoder_config

    config = encoder_config(model)
    heads = getattr(config, "num_attention_heads", None) or getattr(config, "n_heads", 0)
    hidden = getattr(config, "hidden_size", None) or getattr(config, "dim", 0)
    return int(heads), int(hidden)


def export_classifier(
    parent: Path,
    out_dir: Path,
    *,
    max_length: int,
    opset: int = 17,
    optimize: bool = True,
    external_data_bytes: int = PROTOBUF_LIMIT,
    reporter: Reporter | None = None,
) -> dict[str, Any]:
    """Export the classifier at ``parent`` into ``out_dir`` (model.onnx + side files).

    Returns facts: precision, opset, exporter, fusions, external_data, shapes_checked.
    ``external_data_bytes``: weights at least this large go to model.onnx.data.
    """
    from emocompress.models.classifier import load_classifier, load_tokenizer

    reporter = reporter or Reporter("quiet")
    if opset < 17:
        raise UserError(f"opset {opset} is too old", expected="opset 17 or newer")
    model = load_classifier(parent)
    tokenizer = load_tokenizer(parent)
    external = parameter_bytes(model) >= external_data_bytes
    path = Path(out_dir) / MODEL_FILE
    with reporter.task(f"exporting {parent.name} to ONNX (opset {opset})", total=2) as task:
        with eager_attention(model) as attention:
            export_torch(model, graph_inputs(tokenizer), path, opset=opset, external=external)
        task.advance()
        fusions: dict[str, int] = {}
        if optimize:
            heads, hidden = attention_shape(model)
            fusions = optimize_graph(path, num_heads=heads, hidden_size=hidden, external=external)
        task.advance()
    write_side_files(Path(parent), Path(out_dir), tokenizer, max_length)
    shapes = check_shapes(OrtClassifier(out_dir), reference=torch_logits_fn(model))
    return {
        "precision": "fp32",
        "opset": opset,
        "exporter": "torch.onnx.export(dynamo=False)",
        "optimized": optimize,
        "attention": attention,
        "fusions": fusions,
        "external_data": external,
        "shapes_checked": shapes,
    }


def torch_logits_fn(model: Any) -> Callable[[dict[str, np.ndarray]], np.ndarray]:
    """Feeds (numpy) -> PyTorch logits, for comparing a graph with its source model."""
    import torch

    def logits(feeds: dict[str, np.ndarray]) -> np.ndarray:
        with torch.inference_mode():
            batch = {k: torch.from_numpy(v) for k, v in feeds.items()}
            return model(**batch).logits.float().numpy()

    return logits


def random_feeds(
    input_names: Sequence[str], batch: int, length: int, vocab_size: int, seed: int = 0
) -> dict[str, np.ndarray]:
    """Random token ids with ragged lengths (row 0 full, others padded) for shape checks."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, vocab_size, size=(batch, length), dtype=np.int64)
    mask = np.ones((batch, length), dtype=np.int64)
    for row in range(1, batch):
        mask[row, rng.integers(1, length + 1) :] = 0
    feeds = {"input_ids": ids * mask, "attention_mask": mask, "token_type_ids": 0 * mask}
    return {name: feeds[name] for name in input_names}


def vocab_size_of(model: OrtClassifier) -> int:
    return model._tokenizer(None).get_vocab_size()


def check_shapes(
    model: OrtClassifier,
    *,
    reference: Callable[[dict[str, np.ndarray]], np.ndarray] | None = None,
    batches: Sequence[int] = CHECK_BATCHES,
    lengths: Sequence[int] = CHECK_LENGTHS,
) -> list[dict[str, Any]]:
    """Run the graph at every batch size x length; the output must be (batch, labels) and
    finite. With ``reference`` (PyTorch), also the largest logit difference per shape."""
    results = []
    for batch in batches:
        for length in lengths:
            feeds = random_feeds(model.input_names, batch, length, vocab_size_of(model))
            logits = model.run(feeds)
            expected = (batch, len(model.label_names))
            if logits.shape != expected or not np.isfinite(logits).all():
                raise UserError(
                    f"{model.path}: the graph gave {logits.shape} logits for batch {batch}, "
                    f"length {length}",
                    expected=f"{expected}, all finite",
                )
            diff = {}
            if reference is not None:
                diff = {"max_abs_logit_diff": float(np.abs(logits - reference(feeds)).max())}
            results.append({"batch": batch, "length": length, **diff})
    return results


def parity(
    onnx_dir: Path,
    reference_dir: Path,
    texts: Sequence[str],
    *,
    tolerance: float | None,
    max_length: int,
    reference_name: str | None = None,
    reference_logits: np.ndarray | None = None,
    reporter: Reporter | None = None,
) -> Parity:
    """Max |logit difference| between the graph and the model at ``reference_dir`` on
    ``texts``; a :class:`UserError` with the figure when it is over ``tolerance`` (None:
    measured and recorded only, as for quantised graphs, which the AUC gate judges).

    ``reference_dir`` may be a PyTorch checkpoint or another ONNX variant (for quantised
    graphs, whose reference is the fp32 graph); ``reference_logits`` skips recomputing it.
    """
    if not texts:
        raise UserError("parity needs at least one text", expected="a non-empty tune split")
    reporter = reporter or Reporter("quiet")
    with reporter.task(f"parity on {len(texts)} texts", total=2) as task:
        if reference_logits is None:
            reference_logits = reference_logits_of(reference_dir, texts, max_length)
        task.advance()
        got = OrtClassifier(onnx_dir).logits(texts, max_length=max_length)
        task.advance()
    diff = float(np.abs(got - reference_logits).max())
    result = Parity(
        max_abs_logit_diff=diff,
        tolerance=tolerance,
        texts=len(texts),
        reference=reference_name or Path(reference_dir).name,
    )
    if tolerance is not None and not diff <= tolerance:  # also catches NaN
        raise UserError(
            f"{onnx_dir}: parity failed: max |logit difference| {diff:.3g} against "
            f"{result.reference} on {len(texts)} texts exceeds the tolerance {tolerance:g}",
            expected="a faithful export (or a larger parity_tolerance in the settings)",
        )
    return result


def reference_logits_of(path: Path, texts: Sequence[str], max_length: int) -> np.ndarray:
    """Logits of the variant at ``path`` (ONNX Runtime or PyTorch, whichever it is)."""
    if (Path(path) / MODEL_FILE).is_file():
        return OrtClassifier(path).logits(texts, max_length=max_length)
    from emocompress.measure.inference import predict_logits
    from emocompress.models.classifier import load_classifier, load_tokenizer

    return predict_logits(load_classifier(path), load_tokenizer(path), texts, max_length=max_length)

"""Fused nodes, parity and fp32 latency of exports traced with SDPA (before) and eager
attention (after, what `export` does now), for PyTorch variants of a run.

Each variant is exported twice into a scratch folder and optimised by ORT's `bert` optimiser;
parity is the largest |logit difference| from PyTorch on report-split texts; latency is ORT
with one thread, before and after interleaved run by run (so load drifts hit both), texts
tokenised outside the timing, batch 1 and batch 32 (length-bucketed).

  python bench/onnx_fusion.py RUN/variants/teacher RUN/variants/student-2l \
      --data ../shared/data/goemotions [--texts 256] [--runs 10]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def export_both(source: Path, scratch: Path) -> dict[str, dict]:
    from emocompress.models.classifier import load_classifier, load_tokenizer
    from emocompress.ops.onnx.export import (
        attention_shape,
        eager_attention,
        export_torch,
        graph_inputs,
        optimize_graph,
    )

    model = load_classifier(source)
    tokenizer = load_tokenizer(source)
    heads, hidden = attention_shape(model)
    out = {}
    for name, context in (("sdpa", contextlib.nullcontext), ("eager", eager_attention)):
        path = scratch / name / "model.onnx"
        path.parent.mkdir(parents=True)
        with context(model):
            export_torch(model, graph_inputs(tokenizer), path, opset=17, external=False)
        fusions = optimize_graph(path, num_heads=heads, hidden_size=hidden, external=False)
        out[name] = {"path": path, "fusions": fusions}
    return out


def _feeds(tokenizer, texts: list[str], batch: int, max_length: int, names: list[str]):
    from emocompress.data.batching import inference_batches

    encoded = tokenizer(texts, truncation=True, max_length=max_length)
    lengths = np.array([len(ids) for ids in encoded["input_ids"]])
    feeds = []
    for rows in inference_batches(lengths, batch):
        width = int(lengths[rows].max())
        ids = np.zeros((len(rows), width), dtype=np.int64)
        mask = np.zeros_like(ids)
        for r, i in enumerate(rows):
            seq = encoded["input_ids"][i]
            ids[r, : len(seq)] = seq
            mask[r, : len(seq)] = 1
        feed = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in names:
            feed["token_type_ids"] = np.zeros_like(ids)
        feeds.append(feed)
    return feeds


def measure(source: Path, texts: list[str], runs: int, max_length: int) -> dict:
    import onnxruntime as ort

    from emocompress.models.classifier import load_classifier, load_tokenizer
    from emocompress.ops.onnx.export import torch_logits_fn

    tokenizer = load_tokenizer(source)
    reference = torch_logits_fn(load_classifier(source))
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    with tempfile.TemporaryDirectory() as scratch:
        exports = export_both(source, Path(scratch))
        sessions = {
            k: ort.InferenceSession(str(v["path"]), options, providers=["CPUExecutionProvider"])
            for k, v in exports.items()
        }
        names = [i.name for i in sessions["eager"].get_inputs()]
        result = {k: {"fusions": v["fusions"]} for k, v in exports.items()}
        check = _feeds(tokenizer, texts, 32, max_length, names)
        for k, session in sessions.items():
            result[k]["parity"] = max(
                float(np.abs(session.run(None, f)[0] - reference(f)).max()) for f in check
            )
        for batch in (1, 32):
            feeds = _feeds(tokenizer, texts if batch > 1 else texts[:64], batch, max_length, names)
            timings = {k: [] for k in sessions}
            for session in sessions.values():  # warm-up
                session.run(None, feeds[0])
            for _ in range(runs):
                for k, session in sessions.items():
                    start = time.perf_counter()
                    for feed in feeds:
                        session.run(None, feed)
                    timings[k].append((time.perf_counter() - start) / len(feeds))
            for k in sessions:
                result[k][f"batch{batch}_ms_p50"] = 1000 * float(np.median(timings[k]))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variants", nargs="+", type=Path)
    parser.add_argument("--data", required=True)
    parser.add_argument("--split", default="dev")
    parser.add_argument("--texts", type=int, default=256)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--max-length", type=int, default=64)
    args = parser.parse_args(argv)
    from emocompress.data.readers import load_splits
    from emocompress.measure.bench.speed import sample_texts

    texts = sample_texts(load_splits(args.data)[args.split].texts, args.texts)
    rows = {}
    for variant in args.variants:
        rows[variant.name] = measure(variant, texts, args.runs, args.max_length)
    print(json.dumps(rows, indent=2))
    print(
        "| variant | export | Attention | EmbedLayerNorm | SkipLayerNorm | parity | b1 ms | b32 ms/batch |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, result in rows.items():
        for kind in ("sdpa", "eager"):
            r = result[kind]
            f = r["fusions"]
            print(
                f"| {name} | {kind} | {f.get('Attention', 0)} | "
                f"{f.get('EmbedLayerNormalization', 0)} | {f.get('SkipLayerNormalization', 0)} | "
                f"{r['parity']:.1e} | {r['batch1_ms_p50']:.3f} | {r['batch32_ms_p50']:.2f} |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())

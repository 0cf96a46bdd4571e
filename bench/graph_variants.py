"""Do other graph shapes of the same model run faster? Rewrites of an exported encoder, timed
interleaved in one process against the graph `export` writes, fp32 and int8.

The graphs, all from one PyTorch variant (traced with eager attention, as `export` does):

- ``fused``: what ``emocompress export`` writes (Attention, EmbedLayerNormalization,
  BiasGelu, LayerNormalization; residual Adds unfused, docs/onnx.md).
- ``fastgelu``: the same with ORT's GELU approximation (tanh, FastGelu), Optimum's O3 level.
- ``unfused-attention``: attention left as MatMul, Softmax and MatMul; int8 quantises the
  projections only, the two activation x activation products stay fp32.
- ``mha``: each fused Attention split into one MatMul for Q, K and V (which int8 turns into a
  DynamicQuantizeMatMul like the other projections) and a MultiHeadAttention on its output,
  so the projection leaves QAttention.

Per graph: texts/s of the session alone at batch ``--batch-size`` (length-bucketed, the best
of ``--rounds`` interleaved passes, tokenisation excluded and measured once apart), matrix
GOP/s counting the tokens really computed (emocompress.measure.flops), its share of the
machine's limit measured in the same process at the same thread count, max |logit
difference| against the fused fp32 graph, and macro AUC on the whole split.

  python bench/graph_variants.py RUN/variants/student-2l-vocab --data ../shared/data/goemotions \\
      --threads 1 --batch-size 32 --n-texts 512 --rounds 9 --out /tmp/graphs
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

GRAPHS = ("fused", "fastgelu", "unfused-attention", "mha")


def build_fp32(variant: Path, out: Path, graph: str, max_length: int) -> dict[str, int]:
    """Write the ``graph`` rewrite of ``variant`` to ``out``; return its op counts."""
    import onnx

    from emocompress.models.classifier import load_classifier, load_tokenizer
    from emocompress.ops.onnx import export as ex

    out.mkdir(parents=True, exist_ok=True)
    path = out / ex.MODEL_FILE
    if graph == "mha":
        fused = out.parent / "fused-fp32"
        onnx.save(rewrite_attention(onnx.load(str(fused / ex.MODEL_FILE))), str(path))
        ex.write_side_files(variant, out, load_tokenizer(variant), max_length)
        return op_counts(path)
    model, tokenizer = load_classifier(variant), load_tokenizer(variant)
    with ex.eager_attention(model):
        ex.export_torch(model, ex.graph_inputs(tokenizer), path, opset=17, external=False)
    heads, hidden = ex.attention_shape(model)
    options = ex.fusion_options(
        enable_gelu_approximation=graph == "fastgelu",
        enable_attention=graph != "unfused-attention",
    )
    ex.optimize_graph(path, num_heads=heads, hidden_size=hidden, external=False, options=options)
    ex.write_side_files(variant, out, tokenizer, max_length)
    return op_counts(path)


def rewrite_attention(model):
    """Attention(x, W, b, mask) -> MultiHeadAttention(Split(MatMul(x, W)), bias b, mask)."""
    from onnx import helper, numpy_helper

    weights = {t.name: t for t in model.graph.initializer}
    nodes = []
    for node in model.graph.node:
        if node.op_type != "Attention":
            nodes.append(node)
            continue
        x, w, bias, mask = list(node.input)[:4]
        width = weights[w].dims[1] // 3
        heads = next(helper.get_attribute_value(a) for a in node.attribute if a.name == "num_heads")
        name = node.name or node.output[0]
        split = name + "_split_sizes"
        model.graph.initializer.append(
            numpy_helper.from_array(np.array([width] * 3, dtype=np.int64), split)
        )
        q, k, v = (f"{name}_{part}" for part in "qkv")
        nodes += [
            helper.make_node("MatMul", [x, w], [name + "_qkv"], name=name + "_MatMul"),
            helper.make_node(
                "Split", [name + "_qkv", split], [q, k, v], axis=2, name=name + "_Split"
            ),
            helper.make_node(
                "MultiHeadAttention",
                [q, k, v, bias, mask],
                list(node.output),
                num_heads=heads,
                domain="com.microsoft",
                name=name + "_MHA",
            ),
        ]
    del model.graph.node[:]
    model.graph.node.extend(nodes)
    return model


def build_int8(src: Path, dst: Path) -> dict[str, int]:
    """int8-dynamic like the recipes' quantize step (per-channel, this CPU's weight type);
    MatMuls of two activations (unfused attention's scores and weighted sum) stay fp32."""
    import onnx
    from onnxruntime.quantization import quantize_dynamic

    from emocompress.artifacts.cpu import cpu_flags
    from emocompress.ops.onnx.quantize import (
        FUSED_GRAPH_OPTIONS,
        choose_weight_type,
        copy_side_files,
        quant_type,
    )

    graph = onnx.load(str(src / "model.onnx"))
    constants = {t.name for t in graph.graph.initializer}
    two_activations = [
        n.name for n in graph.graph.node if n.op_type == "MatMul" and not set(n.input) & constants
    ]
    dst.mkdir(parents=True, exist_ok=True)
    logging.getLogger().setLevel(logging.ERROR)  # the quantiser's advice
    quantize_dynamic(
        src / "model.onnx",
        dst / "model.onnx",
        per_channel=True,
        weight_type=quant_type(choose_weight_type("auto", cpu_flags())[0]),
        nodes_to_exclude=two_activations,
        extra_options=FUSED_GRAPH_OPTIONS,
    )
    copy_side_files(src, dst)
    return op_counts(dst / "model.onnx")


def op_counts(path: Path) -> dict[str, int]:
    import onnx

    counts = Counter(n.op_type for n in onnx.load(str(path)).graph.node)
    keep = ("Attention", "QAttention", "MultiHeadAttention", "Softmax", "FastGelu", "BiasGelu")
    return {op: counts[op] for op in keep if counts[op]}


def measure(dirs: dict[str, Path], texts: list[str], *, threads: int, batch_size: int, rounds: int):
    """Best-of-``rounds`` seconds a pass of every graph, passes interleaved; logits."""
    from emocompress.data.batching import inference_batches
    from emocompress.models.ort import OrtClassifier

    models = {name: OrtClassifier(path, threads=threads) for name, path in dirs.items()}
    first = next(iter(models.values()))
    ids, types = first._token_ids(texts, None)
    lengths = np.array([len(s) for s in ids])
    batches = inference_batches(lengths, batch_size)
    feeds = [first._pad([ids[i] for i in b], [types[i] for i in b]) for b in batches]
    started = time.perf_counter()
    for b in batches:
        first.encode([texts[i] for i in b])
    tokenise = time.perf_counter() - started
    best = dict.fromkeys(models, float("inf"))
    for _ in range(rounds):
        for name, model in models.items():
            started = time.perf_counter()
            for feed in feeds:
                model.run({k: feed[k] for k in model.input_names})
            best[name] = min(best[name], time.perf_counter() - started)
    widths = [int(lengths[b].max()) for b in batches]
    counts = [len(b) for b in batches]
    return best, tokenise, list(zip(counts, widths, strict=True))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variant", type=Path, help="a PyTorch classifier variant directory")
    parser.add_argument("--data", required=True)
    parser.add_argument("--split", default="dev")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--n-texts", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--max-length", type=int, default=64)
    parser.add_argument("--out", type=Path, help="where the graphs go (default: a temp dir)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)

    from emocompress.artifacts.cpu import cpu_flags
    from emocompress.data.readers import load_splits
    from emocompress.measure.flops import EncoderShape, matmul_limit, text_flops
    from emocompress.measure.metrics import auc_scores
    from emocompress.models.classifier import read_config
    from emocompress.models.ort import OrtClassifier

    split = load_splits(args.data)[args.split]
    texts = list(split.texts[: args.n_texts])
    shape = EncoderShape.from_config(read_config(args.variant))
    with tempfile.TemporaryDirectory() as scratch:
        root = args.out or Path(scratch)
        dirs, ops = {}, {}
        for graph in GRAPHS:
            fp32 = root / f"{graph}-fp32"
            ops[f"{graph}-fp32"] = build_fp32(args.variant, fp32, graph, args.max_length)
            ops[f"{graph}-int8"] = build_int8(fp32, root / f"{graph}-int8")
            dirs[f"{graph}-fp32"], dirs[f"{graph}-int8"] = fp32, root / f"{graph}-int8"
        limit = matmul_limit(args.threads)
        best, tokenise, batches = measure(
            dirs, texts, threads=args.threads, batch_size=args.batch_size, rounds=args.rounds
        )
        work = sum(count * text_flops(shape, width) for count, width in batches)
        reference = OrtClassifier(dirs["fused-fp32"]).logits(
            split.texts, max_length=args.max_length
        )
        rows = []
        for name, path in dirs.items():
            logits = OrtClassifier(path).logits(split.texts, max_length=args.max_length)
            probs = 1.0 / (1.0 + np.exp(-logits.astype(np.float64)))
            cap = limit["int8_gops"] if name.endswith("int8") else limit["onnx_fp32_gflops"]
            rows.append(
                {
                    "graph": name,
                    "ops": ops[name],
                    "texts_per_s": len(texts) / best[name],
                    "gops": work / best[name] / 1e9,
                    "share_of_limit": work / best[name] / 1e9 / cap,
                    "max_abs_logit_diff": float(np.abs(logits - reference).max()),
                    "macro_auc": auc_scores(probs, split.labels, split.label_names)["macro"],
                }
            )
    print(
        f"{args.variant.name}: threads {args.threads}, batch {args.batch_size} bucketed,"
        f" {len(texts)} {args.split} texts ({sum(c * w for c, w in batches):,} tokens computed),"
        f" tokenising {1e3 * tokenise:.1f} ms a pass (not in the figures); flags"
        f" {' '.join(cpu_flags())}; limits ORT fp32 {limit['onnx_fp32_gflops']:,.0f} GFLOP/s,"
        f" int8 {limit['int8_gops']:,.0f} GOP/s; AUC and parity on {len(split.texts):,} texts\n"
    )
    base = {
        kind: next(r for r in rows if r["graph"] == f"fused-{kind}") for kind in ("fp32", "int8")
    }
    print(
        "| graph | nodes | texts/s | vs fused | GOP/s | % limit | max abs logit diff | macro AUC |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        kind = r["graph"].rsplit("-", 1)[1]
        nodes = ", ".join(f"{op} {n}" for op, n in r["ops"].items())
        print(
            f"| {r['graph']} | {nodes} | {r['texts_per_s']:,.0f} |"
            f" {r['texts_per_s'] / base[kind]['texts_per_s']:.2f}x | {r['gops']:,.0f} |"
            f" {100 * r['share_of_limit']:.1f} | {r['max_abs_logit_diff']:.1e} |"
            f" {r['macro_auc']:.4f} |"
        )
    if args.json:
        args.json.write_text(json.dumps({"limit": limit, "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

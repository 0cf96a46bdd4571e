"""Where an ONNX variant's time goes: ONNX Runtime's own per-node profile, by op type.

For each variant: dev texts scored in length-bucketed batches (what bench measures), one
warm-up pass, then ``--rounds`` profiled passes. Per op type: milliseconds per pass, share
of the session's time, and for the matrix-product ops the rate they reach (2 x M x K x N
from the shapes ORT recorded, attention's scores and weighted sum included) against the
machine's limit for that kind of op, measured in the same process at the same thread count
(emocompress.measure.flops.matmul_limit). Also the time outside the graph (tokenising and
padding) and inside the session but outside any node.

  python bench/profile_onnx.py RUN/variants/student-2l-int8 RUN/variants/student-2l-onnx \\
      --data ../shared/data/goemotions --threads 1 --batch-size 32 --n-texts 512
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

INT8_OPS = {"MatMulInteger", "DynamicQuantizeMatMul", "MatMulIntegerToFloat", "QAttention"}


def _shapes(args: dict, key: str) -> list[list[int]]:
    return [list(entry.values())[0] for entry in args.get(key, [])]


def matmul_ops(op: str, inputs: list[list[int]], outputs: list[list[int]]) -> float:
    """Multiply-add work (2 per MAC) of one node from the shapes ORT recorded; 0 if none.

    ORT leaves pre-packed weights out of the recorded inputs, so a product's width comes from
    its output and an attention's from its packed Q, K, V bias."""
    if not inputs or not inputs[0] or not outputs:
        return 0.0
    if op in ("Attention", "QAttention"):
        batch, seq, hidden = inputs[0]
        width = inputs[1][-1]  # 3 x attention width (Q, K and V packed)
        return 2.0 * batch * seq * hidden * width + 4.0 * batch * seq * seq * (width // 3)
    if op in INT8_OPS | {"MatMul", "FusedMatMul", "Gemm", "FusedGemm"}:
        a, out = inputs[0], outputs[0]
        return 2.0 * float(np.prod(a[:-1])) * a[-1] * out[-1]
    return 0.0


def profile(variant: Path, texts: list[str], *, threads: int, batch_size: int, rounds: int):
    import onnxruntime as ort

    from emocompress.data.batching import inference_batches
    from emocompress.measure.flops import shape_rate
    from emocompress.models.ort import MODEL_FILE, OrtClassifier, session_kwargs

    classifier = OrtClassifier(variant, threads=threads)
    ids, types = classifier._token_ids(texts, None)
    lengths = np.array([len(s) for s in ids])
    batches = inference_batches(lengths, batch_size)
    feeds = [classifier._pad([ids[i] for i in b], [types[i] for i in b]) for b in batches]

    started = time.perf_counter()
    for _ in range(rounds):
        encoded = [classifier.encode([texts[i] for i in b]) for b in batches]
    tokenise = (time.perf_counter() - started) / rounds
    del encoded

    with tempfile.TemporaryDirectory() as scratch:
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        options.enable_profiling = True
        options.profile_file_prefix = str(Path(scratch) / "profile")
        providers = ["CPUExecutionProvider"]
        session = ort.InferenceSession(
            str(variant / MODEL_FILE), options, providers=providers, **session_kwargs(providers)
        )
        for feed in feeds:  # warm-up: its events are dropped below
            session.run(None, feed)
        started = time.perf_counter()
        for _ in range(rounds):
            for feed in feeds:
                session.run(None, feed)
        wall = (time.perf_counter() - started) / rounds
        events = json.loads(Path(session.end_profiling()).read_text())

    runs = [e for e in events if e.get("cat") == "Session" and e.get("name") == "model_run"]
    first = runs[len(feeds)]["ts"]  # the first profiled (not warm-up) run
    session_us = sum(e["dur"] for e in runs[len(feeds) :])
    by_op: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    by_shape: dict[tuple[str, int, int], list[list[float]]] = defaultdict(list)
    for e in events:
        if e.get("cat") != "Node" or e["ts"] < first or not e["name"].endswith("_kernel_time"):
            continue
        op = e["args"]["op_name"]
        by_op[op][0] += e["dur"]
        inputs = _shapes(e["args"], "input_type_shape")
        outputs = _shapes(e["args"], "output_type_shape")
        work = matmul_ops(op, inputs, outputs)
        by_op[op][1] += work
        if work and op not in ("Attention", "QAttention"):
            rows = int(np.prod(inputs[0][:-1]))
            by_shape[(op, inputs[0][-1], outputs[0][-1])].append([rows, e["dur"], work])
    computed = sum(len(b) * int(lengths[b].max()) for b in batches)
    shapes = []
    for (op, inner, cols), calls in sorted(by_shape.items()):
        rows = int(np.median([c[0] for c in calls]))
        alone = shape_rate((rows, inner, cols), threads, int8=op in INT8_OPS)
        in_graph = sum(c[2] for c in calls) / sum(c[1] for c in calls) / 1e3
        shapes.append(
            {"op": op, "m": rows, "k": inner, "n": cols, "alone_gops": alone, "gops": in_graph}
        )
    return {
        "variant": variant.name,
        "texts": len(texts),
        "tokens_computed": computed,
        "wall_ms_per_pass": wall * 1e3,
        "tokenise_ms_per_pass": tokenise * 1e3,
        "session_ms_per_pass": session_us / rounds / 1e3,
        "ops": {
            op: {"ms_per_pass": us / rounds / 1e3, "gops": work / us / 1e3 if us else 0.0}
            for op, (us, work) in sorted(by_op.items(), key=lambda kv: -kv[1][0])
        },
        "shapes": shapes,
    }


def render(result: dict, limit: dict) -> str:
    lines = [
        f"### {result['variant']}: {result['texts']} texts, {result['tokens_computed']:,} tokens"
        f" computed; session {result['session_ms_per_pass']:.1f} ms a pass, tokenising and"
        f" padding {result['tokenise_ms_per_pass']:.1f} ms",
        "",
        "| op | ms a pass | share of session | GOP/s | share of its limit |",
        "|---|---:|---:|---:|---:|",
    ]
    session = result["session_ms_per_pass"]
    nodes = 0.0
    for op, row in result["ops"].items():
        nodes += row["ms_per_pass"]
        cap = limit["int8_gops"] if op in INT8_OPS else limit["onnx_fp32_gflops"]
        rate = f"{row['gops']:,.0f}" if row["gops"] else "-"
        share = f"{100 * row['gops'] / cap:.0f}%" if row["gops"] and cap else "-"
        lines.append(
            f"| {op} | {row['ms_per_pass']:.2f} | {100 * row['ms_per_pass'] / session:.1f}% |"
            f" {rate} | {share} |"
        )
    lines.append(
        f"| (in the session, outside nodes) | {session - nodes:.2f} |"
        f" {100 * (session - nodes) / session:.1f}% | - | - |"
    )
    lines += [
        "",
        "Each matrix product's kernel at the model's own sizes (median M of its calls), alone",
        "in a one-node graph, against the same op in the graph (which for DynamicQuantizeMatMul",
        "also quantises its input) and the square-matrix limit:",
        "",
        "| op | M x K x N | in the graph GOP/s | kernel alone GOP/s | alone / limit |",
        "|---|---|---:|---:|---:|",
    ]
    for row in result["shapes"]:
        cap = limit["int8_gops"] if row["op"] in INT8_OPS else limit["onnx_fp32_gflops"]
        alone = row["alone_gops"] or 0.0
        lines.append(
            f"| {row['op']} | {row['m']} x {row['k']} x {row['n']} | {row['gops']:,.0f} |"
            f" {alone:,.0f} | {100 * alone / cap:.0f}% |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("variants", type=Path, nargs="+", help="ONNX variant directories")
    parser.add_argument("--data", required=True)
    parser.add_argument("--split", default="dev")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--n-texts", type=int, default=512)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)

    from emocompress.artifacts.cpu import cpu_flags
    from emocompress.data.readers import load_splits
    from emocompress.measure.flops import matmul_limit

    texts = list(load_splits(args.data)[args.split].texts[: args.n_texts])
    limit = matmul_limit(args.threads)
    results = [
        profile(v, texts, threads=args.threads, batch_size=args.batch_size, rounds=args.rounds)
        for v in args.variants
    ]
    print(
        f"threads {args.threads}, batch {args.batch_size} (bucketed), flags"
        f" {' '.join(cpu_flags())}; limits: ORT int8 MatMulInteger {limit['int8_gops']:,.0f}"
        f" GOP/s, ORT fp32 MatMul {limit['onnx_fp32_gflops']:,.0f} GFLOP/s (1024 squares)\n"
    )
    for result in results:
        print(render(result, limit) + "\n")
    if args.json:
        args.json.write_text(json.dumps({"limit": limit, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

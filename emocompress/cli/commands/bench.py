"""Measure speed and memory of variants: latency p50/p95/p99, throughput, peak memory.

Each variant runs in its own child process (so its peak RSS is its own), after warm-up, on
texts sampled (fixed seed) from the data's report split, so their lengths follow the
data's; tokenisation is inside the timing. Runtimes: PyTorch eager for safetensors
variants, ONNX Runtime for model.onnx variants (fp32, fp16 or int8 as their export says);
with CUDA present each is measured on the GPU as well. Speedups are throughput ratios over
the baseline variant measured in this same call. "% limit" is the variant's useful matmul
work per second (FLOPs per text x texts/s at the largest batch) over the machine's
measured matmul rate (fp32, or int8 for int8 models).

Results go into each run variant's metrics.json (section "speed") and bench.json at the
run root. Texts come from --texts (a file, one text a line), --data, or the run's recipe.

Examples:
  emocompress bench runs/quickstart
  emocompress bench runs/goemotions-minilm --baseline teacher --threads 2 --runs 100
  emocompress bench runs/x/variants/teacher runs/x/variants/student-3l-int8 --batch-sizes 1,8,32
  emocompress bench MODEL_DIR --data ../shared/data/goemotions --split dev --json
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from emocompress.artifacts.schema import BenchFile, MachineLimit, Metrics
from emocompress.format import NA, fmt, fmt_share

NAME = "bench"
HELP = "measure latency, throughput and memory of variants (each in its own process)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths", nargs="*", metavar="PATH", help="variant folders or run directories"
    )
    parser.add_argument(
        "--baseline",
        metavar="NAME",
        help="variant speedups compare with (default: the "
        "recipe's reference when measured, else the first variant)",
    )
    parser.add_argument(
        "--batch-sizes", default="1,32", metavar="N,N", help="batch sizes (default: 1,32)"
    )
    parser.add_argument("--threads", type=int, metavar="N", help="CPU threads (default: all)")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--texts", metavar="FILE", help="texts to sample, one a line")
    source.add_argument(
        "--data", metavar="SOURCE", help="data source to sample (demo, a GoEmotions folder, ...)"
    )
    parser.add_argument("--split", metavar="NAME", help="split of --data (default: dev)")
    parser.add_argument(
        "--n-texts", type=int, default=256, metavar="N", help="texts sampled (default: 256)"
    )
    parser.add_argument(
        "--max-length",
        type=int,
        metavar="N",
        help="tokens per text (default: the recipe's, or 128)",
    )
    parser.add_argument("--runs", type=int, default=50, help="timed runs per batch size (50)")
    parser.add_argument("--warmup", type=int, default=5, help="warm-up runs per batch size (5)")
    parser.add_argument("--json", action="store_true", help="print bench.json instead of a table")


def run(args: argparse.Namespace) -> int:
    from emocompress.measure.bench.speed import (
        choose_baseline,
        find_targets,
        measure_variants,
        write_results,
    )
    from emocompress.progress import Reporter

    settings = _settings(args)
    from emocompress.run.variant import check_model_files

    targets = find_targets(args.paths)
    for target in targets:  # a truncated or pickled checkpoint: one line now, not a child's crash
        check_model_files(target.path)
    facts = _recipe_facts(targets)
    baseline = choose_baseline(targets, args.baseline, facts.get("reference"))
    sample = _texts(args, facts, settings.texts)
    reporter = Reporter("quiet" if args.json else None)
    with _run_locks(targets):  # bench writes into the runs: not while another process does
        result = measure_variants(targets, settings, sample, baseline=baseline, reporter=reporter)
        written = write_results(result, targets)
    if args.json:
        print(json.dumps(result.to_json(), indent=2))
        return 0
    from emocompress.cli.console import make_console

    console = make_console(pipe_width=160)  # the speed table is wider than most
    console.print(speed_table(result))
    console.print(_footer(result), highlight=False)
    for path in written:
        console.print(f"written: {path} and each variant's {Metrics.FILE} (speed)")
    return 0


def _run_locks(targets: Any) -> Any:
    """Hold the lock of every run directory the targets belong to (docs/safety.md)."""
    import contextlib

    from emocompress.artifacts.lock import hold_lock
    from emocompress.artifacts.rundir import RunDir

    stack = contextlib.ExitStack()
    roots = dict.fromkeys(t.run_root.resolve() for t in targets if t.run_root is not None)
    try:
        for root in roots:
            stack.enter_context(hold_lock(RunDir(root).lock_file))
    except BaseException:
        stack.close()
        raise
    return stack


def _settings(args: argparse.Namespace) -> Any:
    from pydantic import ValidationError

    from emocompress.errors import UserError
    from emocompress.measure.bench.settings import BenchSettings

    try:
        sizes = [int(part) for part in args.batch_sizes.split(",") if part.strip()]
    except ValueError as exc:
        raise UserError(
            f"--batch-sizes {args.batch_sizes!r} is not a list of numbers", expected="e.g. 1,32"
        ) from exc
    try:
        return BenchSettings(
            baseline=args.baseline,
            batch_sizes=sizes,
            runs=args.runs,
            warmup=args.warmup,
            threads=args.threads,
            texts=args.n_texts,
        )
    except ValidationError as exc:
        problems = "; ".join(
            f"{_flag(e['loc'])}: " + e["msg"].removeprefix("Value error, ") for e in exc.errors()
        )
        raise UserError(f"bad bench options: {problems}") from exc


def _flag(location: tuple) -> str:
    """The option a BenchSettings field came from."""
    field = str(location[0]) if location else ""
    return "--n-texts" if field == "texts" else "--" + field.replace("_", "-")


def _recipe_facts(targets: list[Any]) -> dict[str, Any]:
    from emocompress.measure.bench.speed import recipe_facts

    for target in targets:
        if target.run_root is not None:
            facts = recipe_facts(target.run_root)
            if facts:
                return facts
    return {}


def _texts(args: argparse.Namespace, facts: dict[str, Any], count: int) -> Any:
    from emocompress.errors import UserError
    from emocompress.measure.bench.speed import texts_from_data, texts_from_file

    max_length = args.max_length or facts.get("max_length", 128)
    if max_length < 1:
        raise UserError(f"--max-length must be at least 1, got {max_length}")
    if args.texts:
        return texts_from_file(args.texts, count, max_length)
    if args.data:
        return texts_from_data(args.data, args.split or "dev", count, max_length)
    if facts:
        return texts_from_data(facts["source"], args.split or facts["split"], count, max_length)
    raise UserError(
        "no texts to time the variants on: these paths are not in a run with a recipe",
        expected="--texts FILE or --data SOURCE",
    )


# ---------------------------------------------------------------------------- the table


def speed_table(result: BenchFile) -> Any:
    """One row per variant and runtime: latencies, throughput, speedup, memory, % limit."""
    from rich.table import Table

    sizes = _batch_sizes(result)
    largest = max(sizes, default=0)
    table = Table(
        title=f"bench: baseline {result.baseline}, {fmt(result.machine.threads)} threads",
        title_justify="left",
    )
    for header in ("variant", "runtime"):
        table.add_column(header)
    for size in sizes:
        table.add_column(f"p50/p95 b{size} ms", justify="right")
    table.add_column(f"texts/s b{largest}", justify="right")
    table.add_column(f"speedup b{largest}", justify="right")
    for header in ("peak RSS MB", "GPU MB", "GFLOP/text", "% limit"):
        table.add_column(header, justify="right")
    for name, entry in result.variants.items():
        flops = entry.speed.flops_per_text
        for runtime, figures in entry.speed.runtimes.items():
            latencies = [
                f"{fmt(figures.batch(s).p50_ms, '.1f')} / {fmt(figures.batch(s).p95_ms, '.1f')}"
                for s in sizes
            ]
            share = figures.share_of_limit
            speedup = figures.speedup.get(largest)
            table.add_row(
                name,
                runtime,
                *latencies,
                fmt(figures.batch(largest).texts_per_s, ".1f"),
                fmt(speedup, ".2f", "x"),
                fmt(figures.peak_rss_mb, ".0f"),
                fmt(figures.gpu_peak_mb, ".0f"),
                fmt(flops / 1e9 if flops else None, ".3f"),
                fmt_share(share),
            )
    return table


def _batch_sizes(result: BenchFile) -> list[int]:
    """Every batch size measured, of any variant and runtime, smallest first."""
    return sorted(
        {
            size
            for entry in result.variants.values()
            for runtime in entry.speed.runtimes.values()
            for size in runtime.batches
        }
    )


def _footer(result: BenchFile) -> str:
    machine, limit, texts = result.machine, result.limit or MachineLimit(), result.texts
    where = f"{texts.count} from {texts.source} {texts.split}" if texts else NA
    return (
        f"machine: {fmt(machine.cpu)}, {fmt(machine.cores)} cores, GPU {machine.gpu or 'none'}; "
        f"limit: fp32 {fmt(limit.fp32_gflops, '.0f')} GFLOP/s, "
        f"int8 {fmt(limit.int8_gops, '.0f')} GOP/s ({fmt(limit.size)}² matmul); "
        f"texts: {where}, max length {fmt(texts.max_length if texts else None)}"
    )

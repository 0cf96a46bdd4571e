"""Measure speed and memory of variants: latency p50/p95/p99, throughput, peak memory.

Each variant runs in its own child process (so its peak RSS is its own), after warm-up, on
texts sampled (fixed seed) from the data's report split, so their lengths follow the
data's; tokenisation is inside the timing. Runtimes: PyTorch eager for safetensors
variants, ONNX Runtime for model.onnx variants (fp32, fp16 or int8 as their export says);
with CUDA present each is measured on the GPU as well. Speedups are throughput ratios over
the baseline variant measured in this same call. Each thread count (--threads 1,2,all)
and batching mode (--modes: plain, the texts batched in the order given; bucketed, sorted
by token length) is measured; "padding" is padded tokens / tokens computed, "GFLOP/text"
counts what the runtime really computes (padding included), and "% limit" is that x texts/s
at the largest batch over the machine's matmul rate measured with the same runtime and
thread count (torch fp32; ONNX Runtime fp32 MatMul, or MatMulInteger for int8 graphs).

Results go into each run variant's metrics.json (section "speed") and bench.json at the
run root. Texts come from --texts (a file, one text a line), --data, or the run's recipe.

Examples:
  emocompress bench runs/quickstart
  emocompress bench runs/goemotions-minilm --baseline teacher --threads 1,2 --runs 100
  emocompress bench runs/x/variants/teacher runs/x/variants/student-3l-int8 --batch-sizes 1,8,32
  emocompress bench MODEL_DIR --data ../shared/data/goemotions --split dev --json
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from emocompress.artifacts.schema import BatchLatency, BenchFile, MachineLimit, Metrics
from emocompress.format import NA, fmt, fmt_share

NAME = "bench"
HELP = "measure latency, throughput and memory of variants (each in its own process)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths", nargs="*", metavar="PATH", help="variant folders or run directories"
    )
    from emocompress.cli import TRAILING_POSITIONALS

    parser.set_defaults(**{TRAILING_POSITIONALS: "paths"})  # also after the options
    parser.add_argument(
        "--baseline",
        metavar="NAME",
        help="variant speedups compare with (default: the "
        "recipe's reference when measured, else the first variant)",
    )
    parser.add_argument(
        "--batch-sizes", default="1,32", metavar="N,N", help="batch sizes (default: 1,32)"
    )
    parser.add_argument(
        "--threads",
        metavar="N,N",
        help="CPU thread counts, each measured, e.g. 1,2,all (default: all, the cores this "
        "process may use)",
    )
    parser.add_argument(
        "--modes",
        default="plain,bucketed",
        metavar="M,M",
        help="batching: plain (order given), bucketed (sorted by length); default: both",
    )
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
    parser.add_argument(
        "--runs", type=int, default=50, help="timed runs per batch size (default: 50)"
    )
    parser.add_argument(
        "--warmup", type=int, default=5, help="warm-up runs per batch size (default: 5)"
    )
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
    threads = _thread_counts(args.threads)
    modes = [part.strip() for part in args.modes.split(",") if part.strip()]
    try:
        return BenchSettings(
            baseline=args.baseline,
            batch_sizes=sizes,
            runs=args.runs,
            warmup=args.warmup,
            threads=threads,
            modes=modes,
            texts=args.n_texts,
        )
    except ValidationError as exc:
        problems = "; ".join(
            f"{_flag(e['loc'])}: " + e["msg"].removeprefix("Value error, ") for e in exc.errors()
        )
        raise UserError(f"bad bench options: {problems}") from exc


def _thread_counts(raw: str | None) -> list[int | str] | None:
    """``--threads 1,2,all`` as BenchSettings.threads."""
    from emocompress.errors import UserError

    if raw is None:
        return None
    counts: list[int | str] = []
    for part in (p.strip() for p in raw.split(",")):
        if part == "all":
            counts.append(part)
        elif part.isdigit():
            counts.append(int(part))
        elif part:
            raise UserError(f"--threads {raw!r}: {part!r} is not a number", expected="e.g. 1,2,all")
    return counts or None


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

    given = args.max_length
    max_length = given if given is not None else facts.get("max_length", 128)
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
    """One row per variant, runtime, thread count and batching mode: latencies, throughput,
    speedup, padding share, computed FLOPs, % of the limit, memory."""
    from rich.table import Table

    sizes = _batch_sizes(result)
    largest = max(sizes, default=0)
    table = Table(
        title=f"bench: baseline {result.baseline}; largest batch b{largest}",
        title_justify="left",
    )
    for header in ("variant", "runtime", "threads", "mode"):
        table.add_column(header)
    for size in sizes:
        table.add_column(f"p50/p95 b{size} ms", justify="right")
    table.add_column(f"texts/s b{largest}", justify="right")
    table.add_column(f"speedup b{largest}", justify="right")
    table.add_column(f"padding b{largest}", justify="right")
    table.add_column(f"GFLOP/text b{largest}", justify="right")
    for header in ("% limit", "peak RSS MB", "GPU MB"):
        table.add_column(header, justify="right")
    for name, entry in result.variants.items():
        for runtime, figures in entry.speed.runtimes.items():
            for threads, mode, batches in figures.cells():
                top = batches.get(largest) or BatchLatency()
                latencies = [
                    f"{fmt((batches.get(s) or BatchLatency()).p50_ms, '.1f')} / "
                    f"{fmt((batches.get(s) or BatchLatency()).p95_ms, '.1f')}"
                    for s in sizes
                ]
                flops = top.flops_per_text
                speedup = top.speedup if top.speedup is not None else figures.speedup.get(largest)
                share = top.share_of_limit
                if share is None and mode == figures.mode:
                    share = figures.share_of_limit
                table.add_row(
                    name,
                    runtime,
                    fmt(threads),
                    mode or NA,
                    *latencies,
                    fmt(top.texts_per_s, ".1f"),
                    fmt(speedup, ".2f", "x"),
                    fmt_share(top.padding_share),
                    fmt(flops / 1e9 if flops else None, ".3f"),
                    fmt_share(share),
                    fmt(figures.peak_rss_mb, ".0f"),
                    fmt(figures.gpu_peak_mb, ".0f"),
                )
    return table


def _batch_sizes(result: BenchFile) -> list[int]:
    """Every batch size measured, of any variant and runtime, smallest first."""
    return sorted(
        {
            size
            for entry in result.variants.values()
            for runtime in entry.speed.runtimes.values()
            for _, _, batches in runtime.cells()
            for size in batches
        }
    )


def _footer(result: BenchFile) -> str:
    machine, texts = result.machine, result.texts
    where = f"{texts.count} from {texts.source} {texts.split}" if texts else NA
    limits = result.limits or [result.limit or MachineLimit()]
    rates = "; ".join(f"{fmt(limit.threads)} threads: {limit.rates()}" for limit in limits)
    flags = " ".join(machine.cpu_flags) if machine.cpu_flags else NA
    return (
        f"machine: {fmt(machine.cpu)}, {fmt(machine.cores)} cores, GPU {machine.gpu or 'none'}, "
        f"load {fmt(machine.load_average, '.2f')}; CPU flags: {flags}\n"
        f"limit ({fmt(limits[0].size)}² matmul): {rates}\n"
        f"texts: {where}, max length {fmt(texts.max_length if texts else None)}"
    )

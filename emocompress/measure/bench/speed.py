"""Speed and memory of variants, each measured in its own child process.

:func:`measure_variants` is the whole bench: one child process (``python -m emocompress.measure.bench.speed
JOB OUT``) per variant and device, so that the peak RSS it reports is that variant's alone;
warm-up runs, then timed runs of texts in (tokenisation included) and logits out, at each
batch size; then speedups against a baseline variant measured in the same call, FLOPs per
text and the share of the machine's measured matmul limit (:mod:`emocompress.measure.flops`).
:func:`write_results` puts each variant's ``speed`` section into its metrics and the whole
call (:class:`~emocompress.artifacts.schema.BenchFile`) at the run root. :func:`run_bench` does both for a run directory (the runner
calls it for a recipe's ``bench:`` section). docs/bench.md describes every figure.

Runtimes: ``pytorch`` for a safetensors variant; for a variant with model.onnx,
``onnx_fp32``, ``onnx_fp16`` or ``onnx_int8`` from the ``precision`` fact of its
emocompress.json (fp32 when unstated; int8-dynamic and int8-static are both int8), run with
:mod:`emocompress.models.ort`. With CUDA present, each variant is measured once more on the GPU
(runtime name + ``_cuda``); GPU memory is null on the CPU, never 0.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emocompress.artifacts.jsonfile import read_json_object
from emocompress.artifacts.rundir import RunDir, VariantDir, now
from emocompress.artifacts.schema import (
    CONFIG_FILE,
    VARIANTS_DIR,
    BatchLatency,
    BenchFile,
    BenchTexts,
    BenchVariant,
    Environment,
    MachineLimit,
    RuntimeSpeed,
    Speed,
    SpeedRun,
)
from emocompress.errors import UserError
from emocompress.format import fmt
from emocompress.measure.bench.settings import BenchSettings
from emocompress.progress import Reporter

SEED = 13  # texts and batch order: the same in every bench call
ONNX_PRECISIONS = ("fp32", "fp16", "int8")  # runtime names: onnx_<precision family>


@dataclass(frozen=True)
class Target:
    """A variant to measure: its name, folder and runtime."""

    name: str
    path: Path
    runtime: str  # pytorch | onnx_fp32 | onnx_fp16 | onnx_int8

    @property
    def run_root(self) -> Path | None:
        """The run directory holding this variant, if it is one's."""
        root = self.path.parent.parent
        in_run = self.path.parent.name == VARIANTS_DIR and RunDir.is_run_dir(root)
        return root if in_run else None


@dataclass(frozen=True)
class TextSample:
    """The texts every variant is timed on, and where they came from."""

    texts: list[str]
    max_length: int
    origin: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> BenchTexts:
        return BenchTexts(**self.origin, count=len(self.texts), max_length=self.max_length)


@dataclass(frozen=True)
class Measured:
    """One runtime of one variant as its child processes measured it (one per thread count).

    ``runtime.grid`` holds every (threads, mode) measured, ``runtime.batches`` the headline
    ones; ``timed`` says, per (threads, mode, batch size), what each timed batch computed:
    (texts, padded width, real tokens), from which the parent counts FLOPs and padding.
    """

    runtime: RuntimeSpeed
    token_lengths: list[int]
    timed: dict[tuple[int, str, int], list[tuple[int, int, int]]] = field(default_factory=dict)


# ---------------------------------------------------------------------------- what to measure


def runtime_of(path: Path) -> str:
    """The runtime a variant folder is for; UserError when it holds no model."""
    variant = VariantDir(path)
    if variant.is_onnx:
        return f"onnx_{precision_family(precision_of(variant))}"
    if any(path.glob("*.safetensors")) or (path / "model.safetensors.index.json").is_file():
        return "pytorch"
    raise UserError(
        f"{path}: no model to measure",
        expected="a variant folder with model.safetensors or model.onnx, or a run directory",
    )


def precision_of(variant: VariantDir) -> str:
    """The ``precision`` fact of an ONNX variant's lineage (fp32 when unstated)."""
    lineage = variant.load_lineage_or_none()
    return str((lineage.facts.get("precision") if lineage else None) or "fp32")


def precision_family(precision: str) -> str:
    """fp32, fp16 or int8: ``int8-dynamic`` and ``int8-static`` are both int8 kernels."""
    family = precision.split("-", 1)[0]
    if family not in ONNX_PRECISIONS:
        raise UserError(
            f"unknown ONNX precision {precision!r}",
            expected="fp32, fp16, int8, int8-dynamic or int8-static",
        )
    return family


def find_targets(paths: Sequence[str | os.PathLike[str]]) -> list[Target]:
    """Variants named by folder: variant folders, or run directories (all their variants)."""
    if not paths:
        raise UserError("no variant or run directory given")
    targets: list[Target] = []
    for raw in paths:
        path = Path(raw)
        if not path.is_dir():
            raise UserError(f"{path}: not a directory", expected="a variant or run directory")
        if RunDir.is_run_dir(path) and not VariantDir(path).is_onnx:
            variants = RunDir(path).variants()
            if not variants:
                raise UserError(f"{path}: the run has no finished variants")
            targets += [Target(v.name, v.path, runtime_of(v.path)) for v in variants]
        else:
            targets.append(Target(path.resolve().name, path, runtime_of(path)))
    names = [t.name for t in targets]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise UserError(f"two variants share the name {', '.join(repeated)}; bench them apart")
    return targets


def choose_baseline(targets: Sequence[Target], wanted: str | None, default: str | None) -> str:
    """``wanted`` (must be measured), else ``default`` when measured, else the first target."""
    names = [t.name for t in targets]
    if wanted is not None:
        if wanted not in names:
            raise UserError(
                f"baseline {wanted!r} is not among the measured variants",
                expected="one of " + ", ".join(names),
            )
        return wanted
    return default if default in names else names[0]


def sample_texts(texts: Sequence[str], count: int, seed: int = SEED) -> list[str]:
    """``count`` texts drawn at random (so their lengths follow the data's), fixed seed."""
    import numpy as np

    pool = [t for t in texts if t.strip()]
    if not pool:
        raise UserError("no non-empty texts to time the variants on")
    rng = np.random.default_rng(seed)
    chosen = rng.choice(len(pool), size=count, replace=count > len(pool))
    return [pool[i] for i in chosen]


def texts_from_data(source: str, split: str, count: int, max_length: int) -> TextSample:
    """A sample of one split of a data source (emocompress.data.readers formats)."""
    from emocompress.data.readers import load_splits

    splits = load_splits(source)
    if split not in splits:
        raise UserError(
            f"data source {source!r} has no split {split!r}", expected=", ".join(sorted(splits))
        )
    origin = {"source": str(source), "split": split, "seed": SEED}
    return TextSample(sample_texts(splits[split].texts, count), max_length, origin)


def texts_from_file(path: str | os.PathLike[str], count: int, max_length: int) -> TextSample:
    """A sample of a text file's lines (one text a line)."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot read texts ({exc})") from exc
    if not any(line.strip() for line in lines):
        raise UserError(f"{path}: no texts", expected="one text a line")
    origin = {"source": str(path), "split": None, "seed": SEED}
    return TextSample(sample_texts(lines, count), max_length, origin)


def recipe_facts(run_root: Path) -> dict[str, Any]:
    """Data source, report split, max length and reference of a run's resolved recipe."""
    recipe = RunDir(run_root).load_recipe()
    if recipe is None:
        return {}
    return {
        "source": recipe.data.source,
        "split": recipe.data.report,
        "max_length": recipe.data.max_length,
        "reference": recipe.reference,
    }


def default_threads() -> int:
    """The CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


# ---------------------------------------------------------------------------- the bench


def run_bench(settings: BenchSettings, run_dir: RunDir, reporter: Reporter) -> BenchFile:
    """Measure a run's variants (``settings.variants`` or all), write their speed sections
    and the run's bench file; return it."""
    every = {t.name: t for t in find_targets([run_dir.root])}
    chosen = settings.variants or list(every)
    unknown = [name for name in chosen if name not in every]
    if unknown:
        raise UserError(
            f"bench: no finished variant named {', '.join(unknown)} in {run_dir.root}",
            expected="one of " + ", ".join(every),
        )
    targets = [every[name] for name in chosen]
    facts = recipe_facts(run_dir.root)
    baseline = choose_baseline(targets, settings.baseline, facts.get("reference"))
    sample = texts_from_data(
        facts.get("source", "demo"),
        facts.get("split", "dev"),
        settings.texts,
        facts.get("max_length", 128),
    )
    result = measure_variants(targets, settings, sample, baseline=baseline, reporter=reporter)
    write_results(result, targets)
    return result


def measure_variants(
    targets: Sequence[Target],
    settings: BenchSettings,
    sample: TextSample,
    *,
    baseline: str,
    reporter: Reporter,
) -> BenchFile:
    """Measure every target in its own child process; return the bench file's content."""
    from emocompress.artifacts.rundir import environment

    thread_counts = resolve_threads(settings.threads)
    # other work on the machine slows every figure: record how busy it was
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    limits: dict[int, MachineLimit] = {}
    host: dict[str, Any] = {}
    for threads in thread_counts:  # the limit at every thread count the variants run with
        facts = run_child(
            {"kind": "limit", "threads": threads},
            reporter,
            f"bench: machine limit, {threads} threads",
        )
        limits[threads] = MachineLimit.model_validate(facts["limit"])
        host = host or facts
    machine = Environment.model_validate(
        {**environment(), "threads": thread_counts[0], "gpu": host["gpu"], "load_average": load}
    )
    measured: dict[str, dict[str, Measured]] = {}
    for target in targets:
        measured[target.name] = {}
        for device in devices_for(target, host):
            key = target.runtime if device == "cpu" else f"{target.runtime}_{device}"
            parts = [
                _measured(
                    run_child(
                        _job(target, device, threads, settings, sample),
                        reporter,
                        f"bench: {target.name} {key}, {threads} threads",
                    )
                )
                for threads in thread_counts
            ]
            result = merged(parts)
            measured[target.name][key] = result
            reporter.log(f"bench: {target.name} {key}: {_one_line(result.runtime, settings)}")
    texts = sample.describe()
    every_limit = list(limits.values())
    sections = {
        name: speed.model_copy(update={"machine": machine, "texts": texts, "measured": now()})
        for name, speed in speed_sections(
            targets, measured, baseline, every_limit, settings
        ).items()
    }
    return BenchFile(
        created=now(),
        settings=settings.model_dump(mode="json"),
        baseline=baseline,
        machine=machine,
        limit=every_limit[0],
        limits=every_limit,
        texts=texts,
        variants={t.name: BenchVariant(path=str(t.path), speed=sections[t.name]) for t in targets},
    )


def _job(
    target: Target, device: str, threads: int, settings: BenchSettings, sample: TextSample
) -> dict[str, Any]:
    """What one child process measures."""
    onnx = target.runtime != "pytorch"
    return {
        "kind": "measure",
        "precision": precision_of(VariantDir(target.path)) if onnx else "fp32",
        "path": str(target.path),
        "runtime": target.runtime,
        "device": device,
        "threads": threads,
        "batch_sizes": settings.batch_sizes,
        "modes": settings.modes,
        "headline_mode": settings.headline_mode(),
        "runs": settings.runs,
        "warmup": settings.warmup,
        "max_length": sample.max_length,
        "texts": sample.texts,
    }


def resolve_threads(wanted: Sequence[int | str] | None) -> list[int]:
    """Thread counts as numbers (``all``: the cores this process may use), each once."""
    counts = [default_threads() if n == "all" else int(n) for n in (wanted or ["all"])]
    return list(dict.fromkeys(counts))


def _measured(result: dict[str, Any]) -> Measured:
    """A child's result (JSON) as the typed figures."""
    runtime = RuntimeSpeed.model_validate(result["runtime"])
    timed = {
        (runtime.threads or 0, mode, int(size)): [tuple(run) for run in runs]
        for key, runs in result["timed"].items()
        for mode, size in [key.split("/")]
    }
    return Measured(runtime, list(result["lengths"]), timed)


def merged(parts: Sequence[Measured]) -> Measured:
    """One runtime measured at several thread counts: the first one's headline figures and
    memory, every count's grid and timed batches."""
    first = parts[0]
    grid = [run for part in parts for run in part.runtime.grid]
    timed = {key: runs for part in parts for key, runs in part.timed.items()}
    return Measured(first.runtime.model_copy(update={"grid": grid}), first.token_lengths, timed)


def devices_for(target: Target, host: dict[str, Any]) -> list[str]:
    """cpu always; cuda too when the runtime can use the GPU here."""
    if target.runtime == "pytorch" and host["cuda"]:
        return ["cpu", "cuda"]
    if target.runtime != "pytorch" and "CUDAExecutionProvider" in host["ort_providers"]:
        return ["cpu", "cuda"]
    return ["cpu"]


def speed_sections(
    targets: Sequence[Target],
    measured: dict[str, dict[str, Measured]],
    baseline: str,
    limits: MachineLimit | Sequence[MachineLimit],
    settings: BenchSettings,
) -> dict[str, Speed]:
    """Each variant's speed section (machine and texts are added later): for every
    (threads, mode, batch size) the computed FLOPs and padding, the share of the limit at
    that thread count and the speedup over the baseline's same cell; the headline figures
    (first thread count, headline mode) copied into ``batches`` and ``speedup``."""
    limits = [limits] if isinstance(limits, MachineLimit) else list(limits)
    by_threads = {limit.threads: limit for limit in limits}
    reference = {_device(key): m for key, m in measured[baseline].items()}
    largest = max(settings.batch_sizes)
    sections: dict[str, Speed] = {}
    for target in targets:
        shape = _shape_of(target)
        lengths = next(iter(measured[target.name].values())).token_lengths
        useful = _useful_flops(shape, lengths)
        runtimes = {}
        for key, figures in measured[target.name].items():
            base = reference.get(_device(key))
            grid = [
                run.model_copy(
                    update={
                        "batches": {
                            size: _cell(
                                batch,
                                figures.timed.get((run.threads, run.mode, size)),
                                shape,
                                _limit_for(key, by_threads.get(run.threads, limits[0])),
                                _base_cell(base, run.threads, run.mode, size),
                            )
                            for size, batch in run.batches.items()
                        }
                    }
                )
                for run in _grid_of(figures.runtime)
            ]
            head = _headline(grid, figures.runtime, settings)
            batches = head.batches if head is not None else figures.runtime.batches
            top = batches.get(largest) or BatchLatency()
            runtimes[key] = figures.runtime.model_copy(
                update={
                    "batches": batches,
                    "mode": head.mode if head is not None else None,
                    "grid": grid if figures.runtime.grid else [],
                    "speedup": {size: batches[size].speedup for size in batches},
                    "achieved_gflops": top.achieved_gflops,
                    "share_of_limit": top.share_of_limit,
                }
            )
        sections[target.name] = Speed(
            baseline=baseline,
            flops_per_text=useful,
            limit=limits[0],  # the first thread count's: the headline figures'
            limits=limits,
            runtimes=runtimes,
        )
    return sections


def _grid_of(runtime: RuntimeSpeed) -> list[SpeedRun]:
    """The runtime's grid; a runtime without one (older callers) is its own single cell."""
    if runtime.grid:
        return list(runtime.grid)
    return [
        SpeedRun(
            threads=runtime.threads or 0, mode=runtime.mode or "plain", batches=runtime.batches
        )
    ]


def _headline(
    grid: Sequence[SpeedRun], runtime: RuntimeSpeed, settings: BenchSettings
) -> SpeedRun | None:
    """The grid cell of the first thread count and the headline mode."""
    if not runtime.grid:
        return grid[0] if grid else None
    first = runtime.threads
    wanted = settings.headline_mode()
    return next((r for r in grid if r.threads == first and r.mode == wanted), grid[0])


def _base_cell(base: Measured | None, threads: int, mode: str, size: int) -> BatchLatency | None:
    """The baseline's figures at the same thread count, mode and batch size."""
    if base is None:
        return None
    run = next((r for r in _grid_of(base.runtime) if (r.threads, r.mode) == (threads, mode)), None)
    return run.batches.get(size) if run is not None else None


def _cell(
    batch: BatchLatency,
    timed: Sequence[tuple[int, int, int]] | None,
    shape: Any,
    ceiling: float | None,
    base: BatchLatency | None,
) -> BatchLatency:
    """One cell with what its timed batches computed, its share of the limit and speedup."""
    from emocompress.measure.flops import text_flops

    speedup = tokens_per_text = padding_share = None
    flops_per_text = achieved_gflops = share_of_limit = None
    if base is not None and batch.texts_per_s is not None and base.texts_per_s:
        speedup = batch.texts_per_s / base.texts_per_s
    if timed:
        texts = sum(count for count, _, _ in timed)
        computed = sum(count * width for count, width, _ in timed)
        real = sum(tokens for _, _, tokens in timed)
        tokens_per_text = computed / texts
        padding_share = 1.0 - real / computed if computed else None
        if shape is not None:
            flops_per_text = sum(count * text_flops(shape, w) for count, w, _ in timed) / texts
            if batch.texts_per_s:
                achieved_gflops = flops_per_text * batch.texts_per_s / 1e9
            if achieved_gflops and ceiling:
                share_of_limit = achieved_gflops / ceiling
    # keyword arguments, not string keys: a renamed BatchLatency field is a TypeError here
    figures = dict(
        speedup=speedup,
        tokens_per_text=tokens_per_text,
        padding_share=padding_share,
        flops_per_text=flops_per_text,
        achieved_gflops=achieved_gflops,
        share_of_limit=share_of_limit,
    )
    return batch.model_copy(update={k: v for k, v in figures.items() if v is not None})


def _device(runtime_key: str) -> str:
    return "cuda" if runtime_key.endswith("_cuda") else "cpu"


def _limit_for(runtime_key: str, limit: MachineLimit) -> float | None:
    """The CPU matmul rate of the runtime's own kernels: torch fp32 for PyTorch, ONNX
    Runtime's MatMulInteger for int8 graphs and its fp32 MatMul for the other graphs."""
    if _device(runtime_key) != "cpu":
        return None  # the limit is a CPU figure
    if runtime_key == "onnx_int8":
        return limit.int8_gops
    if runtime_key.startswith("onnx_"):
        return limit.onnx_fp32_gflops
    return limit.fp32_gflops


def _shape_of(target: Target) -> Any:
    """The variant's EncoderShape (shape plan applied), None when flops.py cannot read it."""
    from emocompress.measure.flops import EncoderShape
    from emocompress.models.shape_plan_file import read_shape_plan

    config = _config_of(target)
    if config is None:
        return None
    plans = [read_shape_plan(p) for p in (target.path, *_parent_paths(target))]
    plan = next((p for p in plans if p), None)
    try:
        return EncoderShape.from_config(config).with_plan(plan)
    except ValueError:
        return None  # an architecture flops.py cannot read: n/a rather than a wrong figure


def _useful_flops(shape: Any, token_lengths: Sequence[int]) -> float | None:
    from emocompress.measure.flops import flops_per_text

    return flops_per_text(shape, token_lengths) if shape is not None and token_lengths else None


def _config_of(target: Target) -> dict[str, Any] | None:
    """config.json of the variant, or of its parent in the same run (ONNX exports)."""
    for folder in (target.path, *_parent_paths(target)):
        if (folder / CONFIG_FILE).is_file():
            return read_json_object(folder / CONFIG_FILE)
    return None


def _parent_paths(target: Target) -> list[Path]:
    """The variant's parent folder in the same run, when it names one."""
    lineage = VariantDir(target.path).load_lineage_or_none()
    parent = lineage.parent if lineage is not None else None
    return [target.path.parent / parent] if isinstance(parent, str) else []


def _one_line(runtime: RuntimeSpeed, settings: BenchSettings) -> str:
    parts = [
        f"b{size} p50 {fmt(runtime.batch(size).p50_ms, '.1f')} ms" for size in settings.batch_sizes
    ]
    largest = runtime.batch(max(settings.batch_sizes)).texts_per_s
    return (
        ", ".join(parts)
        + f", {fmt(largest, '.1f')} texts/s, peak RSS {fmt(runtime.peak_rss_mb, '.0f')} MB"
    )


def write_results(bench: BenchFile, targets: Sequence[Target]) -> list[Path]:
    """Each run variant's speed section, and the bench file in each run root.

    Folders outside a run (a model directory, an installed package) are not written to.
    Returns the bench files written.
    """
    roots: list[RunDir] = []
    for target in targets:
        variant = VariantDir(target.path)
        if target.run_root is None or not variant.has_lineage():
            continue
        variant.update_sections(speed=bench.variants[target.name].speed)
        if all(root.root != target.run_root for root in roots):
            roots.append(RunDir(target.run_root))
    for root in roots:
        root.write_bench(bench)
    return [root.bench_file for root in roots]


# ---------------------------------------------------------------------------- child processes


def run_child(job: dict[str, Any], reporter: Reporter, description: str) -> dict[str, Any]:
    """Run one job in a fresh ``python -m emocompress.measure.bench.speed``; its progress lines
    advance a task; a UserError in the child becomes one here."""
    threads = str(job["threads"])
    env = {
        **os.environ,
        "OMP_NUM_THREADS": threads,
        "MKL_NUM_THREADS": threads,
        "RAYON_NUM_THREADS": threads,  # the fast tokenizers' pool
        "PYTHONPATH": os.pathsep.join(
            [str(Path(__file__).resolve().parents[3]), os.environ.get("PYTHONPATH", "")]
        ),
    }
    with tempfile.TemporaryDirectory(prefix="emocompress-bench-") as tmp:
        job_file, out_file, err_file = (Path(tmp) / n for n in ("job.json", "out.json", "err"))
        job_file.write_text(json.dumps(job), encoding="utf-8")
        child = "emocompress.measure.bench.speed"
        command = [sys.executable, "-m", child, str(job_file), str(out_file)]
        with open(err_file, "w", encoding="utf-8") as err:
            process = subprocess.Popen(
                command, stdout=subprocess.PIPE, stderr=err, text=True, env=env
            )
            try:
                _follow(process, reporter, description, _steps(job))
            except BaseException:
                process.kill()
                process.wait()
                raise
        if process.returncode == UserError.exit_code:
            raise UserError(err_file.read_text(encoding="utf-8").strip())
        if process.returncode != 0:
            tail = err_file.read_text(encoding="utf-8")[-3000:]
            raise RuntimeError(
                f"{description}: child process failed ({process.returncode}):\n{tail}"
            )
        return json.loads(out_file.read_text(encoding="utf-8"))


def _steps(job: dict[str, Any]) -> int | None:
    """How many progress lines a job prints (one per warm-up or timed batch)."""
    if job["kind"] != "measure":
        return None
    modes = len(job.get("modes") or ["plain"])
    return modes * len(job["batch_sizes"]) * (job["runs"] + job["warmup"])


def _follow(
    process: subprocess.Popen, reporter: Reporter, description: str, total: int | None
) -> None:
    assert process.stdout is not None
    with reporter.task(description, total=total) as task:
        for _line in process.stdout:
            reporter.check_cancelled()
            task.advance(1)
        process.wait()


def child_main(argv: Sequence[str]) -> int:
    """``python -m emocompress.measure.bench.speed JOB.json OUT.json``: run one job, write its result."""
    job_file, out_file = argv
    job = json.loads(Path(job_file).read_text(encoding="utf-8"))
    try:
        result = _host_facts(job["threads"]) if job["kind"] == "limit" else _measure(job)
    except UserError as error:
        print(str(error), file=sys.stderr)
        return UserError.exit_code
    Path(out_file).write_text(json.dumps(result), encoding="utf-8")
    return 0


def _host_facts(threads: int) -> dict[str, Any]:
    """The machine's limit figure and what accelerators this Python can use."""
    import torch

    from emocompress.measure.flops import matmul_limit

    try:
        import onnxruntime

        providers = list(onnxruntime.get_available_providers())
    except ImportError:
        providers = []
    cuda = torch.cuda.is_available()
    return {
        "limit": matmul_limit(threads),
        "cuda": cuda,
        "gpu": torch.cuda.get_device_name(0) if cuda else None,
        "ort_providers": providers,
    }


def _measure(job: dict[str, Any]) -> dict[str, Any]:
    import numpy as np

    predictor = _predictor(job)
    texts: list[str] = job["texts"]
    sizes: list[int] = job["batch_sizes"]
    modes: list[str] = job.get("modes") or ["plain"]
    lengths = np.asarray(predictor.token_lengths(texts), dtype=np.int64)

    def tick() -> None:
        print("step", flush=True)  # the parent advances its progress bar per line

    predictor.reset_peak()
    grid, timed = [], {}
    for mode in modes:
        batches = {}
        for size in sizes:
            plan = bench_batches(lengths, size, mode)
            batches[size], runs = time_batches(
                predictor, texts, plan, job["runs"], job["warmup"], tick
            )
            timed[f"{mode}/{size}"] = [
                [len(b), int(lengths[b].max()), int(lengths[b].sum())] for b in runs
            ]
        grid.append(SpeedRun(threads=job["threads"], mode=mode, batches=batches))
    headline = next((r for r in grid if r.mode == job.get("headline_mode")), grid[0])
    runtime = RuntimeSpeed(
        batches=headline.batches,
        mode=headline.mode,
        grid=grid,
        device=job["device"],
        precision=job.get("precision", "fp32"),
        threads=job["threads"],
        peak_rss_mb=peak_rss_mb(),
        gpu_peak_mb=predictor.gpu_peak_mb(),
    )
    return {"runtime": runtime.model_dump(mode="json"), "lengths": lengths.tolist(), "timed": timed}


def bench_batches(lengths: Any, batch_size: int, mode: str) -> list[Any]:
    """The batches a bench times, each of ``batch_size`` texts (the texts wrap around to fill
    the last one), cut by :func:`emocompress.data.batching.inference_batches`: plain, in the
    order given; bucketed, sorted by token length, then in a seeded random batch order, so
    that the first ``runs`` of them are a fair sample of lengths, not the longest ones."""
    import numpy as np

    from emocompress.data.batching import inference_batches

    count = -(-len(lengths) // batch_size) * batch_size
    cyclic = np.arange(count) % len(lengths)
    bucketed = mode == "bucketed"
    cut = inference_batches(np.asarray(lengths)[cyclic], batch_size, bucketed=bucketed)
    batches = [cyclic[b] for b in cut]
    if bucketed:
        order = np.random.default_rng(SEED).permutation(len(batches))
        batches = [batches[i] for i in order]
    return batches


def time_batches(
    predict: Callable[[list[str]], Any],
    texts: Sequence[str],
    batches: Sequence[Any],
    runs: int,
    warmup: int,
    tick: Callable[[], None] = lambda: None,
) -> tuple[BatchLatency, list[Any]]:
    """Latency percentiles (ms) and throughput of ``predict`` on ``batches`` (index arrays
    into ``texts``, taken in turn and again from the first), after ``warmup`` untimed ones;
    and the batches that were timed."""
    import numpy as np

    seconds, timed = [], []
    for index in range(warmup + runs):
        chosen = batches[index % len(batches)]
        chunk = [texts[i] for i in chosen]
        started = time.perf_counter()
        predict(chunk)
        elapsed = time.perf_counter() - started
        if index >= warmup:
            seconds.append(elapsed)
            timed.append(chosen)
        tick()
    ms = np.asarray(seconds) * 1000.0
    p50, p95, p99 = np.percentile(ms, [50, 95, 99])
    figures = BatchLatency(
        p50_ms=float(p50),
        p95_ms=float(p95),
        p99_ms=float(p99),
        mean_ms=float(ms.mean()),
        texts_per_s=sum(len(b) for b in timed) / float(np.sum(seconds)),
        runs=runs,
    )
    return figures, timed


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MB (1e6 bytes).

    On Linux, VmHWM of /proc/self/status: ``ru_maxrss`` would not do, because execve keeps
    the forking parent's peak in it, so a child of a big parent would report the parent's.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024 / 1e6  # kB
    except OSError:
        pass
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1e6 if sys.platform == "darwin" else peak * 1024 / 1e6  # bytes vs KiB


class _TorchPredictor:
    """Texts in, logits out, with PyTorch eager (tokenisation included)."""

    def __init__(self, path: Path, device: str, threads: int, max_length: int) -> None:
        import torch

        from emocompress.models.classifier import load_classifier, load_tokenizer

        torch.set_num_threads(threads)
        self.torch = torch
        self.device = device
        self.max_length = max_length
        self.model = load_classifier(path, device=device)
        self.tokenizer = load_tokenizer(path)

    def __call__(self, texts: list[str]) -> Any:
        batch = self.tokenizer(
            texts, padding=True, truncation=True, max_length=self.max_length, return_tensors="pt"
        ).to(self.device)
        with self.torch.inference_mode():
            logits = self.model(**batch).logits
        if self.device == "cuda":
            self.torch.cuda.synchronize()
        return logits

    def token_lengths(self, texts: list[str]) -> list[int]:
        encoded = self.tokenizer(texts, truncation=True, max_length=self.max_length)
        return [len(ids) for ids in encoded["input_ids"]]

    def reset_peak(self) -> None:
        if self.device == "cuda":
            self.torch.cuda.reset_peak_memory_stats()

    def gpu_peak_mb(self) -> float | None:
        if self.device != "cuda":
            return None
        return self.torch.cuda.max_memory_allocated() / 1e6


class _OrtPredictor:
    """Texts in, logits out, with ONNX Runtime through emocompress.models.ort."""

    def __init__(self, path: Path, device: str, threads: int, max_length: int) -> None:
        try:
            from emocompress.models.ort import OrtClassifier
        except ImportError as exc:
            raise UserError(
                f"{path}: ONNX variants need emocompress.models.ort, which cannot be imported ({exc})"
            ) from exc
        providers = ["CUDAExecutionProvider"] if device == "cuda" else ["CPUExecutionProvider"]
        self.device = device
        self.max_length = max_length
        self.classifier = OrtClassifier(path, threads=threads, providers=providers)

    def __call__(self, texts: list[str]) -> Any:
        return self.classifier.run(self.classifier.encode(texts, self.max_length))

    def token_lengths(self, texts: list[str]) -> list[int]:
        mask = self.classifier.encode(texts, self.max_length).get("attention_mask")
        return [] if mask is None else [int(n) for n in mask.sum(axis=1)]

    def reset_peak(self) -> None:
        pass  # the CUDA provider's arena only grows: its size at the end is its peak

    def gpu_peak_mb(self) -> float | None:
        return _process_gpu_mb() if self.device == "cuda" else None


def _predictor(job: dict[str, Any]) -> _TorchPredictor | _OrtPredictor:
    kind = _TorchPredictor if job["runtime"] == "pytorch" else _OrtPredictor
    return kind(Path(job["path"]), job["device"], job["threads"], job["max_length"])


def _process_gpu_mb() -> float | None:
    """GPU memory held by this process (nvidia-smi), None when it cannot be read."""
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-compute-apps=pid,used_memory", "--format=csv,noheader,nounits"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    for line in out.splitlines():
        pid, _, used = line.partition(",")
        if pid.strip() == str(os.getpid()):
            return float(used) * 1.048576  # MiB -> MB
    return None


if __name__ == "__main__":
    raise SystemExit(child_main(sys.argv[1:]))

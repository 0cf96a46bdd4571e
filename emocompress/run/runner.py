"""Running a recipe: each step in order, into the run directory, resumable, gated.

A step is skipped on ``resume`` when its variant directory is complete and the hash of its
inputs (operation, settings, parent's hash or model reference, data, seed) is the one
recorded in run.json. Each variant is built in a temporary directory and renamed into place
only when its model, lineage and metrics are all written, so a run killed at any moment
leaves either a finished variant or none.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emocompress.artifacts.atomic import atomic_dir, write_json, write_text
from emocompress.artifacts.rundir import VARIANT_SCHEMA, RunDir, environment, now
from emocompress.errors import UserError
from emocompress.ops.context import DataContext, OpContext
from emocompress.ops.registry import get_operation
from emocompress.ops.train import distributed
from emocompress.progress import Reporter

# facts an operation returns that also belong in metrics.json (the rest stays in lineage)
METRICS_FACTS = ("training", "parity", "quantization", "pruning", "merge")


@dataclass
class RunResult:
    run_dir: RunDir
    rows: list[dict[str, Any]] = field(default_factory=list)
    gate_results: list[Any] = field(default_factory=list)
    ran: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)

    @property
    def gates_passed(self) -> bool:
        return all(result.passed for result in self.gate_results)

    @property
    def exit_code(self) -> int:
        return 0 if self.gates_passed else 1


def resolve_device(device: str) -> str:
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def data_context(recipe: Any) -> DataContext:
    data = recipe.data
    tune = data.tune if isinstance(data.tune, str) else data.tune.model_dump()
    caps = (
        data.max_examples.model_dump()
        if hasattr(data.max_examples, "model_dump")
        else dict(data.max_examples or {})
    )
    return DataContext(
        source=str(data.source),
        train=data.train,
        tune=tune,
        report=data.report,
        max_length=data.max_length,
        max_examples=caps,
        seed=recipe.seed,
    )


def step_hash(step: Any, parent_hashes: dict[str, str], recipe: Any) -> str:
    """What a step's result depends on; equal hashes mean the result can be reused."""
    inputs = {
        "op": step.op,
        # exclude_none: a new optional setting does not invalidate earlier results
        "settings": step.settings.model_dump(mode="json", exclude_none=True),
        "parents": [parent_hashes.get(p, p) for p in _parents(step)],
        "source": step.source,
        "data": recipe.data.model_dump(mode="json"),
        "seed": recipe.seed,
    }
    return hashlib.sha256(json.dumps(inputs, sort_keys=True, default=str).encode()).hexdigest()


def _parents(step: Any) -> list[str]:
    return list(getattr(step, "parents", None) or ([step.parent] if step.parent else []))


def select_steps(
    steps: list[Any], ops: Collection[str] | None, variants: Collection[str] | None
) -> list[Any]:
    """The steps to run for a single-operation command: the targets and their ancestors."""
    if not ops and not variants:
        return steps
    by_name = {step.name: step for step in steps}
    unknown = [v for v in variants or () if v not in by_name]
    if unknown:
        raise UserError(
            f"no variant named {', '.join(unknown)} in the recipe",
            expected="one of " + ", ".join(by_name),
        )
    targets = [
        s for s in steps if (not ops or s.op in ops) and (not variants or s.name in variants)
    ]
    if not targets:
        raise UserError(
            f"the recipe has no {'/'.join(ops or [])} variant"
            + (f" named {', '.join(variants)}" if variants else "")
        )
    needed: set[str] = set()
    stack = [t.name for t in targets]
    while stack:
        name = stack.pop()
        if name not in needed:
            needed.add(name)
            stack.extend(p for p in _parents(by_name[name]) if p in by_name)
    return [s for s in steps if s.name in needed]


def run_recipe(
    recipe: Any,
    out: Path,
    *,
    resume: bool = False,
    fresh: bool = False,
    reporter: Reporter | None = None,
    ops: Collection[str] | None = None,
    variants: Collection[str] | None = None,
) -> RunResult:
    reporter = reporter or Reporter()
    run_dir = RunDir(out)
    main = distributed.is_main_process()  # under Accelerate only the main process writes
    if main:
        state = _start_run(recipe, run_dir, resume=resume, fresh=fresh)
    distributed.wait_for_everyone()
    if not main:
        state = run_dir.state()
    data = data_context(recipe)
    device = distributed.device_or(resolve_device(recipe.device))
    steps = select_steps(recipe.steps(), ops, variants)
    result = RunResult(run_dir)
    hashes: dict[str, str] = {}
    try:
        for step in steps:
            digest = step_hash(step, hashes, recipe)
            hashes[step.name] = digest
            recorded = state["steps"].get(step.name, {})
            variant = run_dir.variant(step.name)
            if (
                recorded.get("hash") == digest
                and recorded.get("status") == "done"
                and variant.is_complete()
            ):
                reporter.log(f"{step.name}: finished earlier with the same inputs, skipped")
                result.skipped.append(step.name)
                continue
            reporter.check_cancelled()
            if not main:
                _run_step_helper_process(step, recipe, run_dir, data, device)
                distributed.wait_for_everyone()
                continue
            seconds = _run_step(step, recipe, run_dir, data, device, reporter)
            state["steps"][step.name] = {
                "status": "done",
                "op": step.op,
                "hash": digest,
                "seconds": round(seconds, 2),
                "finished": now(),
            }
            run_dir.write_state(state)
            distributed.wait_for_everyone()
            result.ran.append(step.name)
    except BaseException:
        if main:
            state["status"] = "failed"
            run_dir.write_state(state)
        raise
    if not main:
        return result
    if recipe.bench is not None:
        _bench(recipe, run_dir, reporter)
    result.rows = summary_rows(run_dir, recipe)
    result.gate_results = check_gates(recipe, run_dir, steps)
    state["status"] = "finished"
    state["finished"] = now()
    state["gates_passed"] = result.gates_passed
    run_dir.write_state(state)
    _track(recipe, run_dir, reporter)
    return result


def _start_run(recipe: Any, run_dir: RunDir, *, resume: bool, fresh: bool) -> dict[str, Any]:
    """Create or reopen the run directory; return run.json's state marked running."""
    from emocompress.recipe.schema import recipe_to_yaml

    if run_dir.run_file.is_file() and not (resume or fresh):
        raise UserError(
            f"{run_dir.root} already holds a run",
            expected="--resume to continue it or --fresh to start over",
        )
    if fresh and run_dir.root.exists():
        shutil.rmtree(run_dir.root)
    run_dir.root.mkdir(parents=True, exist_ok=True)
    write_text(run_dir.recipe_file, recipe_to_yaml(recipe))
    _remove_stale_temporaries(run_dir)
    state = run_dir.state() or {"schema": "emocompress.run/1", "steps": {}}
    state.update(
        {
            "name": recipe.name,
            "status": "running",
            "seed": recipe.seed,
            "started": now(),
            "finished": None,
            "environment": environment(),
        }
    )
    state.setdefault("steps", {})
    run_dir.write_state(state)
    return state


def _remove_stale_temporaries(run_dir: RunDir) -> None:
    """Half-built variants of an interrupted run (hidden ``.NAME.*.tmp`` folders) are discarded."""
    if run_dir.variants_root.is_dir():
        for stale in run_dir.variants_root.glob(".*.tmp"):
            shutil.rmtree(stale, ignore_errors=True)
        for stale in run_dir.variants_root.glob(".*.old"):
            shutil.rmtree(stale, ignore_errors=True)


def _run_step(
    step: Any, recipe: Any, run_dir: RunDir, data: DataContext, device: str, reporter: Reporter
) -> float:
    from emocompress.models.shape_plan import read_shape_plan

    operation = get_operation(step.op)
    parents = _parents(step)
    for name in parents:
        if not run_dir.variant(name).is_complete():
            raise UserError(
                f"{step.name}: parent variant {name!r} is not finished ({run_dir.variant(name).path})"
            )
    reporter.log(f"{step.name}: {step.op} from {parents or step.source}")
    started = time.perf_counter()
    with atomic_dir(run_dir.variant(step.name).path) as tmp:
        ctx = _op_context(step, recipe, run_dir, data, device, reporter, tmp)
        facts = operation.run(ctx, step.settings) or {}
        lineage = {
            "schema": VARIANT_SCHEMA,
            "name": step.name,
            "parent": parents[0] if len(parents) == 1 else (parents or None),
            "source": step.source,
            "operation": step.op,
            "settings": step.settings.model_dump(mode="json"),
            "format": operation.produces,
            "shape_plan": facts.pop("shape_plan", None) or read_shape_plan(tmp),
            "facts": facts,
        }
        write_json(tmp / "emocompress.json", lineage)
        extra = {key: facts[key] for key in METRICS_FACTS if key in facts} or None
        if operation.evaluate:
            from emocompress.measure.evaluation import evaluate_variant

            metrics = evaluate_variant(
                tmp,
                data,
                name=step.name,
                batch_size=recipe.evaluation.batch_size,
                device=device,
                reporter=reporter,
                extra=extra,
                parent=run_dir.variant(parents[0]) if len(parents) == 1 else None,
            )
            auc = metrics["quality"]["auc"]["macro"]
            reporter.log(
                f"{step.name}: macro-AUC {auc:.4f} on {metrics['quality']['report_split']}"
            )
    seconds = time.perf_counter() - started
    reporter.log(f"{step.name}: done in {seconds:.1f}s")
    return seconds


def _run_step_helper_process(
    step: Any, recipe: Any, run_dir: RunDir, data: DataContext, device: str
) -> None:
    """A non-main process under Accelerate: train alongside the main one, write nothing."""
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        ctx = _op_context(step, recipe, run_dir, data, device, Reporter("quiet"), Path(scratch))
        get_operation(step.op).run(ctx, step.settings)


def _op_context(
    step: Any,
    recipe: Any,
    run_dir: RunDir,
    data: DataContext,
    device: str,
    reporter: Reporter,
    out_dir: Path,
) -> OpContext:
    """What the step's operation receives: parents as variant folders, or the model reference."""
    from emocompress.models.reference import resolve_model_path

    parents = _parents(step)
    if parents:
        named = [(name, run_dir.variant(name).path) for name in parents]
    else:
        named = [(None, resolve_model_path(step.source))]
    return OpContext(
        run=run_dir,
        variant=step.name,
        out_dir=out_dir,
        data=data,
        parent_name=named[0][0],
        parent_path=Path(named[0][1]),
        seed=recipe.seed,
        device=device,
        threads=recipe.threads,
        eval_batch_size=recipe.evaluation.batch_size,
        reporter=reporter,
        extra_parents=[(n or "", Path(p)) for n, p in named[1:]],
    )


def default_gates(step: Any) -> Any:
    """Gates an operation implies: a quantised graph may lose at most its max_auc_drop."""
    limit = getattr(step.settings, "max_auc_drop", None)
    if step.op == "quantize" and limit is not None and step.gates.max_parent_auc_drop is None:
        return step.gates.model_copy(update={"max_parent_auc_drop": limit})
    return step.gates


def check_gates(recipe: Any, run_dir: RunDir, steps: list[Any]) -> list[Any]:
    from emocompress.measure.gates import evaluate_gates, write_junit

    reference = run_dir.variant(recipe.reference)
    reference_metrics = reference.metrics() if reference.is_complete() else None
    results: list[Any] = []
    for step in steps:
        variant = run_dir.variant(step.name)
        metrics = variant.metrics() if variant.metrics_file.is_file() else {}
        results.extend(evaluate_gates(step.name, default_gates(step), metrics, reference_metrics))
    write_junit(results, run_dir.gates_file)
    return results


def summary_rows(run_dir: RunDir, recipe: Any | None = None) -> list[dict[str, Any]]:
    """One row per finished variant: the figures of the summary table (and ``--json``)."""
    from emocompress.measure.summary import variant_row

    reference_name = getattr(recipe, "reference", None) or "teacher"
    reference = run_dir.variant(reference_name)
    reference_metrics = reference.metrics() if reference.metrics_file.is_file() else None
    return [
        variant_row(v, reference_metrics) for v in run_dir.variants() if v.metrics_file.is_file()
    ]


def _bench(recipe: Any, run_dir: RunDir, reporter: Reporter) -> None:
    """Speed and memory of the run's variants, in one bench call (one baseline)."""
    from emocompress.measure.bench.speed import run_bench

    settings = recipe.bench
    if settings.baseline is None:
        settings = settings.model_copy(update={"baseline": recipe.reference})
    run_bench(settings, run_dir, reporter)


def _track(recipe: Any, run_dir: RunDir, reporter: Reporter) -> None:
    tracking = getattr(recipe, "tracking", None)
    if not tracking:
        return
    from emocompress.run.tracking import log_run

    log_run(tracking, run_dir, reporter)

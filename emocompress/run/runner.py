"""Running a recipe: each step in order, into the run directory, resumable, gated.

A step is skipped on ``resume`` when its variant directory is complete and the hash of its
inputs (operation, settings, parent's hash or model reference, data, seed) is the one
recorded in run.json. Each variant is made by :func:`emocompress.run.variant.make_variant`
(as the direct commands make theirs): built in a temporary directory and renamed into place
only when its model, lineage and metrics are all written, so a run killed at any moment
leaves either a finished variant or none. The runner knows no operation by name: what an
operation adds to metrics.json and the gates it implies are declared by the operation.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import shutil
import time
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from emocompress.artifacts.atomic import write_text
from emocompress.artifacts.rundir import RunDir, VariantDir, environment, now
from emocompress.artifacts.schema import (
    Environment,
    GateOutcome,
    GatesFile,
    RunFile,
    RunStatus,
    StepRecord,
)
from emocompress.data.context import DataContext
from emocompress.errors import UserError, interruption_of, interrupts_ignored, sigterm_interrupts
from emocompress.format import fmt
from emocompress.ops.registry import get_operation
from emocompress.ops.train import distributed
from emocompress.progress import Cancelled, Reporter
from emocompress.run.variant import Parent, StepOptions, make_variant, operation_context


@dataclass
class RunResult:
    run_dir: RunDir
    rows: list[dict[str, Any]] = field(default_factory=list)
    gate_results: list[GateOutcome] = field(default_factory=list)
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
    overwrite: bool = False,
    reporter: Reporter | None = None,
    ops: Collection[str] | None = None,
    variants: Collection[str] | None = None,
    inputs: Collection[str | Path] = (),
) -> RunResult:
    """Run the recipe's steps (or the ``ops``/``variants`` selected and their ancestors)
    into ``out``, holding its lock; SIGINT/SIGTERM leave run.json "interrupted", resumable.

    ``inputs``: paths the command reads besides the recipe's own (the run must not hold them).
    """
    reporter = reporter or Reporter()
    run_dir = RunDir(out)
    select_steps(recipe.steps(), ops, variants)  # a bad selection: refused before any file
    main = distributed.is_main_process()  # under Accelerate only the main process writes
    if not main:
        return _run_recipe(recipe, run_dir, None, reporter, ops, variants)
    check_run_output(recipe, run_dir, fresh=fresh, overwrite=overwrite, inputs=inputs)
    from emocompress.artifacts.crashlog import remember_run_dir
    from emocompress.artifacts.lock import hold_lock

    def stale(previous: Any) -> None:
        # the file names its writer, but no process holds its lock: that writer ended, or
        # the run directory was copied beside a writer that still runs on the original
        reporter.log(
            f"took over the lock file of {previous.describe()}, which no longer holds it "
            "(it ended, or the run directory was copied)"
        )

    with hold_lock(run_dir.lock_file, on_stale=stale), sigterm_interrupts():
        remember_run_dir(run_dir.root)
        state = _start_run(recipe, run_dir, resume=resume, fresh=fresh)
        try:
            return _run_recipe(recipe, run_dir, state, reporter, ops, variants)
        except BaseException as exc:
            # Ctrl-C and SIGTERM leave a resumable run; a cancel from the TUI a cancelled
            # one (resumable too); anything else a failed one
            with interrupts_ignored():  # a second Ctrl-C must not leave run.json "running"
                state.status = stopped_status(exc)
                state.finished = now()
                with contextlib.suppress(OSError):  # a full disk must not hide the first error
                    run_dir.save_state(state)
            raise


def check_run_output(
    recipe: Any,
    run_dir: RunDir,
    *,
    fresh: bool,
    overwrite: bool,
    inputs: Collection[str | Path] = (),
) -> None:
    """The output rule for a run directory (docs/safety.md), before anything is written."""
    from emocompress.artifacts.outputs import check_fresh, check_output
    from emocompress.models.reference import is_local

    local = [ref for ref in (recipe.teacher.model, str(recipe.data.source)) if is_local(ref)]
    if fresh:  # its own message: --fresh deletes, so only a run directory qualifies
        check_fresh(run_dir.root)
    check_output(
        run_dir.root,
        what="run directory",
        inputs=[*local, *inputs],
        overwrite=overwrite,
        is_own=RunDir.holds_a_run,
    )


def _run_recipe(
    recipe: Any,
    run_dir: RunDir,
    state: RunFile | None,
    reporter: Reporter,
    ops: Collection[str] | None,
    variants: Collection[str] | None,
) -> RunResult:
    main = state is not None
    distributed.wait_for_everyone()
    if not main:
        state = run_dir.load_state()
    data = data_context(recipe)
    options = step_options(recipe)
    steps = select_steps(recipe.steps(), ops, variants)
    result = RunResult(run_dir)
    hashes: dict[str, str] = {}
    for step in steps:
        digest = step_hash(step, hashes, recipe)
        hashes[step.name] = digest
        recorded = state.steps.get(step.name)
        if recorded is not None and recorded.hash == digest and _finished(run_dir, step):
            reporter.log(f"{step.name}: finished earlier with the same inputs, skipped")
            if main:
                _refresh_evaluation(run_dir.variant(step.name), options, data, reporter)
            result.skipped.append(step.name)
            continue
        reporter.check_cancelled()
        if not main:
            _run_step_helper_process(step, run_dir, data, options)
            distributed.wait_for_everyone()
            continue
        seconds = _run_step(step, run_dir, data, options, reporter)
        state.steps[step.name] = StepRecord(
            op=step.op, hash=digest, seconds=round(seconds, 2), finished=now()
        )
        run_dir.save_state(state)
        distributed.wait_for_everyone()
        result.ran.append(step.name)
    if not main:
        return result
    if recipe.bench is not None:
        _bench(recipe, run_dir, reporter)
    comparison = _compare(recipe, run_dir, reporter)
    result.rows = summary_rows(run_dir, recipe, comparison)
    result.gate_results = check_gates(recipe, run_dir, steps, comparison)
    state.status = "finished"
    state.finished = now()
    state.gates_passed = result.gates_passed
    run_dir.save_state(state)
    _write_model_cards(run_dir)
    _track(recipe, run_dir, reporter)
    return result


def _refresh_evaluation(
    variant: VariantDir, options: StepOptions, data: DataContext, reporter: Reporter
) -> None:
    """A reused variant measured under other ``evaluation`` settings (threshold strategies,
    intervals) is re-measured from its saved predictions: the settings are not part of the
    step hash, so changing them retrains nothing, but every figure follows the recipe."""
    from emocompress.measure.bootstrap import resolved
    from emocompress.measure.evaluation import evaluation_is_current, remeasure_from_predictions

    metrics = variant.load_metrics_or_none()
    spec = resolved(options.bootstrap, data.seed)
    if metrics is None or evaluation_is_current(metrics, options.strategies, spec):
        return
    try:
        remeasure_from_predictions(variant, strategies=options.strategies, bootstrap=spec)
    except UserError as error:  # predictions deleted or unreadable: keep what was measured
        reporter.log(
            f"warning: {variant.name}: evaluation settings changed but its figures cannot be "
            f"re-measured ({error}); they stay as measured (--fresh re-measures everything)"
        )
        return
    reporter.log(f"{variant.name}: evaluation settings changed, re-measured from its predictions")


def stopped_status(error: BaseException) -> RunStatus:
    """run.json's status for a run that ended by ``error``: cancelled (the Reporter's cancel),
    interrupted (Ctrl+C, a signal turned into SystemExit) or failed."""
    if isinstance(error, Cancelled):
        return "cancelled"
    if isinstance(error, SystemExit) or interruption_of(error) is not None:
        return "interrupted"
    return "failed"


def step_options(recipe: Any) -> StepOptions:
    return StepOptions(
        seed=recipe.seed,
        device=distributed.device_or(resolve_device(recipe.device)),
        threads=recipe.threads,
        eval_batch_size=recipe.evaluation.batch_size,
        bootstrap=recipe.evaluation.bootstrap,
        strategies=tuple(recipe.evaluation.strategies),
    )


def _finished(run_dir: RunDir, step: Any) -> bool:
    """The variant is complete: metrics too, unless its operation is not evaluated."""
    variant = run_dir.variant(step.name)
    if get_operation(step.op).evaluate:
        return variant.is_complete()
    return variant.has_lineage()


def _start_run(recipe: Any, run_dir: RunDir, *, resume: bool, fresh: bool) -> RunFile:
    """Create or reopen the run directory; return run.json's state marked running."""
    from emocompress.recipe.schema import recipe_to_yaml

    if run_dir.run_file.is_file() and not (resume or fresh):
        raise UserError(
            f"{run_dir.root} already holds a run",
            expected="--resume to continue it or --fresh to start over",
        )
    if fresh and run_dir.root.exists():
        _empty_run_dir(run_dir)
    run_dir.root.mkdir(parents=True, exist_ok=True)
    write_text(run_dir.recipe_file, recipe_to_yaml(recipe))
    _remove_stale_temporaries(run_dir)
    state = run_dir.load_state().model_copy(
        update={
            "name": recipe.name,
            "status": "running",
            "seed": recipe.seed,
            "started": now(),
            "finished": None,
            "gates_passed": None,
            "environment": Environment(**environment()),
        }
    )
    run_dir.save_state(state)
    return state


def _empty_run_dir(run_dir: RunDir) -> None:
    """--fresh: delete the run directory's contents (checked to be a run directory), all but
    the lock this process holds."""
    for item in run_dir.root.iterdir():
        if item == run_dir.lock_file:
            continue
        if item.is_dir() and not item.is_symlink():
            shutil.rmtree(item)
        else:
            item.unlink()


def _remove_stale_temporaries(run_dir: RunDir) -> None:
    """Half-built variants of an interrupted run (hidden ``.NAME.*.tmp`` folders) are discarded."""
    if run_dir.variants_root.is_dir():
        for stale in run_dir.variants_root.glob(".*.tmp"):
            shutil.rmtree(stale, ignore_errors=True)
        for stale in run_dir.variants_root.glob(".*.old"):
            shutil.rmtree(stale, ignore_errors=True)


def _parents_of(step: Any, run_dir: RunDir) -> list[Parent]:
    """The step's parents as finished variants of the run, or its model reference."""
    names = _parents(step)
    if not names:
        return [Parent.of_reference(step.source)]
    for name in names:
        if not run_dir.variant(name).is_complete():
            raise UserError(
                f"{step.name}: parent variant {name!r} is not finished ({run_dir.variant(name).path})"
            )
    return [Parent.of_variant(run_dir.variant(name)) for name in names]


def _run_step(
    step: Any, run_dir: RunDir, data: DataContext, options: StepOptions, reporter: Reporter
) -> float:
    parents = _parents_of(step, run_dir)
    reporter.log(f"{step.name}: {step.op} from {step.origin}")
    started = time.perf_counter()
    metrics = make_variant(
        get_operation(step.op),
        step.settings,
        parents=parents,
        out=run_dir.variant(step.name).path,
        data=data,
        run=run_dir,
        options=options,
        reporter=reporter,
    )
    if metrics is not None and metrics.quality is not None:
        shown = fmt(metrics.quality.auc.macro, ".4f")
        reporter.log(f"{step.name}: macro-AUC {shown} on {metrics.quality.report_split}")
    seconds = time.perf_counter() - started
    reporter.log(f"{step.name}: done in {seconds:.1f}s")
    return seconds


def _run_step_helper_process(
    step: Any, run_dir: RunDir, data: DataContext, options: StepOptions
) -> None:
    """A non-main process under Accelerate: train alongside the main one, write nothing."""
    import tempfile

    parents = _parents_of(step, run_dir)
    with tempfile.TemporaryDirectory() as scratch:
        ctx = operation_context(
            parents, Path(scratch), data, run_dir, options, Reporter("quiet"), name=step.name
        )
        get_operation(step.op).run(ctx, step.settings)


def gates_of(step: Any) -> Any:
    """The step's gates, with those its operation implies where the recipe left them unset."""
    operation = get_operation(step.op)
    implied = operation.implied_gates(step.settings) if operation.implied_gates else {}
    unset = {name: bound for name, bound in implied.items() if getattr(step.gates, name) is None}
    return step.gates.model_copy(update=unset) if unset else step.gates


def check_gates(
    recipe: Any, run_dir: RunDir, steps: list[Any], comparison: Any | None = None
) -> list[GateOutcome]:
    """Every step's gates, written as gates.json and as JUnit XML (gates.xml) for CI.

    ``comparison`` (comparison.json) holds the paired intervals that gates with a
    ``confidence`` check their bound against.
    """
    from emocompress.measure.gates import evaluate_gates, write_junit

    reference = run_dir.variant(recipe.reference).load_metrics_or_none()
    results: list[GateOutcome] = []
    for step in steps:
        metrics = run_dir.variant(step.name).load_metrics_or_none()
        results.extend(
            evaluate_gates(step.name, gates_of(step), metrics, reference, comparison=comparison)
        )
    write_junit(results, run_dir.gates_file)
    run_dir.write_gates(GatesFile(results=results))
    return results


def summary_rows(
    run_dir: RunDir, recipe: Any | None = None, comparison: Any | None = None
) -> list[dict[str, Any]]:
    """One row per finished variant: the figures of the summary table (and ``--json``)."""
    from emocompress.measure.summary import variant_row

    reference_name = getattr(recipe, "reference", None) or "teacher"
    reference = run_dir.variant(reference_name).load_metrics_or_none()
    return [variant_row(v, reference, comparison) for v in run_dir.variants() if v.has_metrics()]


def _compare(recipe: Any, run_dir: RunDir, reporter: Reporter) -> Any | None:
    """comparison.json: intervals and paired deltas of the run's evaluated variants."""
    from emocompress.measure.comparison import ensure_comparison

    if not any(v.has_metrics() for v in run_dir.variants()):
        return None
    try:
        return ensure_comparison(
            run_dir, recipe.evaluation.bootstrap, reference=recipe.reference, reporter=reporter
        )
    except UserError as error:  # no variant with quality: nothing to compare
        reporter.log(f"compare: skipped ({error})")
        return None


def _bench(recipe: Any, run_dir: RunDir, reporter: Reporter) -> None:
    """Speed and memory of the run's variants, in one bench call (one baseline)."""
    from emocompress.measure.bench.speed import run_bench

    settings = recipe.bench
    if settings.baseline is None:
        settings = settings.model_copy(update={"baseline": recipe.reference})
    run_bench(settings, run_dir, reporter)


def _write_model_cards(run_dir: RunDir) -> None:
    """README.md (a Hub model card) in every measured variant: docs/tracking.md."""
    from emocompress.deploy.model_card import write_run_cards

    write_run_cards(run_dir)


def _track(recipe: Any, run_dir: RunDir, reporter: Reporter) -> None:
    tracking = getattr(recipe, "tracking", None)
    if not tracking:
        return
    from emocompress.run.tracking import log_run

    log_run(tracking, run_dir, reporter, reference=recipe.reference)

"""One way to make a variant, for the recipe runner and the direct commands alike.

:func:`make_variant` runs an operation into a temporary folder beside ``out``, writes the
variant's lineage, evaluates it when there is data (the operation's own metrics sections and
``against_parent`` go into the same metrics), and renames the folder into place: a variant
is either complete or absent, whoever made it.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from emocompress.artifacts.atomic import atomic_dir
from emocompress.artifacts.rundir import RunDir, VariantDir, a_format, model_format
from emocompress.artifacts.schema import BootstrapSpec, Lineage, Metrics
from emocompress.data.context import DataContext
from emocompress.errors import UserError
from emocompress.ops.base import Operation, Settings
from emocompress.ops.context import OpContext
from emocompress.progress import Reporter


@dataclass(frozen=True)
class Parent:
    """What a variant is made from: a variant of the same run, or a model reference."""

    path: Path
    variant: str | None = None  # its name in the run; None: a model reference
    reference: str | None = None  # the reference as given (path, hub id, pkg:NAME)

    @classmethod
    def of_variant(cls, variant: VariantDir) -> Parent:
        return cls(variant.path, variant=variant.name)

    @classmethod
    def of_reference(cls, reference: str) -> Parent:
        from emocompress.models.reference import resolve_model_path

        path = Path(resolve_model_path(reference))
        check_model_files(path)
        return cls(path, reference=reference)

    @property
    def label(self) -> str:
        """How the operation and the lineage name it."""
        return self.variant or self.reference or str(self.path)


@dataclass(frozen=True)
class StepOptions:
    """How an operation runs: the same for every step of a run."""

    seed: int = 13
    device: str = "cpu"
    threads: int | None = None
    eval_batch_size: int = 64
    bootstrap: BootstrapSpec | None = None  # intervals of the evaluation (None: defaults)
    strategies: tuple[str, ...] | None = None  # threshold strategies (None: all)


def make_variant(
    operation: Operation,
    settings: Settings,
    *,
    parents: Sequence[Parent],
    out: Path,
    data: DataContext | None,
    run: RunDir | None = None,
    options: StepOptions = StepOptions(),
    reporter: Reporter | None = None,
) -> Metrics | None:
    """Make the variant ``out`` with ``operation``; its metrics, or None without data.

    ``run`` is the run the variant belongs to (its cache); without one, a scratch run
    directory serves and is removed afterwards.
    """
    reporter = reporter or Reporter("quiet")
    check_parent_formats(operation, parents)
    with _run_or_scratch(run) as around, atomic_dir(out) as tmp:
        ctx = operation_context(parents, tmp, data, around, options, reporter, name=Path(out).name)
        facts = plain(operation.run(ctx, settings) or {})
        VariantDir(tmp).write_lineage(
            lineage_of(operation, settings, parents, Path(out), tmp, facts)
        )
        if not (operation.evaluate and data is not None):
            return None
        from emocompress.measure.evaluation import evaluate_variant

        only_parent = parents[0] if len(parents) == 1 and parents[0].variant else None
        return evaluate_variant(
            tmp,
            data,
            name=Path(out).name,
            batch_size=options.eval_batch_size,
            device=options.device,
            reporter=reporter,
            sections={key: facts[key] for key in operation.metrics_sections if key in facts},
            parent=VariantDir(only_parent.path) if only_parent else None,
            bootstrap=options.bootstrap,
            strategies=options.strategies,
        )


def check_model_files(path: Path) -> None:
    """Read the weights' headers before any work: a truncated safetensors file or a pickle
    that ``weights_only`` refuses is one message naming the file (exit 2), not a traceback
    minutes later. config.json is read here too, so that its problems name the model's own
    file rather than the temporary folder a variant is built in."""
    from emocompress.artifacts.jsonfile import read_json_object
    from emocompress.artifacts.schema import CONFIG_FILE
    from emocompress.models.checkpoint import list_tensors

    path = Path(path)
    if path.is_dir() and (path / CONFIG_FILE).exists():
        read_json_object(path / CONFIG_FILE)
    list_tensors(path)


def check_parent_formats(operation: Operation, parents: Sequence[Parent]) -> None:
    """Refuse (exit 2) a parent the operation cannot start from, e.g. prune of an ONNX model."""
    for parent in parents:
        found = model_format(parent.path)
        if found not in operation.accepts:
            raise UserError(
                f"{parent.label}: is {a_format(found)} model; {operation.name} cannot start from it",
                expected=f"{' or '.join(map(a_format, operation.accepts))} parent",
            )


def operation_context(
    parents: Sequence[Parent],
    out_dir: Path,
    data: DataContext | None,
    run: RunDir,
    options: StepOptions,
    reporter: Reporter,
    *,
    name: str,
) -> OpContext:
    """What an operation receives (in the main process and in Accelerate's helpers alike)."""
    first, *others = parents
    return OpContext(
        run=run,
        variant=name,
        out_dir=out_dir,
        data=data,
        parent_name=first.variant or first.reference,
        parent_path=first.path,
        seed=options.seed,
        device=options.device,
        threads=options.threads,
        eval_batch_size=options.eval_batch_size,
        reporter=reporter,
        extra_parents=[(p.label, p.path) for p in others],
    )


def lineage_of(
    operation: Operation,
    settings: Settings,
    parents: Sequence[Parent],
    out: Path,
    made: Path,
    facts: dict[str, Any],
) -> Lineage:
    """Where the variant came from. Variant parents are named; one model reference is the
    ``source``; several references (a direct merge) are the parents, as given."""
    from emocompress.models.shape_plan_file import read_shape_plan

    named = [p.variant for p in parents if p.variant]
    references = [p.label for p in parents if not p.variant]
    if named:
        parent: str | list[str] | None = named[0] if len(named) == 1 else named
        source = None
    elif len(references) == 1:
        parent, source = None, references[0]
    else:
        parent, source = references, None
    return Lineage(
        name=out.name,
        parent=parent,
        source=source,
        operation=operation.name,
        settings=settings.model_dump(mode="json"),
        format=operation.produces,
        shape_plan=read_shape_plan(made),
        facts=facts,
    )


def plain(value: Any) -> Any:
    """Facts as JSON data: models dumped, numpy scalars and arrays as lists, paths as text."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, Mapping):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if hasattr(value, "tolist"):
        return value.tolist()
    return value


@contextlib.contextmanager
def _run_or_scratch(run: RunDir | None) -> Iterator[RunDir]:
    if run is not None:
        yield run
        return
    with tempfile.TemporaryDirectory(prefix="emocompress-run-") as scratch:
        yield RunDir(scratch)

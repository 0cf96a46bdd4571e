"""View models: run directories and checkpoints read through the library, ready to show.

Nothing here imports Textual, so every function can be tested and timed on its own. Every
figure comes from emocompress: the typed models of the run directory (``RunDir``,
``VariantDir``, ``Metrics``, ``Lineage``), ``summary.variant_row``, ``inspect``, ``pareto``;
numbers become text through ``emocompress.format``. This module only selects, orders and
formats. A problem with one variant's files (missing, not JSON, wrong types, a newer
schema_version) becomes that variant's ``error`` (the library's one-line message, naming
the file) and a line in ``Catalog.errors``; the rest of the catalogue loads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from rich.text import Text

from emocompress.artifacts.rundir import RunDir, VariantDir
from emocompress.artifacts.schema import (
    CONFIG_FILE,
    ComparisonFile,
    GateOutcome,
    History,
    Lineage,
    Metrics,
    Quality,
    RunFile,
    Size,
)
from emocompress.errors import UserError
from emocompress.format import NA, fmt, fmt_percent, fmt_share, fmt_signed
from emocompress.measure.metrics import STRATEGY_ORDER as STRATEGIES
from emocompress.measure.pareto import pareto_optimal
from emocompress.measure.summary import variant_row
from tui.intervals import (
    attach_comparison,
    compare_delta,
    emotion_pair_cells,
    interval_cell,
    read_comparison,
)

T = TypeVar("T")


@dataclass(frozen=True)
class Column:
    """One figure of the variants table: ``better`` is "high", "low" or None (no direction)."""

    key: str
    header: str
    spec: str
    better: str | None = None
    always: bool = False  # shown even when no variant has it
    width: int | None = None  # text columns that could be long are cut to this (with …)
    meaning: str = ""


# the figures people decide on come first, so they fit 80 columns; the rest is reachable
# with the column cursor (left/right)
COLUMNS: tuple[Column, ...] = (
    Column("variant", "variant", "s", always=True, meaning="run/variant when several runs"),
    Column("mb", "MB", ".1f", "low", always=True, meaning="bytes on disk / 10^6"),
    Column("macro_auc", "mAUC", ".4f", "high", always=True, meaning="macro AUC, report split"),
    Column("macro_f1", "mF1", ".3f", "high", always=True, meaning="macro F1, selected strategy"),
    Column("p50_ms_batch_1", "ms b1", ".2f", "low", meaning="p50 latency in ms, batch 1"),
    Column("p50_ms_batch_32", "ms b32", ".1f", "low", meaning="p50 latency in ms, batch 32"),
    Column("pareto", "pareto", "s", always=True, meaning="S: AUC/MB frontier, L: AUC/latency"),
    Column("gates", "gates", "s", meaning="the run's gates for this variant (gates.json)"),
    Column("micro_auc", "µAUC", ".4f", "high", always=True, meaning="micro AUC, report split"),
    Column("strategy", "strategy", "s", always=True, meaning="threshold strategy chosen on tune"),
    Column("parameters", "params", ",d", "low", always=True, meaning="parameters, all"),
    Column(
        "parameters_without_embeddings",
        "w/o emb",
        ",d",
        "low",
        always=True,
        meaning="parameters without the embedding tables",
    ),
    Column("texts_per_s", "texts/s", ".0f", "high", meaning="throughput at batch 32"),
    Column(
        "speedup", "speedup", ".2f", "high", meaning="texts/s at batch 32 over the bench baseline's"
    ),
    Column(
        "percent_of_limit",
        "% limit",
        ".1f",
        "high",
        meaning="matmul work done at batch 32 over the machine's measured limit, same runtime",
    ),
    Column("peak_rss_mb", "RSS MB", ".0f", "low", meaning="peak resident memory of the bench, MB"),
    Column("gpu_peak_mb", "GPU MB", ".0f", "low", meaning="peak GPU memory allocated, MB"),
    Column("train_seconds", "train s", ".0f", "low", meaning="wall time of training, s"),
    Column("operation", "op", "s", always=True, meaning="the operation that made it"),
    Column(
        "parent",
        "parent",
        "s",
        always=True,
        width=8,
        meaning="parent variant or model (cut: the detail title has the whole lineage)",
    ),
)
COLUMN_BY_KEY = {column.key: column for column in COLUMNS}
DISPLAY_MODES = ("value", "delta", "percent")


@dataclass
class VariantView:
    """One row of the variants table, with what the detail screens need."""

    key: str  # unique in the catalogue: "variant", or "run/variant" when several runs
    name: str
    run: str | None
    path: Path
    row: dict[str, Any]
    metrics: Metrics | None = None
    lineage: Lineage | None = None
    error: str | None = None
    pareto_size: bool = False
    pareto_latency: bool = False
    gates: list[GateOutcome] = field(default_factory=list)  # this variant's, from gates.json
    comparison: ComparisonFile | None = None  # the run's comparison.json (tui/intervals.py)

    @property
    def gates_mark(self) -> str | None:
        """ "pass", "FAIL n/m", or None when no gate was checked for this variant."""
        if not self.gates:
            return None
        failed = sum(not gate.passed for gate in self.gates)
        return "pass" if not failed else f"FAIL {failed}/{len(self.gates)}"

    @property
    def pareto_mark(self) -> str:
        """ "S": on the AUC/MB frontier, "L": on the AUC/latency frontier."""
        return ("S" if self.pareto_size else "") + ("L" if self.pareto_latency else "")

    @property
    def quality(self) -> Quality | None:
        return self.metrics.quality if self.metrics is not None else None

    @property
    def parent(self) -> str | list[str] | None:
        return self.lineage.parent if self.lineage is not None else None

    def value(self, key: str) -> Any:
        if key == "variant":
            return self.key
        if key == "pareto":
            return self.pareto_mark
        if key == "gates":
            return self.gates_mark
        return self.row.get(key)


@dataclass
class Catalog:
    variants: list[VariantView] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    run_dirs: list[Path] = field(default_factory=list)
    reference: str | None = None

    def get(self, key: str | None) -> VariantView | None:
        return next((v for v in self.variants if v.key == key), None)

    def shown_columns(self) -> list[Column]:
        """The columns some variant has a figure for, and the core ones."""
        return [
            c for c in COLUMNS if c.always or any(v.value(c.key) is not None for v in self.variants)
        ]

    def missing_columns(self) -> list[Column]:
        return [c for c in COLUMNS if c not in self.shown_columns()]


# ----------------------------------------------------------------------------- loading


def default_paths(cwd: Path | None = None) -> list[Path]:
    """No argument: the runs under ./runs."""
    return [(cwd or Path.cwd()) / "runs"]


def check_paths(refs: Iterable[str]) -> list[str]:
    """The references the command line gave, or a UserError naming the first bad one."""
    refs = list(refs)
    for ref in refs:
        if not ref.startswith("pkg:") and not Path(ref).expanduser().exists():
            raise UserError(
                f"no such run directory or model: {ref}",
                expected="a run directory, a folder of runs, a checkpoint or pkg:NAME",
            )
    return refs


def load_catalog(refs: Iterable[str | Path]) -> Catalog:
    """Read every run directory (and checkpoint) named by ``refs`` into one catalogue."""
    catalog = Catalog()
    sources: list[tuple[str | None, Path]] = []  # (run name or None for a checkpoint, path)
    for ref in refs:
        try:
            sources += _expand(str(ref))
        except UserError as error:
            catalog.errors.append(str(error))
    several = len({run for run, _ in sources if run is not None}) > 1
    for run, path in sources:
        if run is None:
            catalog.variants.append(_checkpoint_view(path))
            continue
        run_dir = RunDir(path)
        catalog.run_dirs.append(path)
        variants, problem = _run_variants(run_dir)
        if problem is not None:
            catalog.errors.append(problem)
        gates = _gates(run_dir, catalog.errors)
        views = []
        for variant in variants:
            view = _variant_view(variant, run if several else None)
            view.gates = [gate for gate in gates if gate.variant == variant.name]
            views.append(view)
        catalog.variants += views
        comparison, broken = read_comparison(run_dir)
        attach_comparison(views, comparison)
        if broken is not None:
            catalog.errors.append(broken)
        catalog.reference = catalog.reference or _recipe_reference(run_dir, several)
    catalog.errors += [f"{v.key}: {v.error}" for v in catalog.variants if v.error]
    if catalog.get(catalog.reference) is None:
        roots = [v for v in catalog.variants if not v.parent and not v.error]
        first = (roots or catalog.variants or [None])[0]
        catalog.reference = first.key if first else None
    mark_pareto(catalog.variants)
    return catalog


def _expand(ref: str) -> list[tuple[str | None, Path]]:
    """A run directory, a folder of runs, or a checkpoint."""
    from emocompress.models.reference import resolve_model_path

    path = Path(ref).expanduser()
    if not ref.startswith("pkg:") and not path.exists():
        raise UserError(f"{ref}: no such run directory or checkpoint")
    if path.is_dir() and RunDir.is_run_dir(path):
        return [(path.name, path)]
    if path.is_dir() and not (path / CONFIG_FILE).is_file():
        runs = sorted(p for p in path.iterdir() if p.is_dir() and RunDir.is_run_dir(p))
        if not runs:
            raise UserError(f"{path}: no run directories in it (looked for */{RunFile.FILE})")
        return [(p.name, p) for p in runs]
    return [(None, resolve_model_path(ref, allow_hub=False))]


def _gates(run_dir: RunDir, errors: list[str]) -> list[GateOutcome]:
    """The run's gate outcomes; a broken gates.json is a notice."""
    try:
        gates = run_dir.load_gates()
    except UserError as error:
        errors.append(str(error))
        return []
    return gates.results if gates is not None else []


def _recipe_reference(run_dir: RunDir, several: bool) -> str | None:
    try:
        recipe = run_dir.load_recipe()
    except UserError:
        return None
    if recipe is None:
        return None
    return f"{run_dir.root.name}/{recipe.reference}" if several else recipe.reference


def _run_variants(run_dir: RunDir) -> tuple[list[VariantDir], str | None]:
    """The run's variants in run order; by name, with the problem, when run.json is broken."""
    try:
        return run_dir.variants(), None
    except UserError as error:
        folders = sorted(p for p in run_dir.variants_root.iterdir() if p.is_dir())
        found = [VariantDir(p) for p in folders if not p.name.startswith(".")]
        return found, str(error)


def _variant_view(variant: VariantDir, run: str | None) -> VariantView:
    key = f"{run}/{variant.name}" if run else variant.name
    view = VariantView(key=key, name=variant.name, run=run, path=variant.path, row={})
    try:
        view.lineage = variant.load_lineage_or_none()
        if not variant.has_metrics():
            raise UserError(f"{variant.metrics_file} is missing (variant not finished?)")
        view.metrics = variant.load_metrics()
        view.row = variant_row(variant)
    except UserError as error:
        view.error = str(error)
        lineage = view.lineage
        view.row = {
            "parent": lineage.parent if lineage else None,
            "operation": lineage.operation if lineage else None,
        }
    return view


def _checkpoint_view(path: Path) -> VariantView:
    """A single checkpoint: only its size section (read from headers)."""
    from emocompress.models.inspect import size_summary

    name = path.name if path.name not in ("model", "") else path.parent.name
    view = VariantView(key=name, name=name, run=None, path=path, row={"operation": "checkpoint"})
    try:
        size = size_summary(path)
    except UserError as error:
        view.error = str(error)
        return view
    figures = Size.model_validate(size)
    view.metrics = Metrics(variant=name, size=figures)
    view.row.update(
        parameters=figures.parameters,
        parameters_without_embeddings=figures.parameters_without_embeddings,
        mb=figures.megabytes,
    )
    return view


def mark_pareto(variants: list[VariantView]) -> None:
    """Flag the variants on the AUC/MB and AUC/latency frontiers (emocompress.measure.pareto)."""
    for attr, cost in (("pareto_size", "mb"), ("pareto_latency", latency_key(variants))):
        points = [(v.row.get("macro_auc"), v.row.get(cost) if cost else None) for v in variants]
        for view, optimal in zip(variants, pareto_optimal(points), strict=True):
            setattr(view, attr, optimal)


def latency_key(variants: Iterable[VariantView]) -> str | None:
    """The latency figure the tradeoff uses: batch 1 if measured, else batch 32."""
    for key in ("p50_ms_batch_1", "p50_ms_batch_32"):
        if any(v.row.get(key) is not None for v in variants):
            return key
    return None


# ----------------------------------------------------------------------------- formatting


def change(value: Any, reference: Any) -> tuple[float | None, float | None]:
    """(delta, percent) of ``value`` against ``reference``; None where not computable."""
    if not isinstance(value, int | float) or not isinstance(reference, int | float):
        return None, None
    delta = value - reference
    return delta, (100.0 * delta / reference if reference else None)


def fmt_cell(column: Column, value: Any, reference: Any, mode: str) -> str:
    """One table cell in ``mode`` ("value", "delta" or "percent" against the reference).

    Figures go through emocompress.format (unmeasured: "n/a", never 0); a text column
    without a value (no parent, no Pareto mark) is blank.
    """
    if column.spec == "s":
        return "" if value is None else str(value)
    if mode == "value" or value is None:
        return fmt(value, column.spec)
    delta, percent = change(value, reference)
    return fmt_signed(delta, column.spec) if mode == "delta" else fmt_percent(percent, 1)


@dataclass(frozen=True)
class Cell:
    """One table cell: its text and the value sorting uses (None: unmeasured, sorted last)."""

    text: str
    value: Any = None
    style: str = ""
    justify: str = "right"

    def rendered(self) -> Text:
        return Text(self.text, style=self.style, justify=self.justify)  # type: ignore[arg-type]


def text_cell(text: str, style: str = "") -> Cell:
    """A left-aligned text cell that sorts by its text."""
    return Cell(text, text, style, "left")


def figure_cell(value: Any, spec: str) -> Cell:
    """A figure formatted by emocompress.format ("n/a" when not measured), sorted by value."""
    return Cell(fmt(value, spec), value if isinstance(value, int | float) else None)


def ordered(items: Iterable[T], value_of: Callable[[T], Any], reverse: bool) -> list[T]:
    """``items`` sorted by ``value_of``; unmeasured (None or "") last whichever the direction."""

    def key(item: T) -> tuple:
        value = value_of(item)
        if value is None or value == "":
            return (not reverse, 0, 0)
        if isinstance(value, int | float):
            return (reverse, 0, value)
        return (reverse, 1, str(value))

    return sorted(items, key=key, reverse=reverse)


def shorten(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters with an ellipsis (0: as it is)."""
    return text if not width or len(text) <= width else text[: width - 1] + "…"


def shown_path(path: str | Path) -> str:
    """Relative to the working directory when inside it (shorter, and stable in tests)."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def visible(variants: Iterable[VariantView], text: str) -> list[VariantView]:
    needle = text.strip().lower()
    return [v for v in variants if needle in v.key.lower()]


# ----------------------------------------------------------------------------- detail


@dataclass
class EmotionRow:
    label: str
    f1: float | None
    precision: float | None
    recall: float | None
    support: int | None
    threshold: float | None
    auc: float | None


EMOTION_COLUMNS = (
    ("label", "emotion", "s"),
    ("f1", "F1", ".3f"),
    ("precision", "precision", ".3f"),
    ("recall", "recall", ".3f"),
    ("support", "support", "d"),
    ("threshold", "threshold", ".2f"),
    ("auc", "AUC", ".3f"),
)


def emotion_rows(metrics: Metrics | None, strategy: str | None = None) -> list[EmotionRow]:
    """Per-emotion figures under ``strategy`` (default: the selected one)."""
    quality = metrics.quality if metrics is not None else None
    if quality is None:
        return []
    chosen = quality.strategies.get(strategy or quality.selected_strategy)
    if chosen is None:
        return []
    return [
        EmotionRow(
            label,
            figures.f1,
            figures.precision,
            figures.recall,
            figures.support,
            figures.threshold,
            quality.auc.per_label.get(label),
        )
        for label, figures in chosen.per_label.items()
    ]


def best_and_worst(rows: list[EmotionRow]) -> tuple[set[str], set[str]]:
    """Labels with the highest and the lowest F1 among those with support in the split."""
    scored = [r for r in rows if r.f1 is not None and (r.support or 0) > 0]
    if not scored:
        return set(), set()
    high = max(r.f1 for r in scored)
    low = min(r.f1 for r in scored)
    return {r.label for r in scored if r.f1 == high}, {r.label for r in scored if r.f1 == low}


def strategy_rows(metrics: Metrics | None) -> list[tuple[str, list[Cell]]]:
    """The threshold strategy comparison: one row per strategy, the selected one marked."""
    quality = metrics.quality if metrics is not None else None
    if quality is None:
        return []
    rows = []
    for name in STRATEGIES:
        entry = quality.strategies.get(name)
        if entry is None:
            continue
        selected = name == quality.selected_strategy
        rows.append(
            (
                name,
                [
                    Cell(
                        ("▶ " if selected else "  ") + name,
                        name,
                        "bold" if selected else "",
                        "left",
                    ),
                    text_cell(_params_text(entry.params)),
                    figure_cell(entry.tune_macro_f1, ".3f"),
                    figure_cell(entry.macro.f1, ".3f"),
                    figure_cell(entry.macro.precision, ".3f"),
                    figure_cell(entry.macro.recall, ".3f"),
                    figure_cell(entry.micro.f1, ".3f"),
                ],
            )
        )
    return rows


STRATEGY_HEADERS = (
    ("strategy", "strategy"),
    ("params", "params"),
    ("tune_f1", "tune mF1"),
    ("f1", "mF1"),
    ("precision", "mP"),
    ("recall", "mR"),
    ("micro_f1", "µF1"),
)
STRATEGY_BETTER = {key: "high" for key, _ in STRATEGY_HEADERS[2:]}


def _params_text(params: dict[str, Any]) -> str:
    if "thresholds" in params:
        values = [v for v in params["thresholds"].values() if v is not None]
        if not values:
            return "per label"
        return f"per label ({min(values):.2f}–{max(values):.2f})"
    return ", ".join(f"{k}={v}" for k, v in params.items())


HISTORY_HEADERS = (
    ("epoch", "epoch"),
    ("step", "step"),
    ("train_loss", "train loss"),
    ("tune_loss", "tune loss"),
    ("tune_auc", "tune mAUC"),
)


def history_rows(history: History | None) -> list[tuple[str, list[Cell]]]:
    """One row per evaluation: the epoch, step, mean training loss since the previous one, the
    tune loss (where recorded) and the tune macro AUC; the kept checkpoint marked ▶."""
    if history is None:
        return []
    best = history.best
    rows = []
    for index, record in enumerate(history.evaluations):
        kept = best is not None and record.step == best.step
        rows.append(
            (
                str(index),
                [
                    Cell(("▶ " if kept else "  ") + f"{record.epoch:.2f}", record.epoch),
                    figure_cell(record.step, "d"),
                    figure_cell(record.train_loss, ".4f"),
                    figure_cell(record.tune_loss, ".4f"),
                    figure_cell(record.tune_macro_auc, ".4f"),
                ],
            )
        )
    return rows


SPEED_HEADERS = (
    ("runtime", "runtime"),
    ("threads", "threads"),
    ("mode", "batching"),
    ("batch", "batch"),
    ("p50", "p50 ms"),
    ("p95", "p95 ms"),
    ("p99", "p99 ms"),
    ("texts_per_s", "texts/s"),
    ("speedup", "speedup"),
    ("padding", "padding"),
    ("share", "% limit"),
    ("rss", "RSS MB"),
    ("gpu", "GPU MB"),
)


def speed_rows(metrics: Metrics | None) -> list[tuple[str, list[Cell]]]:
    """Latency percentiles, throughput, speedup against the bench baseline, padding share,
    share of the machine's limit and peak memory: one row per runtime, thread count,
    batching mode and batch size that bench measured."""
    speed = metrics.speed if metrics is not None else None
    if speed is None:
        return []
    rows = []
    for runtime, figures in speed.runtimes.items():
        for threads, mode, batches in figures.cells():
            for size, batch in sorted(batches.items()):
                rows.append(
                    (
                        f"{runtime}/{threads}/{mode}/{size}",
                        [
                            text_cell(runtime),
                            figure_cell(threads, "d"),
                            text_cell(mode or NA),
                            figure_cell(size, "d"),
                            figure_cell(batch.p50_ms, ".2f"),
                            figure_cell(batch.p95_ms, ".2f"),
                            figure_cell(batch.p99_ms, ".2f"),
                            figure_cell(batch.texts_per_s, ".0f"),
                            Cell(fmt(batch.speedup, ".2f", "x"), batch.speedup),
                            Cell(fmt_share(batch.padding_share), batch.padding_share),
                            Cell(fmt_share(batch.share_of_limit), batch.share_of_limit),
                            figure_cell(figures.peak_rss_mb, ".0f"),
                            figure_cell(figures.gpu_peak_mb, ".0f"),
                        ],
                    )
                )
    return rows


def speed_caption(metrics: Metrics | None) -> str:
    """What the speed figures were measured against: the baseline of the same bench call,
    the machine's limits, its CPU flags and the texts."""
    speed = metrics.speed if metrics is not None else None
    if speed is None:
        return "speed not measured (emocompress bench RUN_DIR)"
    parts = [
        f"speedup: against {speed.baseline}, measured in the same call"
        if speed.baseline
        else "no baseline"
    ]
    for limit in speed.limits or ([speed.limit] if speed.limit else []):
        threads = "" if limit.threads is None else f", {limit.threads} thread"
        plural = "s" if limit.threads not in (None, 1) else ""
        parts.append(f"limit{threads}{plural}: {limit.rates()}")
    machine = speed.machine
    if machine is not None:
        flags = " ".join(machine.cpu_flags or []) or "not recorded"
        load = "" if machine.load_average is None else f", load {machine.load_average:.1f}"
        parts.append(f"{machine.cpu or 'CPU'}, flags {flags}{load}")
    if speed.texts is not None:
        parts.append(f"{speed.texts.count} texts of {speed.texts.split or speed.texts.source}")
    return " · ".join(parts)


def checks_lines(view: VariantView) -> list[str]:
    """Gate outcomes and ONNX parity of one variant, as lines."""
    lines = [
        f"{'pass' if gate.passed else 'FAIL'}  {gate.gate}: {gate.message}" for gate in view.gates
    ] or ["no gate checked this variant"]
    parity = view.metrics.parity if view.metrics is not None else None
    if parity is not None:
        tolerance = (
            f"tolerance {fmt(parity.tolerance, '.1e')}"
            if parity.tolerance is not None
            else "no fixed tolerance (int8: the AUC-drop gate holds)"
        )
        lines.append(
            f"ONNX parity: max |logit diff| {fmt(parity.max_abs_logit_diff, '.2e')} against "
            f"{parity.reference or 'the parent'} on {parity.texts} texts, {tolerance}"
        )
    return lines


def lineage_chain(view: VariantView, catalog: Catalog) -> list[str]:
    """``teacher (finetune) <- student (distil)``: the variant back to its source model."""
    chain, seen, current = [], set(), view
    while current is not None and current.key not in seen:
        seen.add(current.key)
        lineage = current.lineage
        op = (lineage.operation if lineage else None) or current.row.get("operation") or "?"
        chain.append(f"{current.name} ({op})")
        parent = current.parent
        if not parent:
            source = lineage.source if lineage else None
            if source:
                chain.append(str(source))
            break
        if isinstance(parent, list) and len(parent) > 1:  # a merge, a distil from two teachers
            chain.append(" + ".join(_in_run(current, name, catalog) for name in parent))
            break
        parent = parent[0] if isinstance(parent, list) else parent
        current = catalog.get(_parent_key(current, parent))
        if current is None:
            chain.append(f"{parent} (not in this run)")
    return list(reversed(chain))


def _parent_key(view: VariantView, parent: str) -> str:
    return f"{view.run}/{parent}" if view.run else parent


def _in_run(view: VariantView, parent: str, catalog: Catalog) -> str:
    """A parent's name, marked when the catalogue does not have it."""
    found = catalog.get(_parent_key(view, parent)) is not None
    return parent if found else f"{parent} (not in this run)"


def parent_text(parent: str | list[str] | None) -> str:
    """The parent column: one name, or several joined (a merge); blank for none."""
    if isinstance(parent, list):
        return " + ".join(parent)
    return parent or ""


def settings_lines(settings: Any, indent: str = "") -> list[str]:
    """The operation's settings as ``key: value`` lines, nested dicts indented."""
    if not isinstance(settings, dict):
        return [f"{indent}{settings}"]
    lines = []
    for key, value in settings.items():
        if isinstance(value, dict):
            lines.append(f"{indent}{key}:")
            lines += settings_lines(value, indent + "  ")
        else:
            lines.append(f"{indent}{key}: {value}")
    return lines


# ----------------------------------------------------------------------------- parameters


@dataclass
class ParamNode:
    """A node of the parameter tree: component, then layer, then tensor."""

    label: str
    parameters: int
    percent: float
    children: list[ParamNode] = field(default_factory=list)
    nbytes: int = 0
    detail: str = ""  # a tensor's shape and dtype


def parameter_tree(path: Path) -> ParamNode:
    """Parameters by component, layer and tensor (headers only, via emocompress.models.inspect)."""
    from emocompress.models.checkpoint import list_tensors
    from emocompress.models.inspect import COMPONENTS, component_of, layer_of, split_tensors

    params, _, _ = split_tensors(list_tensors(path))
    total = sum(info.numel for info in params) or 1
    groups: dict[str, dict[str, list[Any]]] = {c: {} for c in COMPONENTS}
    for info in params:
        layer = layer_of(info.qualified_name)
        layer_name = "outside layers" if layer is None else f"layer {layer}"
        groups[component_of(info.qualified_name)].setdefault(layer_name, []).append(info)

    def node(label: str, count: int, children: list[ParamNode], **extra: Any) -> ParamNode:
        nbytes = extra.pop("nbytes", sum(child.nbytes for child in children))
        return ParamNode(label, count, 100.0 * count / total, children, nbytes, **extra)

    def leaf(info: Any, layer_name: str) -> ParamNode:
        name = info.qualified_name
        if layer_name != "outside layers":  # the layer's prefix is the node above
            marker = f".{layer_name.split()[-1]}."
            name = name.split(marker, 1)[-1] if marker in name else name
        shape = "×".join(map(str, info.shape)) or "scalar"
        return node(name, info.numel, [], nbytes=info.nbytes, detail=f"{shape} {info.dtype}")

    components = []
    for component, layers in groups.items():
        layer_nodes = [
            node(
                layer_name,
                sum(i.numel for i in infos),
                [leaf(i, layer_name) for i in infos],
            )
            for layer_name, infos in sorted(layers.items(), key=lambda item: _layer_order(item[0]))
        ]
        if layer_nodes:
            components.append(node(component, sum(n.parameters for n in layer_nodes), layer_nodes))
    return node("parameters", sum(n.parameters for n in components), components)


def _layer_order(name: str) -> tuple[int, int]:
    return (1, 0) if name == "outside layers" else (0, int(name.split()[-1]))


def bar(percent: float, width: int = 20) -> str:
    """A bar of ``width`` cells for a share in percent (eighths for the last cell)."""
    eighths = round(max(0.0, min(percent, 100.0)) / 100 * width * 8)
    full, part = divmod(eighths, 8)
    return ("█" * full + ("▏▎▍▌▋▊▉"[part - 1] if part else "")).ljust(width)


# ----------------------------------------------------------------------------- compare


COMPARE_FIGURES = [c for c in COLUMNS if c.spec != "s"]
COMPARE_HEADERS = (("figure", "figure"), ("a", "A"), ("b", "B"), ("delta", "Δ"), ("percent", "%"))
EMOTION_DELTA_HEADERS = (
    ("label", "emotion"),
    ("support", "n"),
    ("f1_a", "F1 A"),
    ("f1_b", "F1 B"),
    ("f1_delta", "ΔF1"),
    ("auc_a", "AUC A"),
    ("auc_b", "AUC B"),
    ("auc_delta", "ΔAUC"),
)


def compare_rows(a: VariantView, b: VariantView) -> list[tuple[str, list[Cell]]]:
    """Every figure of two variants: a, b, b - a, and the change in percent of a."""
    rows = []
    for order, column in enumerate(COMPARE_FIGURES):
        va, vb = a.value(column.key), b.value(column.key)
        delta, percent = change(vb, va)
        rows.append(
            (
                column.key,
                [
                    Cell(column.header, order, justify="left"),
                    Cell(fmt_figure(column, a, None, "value"), va),
                    Cell(fmt_figure(column, b, None, "value"), vb),
                    Cell(
                        compare_delta(a, b, column.key, column.spec)
                        or fmt_cell(column, vb, va, "delta"),
                        delta,
                    ),
                    Cell(fmt_cell(column, vb, va, "percent"), percent),
                ],
            )
        )
    return rows


def fmt_figure(column: Column, view: VariantView, reference: VariantView | None, mode: str) -> str:
    """:func:`fmt_cell` with the figure's interval where it has one (tui/intervals.py)."""
    shown = interval_cell(column, view, reference, mode)
    if shown is not None:
        return shown
    ref_value = reference.value(column.key) if reference is not None else None
    return fmt_cell(column, view.value(column.key), ref_value, mode)


def emotion_deltas(a: VariantView, b: VariantView) -> list[tuple[str, list[Cell]]]:
    """Per-emotion support, F1 (each variant under its selected strategy) and AUC, with b - a."""
    rows_a = {r.label: r for r in emotion_rows(a.metrics)}
    rows_b = {r.label: r for r in emotion_rows(b.metrics)}
    paired = emotion_pair_cells(a, b)  # support and paired intervals, when the run has them
    rows = []
    for label in list(rows_a) + [k for k in rows_b if k not in rows_a]:
        ra, rb = rows_a.get(label), rows_b.get(label)
        f1a, f1b = ra and ra.f1, rb and rb.f1
        auca, aucb = ra and ra.auc, rb and rb.auc
        support = (ra or rb).support if (ra or rb) else None
        f1_delta, auc_delta = change(f1b, f1a)[0], change(aucb, auca)[0]
        rows.append(
            (
                label,
                [
                    text_cell(label),
                    figure_cell(support, "d"),
                    figure_cell(f1a, ".3f"),
                    figure_cell(f1b, ".3f"),
                    Cell(fmt_signed(f1_delta, ".3f"), f1_delta),
                    figure_cell(auca, ".3f"),
                    figure_cell(aucb, ".3f"),
                    Cell(fmt_signed(auc_delta, ".3f"), auc_delta),
                ],
            )
        )
        if paired is not None:  # the paired ΔF1 / ΔAUC with their intervals (~: not sig.)
            _, f1_text, auc_text = paired.get(label, (NA, NA, NA))
            cells = rows[-1][1]
            cells[4] = Cell(f1_text, f1_delta)
            cells[7] = Cell(auc_text, auc_delta)
    return rows

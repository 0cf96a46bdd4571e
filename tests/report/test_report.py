"""`emocompress report`: the document, its figures, and numbers traceable to the run's files."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from emocompress.artifacts.predictions import load_predictions
from emocompress.artifacts.rundir import RunDir, VariantDir
from emocompress.artifacts.schema import (
    ARTIFACT_FILES,
    BenchFile,
    BenchVariant,
    Environment,
    MachineLimit,
    Quality,
)
from emocompress.cli import main
from emocompress.errors import UserError
from emocompress.measure.metrics import apply_thresholds, auc_scores, prf
from emocompress.report import write_report
from emocompress.report.figures import SPECS
from emocompress.report.html import to_html
from emocompress.report.tables import comparison_rows

VARIANTS = ("teacher", "student-1l")


@pytest.fixture(scope="module")
def reported(tiny_run, tmp_path_factory) -> tuple[Path, object]:
    """A copy of the tiny run with its full report (figures, CSV, HTML) written once."""
    run = tmp_path_factory.mktemp("report") / "tiny"
    shutil.copytree(tiny_run, run)
    return run, write_report(run, html=True)


def _section(text: str, heading: str) -> str:
    """The text from a heading line to the next heading of the same or higher level."""
    level = heading.split(" ")[0]
    start = text.index(heading + "\n")
    rest = text[start + len(heading) + 1 :]
    stop = re.search(rf"^#{{1,{len(level)}}} ", rest, flags=re.M)
    return rest[: stop.start()] if stop else rest


def _table_row(section: str, first_cell: str) -> list[str]:
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells[0] == first_cell:
            return cells
    raise AssertionError(f"no table row {first_cell!r}")


# ----------------------------------------------------------------------- files


def test_every_figure_is_written_as_png_and_pdf(reported):
    run, result = reported
    assert set(result.figures) == {spec.stem for spec in SPECS}
    for spec in SPECS:
        png, pdf = run / "figures" / f"{spec.stem}.png", run / "figures" / f"{spec.stem}.pdf"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
        assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 3000
    text = (run / "report.md").read_text()
    for spec in SPECS:
        assert f"](figures/{spec.stem}.png)" in text
    assert not list(run.glob(".*tmp")), "no temporary files left behind"


def test_svg_figures_are_written_and_the_same_each_time(tiny_run, tmp_path):
    # --formats svg (offered by --help) crashed: matplotlib's SVG writer has no "Software" key
    out = tmp_path / "doc" / "report.md"
    first = write_report(tiny_run, out=out, formats=("svg",), csv=False)
    svgs = {p.name: p.read_bytes() for p in (out.parent / "figures").iterdir()}
    assert (
        set(svgs)
        == {f"{spec.stem}.svg" for spec in SPECS}
        == {p.name for files in first.figures.values() for p in files}
    )
    assert all(data.lstrip().startswith(b"<?xml") and b"<svg" in data for data in svgs.values())
    write_report(tiny_run, out=out, formats=("svg",), csv=False)
    assert {p.name: p.read_bytes() for p in (out.parent / "figures").iterdir()} == svgs


def test_report_has_every_section_and_html(reported):
    run, result = reported
    text = result.markdown.read_text()
    for heading in (
        "## Overview",
        "## Comparison with the baseline",
        "## Efficiency",
        "## Variant teacher",
        "## Variant student-1l",
        "## Per emotion",
        "## Thresholds",
        "## Figures",
        "## Artifacts",
    ):
        assert heading + "\n" in text
    assert "Thresholds were chosen on the **tune** split" in text
    assert "every figure of the quality section matches metrics.json" in text
    assert result.problems == []
    page = result.html.read_text()
    assert page.startswith("<!DOCTYPE html>") and '<img alt="roc" src="figures/roc.png">' in page
    assert page.count("<table>") == text.count("\n| --- ")


def test_artifacts_list_sizes_and_sha256(reported):
    import hashlib

    run, result = reported
    weights = run / "variants" / "student-1l" / "model.safetensors"
    artifacts = _section(result.markdown.read_text(), "## Artifacts")
    row = _table_row(_section(artifacts, "### student-1l"), "`model.safetensors`")
    assert row[1] == f"{weights.stat().st_size:,d}"
    assert row[2] == f"`{hashlib.sha256(weights.read_bytes()).hexdigest()}`"


# --------------------------------------------------------- numbers from predictions


def _quality(variant_dir: Path) -> Quality:
    quality = VariantDir(variant_dir).load_metrics().quality
    assert quality is not None
    return quality


def _check_quality_table(report_text: str, variant_dir: Path) -> None:
    """The variant's quality table in the report equals figures recomputed from its
    predictions at the thresholds its metrics.json recorded."""
    quality = _quality(variant_dir)
    preds = load_predictions(VariantDir(variant_dir).predictions_file(quality.report_split))
    pred = apply_thresholds(preds.probs, quality.selected.params, preds.label_names)
    scores = prf(pred, preds.labels, preds.label_names)
    auc = auc_scores(preds.probs, preds.labels, preds.label_names)

    section = _section(report_text, f"## Variant {variant_dir.name}")
    micro, macro = _table_row(section, "micro"), _table_row(section, "macro")
    assert micro[1] == f"{auc['micro']:.4f}"
    assert macro[1] == f"{auc['macro']:.4f}"
    assert macro[2] == f"{scores['macro']['f1']:.4f}"
    assert micro[3] == f"{scores['micro']['precision']:.4f}"
    assert macro[4] == f"{scores['macro']['recall']:.4f}"


@pytest.mark.parametrize("name", VARIANTS)
def test_quality_numbers_recomputed_from_predictions(reported, name):
    run, result = reported
    _check_quality_table(result.markdown.read_text(), run / "variants" / name)


COMMITTED = Path(__file__).parents[2] / "docs" / "reports" / "goemotions-minilm" / "report.md"
GOEMOTIONS_RUN = Path(
    os.environ.get(
        "EMOCOMPRESS_GOEMOTIONS_RUN", Path(__file__).parents[3] / "runs" / "goemotions-minilm"
    )
)


@pytest.mark.skipif(
    not (COMMITTED.is_file() and GOEMOTIONS_RUN.is_dir()),
    reason="needs docs/reports/goemotions-minilm/report.md and its run directory",
)
def test_committed_goemotions_report_matches_its_run():
    text = COMMITTED.read_text()
    names = re.findall(r"^## Variant (\S+)$", text, flags=re.M)
    assert names
    for name in names:
        _check_quality_table(text, GOEMOTIONS_RUN / "variants" / name)


def test_confusion_counts_come_from_predictions(reported):
    run, result = reported
    name = "student-1l"
    quality = _quality(run / "variants" / name)
    preds = load_predictions(run / "variants" / name / "predictions" / "dev.npz")
    pred = apply_thresholds(preds.probs, quality.selected.params, preds.label_names).astype(bool)
    gold = preds.labels.astype(bool)
    with open(result.csv, newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["variant"] == name]
    assert [r["label"] for r in rows] == list(preds.label_names)
    for j, row in enumerate(rows):
        assert int(row["tp"]) == np.sum(pred[:, j] & gold[:, j])
        assert int(row["fp"]) == np.sum(pred[:, j] & ~gold[:, j])
        assert int(row["fn"]) == np.sum(~pred[:, j] & gold[:, j])
        assert int(row["tn"]) == np.sum(~pred[:, j] & ~gold[:, j])
    # and the per-emotion table prints the same counts
    section = _section(result.markdown.read_text(), f"### {name} ({quality.selected_strategy})")
    top = next(line for line in section.splitlines() if line.startswith("| top |"))
    cells = [c.strip() for c in top.strip("|").split("|")]
    row = next(r for r in rows if r["label"] == cells[1])
    assert cells[6:9] == [row["tp"], row["fp"], row["fn"]]


def test_tampered_metrics_are_reported(tiny_run, tmp_path):
    run = tmp_path / "tiny"
    shutil.copytree(tiny_run, run)
    variant = RunDir(run).variant("student-1l")
    metrics = variant.load_metrics()
    assert metrics.quality is not None
    entry = metrics.quality.selected
    entry.macro.f1 = (entry.macro.f1 or 0.0) + 0.01
    entry.per_label["joy"].tp += 1
    variant.write_metrics(metrics)
    result = write_report(run, figures=False, csv=False)
    assert any("macro.f1" in p for p in result.problems)
    assert any("joy.tp" in p for p in result.problems)
    assert "disagrees with metrics.json" in result.markdown.read_text()


# ----------------------------------------------------------------- comparison


def test_comparison_percentages_on_a_hand_case():
    base = {
        "macro_auc": 0.8,
        "parameters": 1000,
        "p50_ms_batch_1": 10.0,
        "texts_per_s": 0.0,
        "train_seconds": None,
    }
    other = {
        "macro_auc": 0.6,
        "parameters": 250,
        "p50_ms_batch_1": 2.5,
        "texts_per_s": 50.0,
        "train_seconds": 12.0,
    }
    rows = {row[0]: row[1:] for row in comparison_rows(base, other)}
    assert rows["macro AUC"] == ["0.8000", "0.6000", "-0.2000", "-25.00%"]
    assert rows["parameters"] == ["1,000", "250", "-750", "-75.00%"]
    assert rows["p50 latency batch 1 (ms)"] == ["10.00", "2.50", "-7.50", "-75.00%"]
    assert rows["throughput (texts/s)"] == ["0.0", "50.0", "+50.0", "n/a"]  # from 0: no percent
    assert rows["train time (s)"] == ["n/a", "12.0", "n/a", "n/a"]
    assert "micro AUC" not in rows  # measured on neither side


def _timings(p50_b1: float, p50_b4: float, rss: float):
    """What a bench child reports for one variant (emocompress.measure.bench.speed), with
    chosen numbers."""
    from emocompress.artifacts.schema import BatchLatency, RuntimeSpeed
    from emocompress.measure.bench.speed import Measured

    batches = {
        size: BatchLatency(
            p50_ms=ms, p95_ms=ms * 1.1, p99_ms=ms * 1.2, texts_per_s=size * 1000 / ms
        )
        for size, ms in ((1, p50_b1), (4, p50_b4))
    }
    timed = {(1, "plain", 1): [(1, 12, 12)], (1, "plain", 4): [(4, 20, 64)]}
    return Measured(RuntimeSpeed(batches=batches, peak_rss_mb=rss, threads=1), [12, 20], timed)


def _write_bench(run: Path) -> dict:
    """Bench figures with chosen timings written into ``run`` (speed sections, bench.json)
    by emocompress.measure.bench.speed itself; returns the speed sections by variant."""
    from emocompress.measure.bench.settings import BenchSettings
    from emocompress.measure.bench.speed import find_targets, speed_sections, write_results

    targets = find_targets([run])
    measured = {
        "teacher": {"pytorch": _timings(8.0, 20.0, 400.0)},
        "student-1l": {"pytorch": _timings(4.0, 8.0, 300.0)},
    }
    limit = MachineLimit(size=1024, threads=1, fp32_gflops=100.0, int8_gops=None)
    sections = speed_sections(
        targets, measured, "teacher", limit, BenchSettings(batch_sizes=[1, 4])
    )
    for section in sections.values():
        section.machine = Environment(cpu="test cpu", cores=2, threads=1, gpu=None)
    bench = BenchFile(
        limit=limit,
        variants={t.name: BenchVariant(path=str(t.path), speed=sections[t.name]) for t in targets},
    )
    write_results(bench, targets)
    return sections


def test_bench_results_feed_efficiency_and_latency(tiny_run, tmp_path):
    """The timings are chosen so the expected speedups and ratios are known by hand."""
    run = tmp_path / "tiny"
    shutil.copytree(tiny_run, run)
    sections = _write_bench(run)
    result = write_report(run, formats=("png",), csv=False)
    text = result.markdown.read_text()

    row = _table_row(_section(text, "## Efficiency"), "student-1l")
    assert row[3:6] == ["b1 2.00, b4 2.50", "0.75", "500.0 (b4)"]
    achieved = sections["student-1l"].runtimes["pytorch"].achieved_gflops
    assert row[6:] == [f"{achieved:.2f}", f"{achieved / 100.0:.1%}"]
    assert "at 100.0 GFLOP/s fp32" in text
    latency = _table_row(_section(text, "### student-1l vs teacher"), "p50 latency batch 1 (ms)")
    assert latency[1:] == ["8.00", "4.00", "-4.00", "-50.00%"]
    assert (run / "figures" / "tradeoffs.png").stat().st_size > 5000
    assert not (run / "figures" / "tradeoffs.pdf").exists()


def test_no_figures_and_no_history(tiny_run, tmp_path):
    run = tmp_path / "tiny"
    shutil.copytree(tiny_run, run)
    for name in VARIANTS:
        (run / "variants" / name / "history.json").unlink()
    result = write_report(run, baseline="student-1l", figures=False)
    text = result.markdown.read_text()
    assert "Not drawn (--no-figures)." in text
    assert "### teacher vs student-1l" in text
    assert not (run / "figures").exists()
    # figures without histories: the training curves are left out, the rest drawn
    result = write_report(run, formats=("png",), csv=False)
    assert "loss" not in result.figures and "tune_auc" not in result.figures
    assert "- loss: not drawn (needs a trained variant)." in result.markdown.read_text()


def test_recorded_tune_loss_is_tabulated(tiny_run, tmp_path):
    run = tmp_path / "tiny"
    shutil.copytree(tiny_run, run)
    variant = RunDir(run).variant("teacher")
    history = variant.load_history()
    assert history is not None and history.evaluations
    for i, record in enumerate(history.evaluations):
        record.tune_loss = 0.5 - i / 10
    variant.write_history(history)
    text = write_report(run, figures=False, csv=False).markdown.read_text()
    training = _section(_section(text, "## Variant teacher"), "### Training")
    assert _table_row(training, "epoch")[-1] == "tune BCE"
    assert _table_row(training, "1")[-1] == "0.5000"


def test_variant_without_predictions_is_left_out_of_quality(tiny_run, tmp_path):
    run = tmp_path / "tiny"
    shutil.copytree(tiny_run, run)
    (run / "variants" / "student-1l" / "predictions" / "tune.npz").unlink()
    result = write_report(run, figures=False)
    text = result.markdown.read_text()
    assert "student-1l (predictions/tune.npz is missing, so nothing can be checked)" in text
    assert "### student-1l (" not in _section(text, "## Per emotion")
    assert "### student-1l vs teacher" in text  # size and the rest are still compared
    with open(result.csv) as handle:
        assert {row["variant"] for row in csv.DictReader(handle)} == {"teacher"}
    with pytest.raises(UserError, match="baseline 'student-1l' is not a finished, evaluated"):
        write_report(run, baseline="student-1l", figures=False)
    (run / "variants" / "teacher" / "predictions" / "dev.npz").unlink()
    with pytest.raises(UserError, match="no variant with quality to report.*dev.npz is missing"):
        write_report(run, figures=False)


# ------------------------------------------------------------------ one train time


def test_training_and_comparison_show_the_same_train_time(reported):
    """Each trained variant's train time is history.json ``seconds``, in its Training section
    and in the comparison table alike (once they disagreed: n/a against 70.9)."""
    run, result = reported
    text = result.markdown.read_text()
    comparison = _section(
        _section(text, "## Comparison with the baseline"), "### student-1l vs teacher"
    )
    compared = dict(zip(VARIANTS, _table_row(comparison, "train time (s)")[1:3], strict=True))
    for name in VARIANTS:
        seconds = RunDir(run).variant(name).train_seconds()
        assert seconds is not None, "the tiny run trains both variants"
        training = _section(_section(text, f"## Variant {name}"), "### Training")
        shown = _table_row(training, "train time (s)")[1]
        assert shown == compared[name] == f"{seconds:.1f}"


# ------------------------------------------------------------- version-1 run directory


def _runtime_as_version_1(runtime: dict) -> dict:
    """Version-1 speed layout: ``batch_32`` and ``speedup_batch_32`` keys of the runtime."""
    old = {k: v for k, v in runtime.items() if k not in ("batches", "speedup")}
    old.update({f"batch_{size}": batch for size, batch in runtime["batches"].items()})
    old.update({f"speedup_batch_{size}": x for size, x in runtime["speedup"].items()})
    return old


def _as_version_1(data, legacy: str | None):
    """A file's content as the previous emocompress wrote it: a ``schema`` string (or
    nothing) instead of ``schema_version``, every speed section in the version-1 layout."""
    if isinstance(data, list):
        return [_as_version_1(x, None) for x in data]
    if not isinstance(data, dict):
        return data
    if "schema_version" in data:
        data = {k: v for k, v in data.items() if k != "schema_version"}
        data = {"schema": legacy, **data} if legacy else data
    if isinstance(data.get("runtimes"), dict):
        data = {
            **data,
            "runtimes": {k: _runtime_as_version_1(r) for k, r in data["runtimes"].items()},
        }
    return {k: _as_version_1(v, None) for k, v in data.items()}


def _rewrite_as_version_1(run: Path) -> int:
    """Rewrite every typed file of ``run`` in the version-1 shape; returns how many."""
    rewritten = 0
    for model in ARTIFACT_FILES:
        for path in run.rglob(model.FILE):
            old = _as_version_1(json.loads(path.read_text()), model.LEGACY_SCHEMA)
            path.write_text(json.dumps(old, indent=2))
            rewritten += 1
    return rewritten


def _figures_of(text: str, root: Path) -> str:
    """The report without what differs between two copies of one run: the run directory's
    path and the Artifacts section (file sizes and hashes of the rewritten files)."""
    return text[: text.index("## Artifacts\n")].replace(str(root), "RUN")


def test_version_1_run_directory_gives_the_same_report(tiny_run, tmp_path):
    current, old = tmp_path / "v2" / "tiny", tmp_path / "v1" / "tiny"
    shutil.copytree(tiny_run, current)
    _write_bench(current)
    shutil.copytree(current, old)
    assert _rewrite_as_version_1(old) >= 7  # run, bench, two metrics, lineages, histories
    metrics = json.loads((old / "variants" / "student-1l" / "metrics.json").read_text())
    assert metrics["schema"] == "emocompress.metrics/1" and "schema_version" not in metrics
    assert "batch_4" in metrics["speed"]["runtimes"]["pytorch"]

    expected = write_report(current, formats=("png",), csv=True)
    result = write_report(old, formats=("png",), csv=True)
    assert result.problems == expected.problems == []
    assert _figures_of(result.markdown.read_text(), old) == _figures_of(
        expected.markdown.read_text(), current
    )
    assert result.csv.read_text() == expected.csv.read_text()
    assert set(result.figures) == set(expected.figures)
    for stem, files in expected.figures.items():
        for mine, theirs in zip(result.figures[stem], files, strict=True):
            assert mine.read_bytes() == theirs.read_bytes(), stem


# ------------------------------------------------------------------ bad input


def test_bad_inputs_are_user_errors(tiny_run, tmp_path):
    with pytest.raises(UserError, match="no such directory"):
        write_report(tmp_path / "missing")
    with pytest.raises(UserError, match="not a run directory"):
        write_report(tmp_path)
    (tmp_path / "empty" / "variants").mkdir(parents=True)
    with pytest.raises(UserError, match="no finished variant"):
        write_report(tmp_path / "empty")
    with pytest.raises(
        UserError, match="baseline 'nope' is not a finished, evaluated variant.*teacher"
    ):
        write_report(tiny_run, baseline="nope")
    with pytest.raises(UserError, match="figure formats gif"):
        write_report(tiny_run, formats=("gif",))
    with pytest.raises(UserError, match="is a directory"):
        write_report(tiny_run, out=tmp_path, figures=False)


def test_cli_writes_report_and_exits_2_on_bad_input(tiny_run, tmp_path, capsys):
    out = tmp_path / "doc" / "tiny.md"
    assert main(["report", str(tiny_run), "--out", str(out), "--no-figures", "--html"]) == 0
    assert out.is_file() and out.with_suffix(".html").is_file()
    assert (out.parent / "per_emotion.csv").is_file()
    assert not (tiny_run / "report.md").exists()
    assert f"report: {out}" in capsys.readouterr().out
    assert main(["report", str(tiny_run), "--baseline", "nope"]) == 2
    assert "baseline 'nope'" in capsys.readouterr().err


def test_html_converter_escapes_and_aligns():
    page = to_html(
        "# T <x>\n\n| a | b |\n| --- | ---: |\n| `x\\|y` | **1** |\n\n```\n<code>\n```\n"
    )
    assert "<h1>T &lt;x&gt;</h1>" in page
    assert "<td class=r><strong>1</strong></td>" in page
    assert "&lt;code&gt;" in page


# ----------------------------------------------------------------------- notes and complexity


def test_complexity_table_recounts_f1_by_gold_labels(reported):
    run, _ = reported
    section = _section((run / "report.md").read_text(), "## Multi-label complexity")
    teacher = VariantDir(run / "variants" / "teacher")
    quality = _quality(teacher.path)
    preds = load_predictions(teacher.predictions_file(quality.report_split))
    selected = quality.strategies[quality.selected_strategy]
    pred = apply_thresholds(preds.probs, selected.params, preds.label_names)
    gold_counts = preds.labels.sum(axis=1)
    total = 0
    for gold, mask in (("1", gold_counts == 1), ("2", gold_counts == 2)):
        if not mask.any():
            continue
        row = _table_row(section, gold)
        total += int(row[1].replace(",", ""))
        micro = prf(pred[mask], preds.labels[mask], preds.label_names)["micro"]["f1"]
        assert row[2].split(" / ")[0] == f"{micro:.4f}"
    assert total <= quality.n_report


def test_comparison_has_micro_precision_recall_best_epoch_and_length(reported):
    run, _ = reported
    text = (run / "report.md").read_text()
    section = _section(text, "### student-1l vs teacher")
    for metric in ("micro precision (selected)", "micro recall (selected)"):
        assert _table_row(section, metric)
    assert _table_row(section, "max sequence length (config)")[1].isdigit()
    assert "best epoch (checkpoint kept)" in section
    assert "Texts are cut at **" in text


def test_report_notes_a_selected_strategy_that_loses_on_the_report_split(tiny_run, tmp_path):
    run = tmp_path / "tiny"
    shutil.copytree(tiny_run, run)
    metrics_file = run / "variants" / "teacher" / "metrics.json"
    metrics = json.loads(metrics_file.read_text())
    quality = metrics["quality"]
    other = next(name for name in quality["strategies"] if name != quality["selected_strategy"])
    selected_f1 = quality["strategies"][quality["selected_strategy"]]["macro"]["f1"]
    quality["strategies"][other]["macro"]["f1"] = selected_f1 + 0.1  # as if it won on report
    metrics_file.write_text(json.dumps(metrics))
    result = write_report(run, figures=False)
    [note] = [w for w in result.warnings if w.startswith("teacher: ")]
    assert f"but {other} scores higher on the report split" in note
    text = result.markdown.read_text()
    assert "## Read this first" in text and f"**{other}** scores higher" in text


def test_report_notes_thresholds_on_few_tune_positives(reported):
    # every variant whose selected per-label thresholds rest on thin tune labels is named,
    # and no other (it checked the teacher alone, so a student selecting per_label while
    # the teacher did not failed it, depending on the tiny run's training)
    run, result = reported
    expected = set()
    for variant in sorted((run / "variants").iterdir()):
        quality = _quality(variant)
        tune = load_predictions(VariantDir(variant).predictions_file(quality.tune_split))
        if quality.selected_strategy == "per_label" and (tune.labels.sum(axis=0) < 10).any():
            expected.add(variant.name)
    noted = [w for w in result.warnings if "positive examples in the tune split" in w]
    named = {
        name
        for w in noted
        for name in w.split("Per-label thresholds (", 1)[1].split(")", 1)[0].split(", ")
    }
    assert named == expected


def test_a_focal_teacher_gets_its_own_loss_panel_not_the_bce_one(tiny_run, tmp_path):
    """A variant fine-tuned with focal loss (or ASL, weights, smoothing) is not labelled as
    BCE: its training loss is drawn on a panel of its own, and the caption names it."""
    run = tmp_path / "tiny"
    shutil.copytree(tiny_run, run)
    variant = RunDir(run).variant("teacher")
    history = variant.load_history()
    assert history is not None
    history.settings = {**history.settings, "loss": "focal"}
    variant.write_history(history)
    result = write_report(run, formats=("png",), csv=False)
    text = result.markdown.read_text()
    assert "next: the training loss of teacher (focal, ASL" in text
    # the same run with plain BCE: no such panel
    plain = tmp_path / "plain"
    shutil.copytree(tiny_run, plain)
    text = write_report(plain, formats=("png",), csv=False).markdown.read_text()
    assert "next: the training loss" not in text


def test_cli_never_replaces_the_users_files_beside_the_report(tiny_run, tmp_path, capsys):
    # figures/ was swapped whole (a user's figures/holiday.jpg deleted), per_emotion.csv and
    # the .html replaced, and a hand-written RUN_DIR/report.md overwritten, without --overwrite
    run = tmp_path / "run"
    shutil.copytree(tiny_run, run)
    mine = tmp_path / "mine"
    (mine / "figures").mkdir(parents=True)
    (mine / "figures" / "holiday.jpg").write_text("precious\n")
    (mine / "per_emotion.csv").write_text("my,table\n")
    (mine / "new.html").write_text("<p>mine</p>\n")
    before = sorted((p.relative_to(mine), p.read_bytes()) for p in mine.rglob("*") if p.is_file())
    for extra in (["--formats", "png"], ["--no-figures"], ["--no-figures", "--no-csv"]):
        argv = ["report", str(run), "--out", str(mine / "new.md"), "--html", *extra]
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert "refusing to replace it" in err and len(err.strip().splitlines()) == 1
    after = sorted((p.relative_to(mine), p.read_bytes()) for p in mine.rglob("*") if p.is_file())
    assert after == before
    # the default --out, RUN_DIR/report.md, written by hand
    (run / "report.md").write_text("# my notes on this run\n")
    assert main(["report", str(run), "--no-figures"]) == 2
    assert "not a previous report" in capsys.readouterr().err
    assert (run / "report.md").read_text() == "# my notes on this run\n"
    # its own earlier report (and what lies beside it) is replaced; --overwrite lets one choose
    doc = tmp_path / "doc" / "r.md"
    for _ in range(2):
        assert main(["report", str(run), "--out", str(doc), "--formats", "png", "--html"]) == 0
    assert (doc.parent / "figures" / "summary.png").is_file()
    argv = ["report", str(run), "--out", str(mine / "new.md"), "--no-figures", "--overwrite"]
    assert main(argv) == 0
    assert (mine / "figures" / "holiday.jpg").read_text() == "precious\n"

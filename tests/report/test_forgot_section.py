"""The report's intervals section and the error bars of the per-emotion figure."""

from __future__ import annotations

import numpy as np
from synthetic_runs import make_run

from emocompress.artifacts.rundir import RunDir
from emocompress.report import write_report
from emocompress.report.data import gather
from emocompress.report.figures import f1_error_bars


def test_an_older_run_gets_its_comparison_and_the_section(tmp_path):
    run = make_run(tmp_path / "run", {"weak": 0.0})
    assert not run.comparison_file.exists()  # made before comparison.json existed
    result = write_report(run.root, figures=False, csv=False)
    comparison = RunDir(run.root).load_comparison()
    assert comparison is not None  # the report went into the run directory: so did this
    text = result.markdown.read_text()
    section = text[text.index("## Intervals and what compression forgot\n") :]
    section = section[: section.index("\n## ", 1)]
    pair = comparison.pair("weak", "teacher")
    assert "### What weak forgot against teacher" in section
    for emotion in pair.significant_f1_drops:
        assert f"| {emotion} |" in section
    macro = comparison.variants["weak"].auc_macro
    assert f"{macro.point:.4f} [{macro.low:.4f}, {macro.high:.4f}]" in section
    assert f"{pair.flipped_decisions} decisions flipped" in section


def test_a_report_elsewhere_leaves_the_run_directory_alone(tmp_path):
    run = make_run(tmp_path / "run", {"weak": 0.0})
    write_report(run.root, out=tmp_path / "doc" / "report.md", figures=False, csv=False)
    assert not run.comparison_file.exists()


def test_per_emotion_error_bars_are_the_intervals(tmp_path):
    run = make_run(tmp_path / "run", {"weak": 0.0})
    data = gather(run.root)
    labels = list(data.label_names)
    bars = f1_error_bars(data, "weak", labels)
    section = data.comparison.variants["weak"]
    for j, label in enumerate(labels):
        f1 = section.per_label[label].f1
        assert np.allclose(bars[:, j], [f1.point - f1.low, f1.high - f1.point])
    data.comparison = None
    assert f1_error_bars(data, "weak", labels) is None


def test_per_label_thresholds_show_their_tune_positives(tiny_run, tmp_path):
    import shutil

    run = tmp_path / "tiny"
    shutil.copytree(tiny_run, run)
    text = write_report(run, figures=False, csv=False).markdown.read_text()
    section = text[text.index("### Per-label thresholds (strategy per_label)") :]
    support = RunDir(run).variant("teacher").load_metrics().threshold_support
    assert "| tune positives |" in section.splitlines()[2]
    row = next(line for line in section.splitlines() if line.startswith("| grief |"))
    assert row.rstrip(" |").endswith(str(support.positives["grief"]))
    assert f"Warning: {support.warnings[0]}." in section

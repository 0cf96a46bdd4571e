"""Every reader of one figure shows the same value: the run summary, the report, the TUI.

Each reads the run directory through the typed models; this checks that nothing between
the file and the screen reinterprets a figure (the bug where one section read a train time
that was never written and showed n/a while another showed 70.9 s).
"""

from __future__ import annotations

import shutil

from emocompress.artifacts.rundir import RunDir
from emocompress.measure.summary import variant_row
from emocompress.report.data import gather
from tui.data import load_catalog

FIGURES = ("train_seconds", "macro_auc", "micro_auc", "macro_f1", "mb", "parameters")


def test_summary_report_and_tui_agree_on_every_variant(tiny_run, tmp_path):
    run = shutil.copytree(tiny_run, tmp_path / "run")
    reference = RunDir(run).variant("teacher").load_metrics()
    summary = {v.name: variant_row(v, reference) for v in RunDir(run).variants()}
    report = {v.name: v.row for v in gather(run, baseline="teacher").variants}
    tui = {v.name: v.row for v in load_catalog([run]).variants}
    assert set(summary) == set(report) == set(tui) == {"teacher", "student-1l"}
    for name, row in summary.items():
        assert row["train_seconds"] == RunDir(run).variant(name).train_seconds() is not None
        for figure in FIGURES:
            assert row[figure] == report[name][figure] == tui[name][figure], (name, figure)
